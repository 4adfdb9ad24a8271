"""The no-fire zones pages: the list (active or all) with the form for a new zone and a file import, and a zone's
page (its fields, its edit form, deactivate or reactivate: a zone is never deleted). Every write is the zone
service the API calls, its input loaded by the API's own schemas, so a page accepts exactly what the API
accepts; the geometry's refusals (rules.zones, in English) are shown in the reader's language."""

import json
import re

import marshmallow as ma
from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from rules import zones as zone_rules

from ...errors import ProblemError
from ...extensions import db
from ...reasons import code_label
from ...registry.models import Point
from ...zones import services
from ...zones.models import NoFireZone
from ...zones.schemas import ZoneBaseSchema, ZoneCreateSchema
from ..auth import page_roles_required
from .common import actor, bp, done, localized, put_errors
from .forms import choices, ZoneActiveForm, ZoneForm, ZoneImportForm

FIELD_LABELS = {"name": _l("Name"), "kind": _l("Kind"), "buffer_m": _l("Buffer (m)"), "notes": _l("Notes"),
                "geometry": _l("Geometry (GeoJSON)"), "active": _l("Active"), "source": _l("Source")}
REQUIRED = ["Missing data for required field."]  # the schema's own words, localized like its other refusals

# rules.zones.geometry_problems and the import's refusals, in the reader's language (their numbers kept).
_TEXTS = [
    (r"ring (?P<n>\d+) has (?P<count>\d+) positions; a ring needs at least 4",
     _l("Ring %(n)s has %(count)s positions; a ring needs at least 4.")),
    (r"ring (?P<n>\d+) is not closed: its last position must repeat its first",
     _l("Ring %(n)s is not closed: its last position must repeat its first.")),
    (r"position (?P<lon>\S+), (?P<lat>\S+) is outside WGS-84 .*",
     _l("Position %(lon)s, %(lat)s is outside WGS-84 (longitude −180…180, latitude −90…90).")),
    (r"the geometry is not valid: (Ring )?Self-intersection\[(?P<at>[^\]]*)\].*",
     _l("The geometry is not valid: its boundary crosses itself at %(at)s (a ring may not cross itself).")),
    (r"the geometry is not valid: (?P<why>.*) \(a ring may not cross itself\)",
     _l("The geometry is not valid (%(why)s): a ring may not cross itself.")),
    (r"(?P<n>\d+) positions; a zone has at most (?P<max>\d+)", _l("%(n)s positions; a zone has at most %(max)s.")),
    (r"the zone spans (?P<we>\S+)° × (?P<sn>\S+)°; at most (?P<max>\S+)° each way",
     _l("The zone spans %(we)s° × %(sn)s°; at most %(max)s° each way.")),
    (r"geometry type must be one of (?P<types>.*)", _l("The geometry's type must be one of %(types)s.")),
    (r"(?P<type>\w+): a position is \[longitude, latitude\] in numbers",
     _l("%(type)s: a position is [longitude, latitude] in numbers.")),
    (r"(?P<type>\w+): coordinates must be a non-empty array",
     _l("%(type)s: the coordinates must be a non-empty array.")),
    (r"(?P<type>\w+): coordinates are nested too deeply", _l("%(type)s: the coordinates are nested too deeply.")),
    (r"a line needs at least 2 positions", _l("A line needs at least 2 positions.")),
    (r"geometry must be a GeoJSON geometry object|Not a valid mapping type\.",
     _l("Must be a GeoJSON geometry object.")),
    (r"not a GeoJSON Feature", _l("Not a GeoJSON Feature.")),
    (r"The body must be a GeoJSON FeatureCollection.*|a FeatureCollection",
     _l("The file must be a GeoJSON FeatureCollection with a “features” array.")),
    (r"(?P<n>\d+) features; an import takes at most (?P<max>\d+)\.",
     _l("%(n)s features; an import takes at most %(max)s.")),
]
_PATTERNS = [(re.compile(pattern), text) for pattern, text in _TEXTS]


def _known(message: str) -> str | None:
    for pattern, text in _PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return str(text) % {k: v or "" for k, v in found.groupdict().items()}
    return None


def zone_text(message: str) -> str:
    """A refusal of a zone's input in the reader's language; a detail that joined several with "; " (the import's)
    is taken apart, a piece at a time (two at once where one message itself holds "; ")."""
    whole = _known(message)
    if whole is not None:
        return whole
    pieces, out, i = message.split("; "), [], 0
    while i < len(pieces):
        pair = _known("; ".join(pieces[i:i + 2])) if i + 1 < len(pieces) else None
        if pair is not None:
            out.append(pair)
            i += 2
        else:
            out.append(_known(pieces[i]) or localized(pieces[i]))
            i += 1
    return " ".join(out)


def _load(form, schema: ma.Schema, data: dict) -> dict | None:
    """`data` loaded by the API's schema, or None with each refusal on its field in the reader's language."""
    try:
        return schema.load(data)
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        put_errors(form, {name: [zone_text(m) for m in _texts(value)] for name, value in messages.items()})
        return None


def _texts(value) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _texts(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _texts(v)]
    return [str(value)]


def _run(form, call, field: str | None = None):
    """The service's command, or None with its refusal (ProblemError) shown on the form's fields (or, given `field`,
    its whole detail on that one); it wrote nothing then."""
    try:
        return call()
    except ProblemError as err:
        db.session.rollback()  # end the refused command's transaction (and its write lock) here
        if err.status == 404:
            raise
        if field is not None:
            fields = {field: [zone_text(err.detail)]}
        else:
            fields = {e["field"]: [zone_text(e["detail"])] for e in err.errors if e.get("field") in form._fields}
        put_errors(form, fields or {"_schema": [zone_text(err.detail)]})
        return None


def _kind_choices():
    return choices((kind, code_label(kind)) for kind in zone_rules.KINDS)


def _zone_form(**kwargs) -> ZoneForm:
    form = ZoneForm(**kwargs)
    form.kind.choices = _kind_choices()
    return form


def _geometry(form: ZoneForm):
    """The geometry typed in the form, parsed (a Feature's geometry taken out of it), or None with the problem shown
    on the field. What the geometry may be is the schema's to say."""
    text = (form.geometry.data or "").strip()
    if not text:
        put_errors(form, {"geometry": REQUIRED})
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        put_errors(form, {"geometry": [_("Not valid JSON (line %(line)s, column %(col)s).", line=exc.lineno,
                                         col=exc.colno)]})
        return None
    except RecursionError:
        put_errors(form, {"geometry": [_("Not valid JSON: nested too deeply.")]})
        return None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    return value


# -- the list, a new zone, the import ------------------------------------------------------------------------------

def _page(create: ZoneForm | None = None, importer: ZoneImportForm | None = None, results: list | None = None,
          status_code: int = 200):
    show_all = request.args.get("show") == "all"
    stmt = select(NoFireZone.id, NoFireZone.name, NoFireZone.kind, NoFireZone.buffer_m, NoFireZone.active,
                  NoFireZone.source, NoFireZone.updated_at).order_by(NoFireZone.name, NoFireZone.id)
    if not show_all:
        stmt = stmt.where(NoFireZone.active.is_(True))
    zones = [{**row._asdict(), "label": code_label(row.kind)} for row in db.session.execute(stmt)]
    counts = dict(db.session.execute(select(NoFireZone.active, func.count()).group_by(NoFireZone.active)).all())
    return render_template("admin/zones.html", zones=zones, show_all=show_all,
                           active_count=counts.get(True, 0), all_count=sum(counts.values()),
                           create=create or _zone_form(formdata=None),
                           importer=importer or ZoneImportForm(formdata=None),
                           results=results, default_buffer=zone_rules.DEFAULT_BUFFER_M), status_code


@bp.get("/admin/zones")
@page_roles_required("admin")
def zones():
    """The no-fire zones (active ones, or all with `?show=all`), the form for a new one and the import."""
    return _page()


@bp.post("/admin/zones")
@page_roles_required("admin")
def zone_create():
    """Record a no-fire zone (the API's POST /zones)."""
    form = _zone_form()
    if form.validate_on_submit():
        body = _present(form)
        geometry = _geometry(form)
        if geometry is not None:
            data = _load(form, ZoneCreateSchema(), {**body, "geometry": geometry})
            if data is not None and not form.errors and _run(form, lambda: services.create_zone(actor(), data)):
                return done(_("No-fire zone %(name)s created.", name=data["name"]), "admin.zones")
        else:
            _load(form, ZoneCreateSchema(partial=("geometry",)), body)  # the other fields' refusals too
    return _page(create=form, status_code=422)


def _present(form: ZoneForm) -> dict:
    out = {}
    for name in ("name", "kind", "buffer_m", "notes"):  # the geometry is parsed on its own (_geometry)
        value = form[name].data
        value = value.strip() if isinstance(value, str) else value
        if value is not None and value != "":
            out[name] = value
    return out


def _read_collection(form: ZoneImportForm):
    """The uploaded file as JSON, or None with the problem on the file field."""
    upload = form.file.data
    raw = upload.read() if upload is not None and hasattr(upload, "read") else b""
    if not raw:
        put_errors(form, {"file": [_("Choose a GeoJSON file.")]})
        return None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        put_errors(form, {"file": [_("The file is not UTF-8 text.")]})
    except json.JSONDecodeError as exc:
        put_errors(form, {"file": [_("The file is not valid JSON (line %(line)s, column %(col)s).",
                                     line=exc.lineno, col=exc.colno)]})
    except RecursionError:
        put_errors(form, {"file": [_("Not valid JSON: nested too deeply.")]})
    return None


def _result_rows(answer: dict, collection: dict) -> list[dict]:
    """One row per feature: its number (from 1), its own id and name, and the zone stored or each problem, the
    field named."""
    rows = []
    for item in answer["items"]:
        feature = collection["features"][item["index"]]
        props = feature.get("properties") if isinstance(feature, dict) else None
        name = props.get("name") if isinstance(props, dict) else None
        problems = []
        where = f"features[{item['index']}]"
        for error in (item["problem"] or {}).get("errors", []):
            field = error.get("field", "").removeprefix(where).removeprefix(".").removeprefix("properties.")
            problems.append({"field": str(FIELD_LABELS.get(field, field)) if field else _("Feature"),
                             "detail": zone_text(error.get("detail", ""))})
        if item["problem"] and not problems:
            problems.append({"field": _("Feature"), "detail": zone_text(item["problem"].get("detail", ""))})
        rows.append({"number": item["index"] + 1, "feature_id": item.get("feature_id"),
                     "name": name if isinstance(name, str) else None, "zone": item["zone"], "problems": problems})
    return rows


@bp.post("/admin/zones/import")
@page_roles_required("admin")
def zone_import():
    """Store each feature of a GeoJSON FeatureCollection file as a zone (the API's POST /zones/import): one result
    per feature, a bad one refused whole and named while the good ones are stored."""
    form = ZoneImportForm()
    if form.validate_on_submit():
        collection = _read_collection(form)
        if collection is not None:
            answer = _run(form, lambda: services.import_zones(actor(), collection), field="file")
            if answer is not None:
                return _page(results=_result_rows(answer, collection))
    return _page(importer=form, status_code=422)


# -- one zone ----------------------------------------------------------------------------------------------------

def _zone_page(zone: NoFireZone, form: ZoneForm | None = None, refused: list[str] | None = None,
               status_code: int = 200):
    view = services.zone_view(zone)
    if form is None:
        form = _zone_form(formdata=None, obj=zone)
        form.geometry.data = json.dumps(view["geometry"], ensure_ascii=False)
    toggle = ZoneActiveForm(formdata=None, active="0" if zone.active else "1")
    names = dict(db.session.execute(select(Point.code, Point.name)).all())
    conflicts = [{**item, "code": code, "point_name": names.get(code)}
                 for code, items in services.point_conflicts().items() for item in items if item["zone_id"] == zone.id]
    return render_template("admin/zone_edit.html", zone=view, form=form, toggle=toggle, refused=refused or [],
                           conflicts=conflicts), status_code


@bp.get("/admin/zones/<int:zone_id>")
@page_roles_required("admin")
def zone_edit(zone_id: int):
    """A zone's fields, the points whose safe sector conflicts with it, its edit form and its active switch."""
    return _zone_page(services.zone_by_id(zone_id))


def _changes(form: ZoneForm, zone: NoFireZone) -> dict:
    """The fields whose value differs from the zone's (PATCH semantics); a blank required one is refused."""
    changes, blank = {}, {}
    for name in ("name", "kind", "buffer_m", "notes"):
        value = form[name].data
        value = value.strip() if isinstance(value, str) else value
        if value is None or value == "":
            if name != "notes":
                blank[name] = REQUIRED
                continue
            value = None
        if value != getattr(zone, name):
            changes[name] = value
    put_errors(form, blank)
    geometry = _geometry(form)
    if geometry is not None and geometry != json.loads(zone.geometry):
        changes["geometry"] = geometry
    return changes


@bp.post("/admin/zones/<int:zone_id>")
@page_roles_required("admin")
def zone_update(zone_id: int):
    """Save a zone's edited fields, or deactivate or reactivate it (the API's PATCH /zones/<id>)."""
    zone = services.zone_by_id(zone_id)
    if "active" in request.form and "name" not in request.form:
        return _toggle(zone)
    form = _zone_form()
    if form.validate_on_submit():
        changes = _changes(form, zone)
        if not form.errors and not changes:
            return done(_("Nothing changed."), "admin.zone_edit", zone_id=zone.id)
        data = _load(form, ZoneBaseSchema(partial=True), changes)
        if data is not None and not form.errors and _run(form, lambda: services.update_zone(actor(), zone.id, data)):
            return done(_("No-fire zone %(name)s saved.", name=data.get("name", zone.name)), "admin.zone_edit",
                        zone_id=zone.id)
    db.session.rollback()  # nothing of the form was written
    return _zone_page(services.zone_by_id(zone_id), form, status_code=422)


def _toggle(zone: NoFireZone):
    form = ZoneActiveForm()
    if form.validate_on_submit() and form.active.data in ("0", "1"):
        active = form.active.data == "1"
        name = zone.name
        if _run(form, lambda: services.update_zone(actor(), zone.id, {"active": active})):
            message = _("No-fire zone %(name)s reactivated: firing lines are checked against it again.", name=name) \
                if active else _("No-fire zone %(name)s deactivated: it stays on record, no firing line is checked "
                                 "against it.", name=name)
            return done(message, "admin.zone_edit", zone_id=zone.id)
    refusals = list(dict.fromkeys(e for n, errors in form.errors.items() if n != "csrf_token" for e in errors))
    return _zone_page(services.zone_by_id(zone.id), refused=refusals or [_("The form expired; please send it again.")],
                      status_code=422)


# -- on a point's page -------------------------------------------------------------------------------------------

def _served(path: str) -> bool:
    try:
        current_app.url_map.bind_to_environ(request.environ).match(path, method="GET")
    except HTTPException:
        return False
    return True


def point_zone_context(point: Point) -> dict:
    """What a point's admin page shows of the zones: those within its maximum range (derived from the stored
    point and zones on every view, never stored, so an edit shows its conflicts at once) and the link to its
    printable safe-sector map (when the app serves it)."""
    path = f"/maps/points/{point.code}/safe-sector"
    return {"zones": services.point_zones(point), "safe_sector_url": path if _served(path) else None}
