"""Recording check-ins (flagged, never refused for a rule), who is on site, and the phone sync queue."""

import logging
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace

import marshmallow as ma
from sqlalchemy import and_, bindparam, func, select

import rules
from ..accounts.auth import Principal
from ..audit import services as audit
from ..clock import zone_name
from ..database.unitofwork import UnitOfWork
from ..database.utc import UTCDateTime, now_utc
from ..errors import ProblemError, field_error, problem_dict, validation_errors
from ..extensions import db, unit_of_work
from ..idempotency import run_once
from ..reasons import localized_flags
from ..registry.models import CrewMember, Point, Shift
from ..registry.services import crew_by_id, point_view
from .models import Checkin
from .schemas import CheckinCreateSchema, SyncItemSchema

log = logging.getLogger(__name__)
_checkin_schema = CheckinCreateSchema()
_sync_item_schema = SyncItemSchema()


def acting_crew_id(who: Principal, requested: int | None) -> int:
    """The crew member a write is for: a crew account only ever acts as itself."""
    if who.role == "crew":
        if requested is not None and requested != who.crew_id:
            raise ProblemError(403, "A crew account can only record its own check-ins and reports.",
                               type_="forbidden")
        return who.crew_id
    if requested is None:
        raise field_error("crew_id", "Name the crew member this is recorded for.")
    return crew_by_id(requested).id


def checkin_view(c, point_code: str) -> dict:
    """A check-in (row or object) as served, JSON-ready, with its flags derived from what was stored."""
    flags = rules.checkin_flags(kind=c.kind, distance=c.distance_m, geofence_m=c.geofence_m, on_shift=c.on_shift,
                                clock_offset_s=c.clock_offset_s)
    return {"id": c.id, "point_code": point_code, "crew_id": c.crew_id, "kind": c.kind, "latitude": c.latitude,
            "longitude": c.longitude, "accuracy_m": c.accuracy_m, "recorded_at": c.recorded_at.isoformat(),
            "received_at": c.received_at.isoformat(), "distance_m": round(c.distance_m, 2),
            "geofence_m": c.geofence_m, "within_geofence": c.within_geofence, "on_shift": c.on_shift,
            "shift_id": c.shift_id, "clock_offset_s": c.clock_offset_s,
            "flags": localized_flags([f.as_dict() for f in flags])}


def _same_checkin(c, point_id: int, crew_id: int, data: dict) -> bool:
    return (c.point_id, c.crew_id, c.kind, c.latitude, c.longitude, c.accuracy_m, c.recorded_at) == (
        point_id, crew_id, data["kind"], data["latitude"], data["longitude"], data["accuracy_m"], data["recorded_at"])


_CHECKINS = Checkin.__table__
# Built once, so each run finds its compiled form in SQLAlchemy's cache at once.
# The point and the crew member's shift there in one statement (the shift as a scalar subquery).
_POINT_AND_SHIFT = select(
    Point.id, Point.code, Point.latitude, Point.longitude, Point.geofence_m,
    select(Shift.id).where(Shift.crew_id == bindparam("crew_id"), Shift.point_id == Point.id,
                           rules.on_shift_sql(Shift.starts_at, Shift.ends_at, bindparam("at", type_=UTCDateTime)))
    .limit(1).scalar_subquery().label("shift_id"),
).where(Point.code == bindparam("code"))
_CHECKIN_BY_ID = select(_CHECKINS).where(_CHECKINS.c.id == bindparam("id"))
_INSERT_CHECKIN = _CHECKINS.insert()


def record_checkin(work: UnitOfWork, who: Principal, data: dict, device_time: datetime | None,
                   optimistic: bool = False) -> tuple[int, dict]:
    """Store one check-in with its audit event in `work` (not committed: the caller's idempotency step commits).

    The busiest write: it runs on the request's own connection (extensions.unit_of_work), not the ORM
    session. The lookups run before the write lock is taken; only the audit head, the inserts and the
    commit run under it.
    Answers (status, JSON-ready body) so that a replay returns the stored body unchanged.
    """
    conn = work.connection
    crew_id = acting_crew_id(who, data.get("crew_id"))
    recorded = data["recorded_at"]
    point = conn.execute(_POINT_AND_SHIFT, {"code": data["point_code"], "crew_id": crew_id, "at": recorded}).first()
    if point is None:
        raise field_error("point_code", f"No operating point with code '{data['point_code']}'.")
    checkin_id = str(data["id"])
    # Optimistic: a repeated id is refused by the primary key at insert, and run_once retries with this check.
    existing = None if optimistic else conn.execute(_CHECKIN_BY_ID, {"id": checkin_id}).first()
    if existing is not None:
        if _same_checkin(existing, point.id, crew_id, data):
            return 200, checkin_view(existing, point.code)
        raise ProblemError(409, f"Check-in {checkin_id} exists already with different content.",
                           type_="id-conflict", errors=[{"field": "id", "location": "json",
                                                         "detail": "already used for another check-in"}])
    dist = rules.distance_m(data["latitude"], data["longitude"], point.latitude, point.longitude)
    received = now_utc()
    row = SimpleNamespace(
        id=checkin_id, point_id=point.id, crew_id=crew_id, account_id=who.account_id, kind=data["kind"],
        latitude=data["latitude"], longitude=data["longitude"], accuracy_m=data["accuracy_m"], recorded_at=recorded,
        received_at=received, distance_m=dist, geofence_m=point.geofence_m,
        within_geofence=rules.within_geofence(dist, point.geofence_m), on_shift=point.shift_id is not None,
        shift_id=point.shift_id,
        clock_offset_s=(device_time - received).total_seconds() if device_time else None)
    view = checkin_view(row, point.code)
    payload = audit.canonical_json({k: v for k, v in view.items() if k != "id"})
    work.begin_write()
    conn.execute(_INSERT_CHECKIN, vars(row))
    audit.append(who.username, "checkin.create", "checkin", checkin_id, payload, on=work)
    return 201, view


def submit_checkin(who: Principal, payload: dict, key: str | None, device_time: datetime | None,
                   data: dict | None = None) -> tuple[int, dict, bool]:
    """Validate (unless the route did), then record once per idempotency key (the id when no key is sent)."""
    data = data if data is not None else _checkin_schema.load(payload)
    work = unit_of_work()
    return run_once(who.account_id, key or f"checkin:{data['id']}", "checkin", payload,
                    lambda optimistic: record_checkin(work, who, data, device_time, optimistic), on=work)


# --- the phone's queue ---------------------------------------------------------------------------

SyncHandler = Callable[[Principal, dict, str | None, datetime | None], tuple[int, dict, bool]]
SYNC_HANDLERS: dict[str, SyncHandler] = {"checkin": submit_checkin}


def register_sync_type(name: str, handler: SyncHandler) -> None:
    """Let another feature (reports, airspace requests) take items from the sync queue."""
    SYNC_HANDLERS[name] = handler


def sync(who: Principal, items: list[dict], device_time: datetime | None) -> list[dict]:
    """Apply each queued item in its own transaction, in order; one answer per item, as if sent alone."""
    results = []
    for index, raw in enumerate(items):
        item = dict(raw)
        item_id = str(item.get("id")) if item.get("id") is not None else None
        try:
            envelope = _sync_item_schema.load({k: item.pop(k) for k in ("type", "idempotency_key") if k in item})
            item_type, key = envelope["type"], envelope["idempotency_key"]
            handler = SYNC_HANDLERS.get(item_type)
            if handler is None:
                raise field_error("type", f"Unknown item type {item_type!r}; expected one of "
                                          f"{', '.join(sorted(SYNC_HANDLERS))}.")
            status, body, _ = handler(who, item, key, device_time)
            results.append({"id": item_id, "status": status, "body": body})
        except ma.ValidationError as err:
            db.session.rollback()
            errors = validation_errors(err.messages)
            results.append({"id": item_id, "status": 422, "problem": problem_dict(
                422, f"Item {index} has invalid fields: " + ", ".join(e["field"] for e in errors),
                type_="validation-error", errors=errors)})
        except ProblemError as err:
            db.session.rollback()
            results.append({"id": item_id, "status": err.status, "problem": err.to_dict()})
        except Exception:
            # One item's failure must not cost the phone the answers of the items already stored.
            db.session.rollback()
            log.exception("sync item %s failed", index)
            results.append({"id": item_id, "status": 500, "problem": problem_dict(
                500, "An unexpected error occurred with this item; it has been logged.")})
    return results


# --- who is on site ------------------------------------------------------------------------------

def _on_site_at_one_point():
    """The on-site rule for one point, reading only what concerns it: the crew members with a check-in
    there within the horizon, each one's latest check-in (an index seek), and those that are arrivals
    inside its geofence. The same rows as the all-points statement restricted to the point, whose
    grouping of every crew member's check-ins was most of a firing report's time (bench/sync_bench.py)."""
    c, m = _CHECKINS.c, CrewMember.__table__.c
    mine = _CHECKINS.alias("mine")
    since, at, point = (bindparam("since", type_=UTCDateTime), bindparam("at", type_=UTCDateTime),
                        bindparam("point_id"))
    here = (select(mine.c.crew_id).where(mine.c.point_id == point,
                                         rules.within_on_site_horizon_sql(mine.c.recorded_at, since, at))
            .distinct().subquery())
    latest_c = _CHECKINS.alias("latest_c")
    last = (select(func.max(latest_c.c.recorded_at))
            .where(latest_c.c.crew_id == here.c.crew_id,
                   rules.within_on_site_horizon_sql(latest_c.c.recorded_at, since, at))
            .scalar_subquery())
    latest = select(here.c.crew_id, last.label("last")).subquery()
    return (select(c.point_id, c.recorded_at, m.id, m.name, m.certificate_expires)
            .join(latest, and_(latest.c.crew_id == c.crew_id, latest.c.last == c.recorded_at))
            .join(CrewMember.__table__, m.id == c.crew_id)
            .where(rules.on_site_sql(c.kind, c.within_geofence), c.point_id == point))


_ON_SITE_AT_ONE_POINT = _on_site_at_one_point()


def on_site_by_point(point_ids: list[int] | None = None, at: datetime | None = None) -> dict[int, list[dict]]:
    """Crew whose latest check-in (within the horizon) is an arrival inside a point's geofence."""
    at = at or now_utc()
    since = rules.on_site_since(at)
    c, m = _CHECKINS.c, CrewMember.__table__.c
    if point_ids is not None and len(point_ids) == 1:
        stmt, params = _ON_SITE_AT_ONE_POINT, {"point_id": point_ids[0], "since": since, "at": at}
    else:
        latest = (select(c.crew_id, func.max(c.recorded_at).label("last"))
                  .where(rules.within_on_site_horizon_sql(c.recorded_at, since, at))
                  .group_by(c.crew_id).subquery())
        stmt = (select(c.point_id, c.recorded_at, m.id, m.name, m.certificate_expires)
                .join(latest, and_(latest.c.crew_id == c.crew_id, latest.c.last == c.recorded_at))
                .join(CrewMember.__table__, m.id == c.crew_id)
                .where(rules.on_site_sql(c.kind, c.within_geofence)))
        if point_ids is not None:
            stmt = stmt.where(c.point_id.in_(point_ids))
        params = {}
    tz = zone_name()
    out: dict[int, list[dict]] = {}
    for row in db.session.connection().execute(stmt, params).all():
        out.setdefault(row.point_id, []).append({
            "crew_id": row.id, "name": row.name, "arrived_at": row.recorded_at,
            "certificate_valid": rules.certificate_valid_at(row.certificate_expires, at, tz)})
    return out


def point_views(points: list[Point]) -> list[dict]:
    """Points as served (registry's point_view) with who is on site: two queries, however many points."""
    on_site = on_site_by_point([p.id for p in points])
    return [point_view(p, on_site.get(p.id, [])) for p in points]
