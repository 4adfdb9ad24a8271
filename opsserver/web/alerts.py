"""The alerts page's parts: its filters, each alert with the round it belongs to (so the page can link to
it), and the commander's acknowledgement form (the API's schema checks its note)."""

import marshmallow as ma
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField

from ..alerts import services as alert_service
from ..alerts.schemas import AlertAckSchema, AlertQuerySchema
from ..errors import ProblemError
from ..extensions import db
from ..operations.models import AirspaceRequest, FiringReport, Round, RoundPoint
from ..registry.models import Point
from .admin.common import actor, localized
from .overview import known_args, page_query


class AckForm(FlaskForm):
    """A commander's acknowledgement of one alert, with a note (CSRF-checked)."""

    note = TextAreaField(_l("Note"))


def alert_filters(args) -> dict:
    """The page's filters from its query string, by the API's query schema; a bad one is a bad request."""
    return page_query(AlertQuerySchema, args)


def kept_args(args) -> dict:
    """The page's filters as given, to keep them across an acknowledgement (nothing else from the query)."""
    return known_args(AlertQuerySchema, args)


def acknowledge_page(alert_id: str):
    """The acknowledgement posted from the alerts page: the note checked by the API's schema, then the API's
    service; the outcome flashed on the alerts page (with its filters kept)."""
    form = AckForm()
    back = redirect(url_for("web.alerts_page", **kept_args(request.args)))
    if not form.validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return back
    seen = {k: request.form.get(k) or None for k in ("seen_severity", "seen_measure")}
    try:  # a form's number is text; the API's schema takes a JSON number
        seen["seen_measure"] = None if seen["seen_measure"] is None else float(seen["seen_measure"])
    except ValueError:
        seen["seen_measure"] = None
    try:
        data = AlertAckSchema().load({"note": form.note.data or None,
                                      **{k: v for k, v in seen.items() if v is not None}})
    except ma.ValidationError as err:
        flash(" ".join(localized(m) for m in err.messages.get("note", [])) or _("The form expired: try again."),
              "error")
        return back
    try:
        view = alert_service.acknowledge(actor(), alert_id, data.get("note"), seen={
            "severity": data.get("seen_severity"), "measure": data.get("seen_measure")})
    except ProblemError as err:
        db.session.rollback()
        if err.status == 404:
            flash(_("This alert is no longer active."), "error")
        elif err.status == 409:
            flash(_("This alert is worse now than when you read it; read it again: %(message)s",
                    message=err.extra["alert"]["message"]), "error")
        else:
            raise
        return back
    flash(_("Alert acknowledged: %(message)s", message=view["message"]), "ok")
    return back


def _round_of_entities(model, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.round_id).where(model.id.in_(ids))).all())


def _active_round_of_points(codes: list[str]) -> dict[str, int]:
    """The newest active round ordering each point (for alerts about a person or a check-in at it)."""
    if not codes:
        return {}
    rows = db.session.execute(
        select(Point.code, Round.id).join(RoundPoint, RoundPoint.point_id == Point.id)
        .join(Round, Round.id == RoundPoint.round_id)
        .where(Point.code.in_(codes), Round.activated_at.is_not(None), Round.closed_at.is_(None))
        .order_by(Round.id)).all()
    return dict(rows)  # the newest round wins: rows come oldest first


def alert_rows(alerts: list[dict]) -> list[dict]:
    """Each alert with `round_id`: from its entity (a round's point, a report, an airspace request), else the
    active round that orders its point; None when there is none."""
    by_entity = {"firing_report": FiringReport, "airspace_request": AirspaceRequest}
    rounds: dict[tuple[str, str], int] = {}
    for entity, model in by_entity.items():
        ids = [a["entity_id"] for a in alerts if a["entity"] == entity]
        rounds.update({(entity, k): v for k, v in _round_of_entities(model, ids).items()})
    by_point = _active_round_of_points(sorted({a["point_code"] for a in alerts if a["point_code"]}))
    rows = []
    for a in alerts:
        if a["entity"] == "round_point":
            round_id = int(a["entity_id"].split(":", 1)[0])
        else:
            round_id = rounds.get((a["entity"], a["entity_id"])) or by_point.get(a["point_code"])
        rows.append({**a, "round_id": round_id})
    return rows
