"""Airspace requests: a point asks for a window, air traffic control decides, a window is terminated or a
request cancelled; the phone's queued requests come in through sync_airspace."""

import uuid
from datetime import timedelta

from sqlalchemy import Select, select

from ..accounts.auth import Principal
from ..audit import services as audit
from ..database.utc import now_utc
from ..database.writelock import begin_write, for_update
from ..errors import ProblemError
from ..extensions import db
from ..idempotency import run_once
from ..registry.models import Point
from ..registry.services import point_by_code
from .context import request_status, window_of
from .models import AirspaceRequest, Round
from .rounds import conflict, get_round, require_point_crew, round_point_of, round_status
from .schemas import AirspaceSchema, SyncAirspaceSchema


def airspace_view(req: AirspaceRequest, point_code: str) -> dict:
    """A request as stored, with its point code, status and effective end."""
    w = window_of(req)
    view = {c.key: getattr(req, c.key) for c in AirspaceRequest.__table__.columns}
    view.update(point_code=point_code, status=request_status(req), effective_end=w.effective_end if w else None)
    return view


def ids_in_round(round_id: int) -> Select:
    """The ids of a round's airspace requests (the audit export's round filter)."""
    return select(AirspaceRequest.id).where(AirspaceRequest.round_id == round_id)


def _airspace_dump(view: dict) -> dict:
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
    require_point_crew(who, point, now_utc(), on_shift=True)
    begin_write(db.session)
    r = get_round(r.id, lock=True)
    status = round_status(r)
    if status != "active":
        raise conflict(f"Round {r.id} is {status}; airspace is requested in an active round.")
    rp = round_point_of(r, point)
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
    return run_once(who.account_id, key, "airspace_request", {"round_id": round_id, **payload},
                    lambda optimistic: record_airspace_request(who, round_id, data, optimistic))


def _request_for_update(request_id: str) -> tuple[AirspaceRequest, Point]:
    begin_write(db.session)
    req = db.session.execute(for_update(db.session, select(AirspaceRequest).where(
        AirspaceRequest.id == request_id))).scalar_one_or_none()
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


def end_windows(actor: str, round_id: int, point: Point, at, because: dict) -> list[str]:
    """End, at `at`, every approved window of the point in the round that has not ended by then (open or
    still to come), inside the caller's transaction: a cease order takes the point's firing authority at
    once. Each is audited as a termination, `because` saying why; the ids of the windows ended."""
    rows = db.session.execute(select(AirspaceRequest).where(
        AirspaceRequest.round_id == round_id, AirspaceRequest.point_id == point.id,
        AirspaceRequest.decision == "approved", AirspaceRequest.cancelled_at.is_(None))).scalars().all()
    ended = []
    for req in rows:
        w = window_of(req)
        if w.effective_end <= at:
            continue
        req.terminated_at, req.terminated_by = at, actor
        audit.append(actor, "airspace.terminate", "airspace_request", req.id,
                     {"point_code": point.code, "terminated_at": at, **because})
        ended.append(req.id)
    return ended


def cancel(who: Principal, request_id: str) -> dict:
    """Withdraw a request that is pending, or approved but not yet open."""
    req, point = _request_for_update(request_id)
    require_point_crew(who, point, now_utc())
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


_sync_airspace_schema = SyncAirspaceSchema()


def sync_airspace(who: Principal, payload: dict, key: str | None, _device_time) -> tuple[int, dict, bool]:
    """An airspace request from the phone's queue (it names its round)."""
    data = _sync_airspace_schema.load(payload)
    body = {k: v for k, v in payload.items() if k != "round_id"}
    return submit_airspace_request(who, data.pop("round_id"), body, key, data)
