"""The maps package: built maps' state (layers, features, colours, popups), geometry, scale, offline assets.

Pure: plain dicts in, folium objects inspected; no Flask app or database.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import folium
import pytest
from folium.plugins import MarkerCluster, Realtime, TimestampedGeoJson
from geographiclib.geodesic import Geodesic

from maps import (OfflineMap, UnlocalizedAssetError, build_replay_map, build_round_map, build_status_map, localize,
                  range_ring, sector_polygon)
from maps.assets import NODE_MODULES, missing_vendor_files, npm_packages
from maps.base import BASE_JS, CREWS_PANE, POINTS_PANE, DeferredTiles
from maps.common import COLOUR_HEX, OSM_TILES, Legend, tile_layers
from maps.rounds import FIRING_COLOUR, FLAGGED_COLOUR
from maps.status import CREW_COLOUR, CREW_OUTSIDE_COLOUR, POINT_RADIUS, StatusScript

WGS84 = Geodesic.WGS84
CENTRE = (33.58, 114.02)


# --- helpers ---------------------------------------------------------------------------------------

def walk(element):
    for child in element._children.values():
        yield child
        yield from walk(child)


def of_type(element, cls, exact=False):
    return [c for c in walk(element) if (type(c) is cls if exact else isinstance(c, cls))]


def group(m, name):
    groups = [c for c in walk(m) if isinstance(c, folium.map.Layer) and getattr(c, "layer_name", None) == name]
    assert len(groups) == 1, f"expected one layer named {name!r}, found {len(groups)}"
    return groups[0]


def popup_html(marker):
    popups = of_type(marker, folium.Popup)
    assert len(popups) == 1
    return popups[0].html.render()


def bearing_and_distance(lat1, lon1, lat2, lon2):
    g = WGS84.Inverse(lat1, lon1, lat2, lon2)
    return g["azi1"] % 360.0, g["s12"]


def feature(code, name, lat, lon, state, colour, **props):
    p = {
        "code": code, "name": name, "county": "Yancheng", "equipment": "rocket", "launchers": 2,
        "sector_start_deg": 30, "sector_end_deg": 120, "max_range_km": 8, "max_height_m": 6000, "geofence_m": 500,
        "state": state, "colour": colour, "crew_on_site": 3, "min_crew": 3, "below_min_crew": False,
        "crew": [{"crew_id": 1, "name": "王伟"}], "stock": {"RKT-AGI": 20}, "round": None, "open_window": None,
        "last_checkin": None, "flags": [], "alerts": [],
    }
    p.update(props)
    return {"type": "Feature", "id": code, "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": p}


def status_fixture():
    window = {"request_id": 7, "start": "2025-07-01T12:00:00+00:00", "end": "2025-07-01T13:40:00+00:00",
              "reference": "ATC-0042", "ends_in_s": 720}
    features = [
        feature("LH01", "Yuanhui East", 33.60, 114.00, "idle", "grey"),
        feature("LH02", "Yancheng Hill", 33.55, 114.05, "manned", "blue", sector_start_deg=300, sector_end_deg=40),
        feature("LH03", "Shaoling Farm", 33.50, 113.95, "requested", "amber"),
        feature("LH04", "Wuyang Ridge", 33.45, 113.90, "cleared", "green", open_window=window,
                round={"id": 3, "name": "Night round 3"}, equipment="gun", min_crew=4, crew_on_site=2,
                below_min_crew=True, stock={"RKT-AGI": 12, "SHL-37": 140}),
        feature("LH05", "Linying South", 33.80, 113.85, "firing", "red"),
        feature("LH06", "Linying North", 33.85, 113.88, "done", "black"),
        feature("LH07", "Yuanhui West", 33.62, 113.97, "cleared", "purple",
                flags=[{"code": "understaffed", "reason": "2 of minimum 3 certified crew on site"}],
                alerts=[{"type": "understaffed", "severity": "critical"}],
                last_checkin={"crew_id": 1, "kind": "arrive", "recorded_at": "2025-07-01T11:02:00+00:00",
                              "received_at": "2025-07-01T11:02:04+00:00", "within_geofence": False}),
    ]
    return {"type": "FeatureCollection", "generated_at": "2025-07-01T13:28:00+00:00", "features": features}


CREWS = [
    {"crew_id": 1, "name": "王伟", "point_code": "LH07", "latitude": 33.63, "longitude": 113.96,
     "recorded_at": "2025-07-01T11:02:00+00:00", "within_geofence": False},
    {"crew_id": 2, "name": "Li Na", "point_code": "LH04", "latitude": 33.4501, "longitude": 113.9001,
     "recorded_at": "2025-07-01T11:05:00+00:00", "within_geofence": True},
]


def round_fixture():
    points = [
        {"code": "LH01", "name": "Yuanhui East", "latitude": 33.60, "longitude": 114.00, "sector_start_deg": 300,
         "sector_end_deg": 40, "max_range_km": 8, "state": "done", "colour": "black"},
        {"code": "LH02", "name": "Yancheng Hill", "latitude": 33.55, "longitude": 114.05, "sector_start_deg": 90,
         "sector_end_deg": 180, "max_range_km": 3, "state": "done", "colour": "purple"},
        {"code": "LH03", "name": "Shaoling Farm", "latitude": 33.50, "longitude": 113.95, "sector_start_deg": 0,
         "sector_end_deg": 90, "max_range_km": 6, "state": "rejected", "colour": "grey"},
    ]
    reports = [
        {"id": "r-1", "point_code": "LH01", "started_at": "2025-07-01T12:10:00+00:00",
         "ended_at": "2025-07-01T12:14:00+00:00", "azimuth_deg": 350,
         "ammo": [{"type": "RKT-AGI", "fired": 4, "duds": 0}], "flags": []},
        {"id": "r-2", "point_code": "LH01", "started_at": "2025-07-01T12:30:00+00:00",
         "ended_at": "2025-07-01T12:33:00+00:00", "azimuth_deg": 10,
         "ammo": [{"type": "RKT-AGI", "fired": 5, "duds": 1}], "flags": []},
        {"id": "r-3", "point_code": "LH02", "started_at": "2025-07-01T12:20:00+00:00",
         "ended_at": "2025-07-01T12:25:00+00:00", "azimuth_deg": 200,
         "ammo": [{"type": "SHL-37", "fired": 30, "duds": 2}],
         "flags": [{"code": "outside_sector", "reason": "azimuth 200° is outside the safe sector 90° → 180°"},
                   {"code": "no_airspace", "reason": "no approved window covers the firing"}]},
    ]
    airspace = [
        {"id": 11, "point_code": "LH01", "status": "approved", "window_start": "2025-07-01T12:00:00+00:00",
         "window_end": "2025-07-01T13:00:00+00:00", "approved_start": "2025-07-01T12:05:00+00:00",
         "approved_end": "2025-07-01T12:50:00+00:00", "effective_end": "2025-07-01T12:40:00+00:00",
         "reference": "ATC-7781", "reason": None},
        {"id": 12, "point_code": "LH03", "status": "rejected", "window_start": "2025-07-01T12:00:00+00:00",
         "window_end": "2025-07-01T12:30:00+00:00", "approved_start": None, "approved_end": None,
         "effective_end": None, "reference": None, "reason": "civil_flight"},
    ]
    return {"round": {"id": 3, "name": "Night round 3"}, "points": points, "reports": reports, "airspace": airspace}


EVENTS = [
    {"at": "2025-07-01T11:02:00+00:00", "type": "checkin", "point_code": "LH01", "latitude": 33.601,
     "longitude": 114.001, "label": "王伟 arrived"},
    {"at": "2025-07-01T11:50:00+00:00", "type": "airspace", "point_code": "LH01", "latitude": None,
     "longitude": None, "label": "window 12:00–13:00 requested"},
    {"at": "2025-07-01T11:58:00+00:00", "type": "decision", "point_code": "LH01", "label": "approved ATC-7781"},
    {"at": "2025-07-01T12:10:00+00:00", "type": "report", "point_code": "LH01", "label": "4 × RKT-AGI at 350°"},
    {"at": "2025-07-01T12:20:00+00:00", "type": "report", "point_code": "LH02", "label": "30 × SHL-37 at 200°",
     "flagged": True},
]


# --- geometry --------------------------------------------------------------------------------------

def test_sector_polygon_vertices_at_the_right_bearings_and_distance():
    lat, lon = CENTRE
    poly = sector_polygon(lat, lon, 30, 120, 8)
    assert poly[0] == pytest.approx((lat, lon)) and poly[-1] == pytest.approx((lat, lon))
    arc = poly[1:-1]
    bearings = []
    for v in arc:
        b, d = bearing_and_distance(lat, lon, *v)
        assert d == pytest.approx(8000, abs=1.0)
        bearings.append(b)
    assert bearings[0] == pytest.approx(30, abs=1e-6)
    assert bearings[-1] == pytest.approx(120, abs=1e-6)
    steps = [b2 - b1 for b1, b2 in zip(bearings, bearings[1:])]
    assert all(0 < s <= 5 + 1e-6 for s in steps)  # clockwise, at most step_deg apart
    assert len(arc) == 19  # 90° in 5° steps, both ends


def test_sector_across_north_passes_bearing_zero():
    lat, lon = CENTRE
    arc = sector_polygon(lat, lon, 300, 40, 6)[1:-1]
    bearings = [bearing_and_distance(lat, lon, *v)[0] for v in arc]
    distances = [bearing_and_distance(lat, lon, *v)[1] for v in arc]
    assert all(d == pytest.approx(6000, abs=1.0) for d in distances)
    assert bearings[0] == pytest.approx(300, abs=1e-6)
    assert bearings[-1] == pytest.approx(40, abs=1e-6)
    # every vertex inside 300 → 360 → 40, one of them due north, turning 100° clockwise in all
    assert all(b >= 300 - 1e-6 or b <= 40 + 1e-6 for b in bearings)
    assert any(min(b, 360 - b) < 1e-6 for b in bearings)
    turned = sum((b2 - b1) % 360 for b1, b2 in zip(bearings, bearings[1:]))
    assert turned == pytest.approx(100, abs=1e-6)


def test_full_circle_sector_and_range_ring():
    lat, lon = CENTRE
    arc = sector_polygon(lat, lon, 0, 360, 5, step_deg=10)[1:-1]
    assert len(arc) == 37
    assert (arc[-1][0], arc[-1][1]) == pytest.approx(arc[0], abs=1e-9)
    ring = range_ring(lat, lon, 8, n=72)
    assert len(ring) == 73 and ring[0] == ring[-1]
    for i, v in enumerate(ring[:-1]):
        b, d = bearing_and_distance(lat, lon, *v)
        assert d == pytest.approx(8000, abs=1.0)
        assert min(abs(b - 5 * i), 360 - abs(b - 5 * i)) < 1e-6


# --- status map ------------------------------------------------------------------------------------

def test_status_map_layers_one_marker_per_point_coloured_by_state():
    fc = status_fixture()
    m = build_status_map(fc, crew_positions=CREWS, tiles=None, lang="en")
    assert isinstance(m, folium.Map)
    assert len(of_type(m, folium.LayerControl)) == 1
    (layer,) = of_type(group(m, "Operating points"), folium.GeoJson)  # drawn by the page's helpers
    assert layer.options["point_to_layer"].js_code.endswith(".pointToLayer")
    markers = layer.data["features"]
    assert [f["id"] for f in markers] == [f["id"] for f in fc["features"]]
    for marker, f in zip(markers, fc["features"]):
        assert marker["geometry"]["coordinates"] == f["geometry"]["coordinates"]
        assert marker["properties"]["colour"] == f["properties"]["colour"]
    assert of_type(m, StatusScript)[0].settings["colours"] == COLOUR_HEX  # colour name → fill
    # a wedge and a ring per point, crews in their own layer
    assert len(of_type(group(m, "Safe firing sectors"), folium.Polygon)) == len(fc["features"])
    assert len(of_type(group(m, "Maximum range"), folium.PolyLine, exact=True)) == len(fc["features"])
    # crews: small dots in a pane under the state dots' pane (a pin used to cover the point it stood at)
    crews = of_type(group(m, "Crews (last check-in)"), folium.CircleMarker, exact=True)
    assert [c.location for c in crews] == [[c["latitude"], c["longitude"]] for c in CREWS]
    assert not of_type(m, folium.Marker, exact=True)
    panes = {p.name: int(p.z_index) for p in of_type(m, folium.map.CustomPane)}
    for c in crews:
        assert c.options["radius"] < POINT_RADIUS and c.options["pane"] == CREWS_PANE
    assert of_type(m, StatusScript)[0].settings["pane"] == POINTS_PANE
    assert panes[CREWS_PANE] < panes[POINTS_PANE]
    # the legend lists state → colour, and the crews' dots
    legend = of_type(m, Legend)
    assert len(legend) == 1
    assert dict((c, label) for label, c in legend[0].entries) == {
        COLOUR_HEX["grey"]: "idle", COLOUR_HEX["blue"]: "manned", COLOUR_HEX["amber"]: "airspace requested",
        COLOUR_HEX["green"]: "cleared", COLOUR_HEX["red"]: "firing", COLOUR_HEX["black"]: "done",
        COLOUR_HEX["purple"]: "flag or alert", CREW_COLOUR: "crew (last check-in)",
        CREW_OUTSIDE_COLOUR: "crew outside geofence"}
    # fitted to the points, their range rings and the crews (tests/test_maps_base.py checks the rings)
    fit = of_type(m, folium.FitBounds)
    assert len(fit) == 1
    (south, west), (north, east) = fit[0].bounds
    for lat, lon in [(c["latitude"], c["longitude"]) for c in CREWS] + [
            (f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]) for f in fc["features"]]:
        assert south <= lat <= north and west <= lon <= east


def test_status_map_sector_wedge_matches_the_point():
    fc = status_fixture()
    m = build_status_map(fc, tiles=None, lang="en")
    wedge = of_type(group(m, "Safe firing sectors"), folium.Polygon)[1]  # LH02: 300 → 40
    lat, lon = 33.55, 114.05
    arc = wedge.locations[1:-1]
    bearings = [bearing_and_distance(lat, lon, *v)[0] for v in arc]
    assert bearings[0] == pytest.approx(300, abs=1e-6) and bearings[-1] == pytest.approx(40, abs=1e-6)
    assert any(min(b, 360 - b) < 1e-6 for b in bearings)
    assert wedge.options["color"] == COLOUR_HEX["blue"]


# The fixture's clock: LH04's window ends 12 minutes later.
FIXTURE_NOW_MS = 1751376480000  # 2025-07-01T13:28:00Z


def browser_popups(m, features) -> list[str]:
    """The popups the page's one builder (js/status.js) makes for ``features``, run in node at the fixture's time."""
    html = m.get_root().render()
    helpers = of_type(m, StatusScript)[0].get_name()
    script = re.search(r"<script>\s*(var " + helpers + r" = .*?)</script>", html, re.S).group(1)
    assert BASE_JS in html  # the page's OpsBase, whose time format the popups use
    code = (f"Date.now = () => {FIXTURE_NOW_MS};\n{BASE_JS}\n{script}\n"
            f"console.log(JSON.stringify({json.dumps(features)}.map({helpers}.popup)));")
    out = subprocess.run(["node", "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_status_popups_carry_the_fields():
    fc = status_fixture()
    m = build_status_map(fc, tiles=None, lang="en")
    idle, cleared, flagged = browser_popups(m, [fc["features"][i] for i in (0, 3, 6)])
    # LH04: gun, 2 of 4 on site (the feed says below minimum), an open window
    assert "LH04" in cleared and "Wuyang Ridge" in cleared and "<small>Yancheng</small>" in cleared
    assert "gun" in cleared and "2</b> / 4" in cleared and "below minimum" in cleared and "王伟" in cleared
    assert "RKT-AGI: <b>12</b>" in cleared and "SHL-37: <b>140</b>" in cleared
    assert "2025-07-01 21:40 +08:00" in cleared  # the window's end in the configured zone
    assert "<b>12 min</b> left" in cleared and "ATC-0042" in cleared
    assert "Night round 3" in cleared
    assert "understaffed" in flagged and "2 of minimum 3 certified crew on site" in flagged
    assert "王伟 arrived 2025-07-01 19:02 +08:00" in flagged and "OUTSIDE geofence" in flagged
    assert "no open window" in idle and "3</b> / 3" in idle and "below minimum" not in idle


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_status_map_is_chinese_by_default_and_escapes_names():
    fc = status_fixture()
    fc["features"][0]["properties"]["name"] = "<script>alert(1)</script>"
    m = build_status_map(fc, tiles=None)
    group(m, "作业点")
    (text,) = browser_popups(m, fc["features"][:1])
    assert "<script>alert" not in text and "&lt;script&gt;" in text
    assert "在岗人数" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_window_ended_and_hours_left():
    fc = status_fixture()
    m = build_status_map(fc, tiles=None, lang="en", tz="UTC")
    lh04 = fc["features"][3]
    later = dict(lh04, properties=dict(lh04["properties"], open_window=dict(
        lh04["properties"]["open_window"], end="2025-07-01T15:33:00+00:00")))
    ended = dict(lh04, properties=dict(lh04["properties"], open_window=dict(
        lh04["properties"]["open_window"], end="2025-07-01T13:00:00+00:00")))
    texts = browser_popups(m, [later, ended])
    assert "ends 15:33 +00:00, <b>2 h 05 min</b> left" in texts[0]
    assert "ends 13:00 +00:00, <b>ended</b>" in texts[1] and "left" not in texts[1]


def test_status_map_at_scale_is_one_geojson_layer():
    n = 10_000
    features = [feature(f"P{i:05d}", f"Point {i}", 20 + (i % 100) * 0.2, 100 + (i // 100) * 0.2, "idle", "grey")
                for i in range(n)]
    features[17]["properties"].update(state="firing", colour="red")
    fc = {"type": "FeatureCollection", "features": features}
    m = build_status_map(fc, tiles=None)
    html = m.get_root().render()
    layers = of_type(m, folium.GeoJson)
    assert len(layers) == 1
    data = layers[0].data["features"]
    assert len(data) == n
    assert data[17]["id"] == "P00017" and data[17]["properties"]["colour"] == "red"
    assert len(of_type(m, folium.Marker)) + len(of_type(m, folium.CircleMarker)) < 100
    assert not of_type(m, folium.Polygon)  # no per-point wedges at this scale
    assert len(of_type(m, MarkerCluster)) == 1
    # 2.9 MB (each point's popup properties, a crew name each); bench/status_bench.py times the build
    assert len(html.encode()) < 3_000_000
    # what grows with the points is their data, not the map's elements (a speed-free stand-in for a timing)
    fewer = build_status_map({"type": "FeatureCollection", "features": features[:1000]}, tiles=None)
    fewer.get_root().render()  # rendering adds its scripts to the tree, as it did to m's
    assert len(list(walk(m))) == len(list(walk(fewer)))


def test_status_map_realtime_polls_and_updates_in_place():
    fc = status_fixture()
    m = build_status_map(fc, tiles=None, realtime_url="/api/v1/status.geojson", lang="en")
    live = of_type(m, Realtime)
    assert len(live) == 1
    opts = live[0].options
    assert 2000 <= opts["interval"] <= 10000
    # A delta names only what changed: the source takes removed points off the layer, not Realtime.
    assert opts["remove_missing"] is False
    assert "attach" in m.get_root().render()
    assert "featureId" in opts["get_feature_id"].js_code and "update" in opts["update_feature"].js_code
    assert "/api/v1/status.geojson" in live[0].src.js_code
    assert opts["container"] is group(m, "Operating points")  # markers live in the listed layer
    assert not of_type(m, folium.CircleMarker)  # the live layer draws the points
    html = m.get_root().render()
    # the page starts from the data it was built from (in its data element): one feature per point, with its colour
    (helpers,) = of_type(m, StatusScript)
    entries = json.loads(re.search(r'<script type="application/json" id="ops-map-data">(.*?)</script>', html).group(1))
    data = entries[helpers.initial_key]
    assert helpers.initial_key in live[0].src.js_code
    assert [f["id"] for f in data["features"]] == [f["id"] for f in fc["features"]]
    assert [f["properties"]["colour"] for f in data["features"]] == [f["properties"]["colour"]
                                                                      for f in fc["features"]]


def test_status_map_at_scale_live_feeds_one_cluster():
    features = [feature(f"P{i:04d}", f"Point {i}", 30 + i * 0.001, 110, "idle", "grey") for i in range(800)]
    m = build_status_map({"type": "FeatureCollection", "features": features}, tiles=None, realtime_url="/feed")
    (live,) = of_type(m, Realtime)
    (cluster,) = of_type(m, MarkerCluster)
    # the live layer hands its markers to the cluster in one batch
    assert live.options["container"].js_code.endswith(f".batched({cluster.get_name()})")
    assert not of_type(m, folium.CircleMarker) and not of_type(m, folium.Polygon)


def test_maps_import_neither_flask_nor_the_database():
    code = ("import sys, maps; bad = sorted(n for n in sys.modules if n.split('.')[0] in "
            "('flask', 'sqlalchemy', 'flask_sqlalchemy', 'opsserver')); print(bad); sys.exit(1 if bad else 0)")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


# --- round and replay maps -------------------------------------------------------------------------

def test_a_firings_flags_are_named_by_their_label_not_their_code():
    """The server gives each flag its code's short name in the reader's language (`label`): the popup shows it."""
    data = round_fixture()
    data["reports"][2]["flags"] = [{"code": "outside_sector", "label": "超出安全射界", "reason": "方位角 200°…"}]
    m = build_round_map(data, tiles=None, lang="en")  # the layers' names in English, the texts as served
    arrow = of_type(group(m, "Firings"), folium.PolyLine, exact=True)[2]
    text = popup_html(arrow)
    assert "<b>超出安全射界</b>" in text and "outside_sector" not in text


def test_round_map_one_arrow_per_report_flagged_ones_marked():
    data = round_fixture()
    m = build_round_map(data, tiles=None, lang="en")
    arrows = of_type(group(m, "Firings"), folium.PolyLine, exact=True)
    assert len(arrows) == len(data["reports"])
    points = {p["code"]: p for p in data["points"]}
    for arrow, report in zip(arrows, data["reports"]):
        p = points[report["point_code"]]
        shaft, head = arrow.locations
        assert shaft[0] == pytest.approx([p["latitude"], p["longitude"]])
        b, d = bearing_and_distance(p["latitude"], p["longitude"], *shaft[1])
        assert min(abs(b - report["azimuth_deg"]), 360 - abs(b - report["azimuth_deg"])) < 1e-6
        assert d == pytest.approx(min(p["max_range_km"], 5) * 1000, abs=1.0)
        assert head[1] == shaft[1]  # the head's barbs meet at the tip
        text = popup_html(arrow)
        if report["flags"]:
            assert arrow.options["color"] == FLAGGED_COLOUR and arrow.options["dashArray"]
            assert all(f["reason"] in text.replace("&gt;", ">") for f in report["flags"])
        else:
            assert arrow.options["color"] == FIRING_COLOUR
            assert "Flags" not in text


def test_round_map_ammunition_sized_and_airspace_in_popups():
    data = round_fixture()
    m = build_round_map(data, tiles=None, lang="en")
    ammo = of_type(group(m, "Ammunition fired"), folium.CircleMarker)
    assert [a.location for a in ammo] == [[33.60, 114.00], [33.55, 114.05]]  # LH03 fired nothing
    assert ammo[1].options["radius"] > ammo[0].options["radius"]  # 30 fired > 9 fired
    assert "9" in popup_html(ammo[0]) and "30" in popup_html(ammo[1])
    points = of_type(group(m, "Operating points"), folium.CircleMarker)
    assert len(points) == 3
    assert [p.options["fillColor"] for p in points] == [COLOUR_HEX["black"], COLOUR_HEX["purple"], COLOUR_HEX["grey"]]
    lh01, lh03 = popup_html(points[0]), popup_html(points[2])
    assert "ATC-7781" in lh01 and "approved" in lh01 and "20:40 +08:00" in lh01  # terminated early
    assert "rejected" in lh03 and "civil flight" in lh03 and "civil_flight" not in lh03
    assert "RKT-AGI: 9" in lh01
    assert len(of_type(group(m, "Safe firing sectors"), folium.Polygon)) == 3
    # In Chinese the request's status and the rejection's reason are words too, not the API's codes.
    zh = build_round_map(data, tiles=None, lang="zh")
    zh_lh03 = popup_html(of_type(group(zh, "作业点"), folium.CircleMarker)[2])
    assert "已拒绝" in zh_lh03 and "民航飞行" in zh_lh03
    assert "rejected" not in zh_lh03 and "civil_flight" not in zh_lh03, zh_lh03


def test_replay_map_one_timed_feature_per_event():
    data = round_fixture()
    m = build_replay_map(data, EVENTS, tiles=None, lang="en")
    sliders = of_type(m, TimestampedGeoJson)
    assert len(sliders) == 1
    features = json.loads(sliders[0].data)["features"]
    assert len(features) == len(EVENTS)
    assert [f["properties"]["time"] for f in features] == [e["at"] for e in EVENTS]
    # an event without its own position is drawn at its point
    assert features[1]["geometry"]["coordinates"] == [114.00, 33.60]
    assert features[0]["geometry"]["coordinates"] == [114.001, 33.601]
    assert features[4]["properties"]["iconstyle"]["fillColor"] == FLAGGED_COLOUR
    assert "30 × SHL-37" in features[4]["properties"]["popup"]


# --- tiles and offline assets ----------------------------------------------------------------------

def test_tile_settings():
    assert tile_layers(None) == [] and tile_layers("none") == []
    (osm,) = tile_layers("osm")
    assert "tile.openstreetmap.org/{z}/{x}/{y}" in osm.tiles
    (local,) = tile_layers("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png")
    assert local.tiles == "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"
    vec, labels = tile_layers("tianditu:abc123")
    assert "tk=abc123" in vec.tiles and "vec_w" in vec.tiles and "cva_w" in labels.tiles
    with pytest.raises(ValueError):
        tile_layers("tianditu")
    # no tiles by default (the offline base layer); configured tiles wait for the page (maps.base)
    for m in (build_status_map(status_fixture(), tiles=None), build_status_map(status_fixture())):
        assert not of_type(m, folium.TileLayer) and not of_type(m, DeferredTiles)
    m = build_status_map(status_fixture(), tiles="osm")
    assert not of_type(m, folium.TileLayer)
    (deferred,) = of_type(m, DeferredTiles)
    assert [t["url"] for t in deferred.layers] == [OSM_TILES]


def _all_maps():
    big = {"type": "FeatureCollection", "features": [
        feature(f"P{i:04d}", f"Point {i}", 30 + i * 0.01, 110 + i * 0.01, "idle", "grey") for i in range(600)]}
    return {
        "status": build_status_map(status_fixture(), crew_positions=CREWS),
        "status-live": build_status_map(status_fixture(), realtime_url="/api/v1/status.geojson"),
        "status-large": build_status_map(big, realtime_url="/api/v1/status.geojson"),
        "status-large-static": build_status_map(big, tiles=None),
        "round": build_round_map(round_fixture()),
        "replay": build_replay_map(round_fixture(), EVENTS),
    }


def _css_urls(css_text):
    return [u.strip("'\" ") for u in re.findall(r"url\(([^)]*)\)", css_text)]


def test_no_cdn_and_every_vendor_file_exists():
    from opsserver.web.routes import VENDOR_PACKAGES

    assert missing_vendor_files() == [], "run npm ci"
    # a scoped package (@fortawesome/fontawesome-free) is served through its scope's folder
    assert {p.split("/")[0] for p in npm_packages()} <= VENDOR_PACKAGES
    for name, m in _all_maps().items():
        html = m.get_root().render()
        refs = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html) + re.findall(r"<link[^>]*\shref=\"([^\"]+)\"", html)
        assert refs, name
        for ref in refs:
            assert not re.match(r"(https?:)?//", ref), f"{name}: {ref} is fetched from the network"
            assert ref.startswith("/vendor/"), ref
            rel = ref[len("/vendor/"):]
            assert (NODE_MODULES / rel).is_file(), f"{name}: {ref} is not installed"
            assert rel.split("/")[0] in VENDOR_PACKAGES, f"{name}: the /vendor route does not serve {ref}"
            if ref.endswith(".css"):
                # what a stylesheet loads (images, fonts) is local too, or overridden in the page
                css = NODE_MODULES / rel
                for url in _css_urls(css.read_text(encoding="utf-8", errors="replace")):
                    if url.startswith(("data:", "#")):  # inline data; IE's behavior(#default#VML)
                        continue
                    if re.match(r"(https?:)?//", url):
                        assert "glyphicons" in url and "font-family: 'Glyphicons Halflings'" in html, (ref, url)
                        continue
                    target = (css.parent / url.split("?")[0].split("#")[0]).resolve()
                    assert target.is_file(), f"{ref} needs {url}"
        # the glyphicons override itself points at installed fonts
        for font in re.findall(r"url\('(/vendor/[^']+)'\)", html):
            assert (NODE_MODULES / font[len("/vendor/"):]).is_file(), font
        # without tiles nothing else in the page names a remote host (tile templates are a setting)
        if "TileLayer" not in html and "tile_layer" not in html:
            assert not re.search(r"https?://", html), name


def test_no_remote_url_anywhere_without_tiles():
    for m in (build_status_map(status_fixture(), crew_positions=CREWS, tiles=None),
              build_round_map(round_fixture(), tiles=None), build_replay_map(round_fixture(), EVENTS, tiles=None)):
        html = m.get_root().render()
        assert not re.findall(r"https?://[^\s\"')]+", html)


def test_localize_plain_map_and_base_url():
    m = folium.Map(tiles=None)
    localize(m, "/static/npm")
    html = m.get_root().render()
    assert '<script src="/static/npm/leaflet/dist/leaflet.js"></script>' in html
    assert "cdn" not in html.lower()
    m = OfflineMap(tiles=None, vendor_url="https://ops.example/vendor")
    assert 'href="https://ops.example/vendor/leaflet/dist/leaflet.css"' in m.get_root().render()


def test_unknown_plugin_asset_is_an_error_not_a_cdn_fetch():
    from folium.plugins import MiniMap

    m = OfflineMap(tiles=None)
    MiniMap().add_to(m)
    with pytest.raises(UnlocalizedAssetError):
        m.get_root().render()


def test_jquery_loaded_once_on_the_replay_map():
    html = build_replay_map(round_fixture(), EVENTS, tiles=None).get_root().render()
    assert html.count("jquery.min.js") == 1
    assert html.count("leaflet.timedimension.min.js") == 1


def test_npm_packages_are_pinned():
    pkg = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())
    deps = pkg["dependencies"]
    for name in npm_packages():
        assert re.fullmatch(r"\d+\.\d+\.\d+", deps[name]), f"{name} must be pinned to an exact version"
