"""The points page: the operating points with their fields and live state, a new point, and a point's edit form
(PATCH semantics: only what changed is sent to the registry service the API's PATCH calls)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...registry import services
from ...registry.models import Point
from ...registry.schemas import PointBaseSchema, PointCreateSchema
from ...status import services as status
from ..auth import page_roles_required
from .common import EQUIPMENT_NAMES, actor, bp, done, present, put_errors, run_service, schema_load
from .forms import POINT_FIELDS, PointForm
from .zones import point_zone_context

STATE_NAMES = {"idle": _l("idle"), "ordered": _l("ordered"), "manned": _l("manned"),
               "requested": _l("airspace requested"), "cleared": _l("cleared"), "firing": _l("firing"),
               "done": _l("done"), "declined": _l("declined"), "stood_down": _l("stood down"),
               "rejected": _l("airspace rejected")}
NULLABLE = {"elevation_m", "township", "city", "province"}


def _page(create: PointForm | None = None, status_code: int = 200):
    points = db.session.execute(select(Point).order_by(Point.code)).scalars().all()
    live = {f["id"]: f["properties"] for f in status.status_features()["features"]}
    return render_template("admin/points.html", points=points, live=live, create=create or PointForm(formdata=None),
                           states=STATE_NAMES, equipment=EQUIPMENT_NAMES), status_code


@bp.get("/admin/points")
@page_roles_required("admin")
def points():
    """Every point with its fields and live state, and the form for a new one."""
    return _page()


@bp.post("/admin/points")
@page_roles_required("admin")
def point_create():
    """Register a point (the API's POST /points)."""
    form = PointForm()
    if form.validate_on_submit():
        data = schema_load(form, PointCreateSchema(), present(form, ("code", *POINT_FIELDS)))
        if data is not None and run_service(form, lambda: services.create_point(actor(), data)):
            return done(_("Point %(code)s created.", code=data["code"]), "admin.points")
    return _page(create=form, status_code=422)


def _edit(point: Point, form: PointForm, status_code: int = 200):
    return render_template("admin/point_edit.html", point=point, form=form, **point_zone_context(point)), status_code


@bp.get("/admin/points/<code>")
@page_roles_required("admin")
def point_edit(code: str):
    """A point's edit form, filled with its fields."""
    point = services.point_by_code(code, status=404)
    return _edit(point, PointForm(formdata=None, obj=point))


def _changes(form: PointForm, point: Point) -> tuple[dict, dict]:
    """(the fields whose value differs from the point's, the blank ones that may not be blank)."""
    changes, blank = {}, {}
    for name in POINT_FIELDS:
        value = form[name].data
        value = value.strip() if isinstance(value, str) else value
        if value is None or value == "":
            if name not in NULLABLE:
                blank[name] = ["Missing data for required field."]
                continue
            value = None
        if value != getattr(point, name):
            changes[name] = value
    return changes, blank


@bp.post("/admin/points/<code>")
@page_roles_required("admin")
def point_update(code: str):
    """Change a point's fields (the API's PATCH /points/<code>); its code stays."""
    point = services.point_by_code(code, status=404)
    form = PointForm(obj=point)
    if form.validate_on_submit():
        changes, blank = _changes(form, point)
        if blank:
            put_errors(form, blank)
        elif not changes:
            flash(_("Nothing changed."), "ok")
            return redirect(url_for("admin.point_edit", code=point.code))
        else:
            data = schema_load(form, PointBaseSchema(partial=True), changes)
            if data is not None and run_service(form, lambda: services.update_point(actor(), point.code, data)):
                return done(_("Point %(code)s saved.", code=point.code), "admin.points")
    db.session.rollback()  # the form was read against the point as loaded; nothing of it was written
    return _edit(services.point_by_code(code, status=404), form, 422)
