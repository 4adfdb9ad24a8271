"""Schemas for the ammunition catalogue, movements and the ledger."""

import marshmallow as ma

from ..fields import Count, Flag, Id, Note, Number, Text, When
from ..pagination import PageQuerySchema, list_schema
from ..registry.schemas import point_ref
from .models import ENTRY_KINDS, MOVEMENT_KINDS

V = ma.validate
TYPE_CODE = V.Regexp(r"^[A-Z0-9][A-Z0-9_-]{0,19}$", error="Use 1–20 capital letters, digits, '-' or '_'.")
EXISTING_TYPE = "the code of a type in the catalogue; an unknown one is refused (422)"


class AmmoTypeSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = Text(required=True, validate=TYPE_CODE)
    name = Text(required=True, validate=V.Length(min=1, max=120))
    agent = Text(required=True, validate=V.Length(min=1, max=40))
    agent_g_per_unit = Number(required=True, validate=V.Range(min=0, max=100000))
    placeholder = Flag(load_default=False, metadata={"description": "demo values, not real ones"})


class MovementSchema(ma.Schema):
    point_code = point_ref(required=True)
    ammo_type = Text(required=True, validate=TYPE_CODE, metadata={"description": EXISTING_TYPE})
    quantity = Count(required=True, validate=V.Range(min=-1_000_000, max=1_000_000), metadata={
        "description": "positive, except an adjustment's (non-zero, either sign); no more than the point holds "
                       "when stock leaves it (else 422)"})
    kind = Text(required=True, validate=V.OneOf(MOVEMENT_KINDS))
    reference = Text(load_default=None, allow_none=True, validate=V.Length(max=120))
    reason = Note(load_default=None, allow_none=True, validate=V.Length(max=2000),
                  metadata={"description": "required for an adjustment"})
    to_point_code = point_ref("a transfer's destination: another existing point (else 422); only for a transfer",
                               load_default=None, allow_none=True)

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
    point_code = point_ref()
    ammo_type = Text(validate=TYPE_CODE)
    kind = Text(validate=V.OneOf(ENTRY_KINDS))
    report_id = Text()
    round_id = Id(metadata={"description": "consumption by the reports of this round"})


AmmoTypeListSchema = list_schema(AmmoTypeSchema, "AmmoTypeList")
LedgerListSchema = list_schema(LedgerEntrySchema, "LedgerList")
