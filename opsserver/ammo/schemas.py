"""Schemas for the ammunition catalogue, movements and the ledger."""

import marshmallow as ma

from ..fields import Id, When
from ..pagination import PageQuerySchema, list_schema
from ..registry.schemas import CODE
from .models import ENTRY_KINDS, MOVEMENT_KINDS

V = ma.validate
TYPE_CODE = V.Regexp(r"^[A-Z0-9][A-Z0-9_-]{0,19}$", error="Use 1–20 capital letters, digits, '-' or '_'.")


class AmmoTypeSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String(required=True, validate=TYPE_CODE)
    name = ma.fields.String(required=True, validate=V.Length(min=1, max=120))
    agent = ma.fields.String(required=True, validate=V.Length(min=1, max=40))
    agent_g_per_unit = ma.fields.Float(required=True, validate=V.Range(min=0, max=100000), allow_nan=False)
    placeholder = ma.fields.Boolean(load_default=False, metadata={"description": "demo values, not real ones"})


class MovementSchema(ma.Schema):
    point_code = ma.fields.String(required=True, validate=CODE)
    ammo_type = ma.fields.String(required=True, validate=TYPE_CODE)
    quantity = ma.fields.Integer(required=True, strict=True, validate=V.Range(min=-1_000_000, max=1_000_000))
    kind = ma.fields.String(required=True, validate=V.OneOf(MOVEMENT_KINDS))
    reference = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=120))
    reason = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=2000))
    to_point_code = ma.fields.String(load_default=None, allow_none=True, validate=CODE)

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        kind, qty = data.get("kind"), data.get("quantity")
        if qty is not None and kind is not None:
            if kind == "adjustment":
                if qty == 0:
                    raise ma.ValidationError("An adjustment changes stock by a non-zero amount.", "quantity")
                if not data.get("reason"):
                    raise ma.ValidationError("An adjustment needs its reason.", "reason")
            elif qty <= 0:
                raise ma.ValidationError("Must be a positive count.", "quantity")
        if kind == "transfer" and not data.get("to_point_code"):
            raise ma.ValidationError("A transfer names the point it goes to.", "to_point_code")
        if kind != "transfer" and data.get("to_point_code"):
            raise ma.ValidationError("Only a transfer goes to another point.", "to_point_code")


class MovementResultSchema(ma.Schema):
    movement_id = ma.fields.String()
    kind = ma.fields.String()
    point_code = ma.fields.String()
    ammo_type = ma.fields.String()
    quantity = ma.fields.Integer()
    to_point_code = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    stock = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class StockSchema(ma.Schema):
    point_code = ma.fields.String()
    stock = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class LedgerEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    movement_id = ma.fields.String()
    point_code = ma.fields.String()
    ammo_type = ma.fields.String()
    kind = ma.fields.String()
    quantity = ma.fields.Integer()
    report_id = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    actor = ma.fields.String()
    created_at = When()


class LedgerQuerySchema(PageQuerySchema):
    point_code = ma.fields.String(validate=CODE)
    ammo_type = ma.fields.String(validate=TYPE_CODE)
    kind = ma.fields.String(validate=V.OneOf(ENTRY_KINDS))
    report_id = ma.fields.String()
    round_id = Id(metadata={"description": "consumption by the reports of this round"})


AmmoTypeListSchema = list_schema(AmmoTypeSchema, "AmmoTypeList")
LedgerListSchema = list_schema(LedgerEntrySchema, "LedgerList")
