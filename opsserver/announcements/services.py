"""Business operations on announcements (each write one transaction with its audit event), their views and CAP
document, and the coverage rule: which of a round's points no published announcement covers.

A point is covered for a window when a published (not superseded) announcement names it and its period holds
the whole window (period_start <= start and end <= period_end): one query, `uncovered_points`.
"""

import json
import math
from datetime import datetime

import marshmallow as ma
from flask import current_app
from sqlalchemy import and_, delete, exists, select

from ..audit import services as audit
from ..clock import local_today, zone_name
from ..database.utc import now_utc
from ..database.writelock import begin_write, for_update
from ..errors import ProblemError, field_error
from ..extensions import db
from ..fields import MAX_ID
from ..registry.models import Point
from ..registry.services import active_points
from . import cap, text
from .models import Announcement, AnnouncementPoint
from .schemas import check_period

FIELDS = ("period_start", "period_end", "purpose", "issuer", "contact_unit", "contact_person", "contact_phone",
          "safety_radius_km", "notes")
CAP_SENDER = "weather-modification-ops"  # OPS_CAP_SENDER, where set, names the sender in CAP alerts
COUNTY_NAMES = "ops_county_names"  # app.extensions key: a function giving {county as stored: Chinese name}


# -- reading --------------------------------------------------------------------------------------------------------

def announcement_by_id(announcement_id: int, *, lock: bool = False) -> Announcement:
    """The announcement, or 404; `lock` (in a write transaction) holds its row on PostgreSQL and re-reads it."""
    if not 0 < announcement_id <= MAX_ID:
        raise ProblemError(404, f"No announcement with id {announcement_id}.", type_="not-found")
    stmt = select(Announcement).where(Announcement.id == announcement_id)
    if lock:
        stmt = for_update(db.session, stmt)
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise ProblemError(404, f"No announcement with id {announcement_id}.", type_="not-found")
    return found


def _county_names() -> dict[str, str]:
    names = current_app.extensions.get(COUNTY_NAMES)
    return names() if names else {}


def plain_point(point: Point, county_names: dict[str, str]) -> dict:
    """A point as the notice names it (the Chinese county name from the region's names, else as stored)."""
    return {"code": point.code, "name": point.name, "county": point.county,
            "county_zh": county_names.get(point.county, point.county), "township": point.township,
            "latitude": point.latitude, "longitude": point.longitude, "equipment": point.equipment,
            "launchers": point.launchers}


def _live_points(a: Announcement) -> list[Point]:
    return list(db.session.execute(
        select(Point).join(AnnouncementPoint, AnnouncementPoint.point_id == Point.id)
        .where(AnnouncementPoint.announcement_id == a.id).order_by(AnnouncementPoint.position)).scalars())


def points_of(a: Announcement) -> list[dict]:
    """The points the notice names: as published (frozen then), or a draft's as they are now."""
    if a.published_points is not None:
        return json.loads(a.published_points)
    names = _county_names()
    return [plain_point(p, names) for p in _live_points(a)]


def _fields(a: Announcement) -> dict:
    return {k: getattr(a, k) for k in FIELDS}


def texts_of(a: Announcement, points: list[dict] | None = None) -> tuple[str, str]:
    """The Chinese notice and its English rendering: as published, or a draft's as it would be published today."""
    if a.text_zh is not None:
        return a.text_zh, a.text_en
    points = points_of(a) if points is None else points
    day, tz = local_today(), zone_name()
    return text.notice_zh(_fields(a), points, day, tz), text.notice_en(_fields(a), points, day, tz)


def _superseded_by(a: Announcement) -> int | None:
    if a.status != "superseded":
        return None
    return db.session.execute(select(Announcement.id).where(
        Announcement.supersedes_id == a.id, Announcement.status != "draft")).scalar()


def announcement_view(a: Announcement) -> dict:
    """An announcement as served: its fields, its points, its lifecycle and both texts."""
    points = points_of(a)
    zh, en = texts_of(a, points)
    return {"id": a.id, "status": a.status, **_fields(a), "point_codes": [p["code"] for p in points],
            "points": points, "supersedes": a.supersedes_id, "superseded_by": _superseded_by(a),
            "created_by": a.created_by, "created_at": a.created_at, "updated_at": a.updated_at,
            "published_by": a.published_by, "published_at": a.published_at, "superseded_at": a.superseded_at,
            "text": zh, "text_en": en}


def cap_document(a: Announcement) -> str:
    """The announcement as a CAP 1.2 alert (an Update referencing the one it supersedes)."""
    points = points_of(a)
    superseded = None
    if a.supersedes_id is not None:
        old = db.session.get(Announcement, a.supersedes_id)
        if old is not None and old.published_at is not None:
            superseded = {"id": old.id, "published_at": old.published_at}
    return cap.alert_xml({"id": a.id, "status": a.status, **_fields(a)}, points,
                         sender=current_app.config.get("OPS_CAP_SENDER") or CAP_SENDER, tz=zone_name(),
                         sent=a.published_at or a.updated_at, texts=texts_of(a, points), superseded=superseded)


# -- writing --------------------------------------------------------------------------------------------------------

def _resolve_points(codes: list[str]) -> list[Point]:
    """The points named, in order; unknown or inactive ones refused (422 naming point_codes)."""
    return active_points(codes, "announced")


def _radius(points: list[Point], radius: float | None) -> float:
    """The safety radius: given, at least every point's maximum range (a smaller area would tell the public it is
    safe where a round can land); absent, the largest range rounded up to a whole km."""
    reach = max(p.max_range_km for p in points)
    if radius is None:
        return float(math.ceil(reach))
    if radius < reach:
        far = max(points, key=lambda p: p.max_range_km)
        raise field_error("safety_radius_km", f"The safety radius must reach every point's maximum range: "
                                              f"{far.code} reaches {reach:g} km.")
    return radius


def _check_supersedes(target_id: int | None, own_id: int | None = None) -> None:
    if target_id is None:
        return
    old = db.session.get(Announcement, target_id) if 0 < target_id <= MAX_ID else None
    if old is None or old.status != "published" or old.id == own_id:
        raise field_error("supersedes", f"Announcement {target_id} is not a published announcement; only a published "
                                        "one can be superseded.")


def _set_points(a: Announcement, points: list[Point]) -> None:
    db.session.execute(delete(AnnouncementPoint).where(AnnouncementPoint.announcement_id == a.id))
    for i, p in enumerate(points):
        db.session.add(AnnouncementPoint(announcement_id=a.id, point_id=p.id, position=i))


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def create_announcement(actor: str, data: dict) -> Announcement:
    """Draft an announcement (`data` as AnnouncementCreateSchema loads it)."""
    begin_write(db.session)
    points = _resolve_points(data["point_codes"])
    radius = _radius(points, data.get("safety_radius_km"))
    _check_supersedes(data.get("supersedes"))
    now = now_utc()
    a = Announcement(status="draft", **{k: data.get(k) for k in FIELDS if k != "safety_radius_km"},
                     safety_radius_km=radius, supersedes_id=data.get("supersedes"), created_by=actor,
                     created_at=now, updated_at=now)
    db.session.add(a)
    db.session.flush()
    _set_points(a, points)
    audit.append(actor, "announcement.create", "announcement", a.id,
                 {**{k: _plain(getattr(a, k)) for k in FIELDS}, "point_codes": data["point_codes"],
                  "supersedes": a.supersedes_id})
    db.session.commit()
    return a


def _not_draft(a: Announcement, doing: str) -> ProblemError:
    return ProblemError(409, f"Announcement {a.id} is {a.status}; only a draft can be {doing}. A published "
                             "announcement is never edited: draft a new one that supersedes it.",
                        type_="announcement-not-draft")


def update_announcement(actor: str, announcement_id: int, changes: dict) -> Announcement:
    """Change a draft's fields (a published or superseded one: 409, nothing written); the audit event records
    each old and new value."""
    begin_write(db.session)
    a = announcement_by_id(announcement_id, lock=True)
    if a.status != "draft":
        raise _not_draft(a, "edited")
    start, end = changes.get("period_start", a.period_start), changes.get("period_end", a.period_end)
    try:
        check_period(start, end)
    except ma.ValidationError as exc:
        raise field_error("period_end", exc.messages[0]) from None
    diff = {}
    codes = changes.get("point_codes")
    points = _resolve_points(codes) if codes is not None else _live_points(a)
    if codes is not None:
        old_codes = [p.code for p in _live_points(a)]
        if old_codes != codes:
            diff["point_codes"] = [old_codes, codes]
            _set_points(a, points)
    radius = _radius(points, changes.get("safety_radius_km", a.safety_radius_km))
    if "safety_radius_km" in changes or codes is not None:
        changes = {**changes, "safety_radius_km": radius}
    if "supersedes" in changes:
        _check_supersedes(changes["supersedes"], a.id)
        if changes["supersedes"] != a.supersedes_id:
            diff["supersedes"] = [a.supersedes_id, changes["supersedes"]]
            a.supersedes_id = changes["supersedes"]
    for key in FIELDS:
        if key in changes and changes[key] != getattr(a, key):
            diff[key] = [_plain(getattr(a, key)), _plain(changes[key])]
            setattr(a, key, changes[key])
    if diff:
        a.updated_at = now_utc()
        audit.append(actor, "announcement.update", "announcement", a.id, diff)
    db.session.commit()
    return a


def publish_announcement(actor: str, announcement_id: int) -> Announcement:
    """Publish a draft: its points and texts are frozen as they are now, and the announcement it supersedes (if
    any, still published: else 409) becomes superseded and no longer covers rounds."""
    begin_write(db.session)
    a = announcement_by_id(announcement_id, lock=True)
    if a.status != "draft":
        raise _not_draft(a, "published")
    old = None
    if a.supersedes_id is not None:
        old = announcement_by_id(a.supersedes_id, lock=True)
        if old.status != "published":
            raise ProblemError(409, f"Announcement {old.id}, which this one supersedes, is {old.status}: "
                                    "only a published announcement can be superseded.", type_="announcement-not-draft")
    live = _live_points(a)
    if not live:
        raise ProblemError(409, f"Announcement {a.id} names no point.", type_="announcement-not-draft")
    _radius(live, a.safety_radius_km)  # a point's range may have grown since the draft
    now = now_utc()
    names = _county_names()
    points = [plain_point(p, names) for p in live]
    a.status, a.published_at, a.published_by, a.updated_at = "published", now, actor, now
    a.published_points = json.dumps(points, ensure_ascii=False)
    a.text_zh = text.notice_zh(_fields(a), points, local_today(now), zone_name())
    a.text_en = text.notice_en(_fields(a), points, local_today(now), zone_name())
    payload = {"published_at": now.isoformat(), "point_codes": [p["code"] for p in points],
               "period_start": a.period_start.isoformat(), "period_end": a.period_end.isoformat()}
    if old is not None:
        old.status, old.superseded_at = "superseded", now
        payload["supersedes"] = old.id
    audit.append(actor, "announcement.publish", "announcement", a.id, payload)
    db.session.commit()
    return a


# -- the coverage rule ------------------------------------------------------------------------------------------------

def uncovered_points(points: list[int] | list[str], start: datetime, end: datetime) -> list[str]:
    """The codes (sorted) of the points, given by id or by code, that no published announcement covers from
    `start` to `end`: one query."""
    if not points:
        return []
    key = Point.id if isinstance(points[0], int) else Point.code
    covered = exists().where(
        AnnouncementPoint.point_id == Point.id, Announcement.id == AnnouncementPoint.announcement_id,
        and_(Announcement.status == "published", Announcement.period_start <= start, Announcement.period_end >= end))
    return list(db.session.execute(select(Point.code).where(key.in_(points), ~covered).order_by(Point.code)).scalars())
