"""The ammunition page: the catalogue (an admin adds a type), every point's stock (the sum of its ledger), the
ledger filtered by point and type, and the form for a movement (receipt, transfer, return, recovered dud,
adjustment), which, as in the API, a commander records. Commanders and auditors read it too: the API lets every
role read the catalogue, stock and ledger, and the auditor reconstructs consumption from it."""

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from ...ammo import services
from ...ammo.models import AmmoType, LedgerEntry
from ...ammo.schemas import AmmoTypeSchema, MovementSchema
from ...extensions import db
from ...registry.models import Point
from ..auth import page_principal, page_roles_required
from .common import ENTRY_NAMES, MOVEMENT_NAMES, actor, bp, done, present, run_service, schema_load
from .forms import choices, AmmoTypeForm, LedgerFilterForm, MovementForm

READ_ROLES = ("commander", "auditor", "admin")
LEDGER_SHOWN = 200


def _choices():
    points = db.session.execute(select(Point.code, Point.name).order_by(Point.code)).all()
    types = db.session.execute(select(AmmoType.code, AmmoType.name).order_by(AmmoType.code)).all()
    return (choices((p.code, f"{p.code} {p.name}") for p in points),
            choices((t.code, f"{t.code} {t.name}") for t in types))


def _forms(movement: MovementForm | None, new_type: AmmoTypeForm | None):
    points, types = _choices()
    movement = movement or MovementForm(formdata=None)
    movement.point_code.choices = movement.to_point_code.choices = points
    movement.ammo_type.choices = types
    return movement, new_type or AmmoTypeForm(formdata=None), points, types


def _ledger(point_code: str | None, type_code: str | None) -> list[dict]:
    stmt = (select(LedgerEntry, Point.code, AmmoType.code).join(Point, Point.id == LedgerEntry.point_id)
            .join(AmmoType, AmmoType.id == LedgerEntry.ammo_type_id))
    if point_code:
        stmt = stmt.where(Point.code == point_code)
    if type_code:
        stmt = stmt.where(AmmoType.code == type_code)
    rows = db.session.execute(stmt.order_by(LedgerEntry.id.desc()).limit(LEDGER_SHOWN)).all()
    return [services.entry_view(e, pc, tc) for e, pc, tc in rows]


def _page(movement: MovementForm | None = None, new_type: AmmoTypeForm | None = None, status_code: int = 200):
    movement, new_type, points, types = _forms(movement, new_type)
    filters = LedgerFilterForm(formdata=request.args)
    filters.point_code.choices, filters.ammo_type.choices = points, types
    codes = dict(db.session.execute(select(Point.id, Point.code)).all())
    stock = sorted((codes[pid], held) for pid, held in services.stock().items())
    catalogue = db.session.execute(select(AmmoType).order_by(AmmoType.code)).scalars().all()
    return render_template("admin/ammo.html", catalogue=catalogue, stock=stock, type_codes=[t.code for t in catalogue],
                           ledger=_ledger(filters.point_code.data, filters.ammo_type.data), filters=filters,
                           movement=movement, new_type=new_type, kinds=ENTRY_NAMES, movement_names=MOVEMENT_NAMES,
                           role=page_principal().role, shown_max=LEDGER_SHOWN), status_code


@bp.get("/admin/ammo")
@page_roles_required(*READ_ROLES)
def ammo():
    """The catalogue, the stock of every point and the ledger."""
    return _page()


@bp.post("/admin/ammo/types")
@page_roles_required("admin")
def ammo_type_create():
    """Add a type to the catalogue (the API's POST /ammo/types)."""
    form = AmmoTypeForm()
    if form.validate_on_submit():
        body = {**present(form, ("code", "name", "agent", "agent_g_per_unit")), "placeholder": form.placeholder.data}
        data = schema_load(form, AmmoTypeSchema(), body)
        if data is not None and run_service(form, lambda: services.create_type(actor(), data)):
            return done(_("Ammunition type %(code)s added.", code=data["code"]), "admin.ammo")
    return _page(new_type=form, status_code=422)


@bp.post("/admin/ammo/movements")
@page_roles_required("commander")
def ammo_movement_create():
    """Record a movement in the ledger (the API's POST /ammo/movements: a commander's)."""
    form = MovementForm()
    points, types = _choices()
    form.point_code.choices = form.to_point_code.choices = points
    form.ammo_type.choices = types
    if form.validate_on_submit():
        body = present(form, ("kind", "point_code", "ammo_type", "quantity", "to_point_code", "reference"))
        if (form.reason.data or "").strip():
            body["reason"] = form.reason.data.strip()
        data = schema_load(form, MovementSchema(), body)
        if data is not None and run_service(form, lambda: services.record_movement(actor(), data)):
            return done(_("%(kind)s of %(qty)s %(type)s at %(point)s recorded.", kind=MOVEMENT_NAMES[data["kind"]],
                          qty=data["quantity"], type=data["ammo_type"], point=data["point_code"]), "admin.ammo")
    return _page(movement=form, status_code=422)
