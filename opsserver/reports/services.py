"""Post-event round reports and ICS-214-style activity logs, gathered from the operations services.

Times are UTC ISO 8601 in machine formats (JSON, CSV ``*_utc`` columns) and local time with its offset
(config ``OPS_TIMEZONE``) in human text. Totals are computed from the firing reports and cross-checked
against the ledger's consumption entries for the same reports.
"""

import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from rules import certificate_valid_at
from ..ammo.models import AmmoType, LedgerEntry
from ..audit import csvsafe
from ..checkins.models import Checkin
from ..checkins.services import ON_SITE_HORIZON
from ..database import now_utc
from ..errors import ProblemError
from ..extensions import db
from ..operations.reports import report_lines
from ..operations.rounds import get_round, round_status
from ..operations.state import points_in_rounds
from ..operations.models import AirspaceRequest, FiringReport, RoundPoint
from ..registry.models import CrewMember, Point, Shift
from ..registry.services import point_by_code
from ..web import data as web_data

# --- times ---------------------------------------------------------------------------------------


def _dt(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def iso(value) -> str | None:
    """UTC, ISO 8601, for machine formats."""
    value = _dt(value)
    return value.isoformat() if value is not None else None


def local(value, with_date: bool = True) -> str:
    """Local time with its offset for people, e.g. ``2026-11-29 22:05:09 +08:00``."""
    value = _dt(value)
    if value is None:
        return "—"
    t = value.astimezone(ZoneInfo(current_app.config["OPS_TIMEZONE"]))
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S") + f" {offset[:3]}:{offset[3:]}"


def _seconds(a, b) -> float | None:
    if a is None or b is None:
        return None
    return round((_dt(b) - _dt(a)).total_seconds(), 1)


# --- order → manned ------------------------------------------------------------------------------


def manned_times(point_rows: list, min_crew: dict[int, int], since: datetime, until: datetime) -> dict[int, datetime]:
    """For each point, the first time at or after its order that it had its minimum certified crew on site.

    Replays the check-ins in time order as ``on_site_by_point`` judges them: a crew member is on site
    at the point of their latest check-in when it is an arrival inside the geofence.
    """
    tz = current_app.config["OPS_TIMEZONE"]
    c, m = Checkin.__table__.c, CrewMember.__table__.c
    rows = db.session.execute(
        select(c.crew_id, c.point_id, c.kind, c.within_geofence, c.recorded_at, m.certificate_expires)
        .join(CrewMember.__table__, m.id == c.crew_id)
        .where(c.recorded_at > since - ON_SITE_HORIZON, c.recorded_at <= until)
        .order_by(c.recorded_at, c.id)).all()
    ordered = {row.point_id: row.ordered_at for row in point_rows}
    latest: dict[int, tuple] = {}  # crew → (point, on site, certificate expiry)
    out: dict[int, datetime] = {}

    def count(point_id, at):
        return sum(1 for p, on, exp in latest.values() if p == point_id and on and certificate_valid_at(exp, at, tz))

    checks = sorted(ordered.items(), key=lambda kv: kv[1])
    i = 0
    for row in rows:
        # points ordered before this check-in are judged on the crew as it stood at their order
        while i < len(checks) and checks[i][1] < row.recorded_at:
            pid, at = checks[i]
            if pid not in out and count(pid, at) >= min_crew[pid]:
                out[pid] = at
            i += 1
        latest[row.crew_id] = (row.point_id, row.kind == "arrive" and row.within_geofence, row.certificate_expires)
        pid = row.point_id
        if pid in ordered and pid not in out and row.recorded_at >= ordered[pid] \
                and count(pid, row.recorded_at) >= min_crew[pid]:
            out[pid] = row.recorded_at
    for pid, at in checks[i:]:
        if pid not in out and count(pid, at) >= min_crew[pid]:
            out[pid] = at
    return out


# --- the round report ----------------------------------------------------------------------------


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


def _used(req: dict, reports: list[dict]) -> bool:
    """An approved window is used when a firing of its point lies inside it."""
    if req["status"] not in ("approved", "terminated") or not req.get("approved_start"):
        return False
    start, end = _dt(req["approved_start"]), _dt(req["effective_end"])
    return any(start <= _dt(rep["started_at"]) and _dt(rep["ended_at"]) <= end
               for rep in reports if rep["point_code"] == req["point_code"])


def round_report(round_id: int) -> dict:
    """Everything the round report shows, JSON-ready (times in UTC ISO 8601)."""
    r = get_round(round_id)
    data = web_data.round_data(round_id)
    states = points_in_rounds([r])[r.id]
    reports, airspace = data["reports"], data["airspace"]
    types = {t.code: t for t in db.session.execute(select(AmmoType)).scalars()}
    period_end = r.closed_at or now_utc()

    rp_rows = db.session.execute(select(RoundPoint).where(RoundPoint.round_id == r.id)).scalars().all()
    manned = manned_times(rp_rows, {pr.point.id: pr.point.min_crew for pr in states},
                          min((x.ordered_at for x in rp_rows), default=r.created_at), period_end)

    totals: dict[str, dict] = {}
    flags, points = [], []
    for pr in states:
        code = pr.point.code
        mine = [rep for rep in reports if rep["point_code"] == code]
        reqs = [q for q in airspace if q["point_code"] == code]
        by_type: dict[str, dict] = {}
        for rep in mine:
            for line in rep["ammo"]:
                t = by_type.setdefault(line["type"], {"fired": 0, "duds": 0})
                t["fired"] += line["fired"]
                t["duds"] += line["duds"]
            for f in rep["flags"]:
                flags.append({"report_id": rep["id"], "point_code": code, "started_at": rep["started_at"],
                              "code": f["code"], "reason": f["reason"]})
        for type_code, t in by_type.items():
            t["agent_g"] = round(t["fired"] * types[type_code].agent_g_per_unit, 3)
            tot = totals.setdefault(type_code, {"fired": 0, "duds": 0, "agent_g": 0.0,
                                                "agent": types[type_code].agent,
                                                "agent_g_per_unit": types[type_code].agent_g_per_unit})
            tot["fired"] += t["fired"]
            tot["duds"] += t["duds"]
        rp = pr.round_point
        manned_at = manned.get(pr.point.id)
        decisions = [_seconds(q["created_at"], q["decided_at"]) for q in reqs if q.get("decided_at")]
        points.append({
            "point_code": code, "point_name": pr.point.name, "state": pr.state, "min_crew": pr.point.min_crew,
            "ordered_at": iso(rp.ordered_at), "manned_at": iso(manned_at),
            "order_to_manned_s": _seconds(rp.ordered_at, manned_at),
            "declined_at": iso(rp.declined_at), "declined_reason": rp.declined_reason,
            "stood_down_at": iso(rp.stood_down_at), "stood_down_reason": rp.stood_down_reason,
            "fired": bool(mine), "reports": len(mine), "ammo": by_type,
            "fired_total": sum(t["fired"] for t in by_type.values()),
            "duds_total": sum(t["duds"] for t in by_type.values()),
            "agent_g": round(sum(t["agent_g"] for t in by_type.values()), 3),
            "flags": [f["code"] for rep in mine for f in rep["flags"]],
            "windows_asked": len(reqs),
            "windows_approved": sum(1 for q in reqs if q["status"] in ("approved", "terminated")),
            "windows_used": sum(1 for q in reqs if _used(q, reports)),
            "windows_rejected": sum(1 for q in reqs if q["status"] == "rejected"),
            "windows_terminated": sum(1 for q in reqs if q["status"] == "terminated"),
            "request_to_decision_s": decisions,
        })
    for type_code, tot in totals.items():
        tot["agent_g"] = round(tot["fired"] * types[type_code].agent_g_per_unit, 3)
    ledger = ledger_consumption([rep["id"] for rep in reports])

    windows = [{
        "request_id": q["id"], "point_code": q["point_code"], "status": q["status"],
        "requested_at": q["created_at"], "window_start": q["window_start"], "window_end": q["window_end"],
        "decided_at": q.get("decided_at"), "request_to_decision_s": _seconds(q["created_at"], q.get("decided_at")),
        "approved_start": q.get("approved_start"), "approved_end": q.get("approved_end"),
        "effective_end": q.get("effective_end"), "terminated_at": q.get("terminated_at"),
        "reference": q.get("reference"), "reason": q.get("reason"), "used": _used(q, reports),
    } for q in airspace]
    timeline = _round_lifecycle(r, rp_rows) + web_data.round_events(data)
    timeline.sort(key=lambda e: e["at"])
    return {
        "round": {"id": r.id, "name": r.name, "purpose": r.purpose, "status": round_status(r),
                  "planned_start": iso(r.planned_start), "planned_end": iso(r.planned_end),
                  "created_at": iso(r.created_at), "activated_at": iso(r.activated_at),
                  "closed_at": iso(r.closed_at)},
        "generated_at": iso(now_utc()), "timezone": current_app.config["OPS_TIMEZONE"],
        "points_ordered": len(points), "points_fired": sum(1 for p in points if p["fired"]),
        "points": points,
        "totals": totals,
        "ledger_consumption": ledger,
        "totals_match_ledger": ledger == {k: v["fired"] for k, v in totals.items() if v["fired"]},
        "flags": flags,
        "airspace": {
            "asked": len(windows),
            "approved": sum(1 for w in windows if w["status"] in ("approved", "terminated")),
            "used": sum(1 for w in windows if w["used"]),
            "rejected": sum(1 for w in windows if w["status"] == "rejected"),
            "terminated": sum(1 for w in windows if w["status"] == "terminated"),
            "cancelled": sum(1 for w in windows if w["status"] == "cancelled"),
            "pending": sum(1 for w in windows if w["status"] == "pending"),
            "windows": windows,
        },
        "response_times": {
            "order_to_manned_s": {p["point_code"]: p["order_to_manned_s"] for p in points},
            "request_to_decision_s": {w["request_id"]: w["request_to_decision_s"] for w in windows},
        },
        "timeline": timeline,
        "reports": reports,
        "_map_data": data,
    }


def _round_lifecycle(r, rp_rows) -> list[dict]:
    codes = {p.id: p.code for p in db.session.execute(
        select(Point).where(Point.id.in_([x.point_id for x in rp_rows]))).scalars()}
    events = [{"at": iso(r.created_at), "type": "round", "point_code": None, "label": "round ordered"}]
    if r.activated_at:
        events.append({"at": iso(r.activated_at), "type": "round", "point_code": None, "label": "round activated"})
    if r.closed_at:
        events.append({"at": iso(r.closed_at), "type": "round", "point_code": None, "label": "round closed"})
    for x in rp_rows:
        if x.declined_at:
            events.append({"at": iso(x.declined_at), "type": "declined", "point_code": codes.get(x.point_id),
                           "label": f"declined: {x.declined_reason}"})
        if x.stood_down_at:
            events.append({"at": iso(x.stood_down_at), "type": "stood_down", "point_code": codes.get(x.point_id),
                           "label": f"stood down: {x.stood_down_reason}"})
    return events


POINT_COLUMNS = ["point_code", "point_name", "state", "ordered_at_utc", "manned_at_utc", "order_to_manned_s",
                 "reports", "fired_total", "duds_total", "agent_g", "ammo", "flags", "windows_asked",
                 "windows_approved", "windows_used", "windows_rejected", "windows_terminated",
                 "request_to_decision_s", "declined_reason", "stood_down_reason"]


def report_csv(rep: dict) -> str:
    """One row per ordered point, then a totals row."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\r\n")
    w.writerow(POINT_COLUMNS)
    for p in rep["points"]:
        w.writerow([p["point_code"], p["point_name"], p["state"], p["ordered_at"] or "", p["manned_at"] or "",
                    "" if p["order_to_manned_s"] is None else p["order_to_manned_s"], p["reports"],
                    p["fired_total"], p["duds_total"], p["agent_g"],
                    ";".join(f"{k}:{v['fired']}/{v['duds']}" for k, v in sorted(p["ammo"].items())),
                    ";".join(p["flags"]), p["windows_asked"], p["windows_approved"], p["windows_used"],
                    p["windows_rejected"], p["windows_terminated"],
                    ";".join(str(s) for s in p["request_to_decision_s"]),
                    p["declined_reason"] or "", p["stood_down_reason"] or ""])
    tot, air = rep["totals"], rep["airspace"]
    w.writerow(["TOTAL", "", "", "", "", "", len(rep["reports"]), sum(t["fired"] for t in tot.values()),
                sum(t["duds"] for t in tot.values()), round(sum(t["agent_g"] for t in tot.values()), 3),
                ";".join(f"{k}:{v['fired']}/{v['duds']}" for k, v in sorted(tot.items())),
                len(rep["flags"]), air["asked"], air["approved"], air["used"], air["rejected"], air["terminated"],
                "", "", ""])
    return buf.getvalue()


def report_json(rep: dict) -> str:
    return json.dumps({k: v for k, v in rep.items() if not k.startswith("_")}, ensure_ascii=False, default=str)


# --- charts --------------------------------------------------------------------------------------


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def ammo_chart(rep: dict) -> str:
    """Ammunition fired per point: a stacked bar per type, as inline SVG."""
    from matplotlib.figure import Figure

    codes = [p["point_code"] for p in rep["points"]]
    kinds = sorted({k for p in rep["points"] for k in p["ammo"]})
    fig = Figure(figsize=(7.0, 2.8))
    ax = fig.add_subplot()
    bottom = [0] * len(codes)
    for k in kinds:
        values = [p["ammo"].get(k, {}).get("fired", 0) for p in rep["points"]]
        ax.bar(codes, values, bottom=bottom, label=k)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("units fired")
    ax.set_title("Ammunition fired per point")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    if kinds:
        ax.legend(fontsize=7)
    fig.set_layout_engine("tight")
    return _svg(fig)


def windows_chart(rep: dict) -> str:
    """Each point's approved windows (approved start → effective end) against its firings, as inline SVG."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    tz = ZoneInfo(rep["timezone"])
    codes = [p["point_code"] for p in rep["points"]]
    row = {c: i for i, c in enumerate(codes)}
    fig = Figure(figsize=(7.0, max(2.5, 0.22 * len(codes) + 1.2)))
    ax = fig.add_subplot()
    day = 86400.0
    for w in rep["airspace"]["windows"]:
        if w["approved_start"] and w["effective_end"] and w["point_code"] in row:
            start = mdates.date2num(_dt(w["approved_start"]))
            width = (_dt(w["effective_end"]) - _dt(w["approved_start"])).total_seconds() / day
            colour = "tab:orange" if w["status"] == "terminated" else "tab:green"
            ax.broken_barh([(start, width)], (row[w["point_code"]] - 0.35, 0.7), facecolors=colour, alpha=0.6)
            if w["terminated_at"]:
                ax.plot(mdates.date2num(_dt(w["terminated_at"])), row[w["point_code"]], marker="x",
                        color="tab:orange", markersize=8, zorder=4)
    xs, ys, flagged = [], [], []
    for r in rep["reports"]:
        if r["point_code"] in row:
            s, e = _dt(r["started_at"]), _dt(r["ended_at"])
            ax.hlines(row[r["point_code"]], mdates.date2num(s), mdates.date2num(e), colors="tab:red", linewidth=3)
            xs.append(mdates.date2num(s))
            ys.append(row[r["point_code"]])
            flagged.append("purple" if r["flags"] else "tab:red")
    if xs:
        ax.scatter(xs, ys, c=flagged, marker="v", s=28, zorder=3)
    ax.set_yticks(range(len(codes)), codes, fontsize=7)
    ax.set_ylim(-0.8, len(codes) - 0.2)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    offset = datetime.now(tz).strftime("%z")
    ax.set_xlabel(f"local time (UTC{offset[:3]}:{offset[3:]}); green: approved window, orange ×: terminated, "
                  f"▼ firing (purple: flagged)", fontsize=7)
    ax.set_title("Airspace windows against firings")
    ax.grid(axis="x", alpha=0.3)
    fig.set_layout_engine("tight")
    return _svg(fig)


def round_map_html(rep: dict) -> str:
    """The round map (maps.build_round_map), rendered to a full HTML document."""
    import maps

    cfg = current_app.config
    m = maps.build_round_map(rep["_map_data"], tiles=cfg["OPS_MAP_TILES"], tiles_key=cfg.get("OPS_MAP_TILES_KEY"),
                             lang="en", tz=cfg["OPS_TIMEZONE"])
    return m.get_root().render()


# --- the ICS-214-style activity log --------------------------------------------------------------


def activity_log(round_id: int, code: str) -> dict:
    """One point's activity in one round: period, crew with positions, every notable activity in time order."""
    r = get_round(round_id)
    point = point_by_code(code, status=404)
    rp = db.session.execute(select(RoundPoint).where(RoundPoint.round_id == r.id,
                                                     RoundPoint.point_id == point.id)).scalar_one_or_none()
    if rp is None:
        raise ProblemError(404, f"Point {point.code} is not ordered in round {r.id}.", type_="not-found")
    start = r.activated_at or rp.ordered_at
    end = r.closed_at or now_utc()
    shifts = db.session.execute(select(Shift).where(Shift.point_id == point.id, Shift.starts_at < end,
                                                    Shift.ends_at > start).order_by(Shift.starts_at)).scalars().all()
    crew = [{"crew_id": s.crew.id, "name": s.crew.name, "position": s.position,
             "certificate_no": s.crew.certificate_no, "certificate_expires": s.crew.certificate_expires.isoformat(),
             "shift_start": iso(s.starts_at), "shift_end": iso(s.ends_at)} for s in shifts]
    names = {m.id: m.name for m in db.session.execute(select(CrewMember)).scalars()}
    acts: list[dict] = []

    def add(at, kind, who, detail):
        acts.append({"at": iso(at), "kind": kind, "who": who or "", "detail": detail})

    add(rp.ordered_at, "ordered", r.created_by, f"{point.code} ordered in round {r.id} ({r.name})")
    if r.activated_at:
        add(r.activated_at, "round_activated", None, f"round {r.id} activated")
    c = Checkin.__table__.c
    for row in db.session.execute(select(c.recorded_at, c.kind, c.crew_id, c.within_geofence, c.distance_m)
                                  .where(c.point_id == point.id, c.recorded_at >= start, c.recorded_at <= end)
                                  .order_by(c.recorded_at)):
        where = "" if row.within_geofence else f" (outside the geofence, {row.distance_m:.0f} m)"
        add(row.recorded_at, "arrival" if row.kind == "arrive" else "departure", names.get(row.crew_id),
            f"{'arrived at' if row.kind == 'arrive' else 'departed from'} {point.code}{where}")
    for q in db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id == r.id,
                                                              AirspaceRequest.point_id == point.id)
                                .order_by(AirspaceRequest.created_at)).scalars():
        add(q.created_at, "airspace_request", q.requested_by,
            f"airspace requested {local(q.window_start)} – {local(q.window_end)}")
        if q.decided_at:
            if q.decision == "approved":
                detail = f"approved {local(q.approved_start)} – {local(q.approved_end)} ref {q.reference or '—'}"
            else:
                detail = f"rejected: {q.reason}" + (f" ({q.reason_detail})" if q.reason_detail else "")
            add(q.decided_at, f"airspace_{q.decision}", q.decided_by, detail)
        if q.terminated_at:
            add(q.terminated_at, "airspace_terminated", q.terminated_by, "window terminated: stop firing")
        if q.cancelled_at:
            add(q.cancelled_at, "airspace_cancelled", q.cancelled_by, "request cancelled")
    reps = db.session.execute(select(FiringReport).where(FiringReport.round_id == r.id,
                                                         FiringReport.point_id == point.id)
                              .order_by(FiringReport.started_at)).scalars().all()
    lines = report_lines([x.id for x in reps])
    for x in reps:
        ammo = ", ".join(f"{ln['type']} {ln['fired']} fired / {ln['duds']} duds" for ln in lines.get(x.id, []))
        flags = json.loads(x.flags)
        detail = f"firing to {local(x.ended_at)}, azimuth {x.azimuth_deg:g}°, {ammo}"
        if flags:
            detail += "; FLAGS: " + "; ".join(f"{f['code']}: {f['reason']}" for f in flags)
        add(x.started_at, "firing", names.get(x.crew_id), detail)
    if rp.declined_at:
        add(rp.declined_at, "declined", None, f"declined: {rp.declined_reason}")
    if rp.stood_down_at:
        add(rp.stood_down_at, "stood_down", None, f"stood down: {rp.stood_down_reason}")
    if r.closed_at:
        add(r.closed_at, "round_closed", None, f"round {r.id} closed")
    acts.sort(key=lambda a: a["at"])
    return {"round": {"id": r.id, "name": r.name, "purpose": r.purpose, "status": round_status(r)},
            "point": {"code": point.code, "name": point.name, "county": point.county,
                      "latitude": point.latitude, "longitude": point.longitude},
            "period": {"start": iso(start), "end": iso(end), "open": r.closed_at is None},
            "timezone": current_app.config["OPS_TIMEZONE"], "generated_at": iso(now_utc()),
            "crew": crew, "activities": acts}


LOG_COLUMNS = ["section", "at_utc", "at_local", "kind", "who", "detail"]


def activity_log_csv(log: dict) -> str:
    """Rows by section: the period, the crew with their positions, then the activities in time order."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\r\n")
    w.writerow(LOG_COLUMNS)
    p = log["period"]
    w.writerow(["period", p["start"], local(p["start"]), "start", log["point"]["code"], log["round"]["name"]])
    w.writerow(["period", p["end"], local(p["end"]), "end" if not p["open"] else "now", log["point"]["code"], ""])
    for m in log["crew"]:
        w.writerow(["crew", m["shift_start"], local(m["shift_start"]), m["position"], m["name"],
                    f"certificate {m['certificate_no']} (expires {m['certificate_expires']}), shift to "
                    f"{m['shift_end']}"])
    for a in log["activities"]:
        w.writerow(["activity", a["at"], local(a["at"]), a["kind"], a["who"], a["detail"]])
    return buf.getvalue()

