"""Round lifecycle: plan, activate, close; a point's decline or stand-down; who may act for a point."""

from datetime import datetime

from sqlalchemy import select

from ..accounts.auth import Principal
from ..announcements.services import uncovered_points
from ..audit import services as audit
from ..database.utc import now_utc
from ..database.writelock import begin_write, for_update
from ..errors import ProblemError
from ..extensions import db
from ..fields import MAX_ID
from ..registry.models import CrewMember, Point
from ..registry.services import active_points, point_by_code
from . import context
from .models import Round, RoundPoint


def conflict(detail: str, type_: str = "illegal-transition") -> ProblemError:
    """A 409 problem: the step is not allowed in the current state."""
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
        r = db.session.execute(for_update(db.session, select(Round).where(Round.id == round_id))).scalar_one_or_none()
    else:
        r = db.session.get(Round, round_id)
    if r is None:
        raise ProblemError(404, f"No round with id {round_id}.", type_="not-found")
    return r


def create_round(actor: str, data: dict) -> Round:
    """Plan a round and order its points."""
    begin_write(db.session)
    points = active_points(data["point_codes"], "ordered")
    r = Round(name=data["name"], purpose=data["purpose"], planned_start=data["planned_start"],
              planned_end=data["planned_end"], notes=data.get("notes"), created_by=actor)
    db.session.add(r)
    db.session.flush()
    for point in points:
        db.session.add(RoundPoint(round_id=r.id, point_id=point.id))
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


def activate_round(actor: str, round_id: int, without_announcement_reason: str | None = None) -> Round:
    """The commander starts the round: reports and airspace requests are taken from now on.

    Every point still in it (neither declined nor stood down) must be covered by a published announcement over the
    round's planned window; else 409 naming the uncovered points, unless the commander gives the reason, which is
    stored on the round and, with those points, in the `round.activate` event."""
    begin_write(db.session)
    r = get_round(round_id, lock=True)
    status = round_status(r)
    if status != "planned":
        raise conflict(f"Round {r.id} is {status}; only a planned round can be activated.")
    taking_part = list(db.session.execute(select(RoundPoint.point_id).where(
        RoundPoint.round_id == r.id, RoundPoint.declined_at.is_(None), RoundPoint.stood_down_at.is_(None))).scalars())
    uncovered = uncovered_points(taking_part, r.planned_start, r.planned_end)
    if uncovered and not without_announcement_reason:
        raise ProblemError(409, f"No published announcement covers {', '.join(uncovered)} for the round's planned "
                                f"window; publish one, or give without_announcement_reason.",
                           type_="not-announced", extra={"uncovered_points": uncovered})
    r.activated_at = now_utc()
    payload = {"activated_at": r.activated_at}
    if uncovered:
        r.without_announcement_reason = without_announcement_reason
        payload |= {"without_announcement_reason": without_announcement_reason, "uncovered_points": uncovered}
    audit.append(actor, "round.activate", "round", r.id, payload)
    db.session.commit()
    return r


def close_round(actor: str, round_id: int) -> Round:
    """The commander ends the round; late reports of firings inside it are still taken, flagged."""
    return _advance_round(actor, round_id, "active", "closed_at", "round.close")


def round_point_of(r: Round, point: Point) -> RoundPoint:
    """The point's order in the round, or 409 when it was not ordered there."""
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


def require_point_crew(who: Principal, point: Point, at: datetime, *, on_shift: bool = False) -> None:
    """403 unless a commander, or the point's crew (on shift there when `on_shift`)."""
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
    require_point_crew(who, point, now_utc())
    if round_status(r) == "closed":
        raise conflict(f"Round {r.id} is closed.")
    rp = round_point_of(r, point)
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
    rp = round_point_of(r, point)
    if rp.stood_down_at or rp.declined_at:
        raise conflict(f"{point.code} has already {'been stood down' if rp.stood_down_at else 'declined'} "
                       f"in round {r.id}.")
    rp.stood_down_at, rp.stood_down_reason = now_utc(), reason
    audit.append(actor, "round.point_stood_down", "round", r.id, {"point_code": point.code, "reason": reason})
    db.session.commit()

