"""Request and response schemas for points, crew members and shifts."""

import marshmallow as ma

import rules

from ..fields import Count, Day, Flag, Id, Number, Text, When
from ..pagination import PageQuerySchema, list_schema
from .models import EQUIPMENT, POSITIONS

V = ma.validate
CODE = V.Regexp(r"^[A-Z0-9][A-Z0-9_-]{1,19}$", error="Use 2–20 capital letters, digits, '-' or '_'.")
AZIMUTH = V.Range(min=0, max=360)
# A reference to a point is checked against the points there are: the schema says the form, this the rest.
EXISTING_POINT = "the code of an existing point; an unknown one is refused (422)"


def point_ref(description: str = EXISTING_POINT, **kwargs) -> Text:
    """A field naming an operating point by its code."""
    return Text(validate=CODE, metadata={"description": description}, **kwargs)


class PointBaseSchema(ma.Schema):
    """Fields an admin sets on a point (all optional: PATCH uses this directly)."""

    name = Text(validate=V.Length(min=1, max=120))
    county = Text(validate=V.Length(min=1, max=80))
    township = Text(allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the township (乡镇) the point lies in, named in announcements"})
    province = Text(allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the province (省) the point lies in, for the national view (status/summary?by=province)"})
    city = Text(allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the city (市) the point lies in, for the provincial view (status/summary?by=city)"})
    latitude = Number(validate=V.Range(min=-90, max=90))
    longitude = Number(validate=V.Range(min=-180, max=180))
    elevation_m = Number(allow_none=True, validate=V.Range(min=-500, max=9000))
    equipment = Text(validate=V.OneOf(EQUIPMENT))
    launchers = Count(validate=V.Range(min=0, max=50))
    sector_start_deg = Number(validate=AZIMUTH, metadata={
        "description": "clockwise from north; the sector needs a width (start ≠ end; 0 and 360 for every direction)"})
    sector_end_deg = Number(validate=AZIMUTH)
    max_range_km = Number(validate=V.Range(min=0, max=100, min_inclusive=False))
    max_height_m = Number(validate=V.Range(min=0, max=30000, min_inclusive=False))
    geofence_m = Number(validate=V.Range(min=10, max=20000))
    min_crew = Count(validate=V.Range(min=1, max=20))
    active = Flag()

    @ma.validates_schema
    def _sector(self, data, **kwargs):
        start, end = data.get("sector_start_deg"), data.get("sector_end_deg")
        if start is not None and end is not None and not rules.sector_has_width(start, end):
            raise ma.ValidationError(rules.NO_WIDTH_REASON, field_name="sector_end_deg")


class PointCreateSchema(PointBaseSchema):
    """A new point: everything but elevation, geofence, minimum crew and launchers is required."""

    code = Text(required=True, validate=CODE)
    name = Text(required=True, validate=V.Length(min=1, max=120))
    county = Text(required=True, validate=V.Length(min=1, max=80))
    township = Text(load_default=None, allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the township (乡镇) the point lies in, named in announcements"})
    province = Text(load_default=None, allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the province (省) the point lies in, for the national view (status/summary?by=province)"})
    city = Text(load_default=None, allow_none=True, validate=V.Length(max=80), metadata={
        "description": "the city (市) the point lies in, for the provincial view (status/summary?by=city)"})
    latitude = Number(required=True, validate=V.Range(min=-90, max=90))
    longitude = Number(required=True, validate=V.Range(min=-180, max=180))
    equipment = Text(required=True, validate=V.OneOf(EQUIPMENT))
    sector_start_deg = Number(required=True, validate=AZIMUTH, metadata={
        "description": "clockwise from north; the sector needs a width (start ≠ end; 0 and 360 for every direction)"})
    sector_end_deg = Number(required=True, validate=AZIMUTH)
    max_range_km = Number(required=True, validate=V.Range(min=0, max=100, min_inclusive=False))
    max_height_m = Number(required=True, validate=V.Range(min=0, max=30000, min_inclusive=False))


class OnSiteSchema(ma.Schema):
    crew_id = Id()
    name = ma.fields.String()
    arrived_at = When()
    certificate_valid = ma.fields.Boolean()


class PointSchema(PointBaseSchema):
    """A point as served, with who is on site now."""

    id = ma.fields.Integer()
    code = ma.fields.String()
    sector_width_deg = ma.fields.Float()
    crew_on_site = ma.fields.Integer()
    on_site = ma.fields.List(ma.fields.Nested(OnSiteSchema))
    created_at = When()
    updated_at = When()


class PointQuerySchema(PageQuerySchema):
    province = Text(metadata={"description": "only the points in this province"})
    city = Text(metadata={"description": "only the points in this city"})
    county = Text(metadata={"description": "only the points in this county"})
    equipment = Text(validate=V.OneOf(EQUIPMENT))
    active = Flag()


class CrewCreateSchema(ma.Schema):
    name = Text(required=True, validate=V.Length(min=1, max=80))
    phone = Text(required=True, validate=V.Regexp(r"^\+?[0-9 -]{5,20}$", error="Not a phone number."))
    certificate_no = Text(required=True, validate=V.Length(min=1, max=40))
    certificate_expires = Day(required=True)
    home_point = point_ref(load_default=None, allow_none=True)


class CrewSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    phone = ma.fields.String()
    certificate_no = ma.fields.String()
    certificate_expires = ma.fields.Date()
    certificate_status = ma.fields.String(metadata={"description": "valid, expiring (≤30 days) or expired"})
    home_point = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()


class CrewQuerySchema(PageQuerySchema):
    home_point = point_ref()
    certificate_status = Text(validate=V.OneOf(("valid", "expiring", "expired")))


class ShiftCreateSchema(ma.Schema):
    point_code = point_ref(required=True)
    crew_id = Id(required=True, metadata={"description": "an existing, active crew member whose certificate is valid "
                                                         "for the whole shift (else 422)"})
    starts_at = When(required=True)
    ends_at = When(required=True, metadata={"description": "after starts_at"})
    position = Text(load_default="operator", validate=V.OneOf(POSITIONS))

    @ma.validates_schema
    def _order(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("The shift must end after it starts.", field_name="ends_at")


class ShiftSchema(ma.Schema):
    id = ma.fields.Integer()
    point_code = ma.fields.String()
    crew_id = Id()
    crew_name = ma.fields.String()
    starts_at = When()
    ends_at = When()
    position = ma.fields.String()
    certificate_expires = ma.fields.Date()
    certificate_status = ma.fields.String()


class ShiftQuerySchema(PageQuerySchema):
    point_code = point_ref()
    crew_id = Id()
    at = When(metadata={"description": "only shifts covering this instant"})
    ends_after = When()
    starts_before = When()


PointListSchema = list_schema(PointSchema, "PointList")
CrewListSchema = list_schema(CrewSchema, "CrewList")
ShiftListSchema = list_schema(ShiftSchema, "ShiftList")
