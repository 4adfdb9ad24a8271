"""Regulatory records mirroring 15 CFR Part 908 (NOAA weather modification reporting).

Two records, both pure queries over firing reports, their ammunition, the catalogue, rounds and points:

- the **daily log**: one row per point per local date (OPS_TIMEZONE) with the start and end of each
  operation, hours of operation, the amount of each agent, cloud types and remarks (flags and notes);
- the **season summary** in the columns of NOAA Form 17-4A: per month, modification days by purpose (a
  local date counts once for a purpose when any firing that day belongs to a round with that purpose),
  ground apparatus hours (the sum of firing durations) and the amount of each agent, with year totals.

A firing belongs to the local date on which it started. Agent grams are fired × agent_g_per_unit (duds
included: they were fired). Machine formats carry UTC; human formats (CSV) local time with its offset.
"""

import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..ammo.models import AmmoType
from ..audit import csvsafe
from ..audit.services import format_time
from ..extensions import db
from ..i18n import format_time as people_time
from ..operations.models import PURPOSES, FiringReport, ReportAmmo, Round
from ..reasons import code_label, flag_text
from ..registry.models import Point


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["OPS_TIMEZONE"])


def local_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants [start of `first`, start of the day after `last`) in local time."""
    start = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def _grams(value: float) -> float:
    return round(value, 3)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _firings(start: datetime, end: datetime, point_code: str | None = None) -> list[dict]:
    """Firing reports started in [start, end), with their point, round purpose and ammunition."""
    stmt = (select(FiringReport, Point.code, Point.name, Point.equipment, Round.purpose, Round.name)
            .join(Point, Point.id == FiringReport.point_id)
            .join(Round, Round.id == FiringReport.round_id)
            .where(FiringReport.started_at >= start, FiringReport.started_at < end))
    ammo_stmt = (select(ReportAmmo.report_id, AmmoType.code, AmmoType.agent, AmmoType.agent_g_per_unit,
                        ReportAmmo.fired, ReportAmmo.duds)
                 .join(AmmoType, AmmoType.id == ReportAmmo.ammo_type_id)
                 .join(FiringReport, FiringReport.id == ReportAmmo.report_id)
                 .where(FiringReport.started_at >= start, FiringReport.started_at < end))
    if point_code is not None:
        stmt = stmt.where(Point.code == point_code)
        ammo_stmt = ammo_stmt.join(Point, Point.id == FiringReport.point_id).where(Point.code == point_code)
    ammo = defaultdict(list)
    for report_id, code, agent, g_per_unit, fired, duds in db.session.execute(ammo_stmt):
        ammo[report_id].append({"type": code, "agent": agent, "fired": fired, "duds": duds,
                                "agent_g": fired * g_per_unit})
    out = []
    for report, code, name, equipment, purpose, round_name in db.session.execute(
            stmt.order_by(FiringReport.started_at, FiringReport.id)):
        out.append({"report": report, "point_code": code, "point_name": name, "equipment": equipment,
                    "purpose": purpose, "round_name": round_name, "ammo": ammo.get(report.id, [])})
    return out


def _seconds(report: FiringReport) -> float:
    return max((report.ended_at - report.started_at).total_seconds(), 0.0)


def point_exists(code: str) -> bool:
    return db.session.execute(select(Point.id).where(Point.code == code)).first() is not None


def daily_log(date_from: date, date_to: date, point_code: str | None = None) -> dict:
    """One row per point per local date with operations, hours, agent amounts, cloud types and remarks."""
    tz = zone()
    start, end = local_bounds(date_from, date_to, tz)
    rows: dict[tuple[date, str], dict] = {}
    for f in _firings(start, end, point_code):
        r = f["report"]
        day = r.started_at.astimezone(tz).date()
        row = rows.setdefault((day, f["point_code"]), {
            "date": day.isoformat(), "point_code": f["point_code"], "point_name": f["point_name"],
            "equipment": f["equipment"], "operations": [], "_seconds": 0.0, "agents": defaultdict(float),
            "ammo": defaultdict(lambda: {"fired": 0, "duds": 0}), "cloud_types": [], "flags": [], "remarks": []})
        row["operations"].append({"report_id": r.id, "round_id": r.round_id, "round_name": f["round_name"],
                                  "purpose": f["purpose"], "started_at": r.started_at, "ended_at": r.ended_at,
                                  "hours": _hours(_seconds(r))})
        row["_seconds"] += _seconds(r)
        for a in f["ammo"]:
            row["agents"][a["agent"]] += a["agent_g"]
            row["ammo"][a["type"]]["fired"] += a["fired"]
            row["ammo"][a["type"]]["duds"] += a["duds"]
        if r.cloud_type and r.cloud_type not in row["cloud_types"]:
            row["cloud_types"].append(r.cloud_type)
        for flag in json.loads(r.flags or "[]"):
            if flag["code"] not in row["flags"]:
                row["flags"].append(flag["code"])
            remark = _("%(label)s: %(reason)s", label=code_label(flag["code"]), reason=flag_text(flag))
            if remark not in row["remarks"]:
                row["remarks"].append(remark)
        if r.notes and r.notes not in row["remarks"]:
            row["remarks"].append(r.notes)
    items = []
    for key in sorted(rows):
        row = rows[key]
        row["hours"] = _hours(row.pop("_seconds"))
        row["agents"] = {agent: _grams(g) for agent, g in sorted(row["agents"].items())}
        row["ammo"] = {code: dict(v) for code, v in sorted(row["ammo"].items())}
        items.append(row)
    return {"timezone": tz.key, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
            "point_code": point_code, "items": items}


def daily_log_json(log: dict) -> dict:
    """The daily log for machines: times in UTC."""
    for row in log["items"]:
        for op in row["operations"]:
            op["started_at"] = format_time(op["started_at"])
            op["ended_at"] = format_time(op["ended_at"])
    return log


DAILY_LOG_COLUMNS = ["date", "point_code", "point_name", "operations", "hours_of_operation", "agent_amounts_g",
                     "ammunition_fired", "cloud_types", "remarks"]


def daily_log_csv(log: dict) -> str:
    """The daily log for people: each operation as its local start – end with offset (the one format), remarks in
    the reader's language; the column names stay stable codes."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer, lineterminator="\n")
    writer.writerow(DAILY_LOG_COLUMNS)
    for row in log["items"]:
        writer.writerow([
            row["date"], row["point_code"], row["point_name"],
            "; ".join(f"{people_time(op['started_at'])} – {people_time(op['ended_at'])}" for op in row["operations"]),
            f"{row['hours']:.2f}",
            "; ".join(f"{agent} {g:g}" for agent, g in row["agents"].items()),
            "; ".join(_("%(type)s %(fired)s (duds %(duds)s)", type=code, fired=v["fired"], duds=v["duds"])
                      for code, v in row["ammo"].items()),
            "; ".join(row["cloud_types"]),
            "; ".join(row["remarks"]),
        ])
    return buffer.getvalue()


def season_summary(year: int) -> dict:
    """NOAA Form 17-4A by month: modification days by purpose, ground apparatus hours, grams of each agent."""
    tz = zone()
    start, end = local_bounds(date(year, 1, 1), date(year, 12, 31), tz)
    days = {m: {p: set() for p in PURPOSES} for m in range(1, 13)}
    seconds = defaultdict(float)
    operations = defaultdict(int)
    grams = {m: defaultdict(float) for m in range(1, 13)}
    agents = set()
    for f in _firings(start, end):
        r = f["report"]
        day = r.started_at.astimezone(tz).date()
        purpose = f["purpose"] if f["purpose"] in PURPOSES else "other"
        days[day.month][purpose].add(day)
        seconds[day.month] += _seconds(r)
        operations[day.month] += 1
        for a in f["ammo"]:
            grams[day.month][a["agent"]] += a["agent_g"]
            agents.add(a["agent"])
    agents_sorted = sorted(agents)
    months = []
    for m in range(1, 13):
        any_day = set().union(*days[m].values())
        months.append({
            "month": m,
            "modification_days": {p: len(days[m][p]) for p in PURPOSES},
            "modification_days_any": len(any_day),
            "ground_apparatus_hours": _hours(seconds[m]),
            "operations": operations[m],
            "agent_g": {a: _grams(grams[m].get(a, 0.0)) for a in agents_sorted},
        })
    totals = {
        "modification_days": {p: sum(len(days[m][p]) for m in days) for p in PURPOSES},
        "modification_days_any": sum(mo["modification_days_any"] for mo in months),
        "ground_apparatus_hours": _hours(sum(seconds.values())),
        "operations": sum(operations.values()),
        "agent_g": {a: _grams(sum(grams[m].get(a, 0.0) for m in grams)) for a in agents_sorted},
    }
    return {"year": year, "timezone": tz.key, "purposes": list(PURPOSES), "agents": agents_sorted,
            "months": months, "totals": totals}


def season_summary_csv(summary: dict) -> str:
    """Form 17-4A's columns, one row per month and a total row."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer, lineterminator="\n")
    writer.writerow(["month", *(f"days_{p}" for p in summary["purposes"]), "days_any", "ground_apparatus_hours",
                     "operations", *(f"agent_{a}_g" for a in summary["agents"])])
    for label, row in [*((f"{summary['year']}-{m['month']:02d}", m) for m in summary["months"]),
                       ("total", summary["totals"])]:  # a key, like the month labels
        writer.writerow([label, *(row["modification_days"][p] for p in summary["purposes"]),
                         row["modification_days_any"], f"{row['ground_apparatus_hours']:.2f}", row["operations"],
                         *(f"{row['agent_g'][a]:g}" for a in summary["agents"])])
    return buffer.getvalue()
