"""Request and response schemas for points, crew members and shifts."""

from datetime import date

import marshmallow as ma

from ..fields import FIRST_YEAR, LAST_YEAR, Id, When
from ..pagination import PageQuerySchema, list_schema
from .models import EQUIPMENT, POSITIONS

V = ma.validate
CODE = V.Regexp(r"^[A-Z0-9][A-Z0-9_-]{1,19}$", error="Use 2–20 capital letters, digits, '-' or '_'.")
AZIMUTH = V.Range(min=0, max=360)


class PointBaseSchema(ma.Schema):
    """Fields an admin sets on a point (all optional: PATCH uses this directly)."""

    name = ma.fields.String(validate=V.Length(min=1, max=120))
    county = ma.fields.String(validate=V.Length(min=1, max=80))
    latitude = ma.fields.Float(validate=V.Range(min=-90, max=90), allow_nan=False)
    longitude = ma.fields.Float(validate=V.Range(min=-180, max=180), allow_nan=False)
    elevation_m = ma.fields.Float(allow_none=True, validate=V.Range(min=-500, max=9000))
    equipment = ma.fields.String(validate=V.OneOf(EQUIPMENT))
    launchers = ma.fields.Integer(validate=V.Range(min=0, max=50))
    sector_start_deg = ma.fields.Float(validate=AZIMUTH)
    sector_end_deg = ma.fields.Float(validate=AZIMUTH)
    max_range_km = ma.fields.Float(validate=V.Range(min=0, max=100, min_inclusive=False))
    max_height_m = ma.fields.Float(validate=V.Range(min=0, max=30000, min_inclusive=False))
    geofence_m = ma.fields.Float(validate=V.Range(min=10, max=20000))
    min_crew = ma.fields.Integer(validate=V.Range(min=1, max=20))
    active = ma.fields.Boolean()

    @ma.validates_schema
    def _sector(self, data, **kwargs):
        start, end = data.get("sector_start_deg"), data.get("sector_end_deg")
        if start is not None and end is not None and start == end:
            raise ma.ValidationError("The sector has no width; use 0 and 360 for every direction.",
                                     field_name="sector_end_deg")


class PointCreateSchema(PointBaseSchema):
    """A new point: everything but elevation, geofence, minimum crew and launchers is required."""

    code = ma.fields.String(required=True, validate=CODE)
    name = ma.fields.String(required=True, validate=V.Length(min=1, max=120))
    county = ma.fields.String(required=True, validate=V.Length(min=1, max=80))
    latitude = ma.fields.Float(required=True, validate=V.Range(min=-90, max=90), allow_nan=False)
    longitude = ma.fields.Float(required=True, validate=V.Range(min=-180, max=180), allow_nan=False)
    equipment = ma.fields.String(required=True, validate=V.OneOf(EQUIPMENT))
    sector_start_deg = ma.fields.Float(required=True, validate=AZIMUTH)
    sector_end_deg = ma.fields.Float(required=True, validate=AZIMUTH)
    max_range_km = ma.fields.Float(required=True, validate=V.Range(min=0, max=100, min_inclusive=False))
    max_height_m = ma.fields.Float(required=True, validate=V.Range(min=0, max=30000, min_inclusive=False))


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
    county = ma.fields.String()
    equipment = ma.fields.String(validate=V.OneOf(EQUIPMENT))
    active = ma.fields.Boolean()


class CrewCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=V.Length(min=1, max=80))
    phone = ma.fields.String(required=True, validate=V.Regexp(r"^\+?[0-9 -]{5,20}$", error="Not a phone number."))
    certificate_no = ma.fields.String(required=True, validate=V.Length(min=1, max=40))
    certificate_expires = ma.fields.Date(required=True, validate=V.Range(
        min=date(FIRST_YEAR, 1, 1), max=date(LAST_YEAR, 12, 31), error="Must be a date between {min} and {max}."))
    home_point = ma.fields.String(load_default=None, allow_none=True, validate=CODE)


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
    home_point = ma.fields.String(validate=CODE)
    certificate_status = ma.fields.String(validate=V.OneOf(("valid", "expiring", "expired")))


class ShiftCreateSchema(ma.Schema):
    point_code = ma.fields.String(required=True, validate=CODE)
    crew_id = Id(required=True)
    starts_at = When(required=True)
    ends_at = When(required=True)
    position = ma.fields.String(load_default="operator", validate=V.OneOf(POSITIONS))

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
    point_code = ma.fields.String(validate=CODE)
    crew_id = Id()
    at = When(metadata={"description": "only shifts covering this instant"})
    ends_after = When()
    starts_before = When()


PointListSchema = list_schema(PointSchema, "PointList")
CrewListSchema = list_schema(CrewSchema, "CrewList")
ShiftListSchema = list_schema(ShiftSchema, "ShiftList")
