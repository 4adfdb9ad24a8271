"""Request and response schemas for no-fire zones, their import and a point's zones."""

import marshmallow as ma

from rules import zones as zone_rules

from ..fields import Flag, Note, Number, QuerySchema, Text, When
from ..pagination import PageQuerySchema, list_schema

V = ma.validate
GEOMETRY_DOC = (f"a GeoJSON geometry in WGS-84 ({', '.join(zone_rules.GEOMETRY_TYPES)}): rings closed, not crossing "
                f"themselves, longitude −180…180, latitude −90…90, at most {zone_rules.MAX_POSITIONS} positions "
                f"and {zone_rules.MAX_EXTENT_DEG:g}° across; anything else is refused (422, naming the problem)")


GEOMETRY_SCHEMA = {"type": "object", "required": ["type", "coordinates"], "properties": {
    "type": {"type": "string", "enum": list(zone_rules.GEOMETRY_TYPES)},
    "coordinates": {"type": "array", "minItems": 1, "description": "GeoJSON positions [longitude, latitude], "
                                                                    "nested as the type has them"}}}


class Geometry(ma.fields.Dict):
    """A GeoJSON geometry, checked by the rules (rules.zones.geometry_problems)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**GEOMETRY_SCHEMA, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        problems = zone_rules.geometry_problems(result)
        if problems:
            raise ma.ValidationError(problems)
        return result


class ZoneBaseSchema(ma.Schema):
    """Fields an admin sets on a zone (all optional: PATCH uses this directly)."""

    name = Text(validate=V.Length(min=1, max=120))
    kind = Text(validate=V.OneOf(zone_rules.KINDS))
    geometry = Geometry(metadata={"description": GEOMETRY_DOC})
    buffer_m = Number(validate=V.Range(min=0, max=zone_rules.MAX_BUFFER_M), metadata={
        "description": f"how near a firing line may not come, metres (default {zone_rules.DEFAULT_BUFFER_M:g}, "
                       "the national standard's minimum)"})
    active = Flag(metadata={"description": "false: the zone is kept on record but no longer checked"})
    notes = Note(allow_none=True, validate=V.Length(max=2000))
    source = Text(allow_none=True, validate=V.Length(max=40),
                  metadata={"description": "where the zone came from; `demo` marks the demo's invented zones"})


class ZoneCreateSchema(ZoneBaseSchema):
    """A new zone: name, kind and geometry required."""

    name = Text(required=True, validate=V.Length(min=1, max=120))
    kind = Text(required=True, validate=V.OneOf(zone_rules.KINDS))
    geometry = Geometry(required=True, metadata={"description": GEOMETRY_DOC})
    buffer_m = Number(load_default=zone_rules.DEFAULT_BUFFER_M, validate=V.Range(min=0, max=zone_rules.MAX_BUFFER_M))
    active = Flag(load_default=True)
    notes = Note(load_default=None, allow_none=True, validate=V.Length(max=2000))
    source = Text(load_default=None, allow_none=True, validate=V.Length(max=40))


class ZoneSchema(ZoneBaseSchema):
    """A zone as served."""

    id = ma.fields.Integer()
    label = ma.fields.String(metadata={"description": "the kind in the reader's language"})
    created_at = When()
    updated_at = When()


class ZoneQuerySchema(PageQuerySchema):
    kind = Text(validate=V.OneOf(zone_rules.KINDS))
    active = Flag()


ZoneListSchema = list_schema(ZoneSchema, "ZoneList")


class ImportBodySchema(ma.Schema):
    """A GeoJSON FeatureCollection: each feature's `properties` are a zone's fields (unknown ones ignored), its
    `geometry` the zone's; each feature is checked on its own (its result names it)."""

    class Meta:
        unknown = ma.INCLUDE

    type = Text(required=True, validate=V.OneOf(["FeatureCollection"]))
    features = ma.fields.List(ma.fields.Raw(), required=True, validate=V.Length(max=5000))


class ImportQuerySchema(QuerySchema):
    all_or_nothing = Flag(load_default=False, metadata={
        "description": "true: store the features only if every one is good (else 422 naming each bad one)"})


class ImportResultSchema(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "the feature's position in `features`, from 0"})
    feature_id = ma.fields.Raw(allow_none=True, metadata={"description": "the feature's own `id`, if it has one"})
    status = ma.fields.Integer(metadata={"description": "201 stored, 422 refused (nothing of it stored)"})
    zone = ma.fields.Nested(ZoneSchema, allow_none=True)
    problem = ma.fields.Dict(allow_none=True, metadata={"description": "problem+json naming the bad fields"})


class ImportAnswerSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ImportResultSchema))
    stored = ma.fields.Integer()
    refused = ma.fields.Integer()


class PointZoneSchema(ma.Schema):
    zone_id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    label = ma.fields.String(metadata={"description": "the kind in the reader's language"})
    buffer_m = ma.fields.Float()
    distance_m = ma.fields.Float(metadata={"description": "geodesic, from the point to the zone's nearest part"})
    bearing_deg = ma.fields.Float(allow_none=True, metadata={
        "description": "from the point to the zone's nearest part; null when the point lies inside the zone"})
    in_sector = ma.fields.Boolean(metadata={"description": "the zone itself overlaps the safe sector"})
    conflict = ma.fields.Boolean(metadata={"description": "the safe sector out to the maximum range comes within "
                                                          "the zone's buffer"})
    blocked = ma.fields.List(ma.fields.List(ma.fields.Float()), metadata={
        "description": "azimuth intervals [from, to] (clockwise, degrees) whose firing line comes within the buffer"})


class PointZonesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PointZoneSchema))
