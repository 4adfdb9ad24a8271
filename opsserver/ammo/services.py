"""The catalogue and the ledger: movements are appended, stock is summed, nothing edits a figure."""

import uuid

from sqlalchemy import func, select

from ..audit import services as audit
from ..database.unitofwork import UnitOfWork
from ..database.utc import now_utc
from ..database.writelock import begin_write
from ..errors import ProblemError, field_error
from ..extensions import db, session_work
from ..registry.services import point_by_code
from .models import AmmoType, LedgerEntry


def create_type(actor: str, data: dict) -> AmmoType:
    """Add a type to the catalogue."""
    begin_write(db.session)
    if db.session.execute(select(AmmoType.id).where(AmmoType.code == data["code"])).first():
        raise ProblemError(409, f"Ammunition type '{data['code']}' exists already.", type_="conflict",
                           errors=[{"field": "code", "location": "json", "detail": "already exists"}])
    ammo = AmmoType(**data)
    db.session.add(ammo)
    db.session.flush()
    audit.append(actor, "ammo_type.create", "ammo_type", ammo.code, data)
    db.session.commit()
    return ammo


def types_by_code(codes, field: str = "ammo_type") -> dict[str, AmmoType]:
    """The catalogue entries for these codes; an unknown code is a problem naming the field."""
    codes = set(codes)
    found = {t.code: t for t in db.session.execute(select(AmmoType).where(AmmoType.code.in_(codes))).scalars()}
    missing = sorted(codes - set(found))
    if missing:
        raise field_error(field, f"Unknown ammunition type: {', '.join(missing)}.")
    return found


def stock(point_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Stock per point and type code: the sum of the ledger (one query, however many points)."""
    le, at = LedgerEntry.__table__.c, AmmoType.__table__.c
    stmt = (select(le.point_id, at.code, func.sum(le.quantity))
            .join(AmmoType.__table__, at.id == le.ammo_type_id)
            .group_by(le.point_id, at.code))
    if point_ids is not None:
        stmt = stmt.where(le.point_id.in_(point_ids))
    out: dict[int, dict[str, int]] = {}
    for point_id, code, total in db.session.connection().execute(stmt):
        out.setdefault(point_id, {})[code] = int(total)
    return out


def lock_stock(point_id: int, on: UnitOfWork | None = None) -> None:
    """Serialise stock decisions for one point until commit (PostgreSQL; SQLite's write lock does it already),
    in the unit of work `on` (the session's by default)."""
    (on or session_work).lock("stock", point_id)


_INSERT_ENTRY = LedgerEntry.__table__.insert()
_ENTRY_DEFAULTS = {"report_id": None, "reference": None, "reason": None}


def add_entries(actor: str, entries: list[dict], on: UnitOfWork | None = None) -> str:
    """Append ledger entries sharing one movement id, in the unit of work `on` (the session's by default)."""
    movement_id = str(uuid.uuid4())
    conn = (on or session_work).connection
    for entry in entries:
        # Every column named, so each entry's insert is the same compiled statement: one per firing report.
        conn.execute(_INSERT_ENTRY, {**_ENTRY_DEFAULTS, **entry, "movement_id": movement_id, "actor": actor,
                                     "created_at": now_utc()})
    return movement_id


def record_movement(actor: str, data: dict) -> dict:
    """A receipt, transfer, return, recovered dud or adjustment, with its audit event."""
    begin_write(db.session)
    point = point_by_code(data["point_code"])
    ammo = types_by_code([data["ammo_type"]])[data["ammo_type"]]
    kind, qty = data["kind"], data["quantity"]
    common = {"ammo_type_id": ammo.id, "reference": data.get("reference"), "reason": data.get("reason")}
    if kind in ("transfer", "return"):
        lock_stock(point.id)
        held = stock([point.id]).get(point.id, {}).get(ammo.code, 0)
        if qty > held:
            raise field_error("quantity", f"{point.code} holds {held} {ammo.code}; cannot {kind} {qty}.",
                              status=409)
    if kind == "transfer":
        target = point_by_code(data["to_point_code"], "to_point_code")
        if target.id == point.id:
            raise field_error("to_point_code", "A transfer goes to another point.")
        entries = [{"point_id": point.id, "kind": "transfer_out", "quantity": -qty, **common},
                   {"point_id": target.id, "kind": "transfer_in", "quantity": qty, **common}]
    elif kind == "return":
        entries = [{"point_id": point.id, "kind": "return", "quantity": -qty, **common}]
    else:  # receipt, recovered_dud: into the point's custody; adjustment: signed, with its reason
        entries = [{"point_id": point.id, "kind": kind, "quantity": qty, **common}]
    movement_id = add_entries(actor, entries)
    audit.append(actor, f"ammo.{kind}", "ammo_movement", movement_id,
                 {**{k: v for k, v in data.items()}, "entries": len(entries)})
    db.session.commit()
    return {"movement_id": movement_id, "kind": kind, "point_code": point.code, "ammo_type": ammo.code,
            "quantity": qty, "to_point_code": data.get("to_point_code"), "reference": data.get("reference"),
            "reason": data.get("reason"),
            "stock": stock([point.id]).get(point.id, {})}


def entry_view(entry: LedgerEntry, point_code: str, type_code: str) -> dict:
    """A ledger entry as served."""
    return {"id": entry.id, "movement_id": entry.movement_id, "point_code": point_code, "ammo_type": type_code,
            "kind": entry.kind, "quantity": entry.quantity, "report_id": entry.report_id,
            "reference": entry.reference, "reason": entry.reason, "actor": entry.actor,
            "created_at": entry.created_at}


def point_stock(code: str) -> dict:
    """One point's stock per type."""
    point = point_by_code(code, status=404)
    return {"point_code": point.code, "stock": stock([point.id]).get(point.id, {})}

