"""The rounds' pages: the list, one round's detail, and its report and activity logs signed in with the page
session (the same documents the API serves with `?format=`)."""

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select

from ..extensions import db
from ..operations.models import Round, RoundPoint
from ..operations.rounds import get_round, round_status
from ..operations.state import points_in_rounds, round_view
from ..reports import facts, gather, render
from ..serving.security import allow_inline_scripts
from .auth import PAGE_ROLES, page_roles_required

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


@bp.get("/<int:round_id>")
@page_roles_required(*PAGE_ROLES)
def detail(round_id: int):
    """One round: each ordered point's state, the airspace requests and decisions, the firing reports with
    their flags, and links to its map, replay, report and each point's activity log."""
    r = get_round(round_id)
    states = points_in_rounds([r])[r.id]
    return render_template("rounds/detail.html", view=round_view(r, states), data=facts.round_data_of(r, states))


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
