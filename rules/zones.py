"""No-fire zones: a zone's geometry checked, and the firing line and the safe sector against each zone's buffer.

Distances are geodesic: each check works in a local azimuthal equidistant projection centred on the point
(pyproj, on the WGS-84 ellipsoid), where a geodesic from the point is a straight ray of its true length and
azimuth, and at these ranges (tens of kilometres) any other distance is off by well under a centimetre per
kilometre. A zone's edges are straight in longitude and latitude (GeoJSON, RFC 7946): they are densified
before projection so that they keep their shape. Geometry by shapely; plain values in, plain values out.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from .flags import Flag
from .sector import FULL_CIRCLE_DEG, sector_width

KINDS = ("school", "town", "village", "hospital", "airport", "oil_depot", "power_facility", "highway",
         "railway", "heritage_site", "other")
DEFAULT_BUFFER_M = 200.0  # GB/T 39782-2021: a sector boundary stays more than 200 m from such places
MAX_BUFFER_M = 20_000.0
MAX_POSITIONS = 20_000  # positions in one zone's geometry (a size limit: one zone is not a country)
MAX_EXTENT_DEG = 3.0  # a zone spans at most this much longitude or latitude (about 300 km)
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_DENSIFY_DEG = 0.0005  # about 50 m: a straight edge in degrees bends by millimetres between these vertices
_ARC_STEP_DEG = 0.25  # a sector's arc as chords: 2.4 cm inside the true arc at 10 km
_BUFFER_QUAD_SEGS = 32  # a drawn or swept buffer's quarter circle in 32 chords (0.1 % inside its radius)
_METRES_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator), so bounds err outwards


@dataclass(frozen=True)
class Zone:
    """A no-fire zone as the rules see it: its geometry in WGS-84 longitude/latitude and its buffer."""

    id: int
    name: str
    kind: str
    geometry: BaseGeometry
    buffer_m: float


@dataclass(frozen=True)
class ZoneHit:
    """A zone a firing line or sector comes within the buffer of, and how close it comes."""

    zone: Zone
    distance_m: float


# -- geometry as people send it -------------------------------------------------------------------------------

def _positions(kind: str, coords, depth: int):
    """Every position of a GeoJSON coordinates array of the given nesting depth, or a problem."""
    if depth == 0:
        if not isinstance(coords, (list, tuple)) or len(coords) not in (2, 3) or not all(
                isinstance(c, (int, float)) and not isinstance(c, bool) and abs(c) < 1e9 and math.isfinite(c)
                for c in coords):  # abs first: isfinite overflows on a huge integer
            raise ValueError(f"{kind}: a position is [longitude, latitude] in numbers")
        yield coords
        return
    if not isinstance(coords, (list, tuple)) or not coords:
        raise ValueError(f"{kind}: coordinates must be a non-empty array")
    for item in coords:
        yield from _positions(kind, item, depth - 1)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _ring_problems(rings) -> list[str]:
    problems = []
    for n, ring in enumerate(rings):
        if len(ring) < 4:
            problems.append(f"ring {n} has {len(ring)} positions; a ring needs at least 4")
        elif list(ring[0][:2]) != list(ring[-1][:2]):
            problems.append(f"ring {n} is not closed: its last position must repeat its first")
    return problems


def geometry_problems(geometry) -> list[str]:
    """What is wrong with a GeoJSON geometry for a no-fire zone (empty when nothing is): its type, positions
    in WGS-84 ranges, closed rings, no self-intersection, and the size limits."""
    if not isinstance(geometry, dict):
        return ["geometry must be a GeoJSON geometry object"]
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        return [f"geometry type must be one of {', '.join(GEOMETRY_TYPES)}"]
    try:
        positions = list(_positions(kind, geometry.get("coordinates"), _DEPTH[kind]))
    except ValueError as exc:
        return [str(exc)]
    except RecursionError:
        return [f"{kind}: coordinates are nested too deeply"]
    if len(positions) > MAX_POSITIONS:
        return [f"{len(positions)} positions; a zone has at most {MAX_POSITIONS}"]
    problems = [f"position {lon}, {lat} is outside WGS-84 (longitude −180…180, latitude −90…90)"
                for lon, lat, *_ in positions if not (-180 <= lon <= 180 and -90 <= lat <= 90)][:3]
    coords = geometry["coordinates"]
    if kind in ("LineString", "MultiLineString"):
        for line in ([coords] if kind == "LineString" else coords):
            if len(line) < 2:
                problems.append("a line needs at least 2 positions")
    if kind in ("Polygon", "MultiPolygon"):
        for polygon in ([coords] if kind == "Polygon" else coords):
            problems += _ring_problems(polygon)
    if problems:
        return problems
    geom = shape(geometry)
    if not geom.is_valid:
        return [f"the geometry is not valid: {shapely.is_valid_reason(geom)} (a ring may not cross itself)"]
    west, south, east, north = geom.bounds
    if east - west > MAX_EXTENT_DEG or north - south > MAX_EXTENT_DEG:
        return [f"the zone spans {east - west:.2f}° × {north - south:.2f}°; at most {MAX_EXTENT_DEG:g}° each way"]
    return []


def zone_shape(geometry: dict) -> BaseGeometry:
    """A checked GeoJSON geometry as a shapely geometry (call geometry_problems first)."""
    return shape(geometry)


def reach_bounds(geometry: BaseGeometry, buffer_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of everything within `buffer_m` of the zone, erring outwards:
    what a query compares with a search box to find the zones worth measuring."""
    west, south, east, north = geometry.bounds
    dlat = buffer_m / _METRES_PER_DEG_LAT * 1.01
    far_lat = min(max(abs(south), abs(north)) + dlat, 89.9)
    dlon = buffer_m / (_METRES_PER_DEG_LAT * math.cos(math.radians(far_lat))) * 1.01
    return west - dlon, south - dlat, east + dlon, north + dlat


def search_bounds(lat: float, lon: float, range_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the circle of `range_m` around a point, erring outwards."""
    return reach_bounds(Point(lon, lat), range_m)


def firing_line_bounds(lat: float, lon: float, azimuth_deg: float, range_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the firing line (the geodesic, traced every 1 % of its length)
    with a margin of 1 % of the range: the zones whose reach meets it are the only ones it can come near."""
    around = Around(lat, lon)
    traced = around.to_wgs84(shapely.segmentize(Around.ray(azimuth_deg, range_m), range_m / 100 or 1.0))
    west, south, east, north = reach_bounds(traced, range_m / 100)
    return west, south, east, north


# -- the local projection ---------------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _transformer(lat: float, lon: float) -> Transformer:
    return Transformer.from_pipeline(
        f"+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84")


class Around:
    """The plane around one point: metres east and north of it, true distance and azimuth from it."""

    def __init__(self, lat: float, lon: float):
        self.lat, self.lon = lat, lon
        self._tr = _transformer(lat, lon)

    def to_plane(self, geometry: BaseGeometry, clip: tuple | None = None) -> BaseGeometry:
        """A WGS-84 geometry in this plane (`clip`: only its part within these degree bounds, for speed)."""
        if clip is not None and not geometry.geom_type.endswith("Point"):
            geometry = shapely.clip_by_rect(geometry, *clip)
        dense = shapely.segmentize(geometry, _DENSIFY_DEG) if not geometry.geom_type.endswith("Point") else geometry
        return shapely.transform(dense, lambda xy: _stack(self._tr.transform(xy[:, 0], xy[:, 1])))

    def to_wgs84(self, geometry: BaseGeometry) -> BaseGeometry:
        """A geometry of this plane back in WGS-84 longitude/latitude."""
        return shapely.transform(geometry, lambda xy: _stack(self._tr.transform(
            xy[:, 0], xy[:, 1], direction="INVERSE")))

    @staticmethod
    def ray(azimuth_deg: float, range_m: float) -> LineString:
        """The firing line: from the point along the azimuth out to the range."""
        a = math.radians(azimuth_deg)
        return LineString([(0.0, 0.0), (range_m * math.sin(a), range_m * math.cos(a))])

    @staticmethod
    def sector(start_deg: float, end_deg: float, range_m: float) -> Polygon:
        """The safe sector out to the range: a wedge clockwise from start to end (a disc for the full circle)."""
        width = sector_width(start_deg, end_deg)
        steps = max(2, math.ceil(width / _ARC_STEP_DEG))
        arc = [(range_m * math.sin(math.radians(start_deg + width * i / steps)),
                range_m * math.cos(math.radians(start_deg + width * i / steps))) for i in range(steps + 1)]
        return Polygon(arc if width >= FULL_CIRCLE_DEG else [(0.0, 0.0), *arc])


def _stack(xy):
    return np.column_stack(xy)


def bearing_deg(x: float, y: float) -> float:
    """The azimuth (clockwise from north, 0…360) of a plane position seen from the centre."""
    return math.degrees(math.atan2(x, y)) % FULL_CIRCLE_DEG


# -- the rules ----------------------------------------------------------------------------------------------------

def firing_line_hits(lat: float, lon: float, azimuth_deg: float, range_m: float, zones: list[Zone]) -> list[ZoneHit]:
    """The active zones whose buffer the firing line from (lat, lon) along the azimuth out to the range comes
    within, closest first (`zones`: the candidates; far ones cost only their bounds test)."""
    around, line = Around(lat, lon), Around.ray(azimuth_deg, range_m)
    box = firing_line_bounds(lat, lon, azimuth_deg, range_m)
    hits = []
    for zone in zones:
        if not bounds_meet(reach_bounds(zone.geometry, zone.buffer_m), box):
            continue
        distance = line.distance(around.to_plane(zone.geometry, _grow(box, zone.buffer_m, lat)))
        if distance <= zone.buffer_m:
            hits.append(ZoneHit(zone, distance))
    return sorted(hits, key=lambda h: h.distance_m)


def no_fire_zone_flag(azimuth_deg: float, hits: list[ZoneHit]) -> Flag | None:
    """`no_fire_zone` naming each zone the firing line comes within the buffer of, its kind and how close the
    line passes, else None."""
    if not hits:
        return None
    parts = [{"text": "no_fire_zone", "azimuth": azimuth_deg, "zone": h.zone.name, "zone_id": h.zone.id,
              "kind": h.zone.kind, "distance": round(h.distance_m, 1), "buffer": h.zone.buffer_m} for h in hits]
    reason = "; ".join(f"the firing line at {azimuth_deg:g}° passes {h.distance_m:.0f} m from {h.zone.kind} "
                       f"“{h.zone.name}”, within its {h.zone.buffer_m:g} m buffer" for h in hits)
    return Flag("no_fire_zone", reason, {"parts": parts})


def zones_in_range(lat: float, lon: float, sector_start_deg: float, sector_end_deg: float, range_m: float,
                   zones: list[Zone]) -> list[dict]:
    """The zones whose buffer reaches within the point's range, nearest first: `distance_m` and `bearing_deg`
    to the zone's nearest part (bearing None when the point is inside it), `in_sector` (the zone itself
    overlaps the safe sector), `conflict` (the sector comes within the zone's buffer) and `blocked`, the
    azimuth intervals `[from, to]` (clockwise) whose firing line would come within the buffer."""
    around = Around(lat, lon)
    box = search_bounds(lat, lon, range_m)
    sector = Around.sector(sector_start_deg, sector_end_deg, range_m)
    disc = Point(0.0, 0.0).buffer(range_m, quad_segs=360)
    items = []
    for zone in zones:
        if not bounds_meet(reach_bounds(zone.geometry, zone.buffer_m), box):
            continue
        plane = around.to_plane(zone.geometry, _grow(box, zone.buffer_m, lat))
        if plane.is_empty or (distance := plane.distance(Point(0.0, 0.0))) > range_m + zone.buffer_m:
            continue
        near = nearest_points(Point(0.0, 0.0), plane)[1]
        items.append({
            "zone": zone, "distance_m": round(distance, 1),
            "bearing_deg": None if distance == 0 else round(bearing_deg(near.x, near.y), 1),
            "in_sector": bool(plane.intersects(sector)),
            "conflict": bool(sector.distance(plane) <= zone.buffer_m),
            "blocked": blocked_azimuths(plane, zone.buffer_m, disc),
        })
    return sorted(items, key=lambda i: i["distance_m"])


def blocked_azimuths(plane: BaseGeometry, buffer_m: float, disc: Polygon) -> list[list[float]]:
    """The azimuths (clockwise intervals `[from, to]`) whose ray within the disc meets the geometry's buffer."""
    swept = plane.buffer(buffer_m, quad_segs=_BUFFER_QUAD_SEGS).intersection(disc)
    if swept.is_empty:
        return []
    if swept.covers(Point(0.0, 0.0)):
        return [[0.0, FULL_CIRCLE_DEG]]
    out = []
    for part in getattr(swept, "geoms", [swept]):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        if Polygon(part.exterior).covers(Point(0.0, 0.0)):  # around the point (it sits in a hole): every way
            return [[0.0, FULL_CIRCLE_DEG]]
        angles = sorted({round(bearing_deg(x, y), 3) for x, y in part.exterior.coords})
        # a part not holding the centre is seen under less than a half turn... or more: its span is the circle
        # less the widest gap between the directions of its vertices
        gaps = [(angles[(i + 1) % len(angles)] - a) % FULL_CIRCLE_DEG for i, a in enumerate(angles)]
        widest = max(range(len(gaps)), key=gaps.__getitem__)
        out.append([angles[(widest + 1) % len(angles)], angles[widest]])
    return out


def buffer_outline(zone: Zone) -> BaseGeometry:
    """The zone's buffer as a WGS-84 polygon (for maps), built in the plane around the zone's centre."""
    centre = zone.geometry.centroid
    around = Around(centre.y, centre.x)
    return around.to_wgs84(around.to_plane(zone.geometry).buffer(zone.buffer_m, quad_segs=_BUFFER_QUAD_SEGS))


def bounds_meet(a, b) -> bool:
    """Whether two (west, south, east, north) boxes share any point (edges included)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def bounds_meet_sql(west, south, east, north, box):
    """`bounds_meet` as an SQL condition: the box held in these four columns meets `box`."""
    return (south <= box[3]) & (north >= box[1]) & (west <= box[2]) & (east >= box[0])


def _grow(box, metres: float, lat: float):
    """A search box grown by a zone's buffer, so the clipped zone keeps every part its buffer could reach from."""
    return reach_bounds(shapely.box(*box), metres) if metres else box
