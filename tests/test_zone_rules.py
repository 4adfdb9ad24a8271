"""The no-fire zone rules at their boundaries, measured against geographiclib's own geodesics: the firing line
missing a buffer by 1 m and touching it by 1 m, a zone across the sector edge, a sector across north, a line
between two zones, a zone beyond the range, point, line and multi-polygon zones, and bad geometry."""

import pytest
from geographiclib.geodesic import Geodesic
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape

from rules import zones as z

G = Geodesic.WGS84
LAT, LON = 33.58, 114.02  # near Luohe
RANGE_M = 8000.0


def at(azimuth: float, distance: float, lat: float = LAT, lon: float = LON) -> tuple[float, float]:
    """The (lon, lat) at a geodesic distance and azimuth, by geographiclib."""
    d = G.Direct(lat, lon, azimuth, distance)
    return d["lon2"], d["lat2"]


def beside_line(azimuth: float, along: float, aside: float) -> tuple[float, float]:
    """A position `aside` metres to the right (negative: left) of the firing line, `along` metres out, measured
    by geographiclib along the geodesic perpendicular to the line."""
    foot = G.Direct(LAT, LON, azimuth, along)
    d = G.Direct(foot["lat2"], foot["lon2"], foot["azi2"] + (90 if aside > 0 else -90), abs(aside))
    return d["lon2"], d["lat2"]


def zone(geometry, buffer_m: float = 200.0, zone_id: int = 1, kind: str = "school") -> z.Zone:
    return z.Zone(zone_id, f"zone {zone_id}", kind, geometry, buffer_m)


def square(centre: tuple[float, float], half_m: float) -> Polygon:
    lon, lat = centre
    corners = [at(az, half_m * 2 ** 0.5, lat, lon) for az in (45, 135, 225, 315)]
    return Polygon(corners)


@pytest.mark.parametrize("aside, hit", [(201.0, False), (199.0, True), (-201.0, False), (-199.0, True)])
def test_a_buffer_missed_by_1_m_is_clear_and_touched_by_1_m_is_a_hit(aside, hit):
    zp = zone(Point(beside_line(47.0, 5000.0, aside)))
    hits = z.firing_line_hits(LAT, LON, 47.0, RANGE_M, [zp])
    assert bool(hits) is hit
    if hit:
        assert hits[0].distance_m == pytest.approx(abs(aside), abs=0.05)  # geodesic to centimetres


def test_distances_agree_with_geographiclib():
    lon, lat = at(60.0, 3000.0)
    item = z.zones_in_range(LAT, LON, 30, 90, RANGE_M, [zone(Point(lon, lat))])[0]
    assert item["distance_m"] == pytest.approx(G.Inverse(LAT, LON, lat, lon)["s12"], abs=0.05)
    assert item["bearing_deg"] == pytest.approx(60.0, abs=0.05)
    hits = z.firing_line_hits(LAT, LON, 47.0, RANGE_M, [zone(Point(lon, lat), buffer_m=1000)])
    line = G.Line(LAT, LON, 47.0)  # the closest approach, searched along geographiclib's own geodesic
    true = min(G.Inverse(p["lat2"], p["lon2"], lat, lon)["s12"] for p in (line.Position(s) for s in range(0, 8001, 2)))
    assert hits[0].distance_m == pytest.approx(true, abs=0.05)


def test_a_zone_beyond_the_range_is_not_hit_and_one_reaching_its_end_is():
    beyond = zone(Point(at(47.0, RANGE_M + 201)))
    reaching = zone(Point(at(47.0, RANGE_M + 199)), zone_id=2)
    assert z.firing_line_hits(LAT, LON, 47.0, RANGE_M, [beyond]) == []
    assert [h.zone.id for h in z.firing_line_hits(LAT, LON, 47.0, RANGE_M, [beyond, reaching])] == [2]
    assert z.zones_in_range(LAT, LON, 0, 360, RANGE_M, [zone(Point(at(47.0, RANGE_M + 500)))]) == []


def test_a_line_between_two_zones_passes():
    left, right = zone(Point(beside_line(90.0, 4000, -260)), zone_id=1), zone(Point(beside_line(90.0, 4000, 260)), zone_id=2)
    assert z.firing_line_hits(LAT, LON, 90.0, RANGE_M, [left, right]) == []
    assert {h.zone.id for h in z.firing_line_hits(LAT, LON, 88.0, RANGE_M, [left, right])} == {1}


def test_a_zone_across_the_sector_edge_is_in_the_sector_and_a_conflict():
    across = zone(square(at(30.0, 5000.0), 300), zone_id=1)  # the sector starts at 30°
    outside_near = zone(Point(at(28.0, 5000.0)), zone_id=2)  # 174 m outside the edge: its buffer reaches in
    outside_far = zone(Point(at(20.0, 5000.0)), zone_id=3)
    items = {i["zone"].id: i for i in z.zones_in_range(LAT, LON, 30, 90, RANGE_M, [across, outside_near, outside_far])}
    assert items[1]["in_sector"] and items[1]["conflict"]
    assert not items[2]["in_sector"] and items[2]["conflict"]
    assert not items[3]["in_sector"] and not items[3]["conflict"]
    lo, hi = items[3]["blocked"][0]
    assert lo < 20 < hi and hi < 30


def test_a_sector_across_north():
    north = zone(Point(at(10.0, 4000)), zone_id=1)
    south = zone(Point(at(200.0, 4000)), zone_id=2)
    items = {i["zone"].id: i for i in z.zones_in_range(LAT, LON, 300, 40, RANGE_M, [north, south])}
    assert items[1]["conflict"] and items[1]["in_sector"]
    assert not items[2]["conflict"] and not items[2]["in_sector"]
    blocked = items[1]["blocked"][0]
    assert blocked[0] < 10 < blocked[1]
    across = zone(Point(at(0.5, 4000)), zone_id=3)  # its blocked azimuths cross north too
    lo, hi = z.zones_in_range(LAT, LON, 300, 40, RANGE_M, [across])[0]["blocked"][0]
    assert lo > 350 and hi < 10


def test_line_zones_polygon_zones_and_multipolygons():
    highway = zone(LineString([at(0, 6000), at(90, 6000)]), kind="highway")  # crosses the 45° line
    assert z.firing_line_hits(LAT, LON, 45.0, RANGE_M, [highway])[0].distance_m == pytest.approx(0, abs=1e-6)
    assert z.firing_line_hits(LAT, LON, 200.0, RANGE_M, [highway]) == []
    parts = MultiPolygon([square(at(120, 3000), 200), square(at(240, 3000), 200)])
    town = zone(parts, kind="town")
    assert z.firing_line_hits(LAT, LON, 240.0, RANGE_M, [town])[0].distance_m == 0
    assert z.firing_line_hits(LAT, LON, 180.0, RANGE_M, [town]) == []
    assert len(z.zones_in_range(LAT, LON, 0, 360, RANGE_M, [town])[0]["blocked"]) == 2


def test_a_point_inside_a_zone_is_blocked_every_way():
    item = z.zones_in_range(LAT, LON, 30, 90, RANGE_M, [zone(square((LON, LAT), 500), kind="town")])[0]
    assert item["distance_m"] == 0 and item["bearing_deg"] is None and item["blocked"] == [[0.0, 360.0]]


def test_a_zone_around_the_point_blocks_every_way():
    """A ring road round the point, or a town with the point in a hole: every firing line crosses it."""
    ring_road = zone(LineString([at(az, 3000) for az in range(0, 361, 10)]), kind="highway")
    town = zone(Polygon(square((LON, LAT), 2000).exterior.coords, [square((LON, LAT), 300).exterior.coords]),
                kind="town")
    for around in (ring_road, town):
        assert z.zones_in_range(LAT, LON, 30, 90, RANGE_M, [around])[0]["blocked"] == [[0.0, 360.0]]
        assert z.firing_line_hits(LAT, LON, 0.1, RANGE_M, [around])


def test_the_buffer_outline_is_the_buffer():
    lon, lat = at(60, 3000)
    outline = z.buffer_outline(zone(Point(lon, lat), buffer_m=500))
    for lon2, lat2 in list(outline.exterior.coords)[::7]:
        assert G.Inverse(lat, lon, lat2, lon2)["s12"] == pytest.approx(500, abs=1.0)


GOOD = {"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.5], [114.01, 33.51], [114.0, 33.51],
                                            [114.0, 33.5]]]}


@pytest.mark.parametrize("geometry, words", [
    ({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.5], [114.01, 33.51], [114.0, 33.51]]]},
     "not closed"),
    ({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.51], [114.01, 33.5], [114.0, 33.51],
                                          [114.0, 33.5]]]}, "Self-intersection"),
    ({"type": "Point", "coordinates": [214.0, 33.5]}, "outside WGS-84"),
    ({"type": "Point", "coordinates": [114.0, -91]}, "outside WGS-84"),
    ({"type": "Point", "coordinates": ["114", 33.5]}, "in numbers"),
    ({"type": "LineString", "coordinates": [[114.0, 33.5]]}, "at least 2"),
    ({"type": "GeometryCollection", "geometries": []}, "type must be"),
    ({"type": "Polygon", "coordinates": [[[110.0, 30.0], [116.0, 30.0], [116.0, 36.0], [110.0, 30.0]]]}, "at most"),
    ({"type": "MultiPoint", "coordinates": [[114.0, 33.5]] * (z.MAX_POSITIONS + 1)}, "at most"),
    ("POLYGON((0 0, 1 1))", "GeoJSON geometry object"),
])
def test_bad_geometry_is_named(geometry, words):
    problems = z.geometry_problems(geometry)
    assert problems and words in " ".join(problems)


def test_good_geometry_has_no_problems():
    assert z.geometry_problems(GOOD) == []
    assert z.zone_shape(GOOD).equals(shape(GOOD))
