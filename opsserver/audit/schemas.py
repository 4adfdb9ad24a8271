"""Schemas for the audit log endpoints."""

import marshmallow as ma

from ..fields import Count, Id, QuerySchema, Text, When
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
    entity = Text()
    entity_id = Text()
    action = Text()
    after_seq = Count(validate=ma.validate.Range(min=0, max=2**62),
                      metadata={"description": "start after this sequence number"})


class ExportQuerySchema(QuerySchema):
    format = Text(load_default="jsonl", validate=ma.validate.OneOf(["csv", "jsonl", "geojson"]))
    round_id = Id(load_default=None)
    point_code = Text(load_default=None, validate=ma.validate.Length(min=2, max=20),
                      metadata={"description": "events naming exactly this point"})
    since = When(load_default=None, metadata={"description": "events at or after (UTC)"})
    until = When(load_default=None, metadata={"description": "events before (UTC)"})
    upto_seq = Count(load_default=None, validate=ma.validate.Range(min=0, max=2**62), metadata={
        "description": "cut the export after this sequence number (default: the chain's head when asked); the "
                       "export names its cut in the Audit-Upto-Seq header"})


class CheckpointSchema(ma.Schema):
    """A signed checkpoint: the chain held `length` events, the last with `head_hash`, at `at`."""

    length = ma.fields.Integer()
    head_hash = ma.fields.String()
    at = ma.fields.String(metadata={"description": "UTC, ISO 8601 with microseconds"})
    key_id = ma.fields.String(metadata={"description": "the first 16 hex digits of SHA-256 of the raw public key"})
    signature = ma.fields.String(metadata={"description": "Ed25519, hex, over the canonical JSON of type, length, "
                                                          "head_hash and at"})


class ManifestSchema(ma.Schema):
    """The signed manifest of an export; `signature` (Ed25519, hex) covers the canonical JSON of every other member."""

    type = ma.fields.String()
    format = ma.fields.String()
    filters = ma.fields.Dict()
    upto_seq = ma.fields.Integer()
    count = ma.fields.Integer()
    first_seq = ma.fields.Integer(allow_none=True)
    last_seq = ma.fields.Integer(allow_none=True)
    chain_head_seq = ma.fields.Integer(metadata={"description": "the cut, as the checkpoint signs it"})
    chain_head_hash = ma.fields.String()
    sha256 = ma.fields.String(metadata={"description": "of the export's bytes"})
    checkpoint = ma.fields.Nested(CheckpointSchema)
    key_id = ma.fields.String()
    signature = ma.fields.String()


class PinSchema(ma.Schema):
    """The checkpoint a verification held the chain to, and where it was read."""

    length = ma.fields.Integer(allow_none=True)
    head_hash = ma.fields.String(allow_none=True)
    at = ma.fields.String(allow_none=True)
    source = ma.fields.String(metadata={"enum": ["table", "file"]})


class VerifySchema(ma.Schema):
    ok = ma.fields.Boolean()
    count = ma.fields.Integer()
    head_hash = ma.fields.String()
    first_bad_seq = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    checkpoint = ma.fields.Nested(PinSchema, allow_none=True,
                                  metadata={"description": "the latest signed checkpoint it was checked against"})


AuditEventListSchema = list_schema(AuditEventSchema, "AuditEventList")
