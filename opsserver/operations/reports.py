"""Firing reports: recorded once per id, flagged but never refused for a rule, with their ammunition
consumption and audit event; their views and ammunition lines."""

import json
from types import SimpleNamespace

from sqlalchemy import Select, select

import rules
from ..accounts.auth import Principal
from ..ammo import services as ammo
from ..ammo.models import AmmoType
from ..audit import services as audit
from ..checkins.services import acting_crew_id
from ..clock import zone_name
from ..database.unitofwork import UnitOfWork
from ..database.utc import now_utc
from ..errors import ProblemError
from ..extensions import db, unit_of_work
from ..fields import MAX_ID
from ..idempotency import run_once
from ..reasons import localized_flags
from ..zones import services as zones
from . import context
from .models import FiringReport, ReportAmmo
from .rounds import conflict
from .schemas import ReportCreateSchema, SyncReportSchema


def report_view(rep: FiringReport, point_code: str, lines: list[dict]) -> dict:
    """A report as served, JSON-ready (a replay returns the stored answer unchanged)."""
    return {"id": rep.id, "round_id": rep.round_id, "point_code": point_code, "crew_id": rep.crew_id,
            "started_at": rep.started_at.isoformat(), "ended_at": rep.ended_at.isoformat(),
            "received_at": rep.received_at.isoformat(), "azimuth_deg": rep.azimuth_deg,
            "elevation_deg": rep.elevation_deg, "height_m": rep.height_m, "range_km": rep.range_km,
            "ammo": lines, "cloud_type": rep.cloud_type, "weather_before": rep.weather_before,
            "weather_after": rep.weather_after, "notes": rep.notes,
            "flags": localized_flags(json.loads(rep.flags))}


def ids_in_round(round_id: int) -> Select:
    """The ids of a round's firing reports (the audit export's round filter)."""
    return select(FiringReport.id).where(FiringReport.round_id == round_id)


def report_lines(report_ids: list[str]) -> dict[str, list[dict]]:
    """The ammunition lines of reports, by report id."""
    out: dict[str, list[dict]] = {}
    rows = db.session.execute(select(ReportAmmo.report_id, AmmoType.code, ReportAmmo.fired, ReportAmmo.duds)
                              .join(AmmoType, AmmoType.id == ReportAmmo.ammo_type_id)
                              .where(ReportAmmo.report_id.in_(report_ids)).order_by(ReportAmmo.id))
    for report_id, code, fired, duds in rows:
        out.setdefault(report_id, []).append({"type": code, "fired": fired, "duds": duds})
    return out


_REPORTS, _REPORT_AMMO = FiringReport.__table__, ReportAmmo.__table__
_INSERT_REPORT, _INSERT_REPORT_AMMO = _REPORTS.insert(), _REPORT_AMMO.insert()


def _existing_report(report_id: str, sent: tuple, point_code: str) -> tuple[int, dict] | None:
    """The stored report with this id, if it is this one (200); a problem if the id holds another."""
    existing = db.session.get(FiringReport, report_id)
    if existing is None:
        return None
    lines = report_lines([report_id]).get(report_id, [])
    stored = (existing.round_id, existing.point_id, existing.crew_id, existing.started_at, existing.ended_at,
              existing.azimuth_deg, existing.elevation_deg, existing.height_m, existing.range_km,
              sorted((x["type"], x["fired"], x["duds"]) for x in lines))
    if stored == sent:
        return 200, report_view(existing, point_code, lines)
    raise ProblemError(409, f"Report {report_id} exists already with other content.", type_="id-conflict",
                       errors=[{"field": "id", "location": "json", "detail": "already used"}])


def record_report(work: UnitOfWork, who: Principal, round_id: int, data: dict,
                  optimistic: bool = False) -> tuple[int, dict]:
    """Store a firing report, flagged but never refused for a rule, with its consumption and audit event
    (not committed: the caller's idempotency step commits).

    It writes in the request's own unit of work `work` (a report of a phone's queue is the check-in's
    cousin), and judges in its write transaction: the request's firing facts (context.FiringFacts) are
    checked against the audit head there, so a batch of reports reads them once while nothing else writes.
    """
    # The session's connection (its reads of several rows) first: taken from the pool under the write
    # lock, it could wait on a pool drained by requests that hold one while they wait for that lock.
    db.session.connection()
    work.begin_write()
    conn = work.connection
    facts = context.facts()
    facts.check(conn)
    r = context.round_facts(conn, round_id) if 0 < round_id <= MAX_ID else None
    if r is None:
        raise ProblemError(404, f"No round with id {round_id}.", type_="not-found")
    point = facts.point(conn, data["point_code"])
    crew_id = acting_crew_id(who, data.get("crew_id"))
    report_id = str(data["id"])
    if not optimistic:
        found = _existing_report(report_id, (
            r.id, point.id, crew_id, data["started_at"], data["ended_at"], data["azimuth_deg"],
            data["elevation_deg"], data.get("height_m"), data.get("range_km"),
            sorted((x["type"], x["fired"], x["duds"]) for x in data["ammo"])), point.code)
        if found is not None:
            return found
    member = facts.member(conn, crew_id)
    if who.role == "crew" and not (member is not None and member.home_point_id == point.id
                                   or context.on_shift(conn, crew_id, point.id, data["started_at"])):
        raise ProblemError(403, f"Only the crew of {point.code} or a commander may report its firings.",
                           type_="forbidden")
    if r.activated_at is None:
        raise conflict(f"Round {r.id} never became active; a firing cannot belong to it.", "round-not-active")
    if data["started_at"] < r.activated_at or (r.closed_at is not None and data["ended_at"] > r.closed_at):
        period = f"{r.activated_at.isoformat()} – {r.closed_at.isoformat() if r.closed_at else 'now'}"
        raise conflict(f"The firing lies outside round {r.id}'s active period ({period}).", "outside-round")
    type_ids = facts.type_ids([line["type"] for line in data["ammo"]])
    ammo.lock_stock(point.id, on=work)  # stock is read and consumed under one lock: never counted twice
    if conn.dialect.name != "sqlite" and facts.check(conn):  # written meanwhile: SQLite held its lock all along
        point, member = facts.point(conn, point.code), facts.member(conn, crew_id)
    received = now_utc()
    fired = {line["type"]: line["fired"] for line in data["ammo"]}
    flags = rules.firing_flags(
        started_at=data["started_at"], ended_at=data["ended_at"], azimuth_deg=data["azimuth_deg"],
        sector_start_deg=point.sector_start_deg, sector_end_deg=point.sector_end_deg, height_m=data.get("height_m"),
        max_height_m=point.max_height_m, range_km=data.get("range_km"), max_range_km=point.max_range_km,
        windows=facts.windows_at(r.id, point.id), certified_on_site=context.certified_on_site(
            point.id, data["started_at"]), min_crew=point.min_crew,
        reporter_certificate_expires=member.certificate_expires if member else None, fired=fired,
        stock=facts.stock_at(point.id), tz_name=zone_name())
    flags += [f for f in (rules.late_report_flag(received, r.closed_at, zone_name()),
                          rules.not_ordered_flag(point.code, r.id, facts.is_ordered(conn, r.id, point.id)),
                          rules.implausible_time_flag(data["started_at"], data["ended_at"], received, zone_name()),
                          zones.firing_line_flag(point.latitude, point.longitude, data["azimuth_deg"],
                                                 point.max_range_km, conn),
                          _off_order(conn, facts, r.id, point.id, data["azimuth_deg"], data["started_at"],
                                     sum(fired.values())))
              if f]
    rep = SimpleNamespace(
        id=report_id, round_id=r.id, point_id=point.id, crew_id=crew_id, account_id=who.account_id,
        started_at=data["started_at"], ended_at=data["ended_at"], azimuth_deg=data["azimuth_deg"],
        elevation_deg=data["elevation_deg"], height_m=data.get("height_m"), range_km=data.get("range_km"),
        cloud_type=data.get("cloud_type"), weather_before=data.get("weather_before"),
        weather_after=data.get("weather_after"), notes=data.get("notes"), received_at=received,
        flags=json.dumps([f.as_dict() for f in flags], ensure_ascii=False))
    conn.execute(_INSERT_REPORT, vars(rep))
    lines = []
    for line in data["ammo"]:
        conn.execute(_INSERT_REPORT_AMMO, {"report_id": report_id, "ammo_type_id": type_ids[line["type"]],
                                           "fired": line["fired"], "duds": line["duds"]})
        lines.append({"type": line["type"], "fired": line["fired"], "duds": line["duds"]})
    ammo.add_entries(who.username, on=work, entries=[
        {"point_id": point.id, "ammo_type_id": type_ids[line["type"]], "kind": "consumption",
         "quantity": -line["fired"], "report_id": report_id, "reference": f"report {report_id}"}
        for line in data["ammo"] if line["fired"] > 0])
    body = report_view(rep, point.code, lines)
    event = audit.append(who.username, "report.create", "firing_report", report_id,
                         {k: v for k, v in body.items() if k != "id"}, on=work)
    facts.consumed(event, point.id, fired)
    return 201, body


def _off_order(conn, facts: context.FiringFacts, round_id: int, point_id: int, azimuth: float, started_at,
               fired: int):
    """`off_order` against the fire order in force when the firing began, its rounds counted over every report
    under that order (three reports of two rounds each under an order of four)."""
    order = facts.fire_order_at(conn, round_id, point_id, started_at)
    if order is None:
        return None
    before = facts.fired_under(conn, round_id, point_id, order) if order.rounds is not None else 0
    return rules.off_order_flag(azimuth, before + fired, order)


_report_schema = ReportCreateSchema()
_sync_report_schema = SyncReportSchema()


def submit_report(who: Principal, round_id: int, payload: dict, key: str | None,
                  data: dict | None = None) -> tuple[int, dict, bool]:
    """Validate (unless the route did) and record once per idempotency key (the report's id by default)."""
    data = data if data is not None else _report_schema.load(payload)
    work = unit_of_work()
    return run_once(who.account_id, key or f"report:{data['id']}", "report", {"round_id": round_id, **payload},
                    lambda optimistic: record_report(work, who, round_id, data, optimistic), on=work)


def sync_report(who: Principal, payload: dict, key: str | None, _device_time) -> tuple[int, dict, bool]:
    """A report from the phone's queue (it names its round)."""
    data = _sync_report_schema.load(payload)
    body = {k: v for k, v in payload.items() if k != "round_id"}
    return submit_report(who, data.pop("round_id"), body, key, data)
