"""Request and response schemas for announcements."""

import marshmallow as ma

from ..fields import Id, Note, Number, QuerySchema, Text, When
from ..pagination import PageQuerySchema, list_schema
from ..registry.schemas import CODE, point_ref
from .models import STATUSES

V = ma.validate
MAX_PERIOD_DAYS = 366
MAX_RADIUS_KM = 100
PHONE = V.Regexp(r"^\+?[0-9 ()-]{5,30}$", error="Not a phone number.")
POINT_CODES_DOC = ("each once, each an existing active point (else 422); the notice lists them in this order")
RADIUS_DOC = ("the safety-affected area: this many km around each point; at least the largest maximum range of its "
              "points (else 422); default that range, rounded up to a whole km")


class AnnouncementBaseSchema(ma.Schema):
    """Fields a commander sets on a draft (all optional: PATCH uses this directly)."""

    period_start = When()
    period_end = When(metadata={"description": f"after period_start, at most {MAX_PERIOD_DAYS} days after it"})
    point_codes = ma.fields.List(Text(validate=CODE), validate=V.Length(min=1, max=20000),
                                 metadata={"description": POINT_CODES_DOC})
    purpose = Note(validate=V.Length(min=1, max=500), metadata={
        "description": "what the operations are for, as the notice says it (为…: e.g. 增雨抗旱)"})
    issuer = Text(validate=V.Length(min=1, max=200), metadata={"description": "who issues the notice (its signature)"})
    contact_unit = Text(validate=V.Length(min=1, max=200))
    contact_person = Text(validate=V.Length(min=1, max=80))
    contact_phone = Text(validate=PHONE)
    safety_radius_km = Number(validate=V.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False),
                              metadata={"description": RADIUS_DOC})
    notes = Note(allow_none=True, validate=V.Length(max=2000))
    supersedes = Id(allow_none=True, metadata={
        "description": "the id of the published announcement this one replaces once published (else 422)"})

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        start, end = data.get("period_start"), data.get("period_end")
        if start and end:
            check_period(start, end)
        codes = data.get("point_codes") or []
        if len(set(codes)) != len(codes):
            raise ma.ValidationError("A point is named once per announcement.", "point_codes")


def check_period(start, end) -> None:
    """The period ends after it starts, within MAX_PERIOD_DAYS (a ValidationError on period_end)."""
    if end <= start:
        raise ma.ValidationError("The period must end after it starts.", "period_end")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ma.ValidationError(f"An announcement covers at most {MAX_PERIOD_DAYS} days.", "period_end")


class AnnouncementCreateSchema(AnnouncementBaseSchema):
    """A new draft: everything but the radius, notes and `supersedes` is required."""

    period_start = When(required=True)
    period_end = When(required=True, metadata={"description": f"after period_start, at most {MAX_PERIOD_DAYS} "
                                                              "days after it"})
    point_codes = ma.fields.List(Text(validate=CODE), required=True, validate=V.Length(min=1, max=20000),
                                 metadata={"description": POINT_CODES_DOC})
    purpose = Note(required=True, validate=V.Length(min=1, max=500), metadata={
        "description": "what the operations are for, as the notice says it (为…: e.g. 增雨抗旱)"})
    issuer = Text(required=True, validate=V.Length(min=1, max=200))
    contact_unit = Text(required=True, validate=V.Length(min=1, max=200))
    contact_person = Text(required=True, validate=V.Length(min=1, max=80))
    contact_phone = Text(required=True, validate=PHONE)
    safety_radius_km = Number(load_default=None, validate=V.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False),
                              metadata={"description": RADIUS_DOC})
    notes = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))
    supersedes = Id(load_default=None, allow_none=True, metadata={
        "description": "the id of the published announcement this one replaces once published (else 422)"})


class AnnouncementPointSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    county = ma.fields.String()
    county_zh = ma.fields.String(metadata={"description": "the county's Chinese name, as the notice writes it"})
    township = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float()
    longitude = ma.fields.Float()
    equipment = ma.fields.String()
    launchers = ma.fields.Integer()


class AnnouncementSchema(ma.Schema):
    """An announcement as served; a published one's points and texts are those it was published with."""

    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    period_start = When()
    period_end = When()
    point_codes = ma.fields.List(ma.fields.String())
    points = ma.fields.List(ma.fields.Nested(AnnouncementPointSchema))
    purpose = ma.fields.String()
    issuer = ma.fields.String()
    contact_unit = ma.fields.String()
    contact_person = ma.fields.String()
    contact_phone = ma.fields.String()
    safety_radius_km = ma.fields.Float()
    notes = ma.fields.String(allow_none=True)
    supersedes = ma.fields.Integer(allow_none=True)
    superseded_by = ma.fields.Integer(allow_none=True, metadata={
        "description": "the published announcement that replaced this one (status superseded), else null"})
    created_by = ma.fields.String()
    created_at = When()
    updated_at = When()
    published_by = ma.fields.String(allow_none=True)
    published_at = When(allow_none=True)
    superseded_at = When(allow_none=True)
    text = ma.fields.String(metadata={"description": "the full Chinese notice (a draft's as it would be published "
                                                     "today), whatever Accept-Language says"})
    text_en = ma.fields.String(metadata={"description": "its English rendering"})


class AnnouncementQuerySchema(PageQuerySchema):
    status = Text(validate=V.OneOf(STATUSES))
    point_code = point_ref("only those naming this point: the code of an existing point; an unknown one is refused "
                           "(422)")


class AnnouncementGetQuerySchema(QuerySchema):
    format = Text(load_default="json", validate=V.OneOf(("json", "cap")), metadata={
        "description": "json (default) or cap: a CAP 1.2 alert (application/cap+xml), zh-CN and en-US"})


AnnouncementListSchema = list_schema(AnnouncementSchema, "AnnouncementList")
