"""Request and response schemas for accounts and tokens."""

import marshmallow as ma

from ..fields import Flag, Id, Text, When
from ..pagination import PageQuerySchema, list_schema
from .models import ROLES


class TokenRequestSchema(ma.Schema):
    username = Text(required=True, validate=ma.validate.Length(min=1, max=80))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256), load_only=True)


class TokenResponseSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_at = When()
    role = ma.fields.String()
    username = ma.fields.String()
    crew_id = Id(allow_none=True)


class AccountCreateSchema(ma.Schema):
    # Text refuses control characters: `$` alone would let "name\n" through the pattern.
    username = Text(required=True, validate=[ma.validate.Length(min=3, max=80),
                                             ma.validate.Regexp(r"^[A-Za-z0-9_.@-]+$")])
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=8, max=256))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    crew_id = Id(load_default=None, allow_none=True)


class AccountPatchSchema(ma.Schema):
    """Some of an account's fields, at least one; any other field is refused (unknown fields raise)."""

    active = Flag(metadata={"description": "false revokes every token and page session at once"})
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    password = ma.fields.String(load_only=True, validate=ma.validate.Length(min=8, max=256),
                                metadata={"description": "a new password; it also revokes every token and session"})
    crew_id = Id(allow_none=True, metadata={"description": "required (not null) for the role crew"})

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Name at least one of active, role, password, crew_id.")


class AccountSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    crew_id = Id(allow_none=True)
    active = ma.fields.Boolean()
    created_at = When()


class AccountQuerySchema(PageQuerySchema):
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))


AccountListSchema = list_schema(AccountSchema, "AccountList")
