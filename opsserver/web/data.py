"""Plain data for the maps and pages, gathered from the services (the builders never see the database)."""

from datetime import datetime, timedelta

from sqlalchemy import select

from ..checkins.models import Checkin
from ..database import now_utc
from ..extensions import db
from ..operations.airspace import airspace_view
from ..operations.reports import report_lines, report_view
from ..operations.rounds import get_round
from ..operations.state import colour, points_in_rounds, round_view
from ..operations.models import AirspaceRequest, FiringReport
from ..registry.models import CrewMember, Point


def crew_positions(hours: int = 24) -> list[dict]:
    """Each crew member's latest check-in position within the last hours."""
    since = now_utc() - timedelta(hours=hours)
    c = Checkin.__table__.c
    rows = db.session.execute(
        select(c.crew_id, c.latitude, c.longitude, c.recorded_at, c.within_geofence, c.kind, Point.code,
               CrewMember.name)
        .join(Point, Point.id == c.point_id).join(CrewMember, CrewMember.id == c.crew_id)
        .where(c.received_at > since).order_by(c.crew_id, c.recorded_at)).all()
    latest = {}
    for row in rows:
        latest[row.crew_id] = {"crew_id": row.crew_id, "name": row.name, "point_code": row.code,
                               "latitude": row.latitude, "longitude": row.longitude,
                               "recorded_at": row.recorded_at.isoformat(), "within_geofence": row.within_geofence,
                               "kind": row.kind}
    return list(latest.values())


def round_data(round_id: int) -> dict:
    """A round with its points (state, sector), reports and airspace requests, for the round maps."""
    r = get_round(round_id)
    states = points_in_rounds([r])[r.id]
    ids = [pr.point.id for pr in states]
    points = {p.id: p for p in db.session.execute(select(Point).where(Point.id.in_(ids))).scalars()}
    reports = db.session.execute(select(FiringReport).where(FiringReport.round_id == r.id)
                                 .order_by(FiringReport.started_at)).scalars().all()
    lines = report_lines([rep.id for rep in reports])
    code = {p.id: p.code for p in points.values()}
    requests = db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id == r.id)
                                  .order_by(AirspaceRequest.created_at)).scalars().all()
    return {
        "round": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in round_view(r).items()},
        "points": [{"code": pr.point.code, "name": pr.point.name, "latitude": points[pr.point.id].latitude,
                    "longitude": points[pr.point.id].longitude,
                    "sector_start_deg": points[pr.point.id].sector_start_deg,
                    "sector_end_deg": points[pr.point.id].sector_end_deg,
                    "max_range_km": points[pr.point.id].max_range_km, "state": pr.state,
                    "colour": colour(pr.state, bool(pr.flags))} for pr in states],
        "reports": [report_view(rep, code.get(rep.point_id, "?"), lines.get(rep.id, [])) for rep in reports],
        "airspace": [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                      for k, v in airspace_view(q, code.get(q.point_id, "?")).items()} for q in requests],
    }


def round_events(data: dict) -> list[dict]:
    """The round's night as events in time order: requests, decisions, terminations, firings, check-ins."""
    events = []
    for q in data["airspace"]:
        events.append({"at": q["created_at"], "type": "airspace", "point_code": q["point_code"],
                       "label": f"airspace requested {q['window_start'][11:16]}–{q['window_end'][11:16]} UTC"})
        if q.get("decided_at"):
            events.append({"at": q["decided_at"], "type": "decision", "point_code": q["point_code"],
                           "label": f"{q['decision']} {q.get('reference') or q.get('reason') or ''}".strip()})
        if q.get("terminated_at"):
            events.append({"at": q["terminated_at"], "type": "terminated", "point_code": q["point_code"],
                           "label": "window terminated"})
    for rep in data["reports"]:
        fired = sum(line["fired"] for line in rep["ammo"])
        events.append({"at": rep["started_at"], "type": "report", "point_code": rep["point_code"],
                       "label": f"fired {fired} at {rep['azimuth_deg']:g}°", "flagged": bool(rep["flags"])})
    start, end = (datetime.fromisoformat(t) if t else None
                  for t in (data["round"].get("activated_at"), data["round"].get("closed_at")))
    if start:
        codes = [p["code"] for p in data["points"]]
        c = Checkin.__table__.c
        stmt = (select(c.recorded_at, c.kind, c.latitude, c.longitude, c.within_geofence, Point.code)
                .join(Point, Point.id == c.point_id).where(Point.code.in_(codes), c.recorded_at >= start))
        if end:
            stmt = stmt.where(c.recorded_at <= end)
        for row in db.session.execute(stmt):
            events.append({"at": row.recorded_at.isoformat(), "type": "checkin", "point_code": row.code,
                           "latitude": row.latitude, "longitude": row.longitude,
                           "label": f"crew {row.kind}" + ("" if row.within_geofence else " (outside geofence)")})
    return sorted(events, key=lambda e: e["at"])
