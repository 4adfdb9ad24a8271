"""Business operations on points, crew members and shifts; each write is one transaction with its audit event."""

from datetime import datetime

from flask import current_app
from sqlalchemy import select

import rules
from ..audit import services as audit
from ..clock import local_today, zone_name
from ..database.writelock import begin_write, lock_for
from ..errors import ProblemError, field_error
from ..extensions import db
from .models import CrewMember, Point, Shift

DEFAULT_MIN_CREW = {"rocket": 3, "gun": 4, "burner": 2}


def point_by_code(code: str, field: str = "point_code", status: int = 422) -> Point:
    """The point with this code, or a problem naming the field that carried it."""
    point = db.session.execute(select(Point).where(Point.code == code)).scalar_one_or_none()
    if point is None:
        if status == 404:
            raise ProblemError(404, f"No operating point with code '{code}'.", type_="not-found")
        raise field_error(field, f"No operating point with code '{code}'.")
    return point


def active_points(codes: list[str], done: str, field: str = "point_codes") -> list[Point]:
    """The active points with these codes, in their order; unknown or inactive ones refused (422 naming `field`:
    "Inactive points cannot be {done}")."""
    found = {p.code: p for p in db.session.execute(select(Point).where(Point.code.in_(codes))).scalars()}
    missing = [c for c in codes if c not in found]
    if missing:
        raise field_error(field, f"Unknown point codes: {', '.join(missing)}.")
    inactive = [c for c in codes if not found[c].active]
    if inactive:
        raise field_error(field, f"Inactive points cannot be {done}: {', '.join(inactive)}.")
    return [found[c] for c in codes]


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def create_point(actor: str, data: dict) -> Point:
    """Register a new operating point."""
    begin_write(db.session)
    if db.session.execute(select(Point.id).where(Point.code == data["code"])).first():
        raise ProblemError(409, f"A point with code '{data['code']}' exists already.", type_="conflict",
                           errors=[{"field": "code", "location": "json", "detail": "already exists"}])
    data = dict(data)
    data.setdefault("geofence_m", current_app.config["OPS_DEFAULT_GEOFENCE_M"])
    data.setdefault("min_crew", DEFAULT_MIN_CREW[data["equipment"]])
    data.setdefault("launchers", 1)
    point = Point(**data)
    db.session.add(point)
    db.session.flush()
    audit.append(actor, "point.create", "point", point.code, {k: _plain(v) for k, v in data.items()})
    db.session.commit()
    return point


def update_point(actor: str, code: str, changes: dict) -> Point:
    """Change a point's fields; the audit event records each old and new value."""
    begin_write(db.session)
    point = point_by_code(code, status=404)
    start = changes.get("sector_start_deg", point.sector_start_deg)
    end = changes.get("sector_end_deg", point.sector_end_deg)
    if not rules.sector_has_width(start, end):
        raise field_error("sector_end_deg", rules.NO_WIDTH_REASON)
    diff = {}
    for key, value in changes.items():
        old = getattr(point, key)
        if old != value:
            diff[key] = [old, value]
            setattr(point, key, value)
    if diff:
        audit.append(actor, "point.update", "point", point.code, diff)
    db.session.commit()
    return point


def create_crew(actor: str, data: dict) -> CrewMember:
    """Register a crew member with their certificate."""
    begin_write(db.session)
    data = dict(data)
    home = data.pop("home_point", None)
    if db.session.execute(select(CrewMember.id).where(CrewMember.certificate_no == data["certificate_no"])).first():
        raise ProblemError(409, f"Certificate number '{data['certificate_no']}' is registered already.",
                           type_="conflict",
                           errors=[{"field": "certificate_no", "location": "json", "detail": "already exists"}])
    member = CrewMember(**data, home_point_id=point_by_code(home, "home_point").id if home else None)
    db.session.add(member)
    db.session.flush()
    audit.append(actor, "crew.create", "crew", member.id,
                 {**{k: _plain(v) for k, v in data.items()}, "home_point": home})
    db.session.commit()
    return member


def crew_by_id(crew_id: int, field: str = "crew_id") -> CrewMember:
    """The crew member, or a problem naming the field."""
    member = db.session.get(CrewMember, crew_id)
    if member is None:
        raise field_error(field, f"No crew member with id {crew_id}.")
    return member


def create_shift(actor: str, point_code: str, crew_id: int, starts_at: datetime, ends_at: datetime,
                 position: str) -> Shift:
    """Plan a shift: refused (not flagged) when the certificate does not cover it or it overlaps another."""
    begin_write(db.session)
    point = point_by_code(point_code)
    member = crew_by_id(crew_id)
    if ends_at <= starts_at:
        raise field_error("ends_at", "The shift must end after it starts.")
    if not member.active:
        raise field_error("crew_id", f"Crew member {member.id} is not active.")
    why = rules.certificate_problem(member.certificate_expires, starts_at, ends_at, zone_name())
    if why:
        raise field_error("crew_id", f"{member.name}: {why}; a shift needs a certificate valid for all of it.")
    lock_for(db.session, "shift-crew", member.id)
    clash = db.session.execute(
        select(Shift).where(Shift.crew_id == member.id,
                            rules.overlaps_sql(Shift.starts_at, Shift.ends_at, starts_at, ends_at)).limit(1)
    ).scalar_one_or_none()
    if clash is not None:
        raise ProblemError(
            409, f"{member.name} already has a shift at {clash.point.code} from {clash.starts_at.isoformat()} "
                 f"to {clash.ends_at.isoformat()}, which overlaps this one.",
            type_="shift-overlap", extra={"conflicting_shift_id": clash.id})
    shift = Shift(point_id=point.id, crew_id=member.id, starts_at=starts_at, ends_at=ends_at, position=position)
    db.session.add(shift)
    db.session.flush()
    audit.append(actor, "shift.create", "shift", shift.id,
                 {"point_code": point.code, "crew_id": member.id, "starts_at": starts_at, "ends_at": ends_at,
                  "position": position})
    db.session.commit()
    return shift


def point_view(point: Point, on_site: list[dict]) -> dict:
    """A point as served: its fields, sector width and who is on site."""
    view = {c.key: getattr(point, c.key) for c in Point.__table__.columns}
    view["sector_width_deg"] = rules.sector_width(point.sector_start_deg, point.sector_end_deg)
    view["on_site"] = on_site
    view["crew_on_site"] = sum(1 for p in on_site if p["certificate_valid"])
    return view


def crew_view(member: CrewMember) -> dict:
    """A crew member as served, with their certificate's status today."""
    return {"id": member.id, "name": member.name, "phone": member.phone, "certificate_no": member.certificate_no,
            "certificate_expires": member.certificate_expires,
            "certificate_status": rules.certificate_status(member.certificate_expires, local_today()),
            "home_point": member.home_point.code if member.home_point else None, "active": member.active}


def shift_view(shift: Shift) -> dict:
    """A shift as served, with its crew member's certificate."""
    return {"id": shift.id, "point_code": shift.point.code, "crew_id": shift.crew_id, "crew_name": shift.crew.name,
            "starts_at": shift.starts_at, "ends_at": shift.ends_at, "position": shift.position,
            "certificate_expires": shift.crew.certificate_expires,
            "certificate_status": rules.certificate_status(shift.crew.certificate_expires, local_today())}
