"""Geodesic shapes for the maps: a point's safe firing sector as a wedge and its maximum-range ring.

Vertices come from geopy's ``geodesic(...).destination`` on the WGS-84 ellipsoid, so a wedge drawn on
the map has its arc exactly ``radius_km`` from the point at every bearing. Results are cached: points
are standing data and every page load asks for the same shapes again.
"""

from __future__ import annotations

import math
from functools import lru_cache

from geopy.distance import geodesic

from rules import sector_width  # clockwise; 300 → 40 crosses north, 0 → 360 is the full circle

LatLon = tuple[float, float]


def arc_bearings(start_deg: float, end_deg: float, step_deg: float = 5) -> list[float]:
    """Bearings from start to end clockwise, evenly spaced at most ``step_deg`` apart, both ends included."""
    if step_deg <= 0:
        raise ValueError("step_deg must be positive")
    width = sector_width(start_deg, end_deg)
    n = max(1, math.ceil(width / step_deg))
    # Even spacing (rather than start + k*step) lands the last vertex exactly on end_deg.
    return [(start_deg + width * i / n) % 360.0 for i in range(n + 1)]


def destination(lat: float, lon: float, bearing_deg: float, distance_km: float) -> LatLon:
    """The point ``distance_km`` from (lat, lon) along the geodesic leaving at ``bearing_deg``."""
    p = geodesic(kilometers=distance_km).destination((lat, lon), bearing_deg)
    return (p.latitude, p.longitude)


@lru_cache(maxsize=20_000)
def _sector(lat: float, lon: float, start_deg: float, end_deg: float, radius_km: float,
            step_deg: float) -> tuple[LatLon, ...]:
    dist = geodesic(kilometers=radius_km)
    arc = []
    for b in arc_bearings(start_deg, end_deg, step_deg):
        p = dist.destination((lat, lon), b)
        arc.append((p.latitude, p.longitude))
    return ((lat, lon), *arc, (lat, lon))


def sector_polygon(lat: float, lon: float, start_deg: float, end_deg: float, radius_km: float,
                   step_deg: float = 5) -> list[LatLon]:
    """The safe firing sector as a closed wedge of (lat, lon) vertices.

    The point itself, then the arc from ``start_deg`` clockwise to ``end_deg`` at ``radius_km``
    (vertices at most ``step_deg`` apart; a sector across north such as 300 → 40 passes through 0),
    then the point again to close the ring.
    """
    return list(_sector(float(lat), float(lon), float(start_deg), float(end_deg), float(radius_km),
                        float(step_deg)))


@lru_cache(maxsize=20_000)
def _ring(lat: float, lon: float, radius_km: float, n: int) -> tuple[LatLon, ...]:
    dist = geodesic(kilometers=radius_km)
    pts = []
    for i in range(n):
        p = dist.destination((lat, lon), 360.0 * i / n)
        pts.append((p.latitude, p.longitude))
    return (*pts, pts[0])


def range_ring(lat: float, lon: float, radius_km: float, n: int = 72) -> list[LatLon]:
    """A closed ring of ``n`` vertices (plus the first repeated) at ``radius_km`` around the point."""
    if n < 3:
        raise ValueError("a ring needs at least 3 vertices")
    return list(_ring(float(lat), float(lon), float(radius_km), int(n)))
