"""Schemas for rounds, airspace requests and decisions, firing reports and clearance."""

import marshmallow as ma

from ..fields import Count, Flag, Id, Note, Number, QuerySchema, Text, When
from ..ammo.schemas import EXISTING_TYPE, TYPE_CODE
from ..checkins.schemas import FlagSchema
from ..pagination import PageQuerySchema, list_schema
from ..registry.schemas import CODE, point_ref
from .models import ORDER_KINDS, PURPOSES, READINESS_LEVELS, REJECTION_REASONS

V = ma.validate
AZIMUTH = V.Range(min=0, max=360)
STATES = ("ordered", "manned", "requested", "cleared", "firing", "done", "declined", "stood_down", "rejected")


class RoundCreateSchema(ma.Schema):
    name = Text(required=True, validate=V.Length(min=1, max=120))
    purpose = Text(required=True, validate=V.OneOf(PURPOSES))
    planned_start = When(required=True)
    planned_end = When(required=True, metadata={"description": "after planned_start"})
    point_codes = ma.fields.List(Text(validate=CODE), required=True, validate=V.Length(min=1, max=20000), metadata={
        "description": "each once, each an existing active point (else 422)"})
    notes = Note(load_default=None, allow_none=True, validate=V.Length(max=4000))

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        if data.get("planned_start") and data.get("planned_end") and data["planned_end"] <= data["planned_start"]:
            raise ma.ValidationError("The planned window must end after it starts.", "planned_end")
        codes = data.get("point_codes") or []
        if len(set(codes)) != len(codes):
            raise ma.ValidationError("A point is ordered once per round.", "point_codes")


class RoundPointSchema(ma.Schema):
    point_code = ma.fields.String()
    point_name = ma.fields.String()
    state = ma.fields.String(metadata={"enum": list(STATES)})
    colour = ma.fields.String()
    crew_on_site = ma.fields.Integer()
    min_crew = ma.fields.Integer()
    ordered_at = When()
    declined_at = When(allow_none=True)
    declined_reason = ma.fields.String(allow_none=True)
    stood_down_at = When(allow_none=True)
    stood_down_reason = ma.fields.String(allow_none=True)
    open_window = ma.fields.Dict(allow_none=True)
    reports = ma.fields.Integer()
    flags = ma.fields.List(ma.fields.Nested(FlagSchema))
    readiness_level = ma.fields.Integer(allow_none=True, metadata={
        "description": "the level of the point's latest readiness order (3 prepare, 2 stand by, 1 ready)"})
    open_fire_order = ma.fields.Dict(allow_none=True, metadata={
        "description": "the point's fire order in force (an order as GET .../orders answers it), or null"})
    last_order = ma.fields.Dict(allow_none=True, metadata={
        "description": "the point's latest order of any kind, with its acknowledgement, or null"})


class RoundSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    purpose = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["planned", "active", "closed"]})
    planned_start = When()
    planned_end = When()
    notes = ma.fields.String(allow_none=True)
    created_by = ma.fields.String()
    created_at = When()
    activated_at = When(allow_none=True)
    closed_at = When(allow_none=True)
    without_announcement_reason = ma.fields.String(allow_none=True, metadata={
        "description": "the commander's reason for activating points no published announcement covered"})
    points = ma.fields.List(ma.fields.Nested(RoundPointSchema))


class RoundQuerySchema(PageQuerySchema):
    status = Text(validate=V.OneOf(("planned", "active", "closed")))


class ReasonSchema(ma.Schema):
    reason = Note(required=True, validate=V.Length(min=1, max=2000))


def _in_words(value: str) -> None:
    """Spaces are no reason (a plain check: a pattern here would replace the field's documented one)."""
    if not value.strip():
        raise ma.ValidationError("Give the reason in words.")


class ActivateSchema(ma.Schema):
    """The activation's optional body: the reason for activating points no published announcement covers."""

    without_announcement_reason = Note(load_default=None, validate=[V.Length(min=1, max=2000), _in_words], metadata={
        "description": "in words (not only spaces); required when a point of the round is not covered by a "
                       "published announcement "
                       "(its period covering the round's planned window, its points including the point); "
                       "stored, audited and raised as an alert"})


class AirspaceCreateSchema(ma.Schema):
    id = ma.fields.UUID(load_default=None, metadata={"description": "the phone's id, for safe retries"})
    point_code = point_ref(required=True)
    window_start = When(required=True)
    window_end = When(load_default=None, metadata={"description": "after window_start; give it or duration_min, "
                                                                  "not both (else 422)"})
    duration_min = Count(load_default=None, validate=V.Range(min=1, max=24 * 60),
                         metadata={"description": "instead of window_end"})
    max_height_m = Number(load_default=None, allow_none=True, validate=V.Range(min=0, max=30000, min_inclusive=False))

    @ma.validates_schema
    def _window(self, data, **kwargs):
        end, minutes = data.get("window_end"), data.get("duration_min")
        if end is None and minutes is None:
            raise ma.ValidationError("Give window_end or duration_min.", "window_end")
        if end is not None and minutes is not None:
            raise ma.ValidationError("Give window_end or duration_min, not both.", "duration_min")
        if end is not None and data.get("window_start") and end <= data["window_start"]:
            raise ma.ValidationError("The window must end after it starts.", "window_end")


class SyncAirspaceSchema(AirspaceCreateSchema):
    round_id = Id(required=True)
    id = ma.fields.UUID(required=True)


class DecisionSchema(ma.Schema):
    decision = Text(required=True, validate=V.OneOf(("approved", "rejected")), metadata={
        "description": "an approval needs approved_start, approved_end (after it) and reference, and has no reason; "
                       "a rejection needs its reason and has no approved window (else 422)"})
    approved_start = When(load_default=None)
    approved_end = When(load_default=None)
    approved_max_height_m = Number(load_default=None, allow_none=True,
                                   validate=V.Range(min=0, max=30000, min_inclusive=False))
    reference = Text(load_default=None, allow_none=True, validate=V.Length(max=80))
    reason = Text(load_default=None, allow_none=True, validate=V.OneOf(REJECTION_REASONS))
    reason_detail = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        if data.get("decision") == "approved":
            missing = [f for f in ("approved_start", "approved_end", "reference") if not data.get(f)]
            if missing:
                raise ma.ValidationError({f: ["Required for an approval."] for f in missing})
            if data["approved_end"] <= data["approved_start"]:
                raise ma.ValidationError("The approved window must end after it starts.", "approved_end")
            if data.get("reason"):
                raise ma.ValidationError("An approval has no rejection reason.", "reason")
        if data.get("decision") == "rejected":
            if not data.get("reason"):
                raise ma.ValidationError("A rejection needs its reason code.", "reason")
            if data.get("approved_start") or data.get("approved_end"):
                raise ma.ValidationError("A rejection has no approved window.", "approved_start")


class AirspaceSchema(ma.Schema):
    id = ma.fields.String()
    round_id = Id()
    point_code = ma.fields.String()
    requested_by = ma.fields.String()
    window_start = When()
    window_end = When()
    max_height_m = ma.fields.Float(allow_none=True)
    created_at = When()
    status = ma.fields.String(metadata={"enum": ["pending", "approved", "rejected", "terminated", "cancelled"]})
    decision = ma.fields.String(allow_none=True)
    decided_at = When(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    approved_start = When(allow_none=True)
    approved_end = When(allow_none=True)
    approved_max_height_m = ma.fields.Float(allow_none=True)
    effective_end = When(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    reason_detail = ma.fields.String(allow_none=True)
    terminated_at = When(allow_none=True)
    cancelled_at = When(allow_none=True)


class AirspaceQuerySchema(PageQuerySchema):
    round_id = Id()
    point_code = point_ref()


class AmmoLineSchema(ma.Schema):
    type = Text(required=True, validate=TYPE_CODE, metadata={"description": EXISTING_TYPE})
    fired = Count(required=True, validate=V.Range(min=0, max=10000))
    duds = Count(load_default=0, validate=V.Range(min=0, max=10000), metadata={"description": "at most fired"})

    @ma.validates_schema
    def _duds(self, data, **kwargs):
        if data.get("duds", 0) > data.get("fired", 0):
            raise ma.ValidationError("Duds are counted among the fired.", "duds")


class ReportCreateSchema(ma.Schema):
    id = ma.fields.UUID(required=True, metadata={"description": "generated by the phone"})
    point_code = point_ref(required=True)
    crew_id = Id(load_default=None, allow_none=True,
                 metadata={"description": "the reporting crew member (a crew account is itself)"})
    started_at = When(required=True)
    ended_at = When(required=True, metadata={"description": "not before started_at"})
    azimuth_deg = Number(required=True, validate=AZIMUTH)
    elevation_deg = Number(required=True, validate=V.Range(min=0, max=90))
    height_m = Number(load_default=None, allow_none=True, validate=V.Range(min=0, max=30000))
    range_km = Number(load_default=None, allow_none=True, validate=V.Range(min=0, max=100))
    ammo = ma.fields.List(ma.fields.Nested(AmmoLineSchema), required=True, validate=V.Length(min=1, max=20),
                          metadata={"description": "one line per type"})
    cloud_type = Text(load_default=None, allow_none=True, validate=V.Length(max=40))
    weather_before = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))
    weather_after = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))
    notes = Note(load_default=None, allow_none=True, validate=V.Length(max=4000))

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        if data.get("started_at") and data.get("ended_at") and data["ended_at"] < data["started_at"]:
            raise ma.ValidationError("A firing ends after it starts.", "ended_at")
        types = [line["type"] for line in data.get("ammo") or []]
        if len(set(types)) != len(types):
            raise ma.ValidationError("One line per ammunition type.", "ammo")


class SyncReportSchema(ReportCreateSchema):
    round_id = Id(required=True)


class ReportAmmoSchema(ma.Schema):
    type = ma.fields.String()
    fired = ma.fields.Integer()
    duds = ma.fields.Integer()


class ReportSchema(ma.Schema):
    id = ma.fields.String()
    round_id = Id()
    point_code = ma.fields.String()
    crew_id = Id(allow_none=True)
    started_at = ma.fields.String(metadata={"format": "date-time"})
    ended_at = ma.fields.String(metadata={"format": "date-time"})
    received_at = ma.fields.String(metadata={"format": "date-time"})
    azimuth_deg = ma.fields.Float()
    elevation_deg = ma.fields.Float()
    height_m = ma.fields.Float(allow_none=True)
    range_km = ma.fields.Float(allow_none=True)
    ammo = ma.fields.List(ma.fields.Nested(ReportAmmoSchema))
    cloud_type = ma.fields.String(allow_none=True)
    weather_before = ma.fields.String(allow_none=True)
    weather_after = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    flags = ma.fields.List(ma.fields.Nested(FlagSchema))


class ReportQuerySchema(PageQuerySchema):
    point_code = point_ref()
    flagged = Flag()


class ClearanceQuerySchema(QuerySchema):
    azimuth = Number(required=True, validate=AZIMUTH)
    elevation = Number(load_default=None, validate=V.Range(min=0, max=90))
    at = When(load_default=None, metadata={"description": "default: now"})


class ClearanceSchema(ma.Schema):
    cleared = ma.fields.Boolean()
    point_code = ma.fields.String()
    at = When()
    round_id = Id(allow_none=True)
    window = ma.fields.Dict(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(FlagSchema))


RoundListSchema = list_schema(RoundSchema, "RoundList")
AirspaceListSchema = list_schema(AirspaceSchema, "AirspaceList")
ReportListSchema = list_schema(ReportSchema, "ReportList")


class OrderCreateSchema(ma.Schema):
    """An order to one point of the round: readiness (its level), fire (azimuth, elevation, rounds) or cease."""

    point_code = point_ref(required=True)
    kind = Text(required=True, validate=V.OneOf(ORDER_KINDS))
    readiness_level = Count(load_default=None, allow_none=True, validate=V.OneOf(READINESS_LEVELS), metadata={
        "description": "readiness only (required then): 3 prepare, 2 stand by at the launcher, 1 ready to fire"})
    azimuth_deg = Number(load_default=None, allow_none=True, validate=AZIMUTH,
                         metadata={"description": "fire only (required then)"})
    elevation_deg = Number(load_default=None, allow_none=True, validate=V.Range(min=0, max=90),
                           metadata={"description": "fire only (required then)"})
    rounds = Count(load_default=None, allow_none=True, validate=V.Range(min=1, max=1000),
                   metadata={"description": "fire only (required then): how many rounds to fire"})
    notes = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))

    @ma.validates_schema
    def _fields_of_kind(self, data, **kwargs):
        needed = {"readiness": ("readiness_level",), "fire": ("azimuth_deg", "elevation_deg", "rounds"),
                  "cease": ()}.get(data.get("kind"), ())
        errors = {name: ["Required for this kind of order."] for name in needed if data.get(name) is None}
        errors.update({name: [f"Not part of a {data.get('kind')} order."]
                       for name in ("readiness_level", "azimuth_deg", "elevation_deg", "rounds")
                       if name not in needed and data.get(name) is not None and data.get("kind") in ORDER_KINDS})
        if errors:
            raise ma.ValidationError(errors)


class OrderAckSchema(ma.Schema):
    """The crew's acknowledgement: the phone's time of it (the server's receipt time when absent)."""

    acknowledged_at = When(load_default=None, metadata={"description": "the phone's time of the acknowledgement"})


class SyncOrderAckSchema(OrderAckSchema):
    """An acknowledgement from the phone's queue: it names its order (and carries the item's own id)."""

    id = ma.fields.UUID(load_default=None, metadata={"description": "the queue item's id"})
    order_id = Id(required=True)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer()
    round_id = ma.fields.Integer()
    point_code = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(ORDER_KINDS)})
    readiness_level = ma.fields.Integer(allow_none=True)
    azimuth_deg = ma.fields.Float(allow_none=True)
    elevation_deg = ma.fields.Float(allow_none=True)
    rounds = ma.fields.Integer(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    issued_at = ma.fields.String(metadata={"format": "date-time"})
    issued_by = ma.fields.String()
    acknowledged_at = ma.fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "the phone's time of the acknowledgement"})
    acknowledged_by = ma.fields.String(allow_none=True)
    ack_received_at = ma.fields.String(allow_none=True, metadata={"format": "date-time",
                                                                  "description": "when the server received it"})
    ack_delay_s = ma.fields.Float(allow_none=True, metadata={
        "description": "seconds from issue to acknowledgement (phone time; 0 when the phone's clock is behind)"})
    text = ma.fields.String(metadata={"description": "the order in one line, in the reader's language"})


class OrderQuerySchema(PageQuerySchema):
    point_code = point_ref()


OrderListSchema = list_schema(OrderSchema, "OrderList")
