"""Schemas for the audit log endpoints."""

import marshmallow as ma

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


class VerifySchema(ma.Schema):
    ok = ma.fields.Boolean()
    count = ma.fields.Integer()
    head_hash = ma.fields.String()
    first_bad_seq = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)


AuditEventListSchema = list_schema(AuditEventSchema, "AuditEventList")
