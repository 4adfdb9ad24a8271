"""The alerts of the SPEC, computed from the facts in a fixed number of queries, most severe first."""

import json
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

import rules
from ..audit.models import AuditEvent
from ..checkins.models import Checkin
from ..clock import local_today
from ..database.utc import now_utc
from ..extensions import db
from ..operations.context import window_of
from ..operations.orders import order_text
from ..operations.state import points_in_rounds
from ..operations.models import AirspaceRequest, FiringReport, Round
from ..reasons import flag_text, join_texts, message
from ..registry.models import CrewMember, Point, Shift
from ..zones import services as zones

WINDOW_ENDING = timedelta(minutes=10)
WINDOW_UNREPORTED = timedelta(minutes=60)
RECENT = timedelta(hours=12)
SEVERITY_ORDER = {s: -rank for s, rank in rules.SEVERITY_RANK.items()}  # most severe first
SAFETY_FLAGS = {"no_airspace", "outside_window", "outside_sector", "over_height", "over_range", "understaffed",
                "uncertified", "insufficient_stock", "no_fire_zone"}


def active_rounds(at: datetime) -> list[Round]:
    return list(db.session.execute(select(Round).where(Round.activated_at.is_not(None), Round.activated_at <= at,
                                                       Round.closed_at.is_(None))
                                   .order_by(Round.activated_at)).scalars())


def _alert(type_: str, severity: str, point_code: str | None, since: datetime, text: tuple[str, dict],
           entity: str, entity_id, measure: float | None = None) -> dict:
    """An alert; its message (`text`: a key of opsserver.reasons and its values) in the reader's language.

    `measure` is how far off the condition is where it can grow (crew short, minutes of clock skew, metres
    into a no-fire buffer): an acknowledged alert comes back when it grows (rules.alert_returns)."""
    return {"id": f"{type_}:{entity}:{entity_id}", "type": type_, "severity": severity, "point_code": point_code,
            "since": since, "message": message(*text), "entity": entity, "entity_id": str(entity_id),
            "measure": measure}


def compute_alerts(at: datetime | None = None, rounds: list[Round] | None = None,
                   states: dict | None = None, codes: dict[int, str] | None = None) -> list[dict]:
    """Every alert of the SPEC, each with its point, severity, since when and a message to act on.

    A caller that has the rounds, their states or the points' codes (by id) already may pass them in.
    """
    at = at or now_utc()
    rounds = active_rounds(at) if rounds is None else rounds
    states = points_in_rounds(rounds, at) if states is None else states
    if codes is None:
        codes = dict(db.session.connection().execute(select(Point.id, Point.code)).all())
    alerts: list[dict] = []

    # Below minimum crew in an active round.
    for r in rounds:
        round_id, round_name, activated_at = r.id, r.name, r.activated_at  # read once: a round orders thousands
        for pr in states.get(round_id, []):
            point = pr.point
            short = rules.understaffed(pr.certified_on_site, point.min_crew)
            if short and pr.state not in ("declined", "stood_down", "done"):
                alerts.append(_alert(
                    "understaffed", "warning", point.code, activated_at,
                    ("alert.understaffed", {"point": point.code, "on_site": pr.certified_on_site,
                                            "min_crew": point.min_crew, "round": round_name}),
                    "round_point", f"{round_id}:{point.code}", point.min_crew - pr.certified_on_site))
            for rep in pr.reports:
                flags = json.loads(rep.flags)
                if flags:
                    severe = any(f["code"] in SAFETY_FLAGS for f in flags)
                    alerts.append(_alert(
                        "flagged_report", "critical" if severe else "warning", pr.point.code, rep.received_at,
                        ("alert.flagged_report", {"point": pr.point.code, "report": rep.id[:8],
                                                  "reasons": join_texts(flag_text(f) for f in flags)}),
                        "firing_report", rep.id))

    # Latest check-in per crew member in the last hours: outside the geofence, or from a skewed clock.
    c, m = Checkin.__table__.c, CrewMember.__table__.c
    # Latest by the server's receipt time: a phone whose clock runs fast stamps its times in the future.
    latest = (select(c.crew_id, func.max(c.received_at).label("last"))
              .where(c.received_at > at - RECENT, c.received_at <= at).group_by(c.crew_id).subquery())
    rows = db.session.connection().execute(
        select(c.id, c.point_id, c.kind, c.distance_m, c.geofence_m, c.within_geofence, c.clock_offset_s,
               c.recorded_at, c.received_at, m.name)
        .join(latest, and_(latest.c.crew_id == c.crew_id, latest.c.last == c.received_at))
        .join(CrewMember.__table__, m.id == c.crew_id)).all()
    for c in rows:
        name = c.name
        code = codes.get(c.point_id)
        if not c.within_geofence:
            alerts.append(_alert("checkin_outside_geofence", "warning", code, c.recorded_at,
                                 ("alert.checkin_outside_geofence",
                                  {"name": name, "kind": c.kind, "distance": c.distance_m, "point": code,
                                   "geofence": c.geofence_m}), "checkin", c.id))
        if rules.clock_skewed(c.clock_offset_s):
            alerts.append(_alert("clock_skew", "warning", code, c.received_at,
                                 ("alert.clock_skew", {"name": name, "point": code,
                                                       "minutes": f"{c.clock_offset_s / 60:+.0f}"}),
                                 "checkin", c.id, round(abs(c.clock_offset_s) / 60, 1)))

    # Approved windows: ending soon, or ended an hour ago with nothing reported.
    round_ids = [r.id for r in rounds]
    recent_rounds = select(Round.id).where(Round.activated_at.is_not(None),
                                           (Round.closed_at.is_(None)) | (Round.closed_at > at - timedelta(hours=24)))
    requests = db.session.execute(select(AirspaceRequest).where(
        AirspaceRequest.decision == "approved", AirspaceRequest.cancelled_at.is_(None),
        AirspaceRequest.round_id.in_(recent_rounds))).scalars().all()
    reported = {(rep_round, rep_point, started) for rep_round, rep_point, started in db.session.execute(
        select(FiringReport.round_id, FiringReport.point_id, FiringReport.started_at)
        .where(FiringReport.round_id.in_(recent_rounds)))}
    for req in requests:
        w = window_of(req)
        code = codes.get(req.point_id)
        if req.round_id in round_ids and w.open_at(at) and w.effective_end - at <= WINDOW_ENDING:
            minutes = (w.effective_end - at).total_seconds() / 60
            alerts.append(_alert("window_ending", "warning", code, w.effective_end - WINDOW_ENDING,
                                 ("alert.window_ending", {"point": code, "reference": req.reference or "—",
                                                          "minutes": f"{minutes:.0f}", "end_at": w.effective_end}),
                                 "airspace_request", req.id))
        if w.effective_end <= at - WINDOW_UNREPORTED and not any(
                rr == req.round_id and rp == req.point_id and started >= w.start for rr, rp, started in reported):
            alerts.append(_alert("window_unreported", "warning", code, w.effective_end + WINDOW_UNREPORTED,
                                 ("alert.window_unreported", {"point": code, "reference": req.reference or "—",
                                                              "end_at": w.effective_end}),
                                 "airspace_request", req.id))

    # Certificates expiring within 30 days (or expired) of people on a current or coming shift.
    today = local_today(at)
    soon = today + timedelta(days=rules.CERTIFICATE_WARNING_DAYS)
    rows = db.session.execute(
        select(Shift, CrewMember).join(CrewMember, CrewMember.id == Shift.crew_id)
        .where(rules.overlaps_sql(Shift.starts_at, Shift.ends_at, at, at + timedelta(hours=24)),
               CrewMember.certificate_expires <= soon)).all()
    for shift, member in rows:
        status = rules.certificate_status(member.certificate_expires, today)
        alerts.append(_alert(
            "certificate_expiring", "critical" if status == "expired" else "warning", codes.get(shift.point_id),
            shift.starts_at,
            ("alert.certificate_expired" if status == "expired" else "alert.certificate_expiring",
             {"name": member.name, "certificate": member.certificate_no,
              "date": member.certificate_expires.isoformat(), "point": codes.get(shift.point_id),
              "start_at": shift.starts_at}),
            "shift", shift.id))
    # Orders of active rounds left unacknowledged for more than five minutes.
    for r in rounds:
        for pr in states.get(r.id, []):
            if pr.state in ("declined", "stood_down"):  # out of the round: its orders are moot
                continue
            # An order the crew answered a later one after is overtaken, not left unheard.
            last_acked = max((o.issued_at for o in pr.orders if o.acknowledged_at is not None), default=None)
            for order in pr.orders:
                if last_acked is not None and order.issued_at <= last_acked:
                    continue
                if rules.unacknowledged(order.issued_at, order.acknowledged_at, at):
                    alerts.append(_alert("order_unacknowledged", "critical" if order.kind != "readiness" else "warning",
                                         pr.point.code, order.issued_at + rules.ACK_LIMIT,
                                         ("alert.order_unacknowledged", {
                                             "point": pr.point.code, "order": order_text(order),
                                             "issued_at": order.issued_at,
                                             "minutes": f"{(at - order.issued_at).total_seconds() // 60:.0f}"}),
                                         "order", order.id))
    # Active rounds activated for points no published announcement covered (the commander gave a reason).
    overridden = {r.id: r for r in rounds if r.without_announcement_reason}
    if overridden:
        uncovered = {}
        for entity_id, payload in db.session.execute(
                select(AuditEvent.entity_id, AuditEvent.payload).where(
                    AuditEvent.entity == "round", AuditEvent.action == "round.activate",
                    AuditEvent.entity_id.in_([str(i) for i in overridden]))):
            uncovered[int(entity_id)] = json.loads(payload).get("uncovered_points") or []
        for round_id, r in overridden.items():
            points = uncovered.get(round_id) or []
            alerts.append(_alert("without_announcement", "warning", points[0] if len(points) == 1 else None,
                                 r.activated_at, ("alert.without_announcement", {
                                     "round": r.name, "points": "、".join(points) or "—",
                                     "reason": r.without_announcement_reason}), "round", round_id))
    # Points whose safe sector reaches into a no-fire zone's buffer (standing data with a problem).
    for code, conflicts in zones.point_conflicts().items():
        for c in conflicts:
            alerts.append(_alert("zone_conflict", "warning", code, c["since"], ("alert.zone_conflict", {
                "point": code, "zone": c["name"], "kind": c["kind"], "buffer": c["buffer_m"],
                "distance": c["distance_m"], "bearing": "—" if c["bearing_deg"] is None else c["bearing_deg"]}),
                "point_zone", f"{code}:{c['zone_id']}", round(c["buffer_m"] - c["distance_m"], 1)))
    alerts.sort(key=lambda a: (SEVERITY_ORDER[a["severity"]], a["point_code"] or "", a["type"]))
    return alerts


def alert_views(alerts: list[dict]) -> list[dict]:
    """The alerts as served: JSON-ready, their times in ISO 8601."""
    return [{**a, "since": a["since"].isoformat()} for a in alerts]
