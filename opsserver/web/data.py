"""Plain data for the maps' crew and no-fire-zone layers (a round's map data is gathered by reports.facts)."""

from datetime import timedelta

from sqlalchemy import select

from ..checkins.models import Checkin
from ..database.utc import now_utc
from ..extensions import db
from ..registry.models import CrewMember, Point
from ..zones.services import zone_features


def crew_positions(hours: int = 24) -> list[dict]:
    """Each crew member's latest check-in position within the last hours."""
    since = now_utc() - timedelta(hours=hours)
    c = Checkin.__table__.c
    rows = db.session.execute(
        select(c.crew_id, c.latitude, c.longitude, c.recorded_at, c.within_geofence, c.kind, Point.code,
               CrewMember.name)
        .join(Point, Point.id == c.point_id).join(CrewMember, CrewMember.id == c.crew_id)
        .where(c.received_at > since).order_by(c.crew_id, c.recorded_at)).all()
    latest = {}
    for row in rows:
        latest[row.crew_id] = {"crew_id": row.crew_id, "name": row.name, "point_code": row.code,
                               "latitude": row.latitude, "longitude": row.longitude,
                               "recorded_at": row.recorded_at.isoformat(), "within_geofence": row.within_geofence,
                               "kind": row.kind}
    return list(latest.values())


def map_zones() -> list[dict]:
    """The active no-fire zones as the maps draw them (GeoJSON Features, kind labels in the reader's language)."""
    return zone_features()
