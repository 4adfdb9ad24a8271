"""The alerts page's rows: each alert with the round it belongs to, so the page can link to it."""

from sqlalchemy import select

from ..extensions import db
from ..operations.models import AirspaceRequest, FiringReport, Round, RoundPoint
from ..registry.models import Point


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
