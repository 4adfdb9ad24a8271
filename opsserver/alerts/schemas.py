"""Query and body schemas of the alerts API."""

import marshmallow as ma

from ..fields import Flag, Note, Number, QuerySchema, Text
from ..registry.schemas import point_ref

V = ma.validate
KINDS = ("understaffed", "flagged_report", "checkin_outside_geofence", "clock_skew", "window_ending",
         "window_unreported", "certificate_expiring", "order_unacknowledged", "without_announcement",
         "zone_conflict")
SEVERITIES = ("critical", "warning", "info")


class AlertQuerySchema(QuerySchema):
    point_code = point_ref("the code of an existing point; an unknown one is not found (404)", load_default=None)
    county = Text(load_default=None, validate=V.Length(min=1, max=80))
    city = Text(load_default=None, validate=V.Length(min=1, max=80))
    province = Text(load_default=None, validate=V.Length(min=1, max=80))
    kind = Text(load_default=None, validate=V.OneOf(KINDS))
    severity = Text(load_default=None, validate=V.OneOf(SEVERITIES))
    include_acknowledged = Flag(load_default=False, metadata={
        "description": "also the alerts acknowledged and not come back (each says `acknowledged`)"})


class AlertAckSchema(ma.Schema):
    note = Note(load_default=None, allow_none=True, validate=V.Length(max=2000), metadata={
        "description": "what the commander did or decided (kept in the audit log)"})
    seen_severity = Text(load_default=None, validate=V.OneOf(SEVERITIES), metadata={
        "description": "the alert's severity as the commander saw it: worse now is refused (409)"})
    seen_measure = Number(load_default=None, allow_none=True, validate=V.Range(min=-1e9, max=1e9), metadata={
        "description": "its measure as seen (with seen_severity)"})


class AcknowledgementSchema(ma.Schema):
    acknowledged_by = ma.fields.String()
    acknowledged_at = ma.fields.String(metadata={"description": "ISO 8601, UTC"})
    note = ma.fields.String(allow_none=True)
    severity = ma.fields.String(metadata={"description": "the alert's severity when it was acknowledged"})
    measure = ma.fields.Float(allow_none=True, metadata={"description": "its measure then"})


class AlertSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "stable: the kind, the thing it is about and its id"})
    type = ma.fields.String(metadata={"description": "the kind (" + ", ".join(KINDS) + ")"})
    severity = ma.fields.String(metadata={"description": ", ".join(SEVERITIES)})
    point_code = ma.fields.String(allow_none=True)
    since = ma.fields.String(metadata={"description": "when the condition began (ISO 8601)"})
    message = ma.fields.String(metadata={"description": "in the reader's language (Accept-Language)"})
    entity = ma.fields.String()
    entity_id = ma.fields.String()
    measure = ma.fields.Float(allow_none=True, metadata={
        "description": "how far off it is, where that can grow (crew short, minutes of clock skew, metres into "
                       "a no-fire buffer): an acknowledged alert comes back when it grows, is more severe or "
                       "starts again"})
    acknowledged = ma.fields.Boolean(metadata={"description": "acknowledged and not come back since"})
    acknowledgement = ma.fields.Nested(AcknowledgementSchema, allow_none=True, metadata={
        "description": "the newest acknowledgement, or null"})


class AlertCountsSchema(ma.Schema):
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_severity = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class AlertListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AlertSchema))
    total = ma.fields.Integer()
    counts = ma.fields.Nested(AlertCountsSchema, metadata={"description": "of the alerts the filters kept"})
    next_cursor = ma.fields.String(allow_none=True)
