"""Schemas for the audit log endpoints."""

import marshmallow as ma

from ..fields import Id, When

from ..pagination import PageQuerySchema, list_schema


class AuditEventSchema(ma.Schema):
    seq = ma.fields.Integer()
    at = ma.fields.String(metadata={"description": "UTC, ISO 8601 with microseconds"})
    actor = ma.fields.String()
    action = ma.fields.String()
    entity = ma.fields.String()
    entity_id = ma.fields.String()
    payload = ma.fields.Dict()
    prev_hash = ma.fields.String()
    hash = ma.fields.String()


class AuditQuerySchema(PageQuerySchema):
    entity = ma.fields.String()
    entity_id = ma.fields.String()
    action = ma.fields.String()
    after_seq = ma.fields.Integer(validate=ma.validate.Range(min=0, max=2**62),
                                  metadata={"description": "start after this sequence number"})


class ExportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="jsonl", validate=ma.validate.OneOf(["csv", "jsonl", "geojson"]))
    round_id = Id(load_default=None)
    point_code = ma.fields.String(load_default=None, validate=ma.validate.Length(min=2, max=20))
    since = When(load_default=None, metadata={"description": "events at or after (UTC)"})
    until = When(load_default=None, metadata={"description": "events before (UTC)"})


class VerifySchema(ma.Schema):
    ok = ma.fields.Boolean()
    count = ma.fields.Integer()
    head_hash = ma.fields.String()
    first_bad_seq = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)


AuditEventListSchema = list_schema(AuditEventSchema, "AuditEventList")
