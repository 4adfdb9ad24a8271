"""Where each point is, by code: for what places records on a map by their point code (the audit export)."""

from sqlalchemy import select

from ..extensions import db
from .models import Point


def point_places() -> dict[str, list[float]]:
    """Every point's [longitude, latitude] (GeoJSON's order), by code."""
    return {code: [lon, lat] for code, lat, lon in db.session.execute(
        select(Point.code, Point.latitude, Point.longitude))}
