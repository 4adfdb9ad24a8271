"""The rounds' pages: the list, one round's detail with the commander's order form, and its report and activity
logs signed in with the page session (the same documents the API serves with `?format=`)."""

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import func, select
from wtforms import FloatField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ..errors import ProblemError
from ..extensions import db
from ..operations import orders
from ..operations.models import ORDER_KINDS, READINESS_LEVELS, Round, RoundPoint
from ..operations.rounds import get_round, round_status
from ..operations.schemas import OrderCreateSchema
from ..operations.state import points_in_rounds, round_view
from ..reasons import join_texts
from ..reports import facts, gather, render
from ..serving.security import allow_inline_scripts
from .admin.common import actor, done, localized, present, put_errors, schema_load
from .admin.forms import choices
from .auth import PAGE_ROLES, page_principal, page_roles_required

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

REPORT_FORMATS = ("html", "csv", "json")
LOG_FORMATS = ("html", "csv")


def _format(allowed: tuple[str, ...]) -> str:
    fmt = request.args.get("format", "html")
    if fmt not in allowed:
        abort(400)
    return fmt


def _attachment(body: str, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def back_strip(links: list[tuple[str, str]]) -> Markup:
    """A small bar of links back into the site, for whole documents (maps, printable reports) that have no
    navigation of their own; hidden when printed."""
    items = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in links)
    return Markup('<style>.ops-back{position:fixed;top:8px;left:56px;z-index:10000;background:#1d2b3a;'
                  'padding:4px 10px;border-radius:4px;font:14px/1.4 sans-serif}.ops-back a{color:#fff;'
                  'margin-right:12px}@media print{.ops-back{display:none}}</style>'
                  f'<nav class="ops-back">{items}</nav>')


def with_back_strip(document: str, links: list[tuple[str, str]]) -> str:
    """`document` with `back_strip(links)` as the first thing in its body."""
    head, sep, rest = document.partition("<body")
    if not sep:
        return str(back_strip(links)) + document
    tag_end = rest.index(">") + 1
    return head + sep + rest[:tag_end] + str(back_strip(links)) + rest[tag_end:]


def round_links(round_id: int) -> list[tuple[str, str]]:
    """Back to the round's page and to the list of rounds."""
    return [(url_for("rounds.detail", round_id=round_id), _("Back to the round")),
            (url_for("rounds.index"), _("Rounds")), (url_for("web.index"), _("Dashboard"))]


@bp.get("")
@page_roles_required(*PAGE_ROLES)
def index():
    """Every round, newest first, with its state, planned times and how many points it ordered."""
    rounds = db.session.execute(select(Round).order_by(Round.id.desc())).scalars().all()
    counts = dict(db.session.execute(select(RoundPoint.round_id, func.count()).group_by(RoundPoint.round_id)).all())
    rows = [{"round": r, "status": round_status(r), "points": counts.get(r.id, 0)} for r in rounds]
    return render_template("rounds/list.html", rows=rows)


ORDER_KIND_NAMES = {"readiness": _l("Readiness"), "fire": _l("Fire"), "cease": _l("Cease firing")}
READINESS_NAMES = {3: _l("3: prepare"), 2: _l("2: stand by at the launcher"), 1: _l("1: ready to fire")}
KIND_FIELDS = {"readiness": ("readiness_level",), "fire": ("azimuth_deg", "elevation_deg", "rounds"), "cease": ()}


class OrderForm(FlaskForm):
    """The commander's order to one point of the round (CSRF-checked by Flask-WTF; the values by the API's schema).
    Only the fields of the kind chosen are sent: the others are left out, not refused."""

    point_code = SelectField(_l("Point"), choices=[], validate_choice=False)
    kind = SelectField(_l("Order"), choices=[SelectChoice(k, ORDER_KIND_NAMES[k]) for k in ORDER_KINDS])
    readiness_level = SelectField(_l("Readiness level (readiness)"), validate_choice=False,
                                  choices=choices((str(n), READINESS_NAMES[n]) for n in READINESS_LEVELS))
    azimuth_deg = FloatField(_l("Azimuth (°) (fire)"), validators=[Optional()])
    elevation_deg = FloatField(_l("Elevation (°) (fire)"), validators=[Optional()])
    rounds = IntegerField(_l("Rounds (fire)"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"))


def _field_text(message: str) -> str:
    """The schema's own words on an order's fields in the reader's language (the rest as the admin pages say them)."""
    if message == "Required for this kind of order.":
        return _("Required for this kind of order.")
    return localized(message)


def _refusal(err: ProblemError, point_code: str) -> str:
    """The service's 409 in the page's language, by its problem type (its detail is for machines, in English)."""
    texts = {"round-not-active": _("Orders go to an active round; this round is not active."),
             "not-ordered": _("%(point)s is not ordered in this round.", point=point_code),
             "illegal-transition": _("%(point)s has declined or been stood down in this round: it takes no orders.",
                                     point=point_code),
             # the clearance's reasons, already in the reader's language
             "not-cleared": _("%(point)s may not fire now, so a fire order is refused: %(reasons)s",
                              point=point_code, reasons=join_texts(x["reason"] for x in err.extra.get("reasons", [])))}
    return texts.get((err.type or "").rsplit("/", 1)[-1], err.detail)


def _order_form(r: Round, states, form: OrderForm | None = None) -> OrderForm:
    form = form or OrderForm(formdata=None)
    form.point_code.choices = [SelectChoice(pr.point.code, f"{pr.point.code} {pr.point.name}") for pr in states]
    return form


def _detail_page(r: Round, form: OrderForm | None = None, status_code: int = 200):
    states = points_in_rounds([r])[r.id]
    principal = page_principal()
    # the form for the commander of an active round, and again with its refusal to whoever just sent it
    can_order = form is not None or (principal is not None and principal.role == "commander"
                                     and round_status(r) == "active")
    return render_template("rounds/detail.html", view=round_view(r, states), data=facts.round_data_of(r, states),
                           order_form=_order_form(r, states, form) if can_order else None,
                           readiness_names=READINESS_NAMES), status_code


@bp.get("/<int:round_id>")
@page_roles_required(*PAGE_ROLES)
def detail(round_id: int):
    """One round: each ordered point's state, readiness and orders, the airspace requests and decisions, the
    firing reports with their flags, the orders with their acknowledgements, links to its map, replay, report
    and each point's activity log; for the commander of an active round, the order form."""
    return _detail_page(get_round(round_id))


@bp.post("/<int:round_id>/orders")
@page_roles_required("commander")
def order_create(round_id: int):
    """Issue an order to a point (the API's POST /rounds/{id}/orders); a refusal is shown on the round's page."""
    r = get_round(round_id)
    form = OrderForm()
    _order_form(r, points_in_rounds([r])[r.id], form)
    if not form.validate_on_submit():
        return _detail_page(r, form, 422)
    kind = form.kind.data
    body = present(form, ("point_code", "kind", "notes", *KIND_FIELDS.get(kind, ())))
    if "readiness_level" in body:  # a choice's text; anything else is left for the schema to refuse
        level = str(body["readiness_level"]).strip()
        body["readiness_level"] = int(level) if level.isdigit() else level
    data = schema_load(form, OrderCreateSchema(), body)
    if data is None:
        _translate_field_errors(form)
        return _detail_page(r, form, 422)
    try:
        view = orders.issue_order(actor(), r.id, data)
    except ProblemError as err:
        db.session.rollback()  # end the refused command's transaction (and release the write lock) here
        if err.status == 404:
            raise
        fields = {e["field"]: [e["detail"]] for e in err.errors if e.get("field")}
        if fields:
            put_errors(form, fields)
            _translate_field_errors(form)
        else:
            form.form_errors.append(_refusal(err, data["point_code"]))
        return _detail_page(r, form, err.status)
    return done(_("Order to %(point)s issued: %(text)s", point=view["point_code"], text=view["text"]),
                "rounds.detail", round_id=r.id, _anchor="orders")


def _translate_field_errors(form: OrderForm) -> None:
    for f in form:
        if isinstance(f.errors, list):
            f.errors = [_field_text(e) for e in f.errors]


@bp.get("/<int:round_id>/report")
@page_roles_required(*PAGE_ROLES)
def report(round_id: int):
    """The round report as the API's `?format=html|csv|json` answers it, for the page session."""
    fmt = _format(REPORT_FORMATS)
    rep = gather.round_report(round_id)
    if fmt == "csv":
        return _attachment(render.report_csv(rep), "text/csv", f"round-{round_id}-report.csv")
    if fmt == "json":
        return _attachment(render.report_json(rep), "application/json", f"round-{round_id}-report.json")
    allow_inline_scripts()  # the round map in its srcdoc frame
    return Response(with_back_strip(render.report_html(rep), round_links(round_id)), mimetype="text/html")


@bp.get("/<int:round_id>/points/<code>/activity-log")
@page_roles_required(*PAGE_ROLES)
def activity_log(round_id: int, code: str):
    """One point's activity log in the round (`?format=html|csv`), for the page session."""
    fmt = _format(LOG_FORMATS)
    log = gather.activity_log(round_id, code)
    if fmt == "csv":
        return _attachment(render.activity_log_csv(log), "text/csv",
                           f"round-{round_id}-{log['point']['code']}-activity-log.csv")
    return Response(with_back_strip(render.activity_log_html(log), round_links(round_id)), mimetype="text/html")
