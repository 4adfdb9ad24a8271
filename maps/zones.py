"""No-fire zones on the maps: each zone and its buffer outline, coloured by kind, and the safe-sector map.

Input is ``opsserver.zones.services.zone_features()``: GeoJSON Features whose ``properties`` hold ``id,
name, kind, label`` (the kind in the reader's language), ``buffer_m, active, source`` and ``buffer`` (the
buffer outline, a GeoJSON geometry). Every zone becomes two features of ONE GeoJSON layer (listed in the
layer control, so it can be hidden): its buffer, dashed and faint, under the zone itself. The layer sits
in its own pane above the safe sectors, so a zone inside a wedge still answers a click. Names reach the
page only in the page's data element, as text the builder escaped (``maps.safe``).

The kinds' colours stand apart from each other and from every SPEC state colour (CIE76 ΔE ≥ 25, measured
in tests/test_maps_zones.py): a school must never read as a point's "firing" red or "cleared" green.

``build_safe_sector_map``: the printable safe-sector map (安全射界图) of one point: its wedge and range ring
drawn in the point's own azimuthal equidistant plane (``rules.zones.Around``, the plane the rules measure
in), the zones in range with their buffers, and a line to each zone's nearest part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import folium
from folium.utilities import JsCode
from shapely.geometry import Point as PlanePoint

from rules.zones import Around, bounds_meet, search_bounds

from .assets import VENDOR_URL
from .base import POINTS_PANE, ZONES_PANE
from .common import DEFAULT_TZ, Legend, base_map, bounds_of, esc
from .geometry import destination
from .labels import labels_for
from .safe import EmbeddedGeoJson, Tooltip, to_json

#: A colour per kind (rules.zones.KINDS), far from each other and from the state colours (see the module).
KIND_COLOURS: dict[str, str] = {
    "school": "#e0007f", "hospital": "#e3a1e3", "town": "#e06000", "village": "#c2c200", "airport": "#0000e0",
    "oil_depot": "#804040", "power_facility": "#00e000", "highway": "#003f7f", "railway": "#005f00",
    "heritage_site": "#00e0a0", "other": "#c2c2a0",
}
SECTOR_COLOUR = "#3b6ea5"  # the live status map's neutral wedge colour
ZONE_POINT_RADIUS = 6

# A zone drawn as a point gets a small circle; its buffer (a polygon) is styled like any other.
_POINT_TO_LAYER = JsCode(
    f"function (f, ll) {{ return L.circleMarker(ll, Object.assign({{radius: {ZONE_POINT_RADIUS},"
    f" pane: {to_json(ZONES_PANE)}}}, f.properties.style)); }}")
_STYLE = JsCode("function (f) { return f.properties.style; }")
_BIND = JsCode("function (f, l) { l.bindPopup(f.properties.popup, {maxWidth: 300});"
               " l.bindTooltip(f.properties.tooltip, {sticky: true}); }")


def kind_colour(kind: str | None) -> str:
    """The colour a zone of this kind is drawn in (an unknown kind: the colour of ``other``)."""
    return KIND_COLOURS.get(str(kind or ""), KIND_COLOURS["other"])


def kind_label(props: Mapping, words: Mapping[str, str]) -> str:
    """The zone's kind in words: the label it came with (the app's, in the reader's language), else the maps'."""
    kind = str(props.get("kind") or "other")
    return str(props.get("label") or words.get(f"zone_kind_{kind}", kind))


def _buffer_text(props: Mapping) -> str:
    buffer = props.get("buffer_m")
    return f"{float(buffer):g} m" if buffer is not None else ""


def zone_popup_html(props: Mapping, words: Mapping[str, str]) -> str:
    """A zone's popup: its name, its kind and its buffer (every value escaped)."""
    inactive = f" <i>({esc(words['zone_inactive'])})</i>" if props.get("active") is False else ""
    return (f"<b>{esc(props.get('name'))}</b>{inactive}<br>"
            f"{esc(words['zone_kind'])}: {esc(kind_label(props, words))}<br>"
            f"{esc(words['zone_buffer'])}: {esc(_buffer_text(props))}")


def _style(colour: str, buffer: bool, active: bool, geometry_type: str = "Polygon") -> dict:
    if buffer:
        return {"color": colour, "weight": 1.5, "opacity": 0.9, "dashArray": "5 5", "fill": True,
                "fillColor": colour, "fillOpacity": 0.06 if active else 0.02}
    # A line zone (a highway, a railway) is no area: filled, Leaflet would close it into a triangle.
    line = geometry_type in ("LineString", "MultiLineString")
    return {"color": colour, "weight": 4 if line else 3, "opacity": 1 if active else 0.5, "fill": not line,
            "fillColor": colour, "fillOpacity": 0.35 if active else 0.1, "dashArray": None if active else "2 4"}


def zone_map_features(zones: Iterable[Mapping], words: Mapping[str, str]) -> list[dict]:
    """The layer's features: for each zone its buffer outline, then the zone, with style, popup and tooltip."""
    out = []
    for z in zones:
        props = z.get("properties") or {}
        geometry = z.get("geometry")
        if not geometry:
            continue
        zone_id = props.get("id", z.get("id"))
        colour, active = kind_colour(props.get("kind")), props.get("active") is not False
        name, label = esc(props.get("name")), esc(kind_label(props, words))
        popup = zone_popup_html(props, words)
        common = {"zone_id": zone_id, "kind": props.get("kind"), "popup": popup}
        if props.get("buffer"):
            out.append({"type": "Feature", "id": f"zone-{zone_id}-buffer", "geometry": props["buffer"],
                        "properties": {**common, "part": "buffer", "style": _style(colour, True, active),
                                       "tooltip": f"{name} · {esc(words['zone_buffer'])} {esc(_buffer_text(props))}"}})
        out.append({"type": "Feature", "id": f"zone-{zone_id}", "geometry": geometry,
                    "properties": {**common, "part": "zone",
                                   "style": _style(colour, False, active, str(geometry.get("type"))),
                                   "tooltip": f"{name} · {label}"}})
    return out


def zone_legend(zones: Sequence[Mapping], words: Mapping[str, str]) -> Legend | None:
    """The kinds on the map and their colours (a legend of its own: the state legend keeps its colours)."""
    seen: dict[str, str] = {}
    for z in zones:
        props = z.get("properties") or {}
        kind = str(props.get("kind") or "other")
        seen.setdefault(kind if kind in KIND_COLOURS else "other", kind_label(props, words))
    if not seen:
        return None
    order = list(KIND_COLOURS)
    return Legend(words["zones_legend"], [(seen[k], KIND_COLOURS[k]) for k in sorted(seen, key=order.index)])


def add_zones(m: folium.Map, zones: Sequence[Mapping] | None, words: Mapping[str, str]) -> folium.FeatureGroup | None:
    """The no-fire-zone layer (in the layer control) and its legend on ``m``; nothing when there are no zones."""
    zones = [z for z in zones or [] if z.get("geometry")]
    if not zones:
        return None
    group = folium.FeatureGroup(name=words["zones"], overlay=True).add_to(m)
    data = {"type": "FeatureCollection", "features": zone_map_features(zones, words)}
    EmbeddedGeoJson(data, control=False, pane=ZONES_PANE, style=_STYLE, point_to_layer=_POINT_TO_LAYER,
                    on_each_feature=_BIND).add_to(group)
    legend = zone_legend(zones, words)
    if legend is not None:
        legend.add_to(m)
    return group


def _positions(coords) -> Iterable[tuple[float, float]]:
    if coords and isinstance(coords[0], (int, float)):
        yield float(coords[0]), float(coords[1])
        return
    for c in coords or []:
        yield from _positions(c)


def zone_bounds(zone: Mapping) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a zone with its buffer (the outline when it has one)."""
    props = zone.get("properties") or {}
    geometry = props.get("buffer") or zone.get("geometry") or {}
    xs, ys = [], []
    for x, y in _positions(geometry.get("coordinates")):
        xs.append(x)
        ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def zones_near(zones: Sequence[Mapping] | None, points: Iterable[Mapping]) -> list[dict]:
    """The zones whose buffer may reach within a point's maximum range (bounding boxes: what a round's maps
    draw, not every zone of the province)."""
    boxes = [search_bounds(p["latitude"], p["longitude"], float(p["max_range_km"]) * 1000.0) for p in points
             if p.get("latitude") is not None and p.get("longitude") is not None and p.get("max_range_km")]
    out = []
    for z in zones or []:
        b = zone_bounds(z)
        if b and any(bounds_meet(b, box) for box in boxes):
            out.append(z)
    return out


def _latlons(geometry) -> list[tuple[float, float]]:
    return [(y, x) for x, y in geometry.exterior.coords] if geometry.geom_type == "Polygon" else \
        [(y, x) for x, y in geometry.coords]


def sector_shapes(point: Mapping) -> tuple[list[tuple[float, float]] | None, list[tuple[float, float]]]:
    """The point's safe sector wedge (None without a sector) and its range ring, as (lat, lon) vertices, made in
    the point's azimuthal equidistant plane as the rules measure them."""
    lat, lon = float(point["latitude"]), float(point["longitude"])
    around, range_m = Around(lat, lon), float(point["max_range_km"]) * 1000.0
    start, end = point.get("sector_start_deg"), point.get("sector_end_deg")
    wedge = None
    if start is not None and end is not None:
        wedge = _latlons(around.to_wgs84(Around.sector(float(start), float(end), range_m)))
    ring = _latlons(around.to_wgs84(PlanePoint(0.0, 0.0).buffer(range_m, quad_segs=90).exterior))
    return wedge, ring


def _title(words: Mapping[str, str], point: Mapping) -> str:
    return f"{words['title_safe_sector']} · {point.get('code') or ''} {point.get('name') or ''}".strip()


def build_safe_sector_map(point: Mapping, zones: Sequence[Mapping] | None = None,
                          items: Sequence[Mapping] | None = None, tiles="none", *, lang: str = "zh",
                          labels: Mapping[str, str] | None = None, tz: str = DEFAULT_TZ,
                          tiles_key: str | None = None, tiles_attr: str | None = None, vendor_url: str = VENDOR_URL,
                          base_layer: Mapping | None = None) -> folium.Map:
    """One point's safe-sector map (安全射界图): the point labelled with its code, its safe sector wedge and
    maximum-range ring, the no-fire zones given (``zone_features()``, the ones in range) with their buffers,
    and for each of ``items`` (``point_zones(point)``: ``zone_id, bearing_deg, distance_m, conflict``) a line
    from the point to the zone's nearest part, labelled with bearing and distance.

    ``point``: ``{code, name, latitude, longitude, sector_start_deg, sector_end_deg, max_range_km}``.
    ``base_layer``, ``tiles``, ``lang``, ``labels``: as ``build_status_map``. Fitted to the ring and the zones.
    """
    words = labels_for(lang, labels)
    zones = [z for z in zones or [] if z.get("geometry")]
    lat, lon = float(point["latitude"]), float(point["longitude"])
    wedge, ring = sector_shapes(point)
    extent = list(ring)
    for z in zones:
        b = zone_bounds(z)
        if b:
            extent += [(b[1], b[0]), (b[3], b[2])]
    m = base_map(bounds_of(extent), tiles, words=words, lang=lang, title=_title(words, point), base_layer=base_layer,
                 tiles_key=tiles_key, tiles_attr=tiles_attr, vendor_url=vendor_url)
    m.options["zoomSnap"] = 0.25  # a printed page: the ring fills the frame, not the next whole zoom level

    sector = folium.FeatureGroup(name=words["safe_sector"], overlay=True).add_to(m)
    code = esc(point.get("code"))
    if wedge:
        folium.Polygon(wedge, color=SECTOR_COLOUR, weight=2, fill=True, fill_color=SECTOR_COLOUR, fill_opacity=0.12,
                       tooltip=Tooltip(f"{code} {esc(words['sector'])} {float(point['sector_start_deg']):g}° → "
                                       f"{float(point['sector_end_deg']):g}°")).add_to(sector)
    folium.PolyLine(ring, color="#555", weight=1.5, opacity=0.8, dash_array="4 6",
                    tooltip=Tooltip(f"{code} {esc(words['max_range'])} {float(point['max_range_km']):g} km")
                    ).add_to(sector)
    add_zones(m, zones, words)

    kinds = {(z.get("properties") or {}).get("id", z.get("id")): (z.get("properties") or {}).get("kind")
             for z in zones}
    lines = folium.FeatureGroup(name=words["zone_bearings"], overlay=True).add_to(m)
    for item in items or []:
        bearing, distance = item.get("bearing_deg"), item.get("distance_m")
        if bearing is None or not distance:
            continue  # the point is inside the zone: no direction to draw
        tip = destination(lat, lon, float(bearing), float(distance) / 1000.0)
        folium.PolyLine([(lat, lon), tip], color=kind_colour(kinds.get(item.get("zone_id"), item.get("kind"))),
                        weight=3 if item.get("conflict") else 1.5, opacity=0.9, dash_array="2 5",
                        tooltip=Tooltip(f"{esc(item.get('name'))} {float(bearing):g}° {float(distance):,.0f} m")
                        ).add_to(lines)

    dot = folium.CircleMarker([lat, lon], radius=7, color="#111", weight=2, fill=True, fill_color="#fff",
                              fill_opacity=1,
                              tooltip=Tooltip(code, permanent=True, sticky=False, direction="right", offset=[8, 0],
                                              class_name="ops-code"))
    dot.options["pane"] = POINTS_PANE
    dot.add_to(m)
    Legend(words["point"], [(words["safe_sector"], SECTOR_COLOUR)]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
