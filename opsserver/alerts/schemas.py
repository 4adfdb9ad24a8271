"""Query and body schemas of the alerts API."""

import marshmallow as ma

from ..fields import Flag, Note, QuerySchema, Text
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
