"""The live status of every point, computed from the facts in a fixed number of queries."""

from datetime import datetime

from sqlalchemy import and_, func, select

import rules
from ..alerts.compute import active_rounds, compute_alerts
from ..ammo.services import stock as stock_by_point
from ..audit.models import AuditEvent
from ..checkins.models import Checkin
from ..checkins.services import on_site_by_point
from ..database.utc import now_utc
from ..extensions import db
from ..operations.state import colour, order_fields, points_in_rounds, window_view
from ..reasons import localized_flags
from ..registry.models import Point


def audit_head() -> tuple[int, datetime | None]:
    """The audit log's last event (every change of state writes one): its sequence number and time, or
    (0, None) for an empty log. One indexed query."""
    row = db.session.execute(select(AuditEvent.seq, AuditEvent.at).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return (row.seq, row.at) if row else (0, None)



# A point's geometry and fixed properties, made once per point row and shared by every build after it
# (a tenth of a 10,000-point build). Readers of the feed copy, never change, them.
_static_parts: dict[tuple, tuple[dict, dict]] = {}


def _static_part(row) -> tuple[dict, dict]:
    return ({"type": "Point", "coordinates": [row.longitude, row.latitude]},
            {"code": row.code, "name": row.name, "county": row.county, "city": row.city, "province": row.province,
             "equipment": row.equipment, "launchers": row.launchers, "sector_start_deg": row.sector_start_deg,
             "sector_end_deg": row.sector_end_deg, "max_range_km": row.max_range_km,
             "max_height_m": row.max_height_m, "geofence_m": row.geofence_m, "min_crew": row.min_crew})


def status_features(at: datetime | None = None, alerts_out: list | None = None) -> dict:
    """One GeoJSON Feature per point with its live state (fixed number of queries for any number of points);
    the alerts it computed on the way are added to `alerts_out` when given (the dashboard shows them)."""
    at = at or now_utc()
    rounds = active_rounds(at)
    on_site = on_site_by_point(None, at)
    states = points_in_rounds(rounds, at, on_site=on_site)
    current: dict[int, tuple] = {}
    for r in rounds:  # ordered by activation: a later round wins
        ref = {"id": r.id, "name": r.name}
        for pr in states[r.id]:
            current[pr.point.id] = (ref, pr)
    p = Point.__table__.c
    # Every point (the alerts name inactive ones too); the features are of the active ones.
    rows = db.session.connection().execute(
        select(p.id, p.code, p.name, p.county, p.latitude, p.longitude, p.equipment, p.launchers,
               p.sector_start_deg, p.sector_end_deg, p.max_range_km, p.max_height_m, p.geofence_m, p.min_crew,
               p.active, p.province, p.city).order_by(p.code)).all()
    alerts = compute_alerts(at, rounds, states, codes={row[0]: row[1] for row in rows})
    if alerts_out is not None:
        alerts_out.extend(alerts)
    alerts_by_code: dict[str, list] = {}
    for a in alerts:
        alerts_by_code.setdefault(a["point_code"], []).append(a)
    stock = stock_by_point(None)
    c = Checkin.__table__.c
    # The latest check-in per point by the phone's time (served by the (point_id, recorded_at) index).
    last = select(c.point_id, func.max(c.recorded_at).label("last")).group_by(c.point_id).subquery()
    last_checkin = {row.point_id: row for row in db.session.connection().execute(
        select(c.point_id, c.crew_id, c.kind, c.recorded_at, c.received_at, c.within_geofence)
        .join(last, and_(last.c.point_id == c.point_id, last.c.last == c.recorded_at)))}
    global _static_parts
    features = []
    previous, _static_parts = _static_parts, {}
    for row in rows:
        if not row[14]:  # inactive
            continue
        # Keyed by the whole row, so a changed point misses and is made again; points gone drop out.
        key = tuple(row)  # hashed in C, unlike the Row itself
        static = _static_parts[key] = previous.get(key) or _static_part(row)
        point_id, code = row[0], row[1]
        r, pr = current.get(point_id, (None, None))
        state = pr.state if pr else "idle"
        flags = pr.flags if pr else []
        point_alerts = alerts_by_code.get(code, [])
        crew = on_site.get(point_id, [])
        certified = sum(1 for c in crew if c["certificate_valid"]) if crew else 0
        lc = last_checkin.get(point_id)
        features.append({
            "type": "Feature", "id": code, "geometry": static[0],
            "properties": {
                **static[1],
                "state": state, "colour": colour(state, bool(flags or point_alerts)),
                "crew_on_site": certified,
                # The rule's verdict travels with the data: the maps show it and decide nothing.
                "below_min_crew": rules.understaffed(certified, row.min_crew),
                "crew": [{"crew_id": c["crew_id"], "name": c["name"]} for c in crew] if crew else [],
                "stock": stock.get(point_id, {}),
                "round": r,
                "open_window": window_view(pr.open_window, countdown=False) if pr else None,
                **(_order_properties(pr) if pr else {"readiness_level": None, "last_order": None}),
                "last_checkin": {"crew_id": lc.crew_id, "kind": lc.kind, "recorded_at": lc.recorded_at.isoformat(),
                                 "received_at": lc.received_at.isoformat(),
                                 "within_geofence": lc.within_geofence} if lc else None,
                "flags": localized_flags(flags),
                # Types and severities only: the messages are at /api/v1/alerts.
                "alerts": [{"type": a["type"], "severity": a["severity"]} for a in point_alerts]
                if point_alerts else [],
            }})
    return {"type": "FeatureCollection", "generated_at": at.isoformat(), "features": features}


def _order_properties(pr) -> dict:
    """A point's readiness level and its latest order with its acknowledgement, as the feed carries them."""
    fields = order_fields(pr)
    last = fields["last_order"]
    return {"readiness_level": fields["readiness_level"], "last_order": None if last is None else {
        key: last[key] for key in ("id", "kind", "text", "issued_at", "acknowledged_at", "ack_delay_s")}}
