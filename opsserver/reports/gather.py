"""The facts of a round report and of an ICS-214-style activity log, gathered as JSON-ready dicts.

Times are UTC ISO 8601 here; the renderers add local time for people. A round's totals are computed
from its firing reports and cross-checked against the ledger's consumption entries for the same reports.
"""

import json
from collections import Counter, defaultdict

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

import rules

from ..checkins.models import Checkin
from ..database.utc import now_utc
from ..errors import ProblemError
from ..extensions import db
from ..operations.models import AirspaceRequest, FiringReport, RoundPoint
from ..operations.reports import report_lines
from ..operations.rounds import get_round, round_status
from ..operations.state import points_in_rounds
from ..reasons import code_label, flag_text, join_texts
from ..registry.models import CrewMember, Point, Shift
from ..registry.services import point_by_code
from .facts import REJECTION_REASONS, ammo_types, ledger_consumption, lifecycle_events, round_data_of, round_events
from .orders import order_activities, order_section, point_order_counts
from .replay import manned_times
from .times import as_datetime, iso, local, seconds_between

# --- the round report ----------------------------------------------------------------------------


def _used(req: dict, reports: list[dict]) -> bool:
    """An approved window is used when a firing of its point lies inside it."""
    if req["status"] not in ("approved", "terminated") or not req.get("approved_start"):
        return False
    start, end = as_datetime(req["approved_start"]), as_datetime(req["effective_end"])
    return any(start <= as_datetime(rep["started_at"]) and as_datetime(rep["ended_at"]) <= end
               for rep in reports if rep["point_code"] == req["point_code"])


def _window(q: dict, reports: list[dict]) -> dict:
    """One airspace request as the report lists it, with its decision time and whether a firing used it."""
    return {
        "request_id": q["id"], "point_code": q["point_code"], "status": q["status"],
        "requested_at": q["created_at"], "window_start": q["window_start"], "window_end": q["window_end"],
        "decided_at": q.get("decided_at"),
        "request_to_decision_s": seconds_between(q["created_at"], q.get("decided_at")),
        "approved_start": q.get("approved_start"), "approved_end": q.get("approved_end"),
        "effective_end": q.get("effective_end"), "terminated_at": q.get("terminated_at"),
        "reference": q.get("reference"), "reason": q.get("reason"), "used": _used(q, reports),
    }


def _window_counts(windows: list[dict]) -> dict[str, int]:
    """Asked, approved (terminated ones included), used, rejected, terminated, cancelled, pending."""
    status = Counter(w["status"] for w in windows)
    return {"asked": len(windows), "approved": status["approved"] + status["terminated"],
            "used": sum(1 for w in windows if w["used"]), "rejected": status["rejected"],
            "terminated": status["terminated"], "cancelled": status["cancelled"], "pending": status["pending"]}


def _ammo_fired(reports: list[dict], types: dict) -> dict[str, dict]:
    """Units fired and duds per ammunition type over these reports, with the agent they dispersed."""
    by_type: dict[str, dict] = {}
    for rep in reports:
        for line in rep["ammo"]:
            t = by_type.setdefault(line["type"], {"fired": 0, "duds": 0})
            t["fired"] += line["fired"]
            t["duds"] += line["duds"]
    for type_code, t in by_type.items():
        t["agent_g"] = round(t["fired"] * types[type_code].agent_g_per_unit, 3)
    return by_type


def _point(pr, reports: list[dict], windows: list[dict], types: dict, manned_at, orders: list[dict]) -> dict:
    """One ordered point's line of the report: its state, order to manned, what it fired, its windows, how many
    orders it had and how many it never acknowledged."""
    rp = pr.round_point
    ammo = _ammo_fired(reports, types)
    counts = _window_counts(windows)
    return {
        "point_code": pr.point.code, "point_name": pr.point.name, "state": pr.state, "min_crew": pr.point.min_crew,
        "ordered_at": iso(rp.ordered_at), "manned_at": iso(manned_at),
        "order_to_manned_s": seconds_between(rp.ordered_at, manned_at),
        "declined_at": iso(rp.declined_at), "declined_reason": rp.declined_reason,
        "stood_down_at": iso(rp.stood_down_at), "stood_down_reason": rp.stood_down_reason,
        "fired": bool(reports), "reports": len(reports), "ammo": ammo,
        "fired_total": sum(t["fired"] for t in ammo.values()),
        "duds_total": sum(t["duds"] for t in ammo.values()),
        "agent_g": round(sum(t["agent_g"] for t in ammo.values()), 3),
        "flags": [f["code"] for rep in reports for f in rep["flags"]],
        **{f"windows_{k}": counts[k] for k in ("asked", "approved", "used", "rejected", "terminated")},
        "request_to_decision_s": [w["request_to_decision_s"] for w in windows if w["decided_at"]],
        **point_order_counts(orders, pr.point.code),
    }


def _totals(points: list[dict], types: dict) -> dict[str, dict]:
    """Fired, duds and agent per ammunition type over all points, in the order the types first appear."""
    totals: dict[str, dict] = {}
    for p in points:
        for type_code, t in p["ammo"].items():
            tot = totals.setdefault(type_code, {"fired": 0, "duds": 0, "agent_g": 0.0,
                                                "agent": types[type_code].agent,
                                                "agent_g_per_unit": types[type_code].agent_g_per_unit})
            tot["fired"] += t["fired"]
            tot["duds"] += t["duds"]
    for type_code, tot in totals.items():
        tot["agent_g"] = round(tot["fired"] * types[type_code].agent_g_per_unit, 3)
    return totals


def _flags(states: list, reports_of: dict[str, list[dict]]) -> list[dict]:
    """Every flag of every report of an ordered point, with its report, point, start and reason."""
    return [{"report_id": rep["id"], "point_code": rep["point_code"], "started_at": rep["started_at"],
             "code": f["code"], "reason": flag_text(f)}
            for pr in states for rep in reports_of[pr.point.code] for f in rep["flags"]]


def _by_point(items: list[dict]) -> dict[str, list[dict]]:
    """Reports or windows grouped by point code, in their order."""
    out = defaultdict(list)
    for item in items:
        out[item["point_code"]].append(item)
    return out


def _manned(r, states: list) -> dict:
    """When each ordered point was first manned, the check-ins replayed from the first order to now or the close."""
    round_points = [pr.round_point for pr in states]
    since = min((x.ordered_at for x in round_points), default=r.created_at)
    return manned_times(round_points, {pr.point.id: pr.point.min_crew for pr in states}, since,
                        r.closed_at or now_utc())


def _round_header(r) -> dict:
    return {"id": r.id, "name": r.name, "purpose": r.purpose, "status": round_status(r),
            "planned_start": iso(r.planned_start), "planned_end": iso(r.planned_end),
            "created_at": iso(r.created_at), "activated_at": iso(r.activated_at), "closed_at": iso(r.closed_at)}


def _response_times(points: list[dict], windows: list[dict], orders: list[dict]) -> dict:
    """Order to manned per point, request to decision per airspace request, issue to acknowledgement per order
    (phone time; None while unacknowledged)."""
    return {"order_to_manned_s": {p["point_code"]: p["order_to_manned_s"] for p in points},
            "request_to_decision_s": {w["request_id"]: w["request_to_decision_s"] for w in windows},
            "order_to_ack_s": {str(o["id"]): o["ack_delay_s"] for o in orders}}


def round_report(round_id: int) -> dict:
    """Everything the round report shows, JSON-ready (times in UTC ISO 8601); `_map_data` feeds the map."""
    r = get_round(round_id)
    states = points_in_rounds([r])[r.id]
    data = round_data_of(r, states)
    reports = data["reports"]
    windows = [_window(q, reports) for q in data["airspace"]]
    reports_of, windows_of = _by_point(reports), _by_point(windows)
    manned, types = _manned(r, states), ammo_types()
    points = [_point(pr, reports_of[pr.point.code], windows_of[pr.point.code], types, manned.get(pr.point.id),
                     data["orders"]) for pr in states]
    totals = _totals(points, types)
    ledger = ledger_consumption([rep["id"] for rep in reports])
    fired = {k: v["fired"] for k, v in totals.items() if v["fired"]}
    return {
        "round": _round_header(r),
        "generated_at": iso(now_utc()), "timezone": current_app.config["OPS_TIMEZONE"],
        "points_ordered": len(points), "points_fired": sum(1 for p in points if p["fired"]),
        "points": points,
        "totals": totals,
        "ledger_consumption": ledger,
        "totals_match_ledger": ledger == fired,
        "flags": _flags(states, reports_of),
        "airspace": {**_window_counts(windows), "windows": windows},
        "orders": order_section(data["orders"], [p["point_code"] for p in points]),
        "response_times": _response_times(points, windows, data["orders"]),
        "timeline": sorted(lifecycle_events(r, states) + round_events(data), key=lambda e: e["at"]),
        "reports": reports,
        "_map_data": data,
    }


# --- the ICS-214-style activity log --------------------------------------------------------------


def _activity(at, kind: str, who: str | None, detail: str) -> dict:
    return {"at": iso(at), "kind": kind, "who": who or "", "detail": detail}


def _crew(point: Point, start, end) -> list[dict]:
    """The crew on the point's shifts that meet the period, with their positions and certificates."""
    shifts = db.session.execute(select(Shift).where(
        Shift.point_id == point.id, rules.overlaps_sql(Shift.starts_at, Shift.ends_at, start, end))
        .order_by(Shift.starts_at)).scalars().all()
    return [{"crew_id": s.crew.id, "name": s.crew.name, "position": s.position,
             "certificate_no": s.crew.certificate_no, "certificate_expires": s.crew.certificate_expires.isoformat(),
             "shift_start": iso(s.starts_at), "shift_end": iso(s.ends_at)} for s in shifts]


def _checkin_activities(point: Point, start, end, names: dict) -> list[dict]:
    c = Checkin.__table__.c
    rows = db.session.execute(select(c.recorded_at, c.kind, c.crew_id, c.within_geofence, c.distance_m)
                              .where(c.point_id == point.id, c.recorded_at >= start, c.recorded_at <= end)
                              .order_by(c.recorded_at))
    out = []
    for row in rows:
        arrive = row.kind == "arrive"
        detail = _("arrived at %(point)s", point=point.code) if arrive else \
            _("departed from %(point)s", point=point.code)
        if not row.within_geofence:
            detail += _(" (outside the geofence, %(distance)s m)", distance=f"{row.distance_m:.0f}")
        out.append(_activity(row.recorded_at, "arrival" if arrive else "departure", names.get(row.crew_id), detail))
    return out


def _decision_detail(q: AirspaceRequest) -> str:
    if q.decision == "approved":
        return _("approved %(start)s – %(end)s ref %(reference)s", start=local(q.approved_start),
                 end=local(q.approved_end), reference=q.reference or "—")
    reason = _(REJECTION_REASONS[q.reason]) if q.reason in REJECTION_REASONS else (q.reason or "—")
    text = _("rejected: %(reason)s", reason=reason)
    return text + _(" (%(detail)s)", detail=q.reason_detail) if q.reason_detail else text


def _airspace_activities(round_id: int, point: Point) -> list[dict]:
    out = []
    for q in db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id == round_id,
                                                              AirspaceRequest.point_id == point.id)
                                .order_by(AirspaceRequest.created_at)).scalars():
        out.append(_activity(q.created_at, "airspace_request", q.requested_by,
                             _("airspace requested %(start)s – %(end)s", start=local(q.window_start),
                               end=local(q.window_end))))
        if q.decided_at:
            out.append(_activity(q.decided_at, f"airspace_{q.decision}", q.decided_by, _decision_detail(q)))
        if q.terminated_at:
            out.append(_activity(q.terminated_at, "airspace_terminated", q.terminated_by,
                                 _("window terminated: stop firing")))
        if q.cancelled_at:
            out.append(_activity(q.cancelled_at, "airspace_cancelled", q.cancelled_by, _("request cancelled")))
    return out


def _firing_activities(round_id: int, point: Point, names: dict) -> list[dict]:
    reps = db.session.execute(select(FiringReport).where(FiringReport.round_id == round_id,
                                                         FiringReport.point_id == point.id)
                              .order_by(FiringReport.started_at)).scalars().all()
    lines = report_lines([x.id for x in reps])
    out = []
    for x in reps:
        ammo = _(", ").join(_("%(type)s %(fired)s fired / %(duds)s duds", type=ln["type"], fired=ln["fired"],
                                duds=ln["duds"]) for ln in lines.get(x.id, []))
        flags = json.loads(x.flags)
        detail = _("firing to %(end)s, azimuth %(azimuth)s°, %(ammo)s", end=local(x.ended_at),
                   azimuth=f"{x.azimuth_deg:g}", ammo=ammo)
        if flags:
            detail += _("; flags: %(flags)s", flags=join_texts(
                _("%(label)s: %(reason)s", label=code_label(f["code"]), reason=flag_text(f)) for f in flags))
        out.append(_activity(x.started_at, "firing", names.get(x.crew_id), detail))
    return out


def _round_point(round_id: int, point: Point) -> RoundPoint:
    rp = db.session.execute(select(RoundPoint).where(RoundPoint.round_id == round_id,
                                                     RoundPoint.point_id == point.id)).scalar_one_or_none()
    if rp is None:
        raise ProblemError(404, f"Point {point.code} is not ordered in round {round_id}.", type_="not-found")
    return rp


def activity_log(round_id: int, code: str) -> dict:
    """One point's activity in one round: period, crew with positions, every notable activity in time order."""
    r = get_round(round_id)
    point = point_by_code(code, status=404)
    rp = _round_point(r.id, point)
    start = r.activated_at or rp.ordered_at
    end = r.closed_at or now_utc()
    crew = _crew(point, start, end)
    names = {m.id: m.name for m in db.session.execute(select(CrewMember)).scalars()}
    acts = [_activity(rp.ordered_at, "ordered", r.created_by,
                      _("%(point)s ordered in round %(round)s (%(name)s)", point=point.code, round=r.id, name=r.name))]
    if r.activated_at:
        acts.append(_activity(r.activated_at, "round_activated", None, _("round %(round)s activated", round=r.id)))
    acts += _checkin_activities(point, start, end, names)
    acts += _airspace_activities(r.id, point)
    acts += _firing_activities(r.id, point, names)
    acts += order_activities(r.id, point.id, point.code)
    if rp.declined_at:
        acts.append(_activity(rp.declined_at, "declined", None, _("declined: %(reason)s", reason=rp.declined_reason)))
    if rp.stood_down_at:
        acts.append(_activity(rp.stood_down_at, "stood_down", None,
                              _("stood down: %(reason)s", reason=rp.stood_down_reason)))
    if r.closed_at:
        acts.append(_activity(r.closed_at, "round_closed", None, _("round %(round)s closed", round=r.id)))
    acts.sort(key=lambda a: a["at"])
    return {"round": {"id": r.id, "name": r.name, "purpose": r.purpose, "status": round_status(r)},
            "point": {"code": point.code, "name": point.name, "county": point.county,
                      "latitude": point.latitude, "longitude": point.longitude},
            "period": {"start": iso(start), "end": iso(end), "open": r.closed_at is None},
            "timezone": current_app.config["OPS_TIMEZONE"], "generated_at": iso(now_utc()),
            "crew": crew, "activities": acts}
