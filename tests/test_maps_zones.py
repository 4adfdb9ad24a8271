"""The no-fire-zone layer (maps/zones.py) on the status, round and replay maps and in the round archive.

Pure builders inspected: the layer holds the zones given (each zone and its buffer outline), in the layer
control, coloured by kind with colours far from each other and from the state colours; a hostile zone name
is never in the page unescaped. In Debian's Chromium: the zones are drawn and a hostile name shows as text.
Through the app: the archive file holds the zones, and the maps' pages draw the zones made through the API.
"""

import html
import itertools
import json
import re
from pathlib import Path

import folium
import shapely
from geographiclib.geodesic import Geodesic
from shapely.geometry import shape

from maps import build_replay_map, build_round_map, build_status_map
from maps.base import ZONES_PANE
from maps.common import COLOUR_HEX, Legend
from maps.labels import labels_for
from maps.safe import EmbeddedGeoJson
from maps.zones import KIND_COLOURS, build_safe_sector_map, kind_colour, sector_shapes, zones_near
from opsserver.web.archive import inline_assets
from rules.zones import KINDS, Zone, buffer_outline

from .helpers import live
from .helpers.pages import sign_in
from .test_maps import EVENTS, group, of_type, round_fixture, status_fixture
from .test_maps_base import _lab

HOSTILE = "<script>alert(1)</script>"
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


def zone_feature(zone_id: int, name: str, kind: str, geometry: dict, buffer_m: float = 200.0,
                 label: str | None = None) -> dict:
    """A feature as opsserver.zones.services.zone_features() answers it (the buffer outline by the rules)."""
    outline = buffer_outline(Zone(zone_id, name, kind, shape(geometry), buffer_m))
    return {"type": "Feature", "id": zone_id, "geometry": geometry,
            "properties": {"id": zone_id, "name": name, "kind": kind, "label": label or kind, "buffer_m": buffer_m,
                           "active": True, "source": None, "buffer": json.loads(shapely.to_geojson(outline))}}


def zones_fixture() -> list[dict]:
    """A school (point), a town (polygon) and a highway (line) near LH01/LH02; a village 100 km away."""
    return [
        zone_feature(1, HOSTILE, "school", {"type": "Point", "coordinates": [114.01, 33.62]}, label="学校"),
        zone_feature(2, "Dongcheng", "town", {"type": "Polygon", "coordinates": [[
            [114.04, 33.56], [114.06, 33.56], [114.06, 33.575], [114.04, 33.575], [114.04, 33.56]]]}, 300),
        zone_feature(3, "G4 Expressway", "highway", {"type": "LineString",
                                                     "coordinates": [[113.9, 33.52], [114.1, 33.53]]}),
        zone_feature(4, "Far Village", "village", {"type": "Point", "coordinates": [115.1, 33.6]}),
    ]


def _maps(zones, lang="en"):
    return {"status": build_status_map(status_fixture(), lang=lang, zones=zones),
            "status-live": build_status_map(status_fixture(), realtime_url="/feed", lang=lang, zones=zones),
            "round": build_round_map(round_fixture(), lang=lang, zones=zones),
            "replay": build_replay_map(round_fixture(), EVENTS, lang=lang, zones=zones)}


def _layer(m) -> EmbeddedGeoJson:
    (layer,) = of_type(group(m, labels_for("en")["zones"]), EmbeddedGeoJson)
    return layer


def _delta(a: str, b: str) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b))) ** 0.5


# --- the layer ---------------------------------------------------------------------------------------

def test_every_map_draws_each_zone_and_its_buffer_in_a_layer_of_its_own():
    zones = zones_fixture()
    for kind, m in _maps(zones).items():
        layer = _layer(m)
        features = {f["id"]: f for f in layer.data["features"]}
        # the status map draws every zone; a round's maps those within reach of its points (not the far village)
        drawn = zones if kind.startswith("status") else zones[:3]
        assert set(features) == {f"zone-{z['id']}{part}" for z in drawn for part in ("", "-buffer")}, kind
        for z in drawn:
            assert features[f"zone-{z['id']}"]["geometry"] == z["geometry"]
            assert features[f"zone-{z['id']}-buffer"]["geometry"] == z["properties"]["buffer"]
        assert layer.options["pane"] == ZONES_PANE
        assert len(of_type(m, folium.LayerControl)) == 1  # the group is an overlay there: it can be hidden
        assert group(m, "No-fire zones").control is True
        panes = {p.name: int(p.z_index) for p in of_type(m, folium.map.CustomPane)}
        assert panes[ZONES_PANE] > 400  # above the sectors' overlay pane: a zone inside a wedge answers a click


def test_no_zones_no_layer_and_no_legend():
    for kind, m in _maps(None).items():
        assert not [c for c in of_type(m, folium.FeatureGroup) if c.layer_name == "No-fire zones"], kind
        assert len(of_type(m, Legend)) == 1, kind


def test_popups_and_tooltips_carry_name_kind_label_and_buffer_in_the_readers_language():
    zones = zones_fixture()
    for lang, kind_word, buffer_word in (("zh", "类型", "缓冲距离"), ("en", "Kind", "Buffer")):
        layer = of_type(build_status_map(status_fixture(), lang=lang, zones=zones), EmbeddedGeoJson)[0]
        features = {f["id"]: f for f in layer.data["features"]}
        school, town = features["zone-1"]["properties"], features["zone-2"]["properties"]
        assert f"{kind_word}: 学校" in school["popup"]  # the label the app gave, in the reader's language
        assert f"{buffer_word}: 300 m" in town["popup"] and "Dongcheng" in town["tooltip"]
        assert features["zone-2-buffer"]["properties"]["tooltip"] == f"Dongcheng · {buffer_word} 300 m"
    # a kind with no label given: the maps' own word for it
    bare = zone_feature(9, "Depot 9", "oil_depot", {"type": "Point", "coordinates": [114.0, 33.6]})
    bare["properties"]["label"] = None
    layer = of_type(build_status_map(status_fixture(), lang="zh", zones=[bare]), EmbeddedGeoJson)[0]
    assert "类型: 油库" in {f["id"]: f for f in layer.data["features"]}["zone-9"]["properties"]["popup"]


def test_kinds_have_distinct_colours_far_from_the_state_colours():
    assert set(KIND_COLOURS) == set(KINDS)
    for (ka, a), (kb, b) in itertools.combinations(KIND_COLOURS.items(), 2):
        assert _delta(a, b) >= 25, (ka, kb, round(_delta(a, b)))
    for kind, colour in KIND_COLOURS.items():
        for state, c in COLOUR_HEX.items():
            assert _delta(colour, c) >= 20, (kind, state, round(_delta(colour, c)))
    assert kind_colour("not-a-kind") == KIND_COLOURS["other"]
    # each feature drawn in its kind's colour, the buffer dashed; the legend lists the kinds on the map
    m = build_status_map(status_fixture(), lang="en", zones=zones_fixture())
    for f in _layer(m).data["features"]:
        assert f["properties"]["style"]["color"] == KIND_COLOURS[f["properties"]["kind"]]
        assert bool(f["properties"]["style"].get("dashArray")) == (f["properties"]["part"] == "buffer")
        # a line zone is drawn as a line: filled, Leaflet would close the highway into a triangle
        assert f["properties"]["style"]["fill"] is (f["geometry"]["type"] != "LineString")
    (legend,) = [g for g in of_type(m, Legend) if g.title.startswith("No-fire zones")]
    assert [c for _, c in legend.entries] == [KIND_COLOURS[k] for k in ("school", "town", "village", "highway")]
    assert ("学校", KIND_COLOURS["school"]) in legend.entries


def test_a_hostile_zone_name_never_reaches_the_page_unescaped():
    for kind, m in _maps(zones_fixture()).items():
        page = m.get_root().render()
        assert HOSTILE not in page and "alert(1)</script>" not in page, kind
        assert "<script>alert" not in page.replace("<script>\n", ""), kind
        data = json.loads(re.search(r'<script type="application/json" id="ops-map-data">(.*?)</script>', page,
                                    re.S).group(1))
        popups = [f["properties"]["popup"] for v in data.values() if isinstance(v, dict)
                  for f in v.get("features", []) if str(f.get("id", "")).startswith("zone-1")]
        assert popups and all(html.escape(HOSTILE) in p for p in popups), kind  # escaped by the builder


def test_zones_near_keeps_those_within_reach_of_a_points_range():
    points = round_fixture()["points"]
    assert [z["id"] for z in zones_near(zones_fixture(), points)] == [1, 2, 3]
    assert zones_near(zones_fixture(), []) == [] and zones_near(None, points) == []


# --- the safe-sector map -----------------------------------------------------------------------------------

POINT = {"code": "LH01", "name": "Yuanhui East", "latitude": 33.60, "longitude": 114.00, "sector_start_deg": 300,
         "sector_end_deg": 40, "max_range_km": 8}


def test_the_safe_sector_wedge_and_ring_are_geodesic():
    wedge, ring = sector_shapes(POINT)
    g = Geodesic.WGS84
    for lat, lon in ring:
        assert abs(g.Inverse(POINT["latitude"], POINT["longitude"], lat, lon)["s12"] - 8000) < 1
    arc = [v for v in wedge if (v[0], v[1]) != (POINT["latitude"], POINT["longitude"])]
    for lat, lon in arc:
        inv = g.Inverse(POINT["latitude"], POINT["longitude"], lat, lon)
        assert abs(inv["s12"] - 8000) < 1
        azimuth = inv["azi1"] % 360
        assert azimuth >= 300 - 1e-6 or azimuth <= 40 + 1e-6  # across north, never the other way round


def test_the_safe_sector_map_shows_the_point_its_sector_and_the_zones_with_bearing_lines():
    zones = zones_fixture()[:2]
    items = [{"zone_id": 1, "name": HOSTILE, "kind": "school", "bearing_deg": 21.5, "distance_m": 2300.0,
              "conflict": True}, {"zone_id": 2, "name": "Dongcheng", "kind": "town", "bearing_deg": None,
                                  "distance_m": 0.0, "conflict": True}]
    m = build_safe_sector_map(POINT, zones, items, lang="zh")
    assert {f["id"] for f in of_type(m, EmbeddedGeoJson)[0].data["features"]} == {
        "zone-1", "zone-1-buffer", "zone-2", "zone-2-buffer"}
    assert len(of_type(group(m, "安全射界"), folium.Polygon)) == 1
    (line,) = of_type(group(m, "禁射区方位"), folium.PolyLine)  # none for the zone the point is inside
    end = line.locations[-1]
    inv = Geodesic.WGS84.Inverse(POINT["latitude"], POINT["longitude"], *end)
    assert abs(inv["s12"] - 2300) < 1 and abs(inv["azi1"] % 360 - 21.5) < 1e-6
    page = m.get_root().render()
    assert HOSTILE not in page and "<title>安全射界图 · LH01 Yuanhui East</title>" in page


@live.needs_chromium
def test_in_the_browser_the_zones_are_drawn_and_a_hostile_name_is_text(tmp_path):
    m = build_status_map(status_fixture(), lang="en", zones=zones_fixture())
    path = tmp_path / "status.html"
    path.write_text(inline_assets(m.get_root().render(), NODE_MODULES), encoding="utf-8")
    with live.chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = live.script_errors(page)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri(), wait_until="load")
        pane = page.locator(f".leaflet-{ZONES_PANE}-pane")
        pane.locator("path").first.wait_for(state="attached")
        assert pane.locator("path").count() == 8  # four zones, four buffers
        # the school (a point zone) opens its popup: the name as it was typed, shown as text
        page.evaluate("""() => { const m = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])[0];
            m.eachLayer(l => { if (l.feature && l.feature.id === 'zone-1') { l.openPopup(); } }); }""")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert HOSTILE in popup.inner_text() and "Buffer: 200 m" in popup.inner_text()
        assert popup.locator("script").count() == 0
        assert dialogs == [] and errors == []
        page.close()


# --- through the app -------------------------------------------------------------------------------------

def _post_zone(w, name: str, kind: str, geometry: dict, buffer_m: float = 200.0) -> dict:
    resp = w.client.post("/api/v1/zones", json={"name": name, "kind": kind, "geometry": geometry,
                                                "buffer_m": buffer_m}, headers=w.headers("admin"))
    assert resp.status_code == 201, resp.json
    return resp.json


def test_the_archive_file_holds_the_zones_near_the_rounds_points(ops_world, runner, tmp_path):
    w = ops_world
    _post_zone(w, "Xiaoli Primary School", "school", {"type": "Point", "coordinates": [114.03, 33.59]})
    _post_zone(w, HOSTILE, "town", {"type": "Polygon", "coordinates": [[
        [114.08, 33.69], [114.09, 33.69], [114.09, 33.70], [114.08, 33.70], [114.08, 33.69]]]}, 300)
    _post_zone(w, "Faraway Depot", "oil_depot", {"type": "Point", "coordinates": [115.5, 34.5]})
    w.activate()
    files = {}
    for lang in ("zh", "en"):
        files[lang] = tmp_path / f"round-{lang}.html"
        args = ["ops", "archive-round", str(w.round_id), "--out", str(files[lang]), "--lang", lang]
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    for lang, label in (("zh", "学校"), ("en", "school")):
        text = files[lang].read_text(encoding="utf-8")
        assert HOSTILE not in text and "Faraway Depot" not in text
        table = re.search(r'<table id="archive-zones">(.*?)</table>', text, re.S).group(1)
        assert "Xiaoli Primary School" in table and html.escape(HOSTILE) in table and f"<td>{label}</td>" in table
        assert "300 m" in table
        # both maps in the file draw them (in their srcdoc frames)
        frames = [html.unescape(f) for f in re.findall(r'srcdoc="([^"]*)"', text)]
        assert len(frames) == 2
        for frame in frames:
            assert "Xiaoli Primary School" in frame and ZONES_PANE in frame and HOSTILE not in frame


def test_the_maps_pages_draw_the_zones_made_through_the_api(world, client):
    _post_zone(world, "Xiaoli Primary School", "school", {"type": "Point", "coordinates": [114.03, 33.59]})
    assert sign_in(client).status_code == 302
    page = client.get("/maps/status").get_data(as_text=True)
    assert "Xiaoli Primary School" in page and ZONES_PANE in page
    # a deactivated zone leaves the map at once
    zone_id = client.get("/api/v1/zones", headers=world.headers("admin")).json["items"][0]["id"]
    resp = client.patch(f"/api/v1/zones/{zone_id}", json={"active": False}, headers=world.headers("admin"))
    assert resp.status_code == 200, resp.json
    assert "Xiaoli Primary School" not in client.get("/maps/status").get_data(as_text=True)


def test_a_rounds_maps_draw_the_zones_near_its_points(ops_world, client):
    w = ops_world
    _post_zone(w, "Xiaoli Primary School", "school", {"type": "Point", "coordinates": [114.03, 33.59]})
    assert sign_in(client).status_code == 302
    for url in (f"/maps/rounds/{w.round_id}", f"/maps/rounds/{w.round_id}/replay"):
        page = client.get(url).get_data(as_text=True)
        assert "Xiaoli Primary School" in page, url


@live.needs_chromium
def test_a_map_fitted_in_a_frame_with_no_size_yet_is_fitted_again_once_it_has_one(tmp_path):
    """An archive's srcdoc frame could run its map before the page was laid out: fitted at no size, the map
    stayed at its maximum zoom (a street, not the round). OpsBase.keepFit fits it again when it gets a size."""
    page_html = inline_assets(build_round_map(round_fixture(), lang="en", zones=zones_fixture()).get_root().render(),
                              NODE_MODULES)
    (tmp_path / "direct.html").write_text(page_html, encoding="utf-8")
    (tmp_path / "framed.html").write_text(
        f'<!doctype html><body style="margin:0"><iframe id="f" style="border:0;width:0;height:0" '
        f'srcdoc="{html.escape(page_html)}"></iframe></body>', encoding="utf-8")
    zoom = "() => Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k].getZoom())[0]"
    with live.chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.goto((tmp_path / "direct.html").as_uri(), wait_until="load")
        expected = page.evaluate(zoom)
        assert 8 <= expected <= 13
        page.goto((tmp_path / "framed.html").as_uri(), wait_until="load")
        frame = page.frames[1]
        assert frame.evaluate(zoom) == 18  # fitted at no size: the maximum zoom
        page.evaluate("() => { const f = document.getElementById('f'); f.style.width = '800px';"
                      " f.style.height = '600px'; }")
        frame.wait_for_function(f"() => ({zoom})() === {expected}")
        page.close()
