"""Rounds, airspace, firing reports and clearance: the business rules of an operation.

A point's state in a round is derived from the facts (check-ins, requests and decisions, reports),
never stored. Each command is one transaction with its audit event.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import select

from .. import rules
from ..accounts.auth import Principal
from ..ammo import services as ammo
from ..ammo.models import AmmoType
from ..audit import services as audit
from ..checkins.services import acting_crew_id, on_site_by_point
from ..clock import zone_name
from ..database import DirectConnection, Prepared, begin_write, now_utc
from ..errors import ProblemError, field_error
from ..fields import MAX_ID
from ..extensions import db, direct_connection
from ..idempotency import run_once
from ..registry.models import CrewMember, Point
from ..registry.services import point_by_code
from . import context
from .context import window_of
from .models import AirspaceRequest, FiringReport, ReportAmmo, Round, RoundPoint
from .schemas import ReportCreateSchema, SyncAirspaceSchema, SyncReportSchema

COLOURS = {"idle": "grey", "ordered": "grey", "declined": "grey", "stood_down": "grey", "rejected": "grey",
           "manned": "blue", "requested": "amber", "cleared": "green", "firing": "red", "done": "black"}
FLAGGED_COLOUR = "purple"


def conflict(detail: str, type_: str = "illegal-transition") -> ProblemError:
    return ProblemError(409, detail, type_=type_)


def round_status(r: Round) -> str:
    """planned → active → closed, from the two lifecycle timestamps."""
    if r.activated_at is None:
        return "planned"
    return "closed" if r.closed_at is not None else "active"


def get_round(round_id: int, *, lock: bool = False) -> Round:
    """The round, or 404; `lock` (in a write transaction) holds its row until commit on PostgreSQL and
    re-reads it, so a decision never rests on a round another request has just changed."""
    if not 0 < round_id <= MAX_ID:
        raise ProblemError(404, f"No round with id {round_id}.", type_="not-found")
    if lock:
        stmt = select(Round).where(Round.id == round_id).execution_options(populate_existing=True)
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        r = db.session.execute(stmt).scalar_one_or_none()
    else:
        r = db.session.get(Round, round_id)
    if r is None:
        raise ProblemError(404, f"No round with id {round_id}.", type_="not-found")
    return r


# --- rounds --------------------------------------------------------------------------------------

def create_round(actor: str, data: dict) -> Round:
    """Plan a round and order its points."""
    begin_write(db.session)
    codes = data["point_codes"]
    points = {p.code: p for p in db.session.execute(select(Point).where(Point.code.in_(codes))).scalars()}
    missing = [c for c in codes if c not in points]
    if missing:
        raise field_error("point_codes", f"Unknown point codes: {', '.join(missing)}.")
    inactive = [c for c in codes if not points[c].active]
    if inactive:
        raise field_error("point_codes", f"Inactive points cannot be ordered: {', '.join(inactive)}.")
    r = Round(name=data["name"], purpose=data["purpose"], planned_start=data["planned_start"],
              planned_end=data["planned_end"], notes=data.get("notes"), created_by=actor)
    db.session.add(r)
    db.session.flush()
    for code in codes:
        db.session.add(RoundPoint(round_id=r.id, point_id=points[code].id))
    audit.append(actor, "round.create", "round", r.id, {**{k: v for k, v in data.items()}})
    db.session.commit()
    return r


def _advance_round(actor: str, round_id: int, expected: str, stamp: str, action: str) -> Round:
    """Move a round one step along planned → active → closed, refusing any other step (409)."""
    begin_write(db.session)
    r = get_round(round_id, lock=True)
    status = round_status(r)
    if status != expected:
        verb = "activated" if stamp == "activated_at" else "closed"
        raise conflict(f"Round {r.id} is {status}; only a {expected} round can be {verb}.")
    setattr(r, stamp, now_utc())
    audit.append(actor, action, "round", r.id, {stamp: getattr(r, stamp)})
    db.session.commit()
    return r


def activate_round(actor: str, round_id: int) -> Round:
    """The commander starts the round: reports and airspace requests are taken from now on."""
    return _advance_round(actor, round_id, "planned", "activated_at", "round.activate")


def close_round(actor: str, round_id: int) -> Round:
    """The commander ends the round; late reports of firings inside it are still taken, flagged."""
    return _advance_round(actor, round_id, "active", "closed_at", "round.close")


def _round_point(r: Round, point: Point) -> RoundPoint:
    rp = db.session.execute(select(RoundPoint).where(RoundPoint.round_id == r.id,
                                                     RoundPoint.point_id == point.id)).scalar_one_or_none()
    if rp is None:
        raise conflict(f"Point {point.code} is not ordered in round {r.id}.", "not-ordered")
    return rp


def is_crew_of(crew_id: int, point_id: int, at: datetime) -> bool:
    """A crew member belongs to a point at a time when on shift there then (or it is their home point)."""
    if context.on_shift(db.session.connection(), crew_id, point_id, at):
        return True
    member = db.session.get(CrewMember, crew_id)
    return member is not None and member.home_point_id == point_id


def _require_point_crew(who: Principal, point: Point, at: datetime, *, on_shift: bool = False) -> None:
    if who.role == "commander":
        return
    if who.role != "crew":
        raise ProblemError(403, f"The role '{who.role}' may not do this.", type_="forbidden")
    if on_shift:
        ok = context.on_shift(db.session.connection(), who.crew_id, point.id, at)
    else:
        ok = is_crew_of(who.crew_id, point.id, at)
    if not ok:
        raise ProblemError(403, f"Only the crew of {point.code}{' on shift' if on_shift else ''} or a commander "
                                f"may do this.", type_="forbidden")


def decline_point(who: Principal, round_id: int, code: str, reason: str) -> None:
    """The point answers that it cannot operate in this round."""
    begin_write(db.session)
    r = get_round(round_id, lock=True)
    point = point_by_code(code, status=404)
    _require_point_crew(who, point, now_utc())
    if round_status(r) == "closed":
        raise conflict(f"Round {r.id} is closed.")
    rp = _round_point(r, point)
    if rp.declined_at or rp.stood_down_at:
        raise conflict(f"{point.code} has already {'declined' if rp.declined_at else 'been stood down'} "
                       f"in round {r.id}.")
    rp.declined_at, rp.declined_reason = now_utc(), reason
    audit.append(who.username, "round.point_declined", "round", r.id, {"point_code": point.code, "reason": reason})
    db.session.commit()


def stand_down_point(actor: str, round_id: int, code: str, reason: str) -> None:
    """The commander releases a point from the round."""
    begin_write(db.session)
    r = get_round(round_id, lock=True)
    point = point_by_code(code, status=404)
    if round_status(r) == "closed":
        raise conflict(f"Round {r.id} is closed.")
    rp = _round_point(r, point)
    if rp.stood_down_at or rp.declined_at:
        raise conflict(f"{point.code} has already {'been stood down' if rp.stood_down_at else 'declined'} "
                       f"in round {r.id}.")
    rp.stood_down_at, rp.stood_down_reason = now_utc(), reason
    audit.append(actor, "round.point_stood_down", "round", r.id, {"point_code": point.code, "reason": reason})
    db.session.commit()


# --- derived state -------------------------------------------------------------------------------

def request_status(req) -> str:
    if req.cancelled_at is not None:
        return "cancelled"
    if req.decision is None:
        return "pending"
    if req.decision == "approved" and req.terminated_at is not None:
        return "terminated"
    return req.decision


class PointRef(NamedTuple):
    """The few facts of a point that its state in a round needs."""

    id: int
    code: str
    name: str
    min_crew: int


@dataclass(slots=True)
class PointInRound:
    """What is known of one point in one round, and the state derived from it."""

    round_point: object  # a round_points row
    point: object  # id, code, name, min_crew
    requests: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    certified_on_site: int = 0
    state: str = "ordered"
    open_window: object = None
    flags: list = field(default_factory=list)  # of the point's reports in this round, decoded once


def derive_state(pr: PointInRound, at: datetime) -> str:
    """The SPEC's state of a point in a round at a time, from the facts alone."""
    rp = pr.round_point
    if rp.stood_down_at is not None and rp.stood_down_at <= at:
        return "stood_down"
    if rp.declined_at is not None and rp.declined_at <= at:
        return "declined"
    if not pr.reports and not pr.requests:  # most points of a big round: only the crew decides
        return "manned" if pr.certified_on_site >= pr.point.min_crew else "ordered"
    if any(x.started_at <= at <= x.ended_at for x in pr.reports):
        return "firing"
    last_end = max((x.ended_at for x in pr.reports), default=None)
    # After a report only a new request (made after that firing) moves the point on again.
    requests = [q for q in pr.requests if q.created_at <= at and q.cancelled_at is None
                and (last_end is None or q.created_at > last_end)]
    if any(w is not None and w.open_at(at) for w in map(window_of, requests)):
        return "cleared"
    latest = requests[-1] if requests else None
    if any(q.decision is None or (q.decision == "approved" and q.approved_start > at and
                                  (q.terminated_at is None or q.terminated_at > at)) for q in requests):
        return "requested"
    if pr.reports:
        return "done"
    if latest is not None and latest.decision == "rejected":
        return "rejected"
    if pr.certified_on_site >= pr.point.min_crew:
        return "manned"
    return "ordered"


def points_in_rounds(rounds: list[Round], at: datetime | None = None,
                     on_site: dict | None = None) -> dict[int, list[PointInRound]]:
    """Every ordered point of these rounds with its derived state, in a fixed number of queries.

    `on_site` (from on_site_by_point at the same time) may be passed in when the caller has it already.
    """
    at = at or now_utc()
    ids = [r.id for r in rounds]
    if not ids:
        return {}
    # Plain rows, not ORM objects: a national round orders thousands of points.
    rp, pt = RoundPoint.__table__.c, Point.__table__.c
    rows = db.session.connection().execute(
        select(rp.round_id, rp.point_id, rp.ordered_at, rp.declined_at, rp.declined_reason, rp.stood_down_at,
               rp.stood_down_reason, pt.code, pt.name, pt.min_crew)
        .join(Point.__table__, pt.id == rp.point_id).where(rp.round_id.in_(ids)).order_by(pt.code)).all()
    out: dict[int, list[PointInRound]] = {i: [] for i in ids}
    index: dict[tuple[int, int], PointInRound] = {}
    for row in rows:
        round_id, point_id = row[0], row[1]
        pr = PointInRound(row, PointRef(point_id, row[7], row[8], row[9]))
        out[round_id].append(pr)
        index[(round_id, point_id)] = pr
    for req in db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id.in_(ids))
                                  .order_by(AirspaceRequest.created_at)).scalars():
        if (req.round_id, req.point_id) in index:
            index[(req.round_id, req.point_id)].requests.append(req)
    for rep in db.session.execute(select(FiringReport).where(FiringReport.round_id.in_(ids))
                                  .order_by(FiringReport.started_at)).scalars():
        if (rep.round_id, rep.point_id) in index:
            index[(rep.round_id, rep.point_id)].reports.append(rep)
    # A closed round is judged as it stood when it closed, crew on site included.
    when_by_round = {r.id: min(at, r.closed_at) if r.closed_at else at for r in rounds}
    point_ids = list({pr.point.id for pr in index.values()})
    on_site_at = {at: on_site if on_site is not None else on_site_by_point(point_ids, at)}
    for when in set(when_by_round.values()) - {at}:
        on_site_at[when] = on_site_by_point(point_ids, when)
    certified_at = {when: {point_id: sum(1 for p in people if p["certificate_valid"])
                           for point_id, people in crew.items()} for when, crew in on_site_at.items()}
    for (round_id, point_id), pr in index.items():
        when = when_by_round[round_id]
        if pr.reports:
            pr.flags = [f for rep in pr.reports for f in json.loads(rep.flags)]
        pr.certified_on_site = certified_at[when].get(point_id, 0)
        pr.state = derive_state(pr, when)
        if pr.requests:
            windows = [(w, q) for q in pr.requests if (w := window_of(q)) is not None and w.open_at(when)]
            pr.open_window = windows[0][1] if windows else None
    return out


def colour(state: str, flagged: bool) -> str:
    """SPEC colours; purple wins when a flag or alert is active."""
    return FLAGGED_COLOUR if flagged else COLOURS.get(state, "grey")


def window_view(req) -> dict | None:
    if req is None:
        return None
    w = window_of(req)
    return {"request_id": req.id, "start": w.start.isoformat(), "end": w.effective_end.isoformat(),
            "reference": req.reference,
            "ends_in_s": max(0, int((w.effective_end - now_utc()).total_seconds()))}


def round_view(r: Round, points: list[PointInRound] | None = None) -> dict:
    """A round as served, with each ordered point's state."""
    view = {c.key: getattr(r, c.key) for c in Round.__table__.columns}
    view["status"] = round_status(r)
    if points is not None:
        view["points"] = [{
            "point_code": pr.point.code, "point_name": pr.point.name, "state": pr.state,
            "colour": colour(pr.state, bool(pr.flags)), "crew_on_site": pr.certified_on_site,
            "min_crew": pr.point.min_crew, "ordered_at": pr.round_point.ordered_at,
            "declined_at": pr.round_point.declined_at, "declined_reason": pr.round_point.declined_reason,
            "stood_down_at": pr.round_point.stood_down_at, "stood_down_reason": pr.round_point.stood_down_reason,
            "open_window": window_view(pr.open_window), "reports": len(pr.reports), "flags": pr.flags,
        } for pr in points]
    return view


# --- airspace ------------------------------------------------------------------------------------

def airspace_view(req: AirspaceRequest, point_code: str) -> dict:
    w = window_of(req)
    view = {c.key: getattr(req, c.key) for c in AirspaceRequest.__table__.columns}
    view.update(point_code=point_code, status=request_status(req), effective_end=w.effective_end if w else None)
    return view


def _airspace_dump(view: dict) -> dict:
    from .schemas import AirspaceSchema

    return AirspaceSchema().dump(view)


def record_airspace_request(who: Principal, round_id: int, data: dict, optimistic: bool = False) -> tuple[int, dict]:
    """A point asks for a window; only its crew on shift, or a commander, may ask, in an active round."""
    r = get_round(round_id)
    point = point_by_code(data["point_code"])
    request_id = str(data.get("id") or uuid.uuid4())
    end = data.get("window_end") or data["window_start"] + timedelta(minutes=data["duration_min"])
    if not optimistic and data.get("id"):
        existing = db.session.get(AirspaceRequest, request_id)
        if existing is not None:
            if (existing.round_id, existing.point_id, existing.window_start, existing.window_end,
                    existing.max_height_m) == (r.id, point.id, data["window_start"], end, data.get("max_height_m")):
                return 200, _airspace_dump(airspace_view(existing, point.code))
            raise ProblemError(409, f"Airspace request {request_id} exists already with other content.",
                               type_="id-conflict")
    _require_point_crew(who, point, now_utc(), on_shift=True)
    begin_write(db.session)
    r = get_round(r.id, lock=True)
    status = round_status(r)
    if status != "active":
        raise conflict(f"Round {r.id} is {status}; airspace is requested in an active round.")
    rp = _round_point(r, point)
    if rp.declined_at or rp.stood_down_at:
        raise conflict(f"{point.code} is {'declined' if rp.declined_at else 'stood down'} in round {r.id}.")
    req = AirspaceRequest(id=request_id, round_id=r.id, point_id=point.id, requested_by=who.username,
                          window_start=data["window_start"], window_end=end, max_height_m=data.get("max_height_m"),
                          created_at=now_utc())
    db.session.add(req)
    db.session.flush()
    body = _airspace_dump(airspace_view(req, point.code))
    audit.append(who.username, "airspace.request", "airspace_request", req.id,
                 {k: v for k, v in body.items() if k != "id"})
    return 201, body


def submit_airspace_request(who: Principal, round_id: int, payload: dict, key: str | None,
                            data: dict) -> tuple[int, dict, bool]:
    """Record once per idempotency key (the request's id when the phone sent one)."""
    key = key or (f"airspace:{data['id']}" if data.get("id") else None)
    if key is None:
        begin_write(db.session)
        status, body = record_airspace_request(who, round_id, data)
        db.session.commit()
        return status, body, False
    return run_once(who, key, "airspace_request", {"round_id": round_id, **payload},
                    lambda optimistic: record_airspace_request(who, round_id, data, optimistic))


def _request_for_update(request_id: str) -> tuple[AirspaceRequest, Point]:
    begin_write(db.session)
    stmt = select(AirspaceRequest).where(AirspaceRequest.id == request_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    req = db.session.execute(stmt).scalar_one_or_none()
    if req is None:
        raise ProblemError(404, f"No airspace request with id {request_id}.", type_="not-found")
    return req, db.session.get(Point, req.point_id)


def decide(actor: str, request_id: str, data: dict) -> dict:
    """Record air traffic control's answer: approved with its window and reference, or rejected with a reason."""
    req, point = _request_for_update(request_id)
    status = request_status(req)
    if status != "pending":
        raise conflict(f"Airspace request {req.id} is {status}; only a pending request can be decided.")
    if round_status(db.session.get(Round, req.round_id)) != "active":
        raise conflict(f"Round {req.round_id} is not active.")
    req.decision, req.decided_at, req.decided_by = data["decision"], now_utc(), actor
    req.reference, req.reason_detail = data.get("reference"), data.get("reason_detail")
    if data["decision"] == "approved":
        req.approved_start, req.approved_end = data["approved_start"], data["approved_end"]
        req.approved_max_height_m = data.get("approved_max_height_m")
    else:
        req.reason = data["reason"]
    audit.append(actor, f"airspace.{data['decision']}", "airspace_request", req.id,
                 {"point_code": point.code, **{k: v for k, v in data.items() if v is not None}})
    db.session.commit()
    return airspace_view(req, point.code)


def terminate(actor: str, request_id: str) -> dict:
    """Stop firing now: an approved window ends early."""
    req, point = _request_for_update(request_id)
    status = request_status(req)
    now = now_utc()
    if status != "approved":
        raise conflict(f"Airspace request {req.id} is {status}; only an approved window can be terminated.")
    if req.approved_end <= now:
        raise conflict(f"The window of request {req.id} ended at {req.approved_end.isoformat()} already.")
    req.terminated_at, req.terminated_by = now, actor
    audit.append(actor, "airspace.terminate", "airspace_request", req.id,
                 {"point_code": point.code, "terminated_at": now})
    db.session.commit()
    return airspace_view(req, point.code)


def cancel(who: Principal, request_id: str) -> dict:
    """Withdraw a request that is pending, or approved but not yet open."""
    req, point = _request_for_update(request_id)
    _require_point_crew(who, point, now_utc())
    status = request_status(req)
    now = now_utc()
    if status == "approved" and req.approved_start <= now:
        raise conflict(f"The window of request {req.id} is open or over; terminate it instead.")
    if status not in ("pending", "approved"):
        raise conflict(f"Airspace request {req.id} is {status}; it cannot be cancelled.")
    req.cancelled_at, req.cancelled_by = now, who.username
    audit.append(who.username, "airspace.cancel", "airspace_request", req.id, {"point_code": point.code})
    db.session.commit()
    return airspace_view(req, point.code)


# --- firing reports ------------------------------------------------------------------------------

def report_view(rep: FiringReport, point_code: str, lines: list[dict]) -> dict:
    """A report as served, JSON-ready (a replay returns the stored answer unchanged)."""
    return {"id": rep.id, "round_id": rep.round_id, "point_code": point_code, "crew_id": rep.crew_id,
            "started_at": rep.started_at.isoformat(), "ended_at": rep.ended_at.isoformat(),
            "received_at": rep.received_at.isoformat(), "azimuth_deg": rep.azimuth_deg,
            "elevation_deg": rep.elevation_deg, "height_m": rep.height_m, "range_km": rep.range_km,
            "ammo": lines, "cloud_type": rep.cloud_type, "weather_before": rep.weather_before,
            "weather_after": rep.weather_after, "notes": rep.notes, "flags": json.loads(rep.flags)}


def report_lines(report_ids: list[str]) -> dict[str, list[dict]]:
    """The ammunition lines of reports, by report id."""
    out: dict[str, list[dict]] = {}
    rows = db.session.execute(select(ReportAmmo.report_id, AmmoType.code, ReportAmmo.fired, ReportAmmo.duds)
                              .join(AmmoType, AmmoType.id == ReportAmmo.ammo_type_id)
                              .where(ReportAmmo.report_id.in_(report_ids)).order_by(ReportAmmo.id))
    for report_id, code, fired, duds in rows:
        out.setdefault(report_id, []).append({"type": code, "fired": fired, "duds": duds})
    return out


def firing_context(r: Round, point: Point, at: datetime) -> dict:
    """The facts the firing rules judge against, for a point in a round at a time."""
    return {"windows": context.windows(r.id, point.id),
            "certified_on_site": context.certified_on_site(point.id, at),
            "stock": ammo.stock([point.id]).get(point.id, {})}


_REPORTS, _REPORT_AMMO = FiringReport.__table__, ReportAmmo.__table__
_INSERT_REPORT, _INSERT_REPORT_AMMO = Prepared(_REPORTS.insert()), Prepared(_REPORT_AMMO.insert())


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


def record_report(conn: DirectConnection, who: Principal, round_id: int, data: dict,
                  optimistic: bool = False) -> tuple[int, dict]:
    """Store a firing report, flagged but never refused for a rule, with its consumption and audit event
    (not committed: the caller's idempotency step commits).

    It writes on the request's direct connection `conn` (a report of a phone's queue is the check-in's
    cousin), and judges in its write transaction: the request's firing facts (context.FiringFacts) are
    checked against the audit head there, so a batch of reports reads them once while nothing else writes.
    """
    # The session's connection (its reads of several rows) first: taken from the pool under the write
    # lock, it could wait on a pool drained by requests that hold one while they wait for that lock.
    db.session.connection()
    conn.begin_write()
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
    ammo.lock_stock(point.id, on=conn)  # stock is read and consumed under one lock: never counted twice
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
    if r.closed_at is not None:
        flags.append(rules.Flag("late_report", f"received {rules.local_time(received, zone_name())}, after the "
                                               f"round closed at {rules.local_time(r.closed_at, zone_name())}"))
    if not facts.is_ordered(conn, r.id, point.id):
        flags.append(rules.Flag("not_ordered", f"{point.code} was not ordered in round {r.id}"))
    rep = SimpleNamespace(
        id=report_id, round_id=r.id, point_id=point.id, crew_id=crew_id, account_id=who.account_id,
        started_at=data["started_at"], ended_at=data["ended_at"], azimuth_deg=data["azimuth_deg"],
        elevation_deg=data["elevation_deg"], height_m=data.get("height_m"), range_km=data.get("range_km"),
        cloud_type=data.get("cloud_type"), weather_before=data.get("weather_before"),
        weather_after=data.get("weather_after"), notes=data.get("notes"), received_at=received,
        flags=json.dumps([f.as_dict() for f in flags], ensure_ascii=False))
    _INSERT_REPORT.execute(conn, vars(rep), insert=True).close()
    lines = []
    for line in data["ammo"]:
        _INSERT_REPORT_AMMO.execute(conn, {"report_id": report_id, "ammo_type_id": type_ids[line["type"]],
                                           "fired": line["fired"], "duds": line["duds"]}, insert=True).close()
        lines.append({"type": line["type"], "fired": line["fired"], "duds": line["duds"]})
    ammo.add_entries(who.username, on=conn, entries=[
        {"point_id": point.id, "ammo_type_id": type_ids[line["type"]], "kind": "consumption",
         "quantity": -line["fired"], "report_id": report_id, "reference": f"report {report_id}"}
        for line in data["ammo"] if line["fired"] > 0])
    body = report_view(rep, point.code, lines)
    event = audit.append(who.username, "report.create", "firing_report", report_id,
                         {k: v for k, v in body.items() if k != "id"}, on=conn)
    facts.consumed(event, point.id, fired)
    return 201, body


_report_schema = ReportCreateSchema()
_sync_report_schema = SyncReportSchema()
_sync_airspace_schema = SyncAirspaceSchema()


def submit_report(who: Principal, round_id: int, payload: dict, key: str | None,
                  data: dict | None = None) -> tuple[int, dict, bool]:
    """Validate (unless the route did) and record once per idempotency key (the report's id by default)."""
    data = data if data is not None else _report_schema.load(payload)
    conn = direct_connection()
    return run_once(who, key or f"report:{data['id']}", "report", {"round_id": round_id, **payload},
                    lambda optimistic: record_report(conn, who, round_id, data, optimistic), on=conn)


def sync_report(who: Principal, payload: dict, key: str | None, _device_time) -> tuple[int, dict, bool]:
    """A report from the phone's queue (it names its round)."""
    data = _sync_report_schema.load(payload)
    body = {k: v for k, v in payload.items() if k != "round_id"}
    return submit_report(who, data.pop("round_id"), body, key, data)


def sync_airspace(who: Principal, payload: dict, key: str | None, _device_time) -> tuple[int, dict, bool]:
    """An airspace request from the phone's queue (it names its round)."""
    data = _sync_airspace_schema.load(payload)
    body = {k: v for k, v in payload.items() if k != "round_id"}
    return submit_airspace_request(who, data.pop("round_id"), body, key, data)


# --- clearance -----------------------------------------------------------------------------------

def clearance(code: str, azimuth: float, elevation: float | None, at: datetime | None) -> dict:
    """May this point fire at this time in this direction? Yes, or no with every reason."""
    at = at or now_utc()
    point = point_by_code(code, status=404)
    reasons: list[rules.Flag] = []
    rounds = db.session.execute(
        select(Round).join(RoundPoint, RoundPoint.round_id == Round.id)
        .where(RoundPoint.point_id == point.id, Round.activated_at.is_not(None), Round.activated_at <= at,
               (Round.closed_at.is_(None)) | (Round.closed_at > at))
        .order_by(Round.activated_at.desc())).scalars().all()
    r = rounds[0] if rounds else None
    window = None
    if r is None:
        reasons.append(rules.Flag("no_active_round", f"{point.code} is not ordered in an active round"))
        ctx = {"windows": [], "certified_on_site": context.certified_on_site(point.id, at),
               "stock": ammo.stock([point.id]).get(point.id, {})}
    else:
        rp = _round_point(r, point)
        if rp.declined_at:
            reasons.append(rules.Flag("declined", f"{point.code} declined round {r.id}: {rp.declined_reason}"))
        if rp.stood_down_at:
            reasons.append(rules.Flag("stood_down", f"{point.code} was stood down: {rp.stood_down_reason}"))
        ctx = firing_context(r, point, at)
        open_windows = [w for w in ctx["windows"] if w.open_at(at)]
        if open_windows:
            w = open_windows[0]
            window = {"start": w.start.isoformat(), "end": w.effective_end.isoformat(),
                      "ends_in_s": int((w.effective_end - at).total_seconds())}
    reasons += rules.firing_flags(
        started_at=at, ended_at=at, azimuth_deg=azimuth, sector_start_deg=point.sector_start_deg,
        sector_end_deg=point.sector_end_deg, height_m=None, max_height_m=point.max_height_m, range_km=None,
        max_range_km=point.max_range_km, windows=ctx["windows"], certified_on_site=ctx["certified_on_site"],
        min_crew=point.min_crew, reporter_certificate_expires=None, fired={}, stock=ctx["stock"],
        tz_name=zone_name(), instant=True)
    if sum(max(0, n) for n in ctx["stock"].values()) == 0:
        reasons.append(rules.Flag("insufficient_stock", "the ledger shows no ammunition at this point"))
    return {"cleared": not reasons, "point_code": point.code, "at": at, "round_id": r.id if r else None,
            "window": window, "reasons": [f.as_dict() for f in reasons]}

