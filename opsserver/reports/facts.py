"""A round's facts as plain data: its points (state, sector), firing reports, airspace requests, orders, events,
ledger.

What the round map, the replay, the map archive and the round report are built from; the map builders
never see the database.
"""

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..ammo.models import AmmoType, LedgerEntry
from ..checkins.models import Checkin
from ..extensions import db
from ..operations.airspace import airspace_view
from ..operations.models import AirspaceRequest, FiringReport, Round
from ..operations.reports import report_lines, report_view
from ..operations.rounds import get_round
from ..operations.state import PointInRound, colour, points_in_rounds, round_view
from ..reasons import code_label
from ..registry.models import Point
from .orders import order_events, round_orders
from .times import iso, local


REJECTION_REASONS = {"airspace_busy": "airspace busy", "civil_flight": "civil flight",
                     "military_flight": "military flight", "other": "other reason"}  # msgids (as _labels.html)


def _plain(view: dict) -> dict:
    """A view with its datetimes as ISO 8601 text."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in view.items()}


def round_data(round_id: int) -> dict:
    """A round with its points (state, sector), reports, airspace requests and orders, for the round maps."""
    r = get_round(round_id)
    return round_data_of(r, points_in_rounds([r])[r.id])


def round_data_of(r: Round, states: list[PointInRound]) -> dict:
    """`round_data` of a round already loaded, with its points' states already derived."""
    ids = [pr.point.id for pr in states]
    points = {p.id: p for p in db.session.execute(select(Point).where(Point.id.in_(ids))).scalars()}
    reports = db.session.execute(select(FiringReport).where(FiringReport.round_id == r.id)
                                 .order_by(FiringReport.started_at)).scalars().all()
    lines = report_lines([rep.id for rep in reports])
    code = {p.id: p.code for p in points.values()}
    requests = db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id == r.id)
                                  .order_by(AirspaceRequest.created_at)).scalars().all()
    return {
        "round": _plain(round_view(r)),
        "points": [{"code": pr.point.code, "name": pr.point.name, "latitude": points[pr.point.id].latitude,
                    "longitude": points[pr.point.id].longitude,
                    "sector_start_deg": points[pr.point.id].sector_start_deg,
                    "sector_end_deg": points[pr.point.id].sector_end_deg,
                    "max_range_km": points[pr.point.id].max_range_km, "state": pr.state,
                    "colour": colour(pr.state, bool(pr.flags))} for pr in states],
        "reports": [report_view(rep, code.get(rep.point_id, "?"), lines.get(rep.id, [])) for rep in reports],
        "airspace": [_plain(airspace_view(q, code.get(q.point_id, "?"))) for q in requests],
        "orders": round_orders(r.id, code),
    }


def _request_events(q: dict) -> list[dict]:
    events = [{"at": q["created_at"], "type": "airspace", "point_code": q["point_code"],
               "label": _("airspace requested %(start)s – %(end)s", start=local(q["window_start"]),
                          end=local(q["window_end"]))}]
    if q.get("decided_at"):
        events.append({"at": q["decided_at"], "type": "decision", "point_code": q["point_code"],
                       "label": _("approved, ref %(reference)s", reference=q.get("reference") or "—")
                       if q["decision"] == "approved" else _("rejected: %(reason)s", reason=_(
                           REJECTION_REASONS.get(q.get("reason"), "other reason")))})
    if q.get("terminated_at"):
        events.append({"at": q["terminated_at"], "type": "terminated", "point_code": q["point_code"],
                       "label": _("window terminated: stop firing")})
    return events


def _report_event(rep: dict) -> dict:
    fired = sum(line["fired"] for line in rep["ammo"])
    return {"at": rep["started_at"], "type": "report", "point_code": rep["point_code"],
            "label": _("fired %(fired)s at %(azimuth)s°", fired=fired, azimuth=f"{rep['azimuth_deg']:g}"),
            "flagged": bool(rep["flags"])}


def _checkin_events(data: dict) -> list[dict]:
    """The check-ins at the round's points while it was active (none before it is activated)."""
    start, end = (datetime.fromisoformat(t) if t else None
                  for t in (data["round"].get("activated_at"), data["round"].get("closed_at")))
    if not start:
        return []
    codes = [p["code"] for p in data["points"]]
    c = Checkin.__table__.c
    stmt = (select(c.recorded_at, c.kind, c.latitude, c.longitude, c.within_geofence, Point.code)
            .join(Point, Point.id == c.point_id).where(Point.code.in_(codes), c.recorded_at >= start))
    if end:
        stmt = stmt.where(c.recorded_at <= end)
    return [{"at": row.recorded_at.isoformat(), "type": "checkin", "point_code": row.code,
             "latitude": row.latitude, "longitude": row.longitude,
             "label": _("crew %(kind)s", kind=code_label(row.kind))
             + ("" if row.within_geofence else _(" (outside the geofence)"))}
            for row in db.session.execute(stmt)]


def round_events(data: dict) -> list[dict]:
    """The round's night as events in time order: requests, decisions, terminations, firings, check-ins, orders
    and their acknowledgements."""
    events = [e for q in data["airspace"] for e in _request_events(q)]
    events += order_events(data.get("orders") or [])
    events += [_report_event(rep) for rep in data["reports"]]
    events += _checkin_events(data)
    return sorted(events, key=lambda e: e["at"])


def lifecycle_events(r: Round, states: list[PointInRound]) -> list[dict]:
    """The round's own events (ordered, activated, closed) and its points' declines and stand-downs."""
    events = [{"at": iso(r.created_at), "type": "round", "point_code": None, "label": _("round ordered")}]
    if r.activated_at:
        events.append({"at": iso(r.activated_at), "type": "round", "point_code": None, "label": _("round activated")})
    if r.closed_at:
        events.append({"at": iso(r.closed_at), "type": "round", "point_code": None, "label": _("round closed")})
    for pr in states:
        x = pr.round_point
        if x.declined_at:
            events.append({"at": iso(x.declined_at), "type": "declined", "point_code": pr.point.code,
                           "label": _("declined: %(reason)s", reason=x.declined_reason)})
        if x.stood_down_at:
            events.append({"at": iso(x.stood_down_at), "type": "stood_down", "point_code": pr.point.code,
                           "label": _("stood down: %(reason)s", reason=x.stood_down_reason)})
    return events


def ammo_types() -> dict[str, AmmoType]:
    """The ammunition catalogue by type code."""
    return {t.code: t for t in db.session.execute(select(AmmoType)).scalars()}


def ledger_consumption(report_ids: list[str]) -> dict[str, int]:
    """Units consumed per ammunition type by these reports, as the ledger has them."""
    if not report_ids:
        return {}
    rows = db.session.execute(
        select(AmmoType.code, func.sum(LedgerEntry.quantity))
        .join(AmmoType, AmmoType.id == LedgerEntry.ammo_type_id)
        .where(LedgerEntry.kind == "consumption", LedgerEntry.report_id.in_(report_ids))
        .group_by(AmmoType.code))
    return {code: -int(total or 0) for code, total in rows}
