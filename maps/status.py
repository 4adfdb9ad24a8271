"""The status map: every operating point in its state colour, sectors, ranges and crews.

Input is the status feed (``GET /api/v1/status.geojson``) as a dict. The points are ONE GeoJSON layer
(clustered above ``scale_threshold`` points, a province or the country, where sectors and rings are
left out: 10,000 wedges would be megabytes no one can read at that zoom). With ``realtime_url`` that
layer polls the feed and updates each marker in place.

A point's popup is built in ONE place, the page's JavaScript (``js/status.js``), from the feature's
properties, for the static map, the live map and the large ones alike; Python builds none. Chosen
over sending each point's built popup in the feed because:

- safety is the same either way: text reaches the page only inside ``maps.safe``'s JSON data (the
  page's data element and the initial data, escaped for a script), the builder escapes every value,
  and ``OpsMap.html`` parses the result inertly and rebuilds it from its allow-list;
- the feed stays data: an API for wall screens, the dashboard and other clients, not HTML in one
  language and one time zone; the map's words (``maps.labels``, zh/en) and zone travel once per page
  in the helpers' settings;
- the payload is the smallest: a poll carries the properties it carries anyway, not a second copy
  of them as HTML (the built popup is about 1 KB a point, twice its properties: 10 MB more a poll at
  10,000 points, and one feed per language and zone), and the page holds only the properties the
  popup reads (``POPUP_KEYS``);
- the time left of a window is counted when the popup opens, not when the page was built.

Rules are not decided here nor in the browser: "below minimum" is the feed's ``below_min_crew``,
computed by the ``rules`` package on the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
from branca.element import Element, MacroElement
from folium.plugins import MarkerCluster, Realtime
from folium.utilities import JsCode
from jinja2 import Template

from .assets import VENDOR_URL
from .base import CREWS_PANE, POINTS_PANE
from .common import (COLOUR_HEX, COLOUR_URGENCY, DEFAULT_TZ, Legend, base_map, bounds_of, colour_hex, esc,
                     format_time, state_legend)
from .geometry import range_ring, sector_polygon
from .labels import labels_for
from .safe import EmbeddedGeoJson, Popup, Raw, Tooltip, page_data, script_element, to_json
from .zones import add_zones

STATUS_JS = (Path(__file__).resolve().parent / "js" / "status.js").read_text(encoding="utf-8")
_CLUSTER_STYLE = "<style>.ops-cluster div { color: #fff; font-weight: bold; text-shadow: 0 0 3px #000; }</style>"

SCALE_THRESHOLD = 500
POLL_INTERVAL_MS = 5000
POINT_RADIUS = 8

#: The feed's properties that a marker and its popup (``js/status.js``) read, and of the nested ones
#: the keys read; the rest of the feed stays on the server.
POPUP_KEYS = ("code", "name", "county", "equipment", "launchers", "state", "colour", "crew_on_site", "min_crew",
              "below_min_crew", "crew", "stock", "round", "open_window", "last_checkin", "flags", "alerts")
_NESTED_KEYS = {"open_window": ("start", "end", "reference"), "round": ("id", "name"),
                "last_checkin": ("crew_id", "kind", "recorded_at", "within_geofence")}


def _point_features(status_geojson: Mapping) -> list[dict]:
    out = []
    for f in status_geojson.get("features") or []:
        geom = f.get("geometry") or {}
        coords = geom.get("coordinates")
        if geom.get("type") == "Point" and coords and len(coords) >= 2 and None not in coords[:2]:
            out.append(f)
    return out


def _code(feature: Mapping) -> str:
    props = feature.get("properties") or {}
    return str(props.get("code") or feature.get("id") or "")


def _empty(value) -> bool:
    # What the popup shows as absent: dropping it saves bytes and reads the same.
    return value is None or value is False or value == "" or (not value and isinstance(value, (list, dict)))


def slim_feature(feature: Mapping) -> dict:
    """The feature with only what a marker and its popup read (``POPUP_KEYS``; empty values dropped, 6 decimals)."""
    props = feature.get("properties") or {}
    lon, lat = feature["geometry"]["coordinates"][:2]
    slim = {}
    for k in POPUP_KEYS[1:]:  # the feature id carries the code
        v = props.get(k)
        if _empty(v):
            continue
        if k in _NESTED_KEYS:
            v = {n: v[n] for n in _NESTED_KEYS[k] if n in v and not (_empty(v[n]) and n != "within_geofence")}
        elif k == "crew":
            # A crew member's id only where it names the last check-in's crew: 12 bytes a point saved.
            last = (props.get("last_checkin") or {}).get("crew_id")
            v = [{"crew_id": c["crew_id"], "name": c.get("name")} if c.get("crew_id") == last and last is not None
                 else {"name": c.get("name")} for c in v]
        slim[k] = v
    return {"type": "Feature", "id": _code(feature),
            "geometry": {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]},
            "properties": slim}


class StatusScript(Element):
    """The status map's browser helpers (``js/status.js``): marker style, the point popup, cluster icon,
    feed source; written into the page as they are, their settings (words, zone) as script-safe JSON."""

    def __init__(self, words: Mapping[str, str], tz: str, codes: bool = True):
        super().__init__()
        self._name = "OpsStatus"
        # ``codes``: each point's code as a permanent label (not at scale: 10,000 labels are a grey smear).
        self.settings = {"colours": COLOUR_HEX, "urgency": COLOUR_URGENCY, "words": dict(words), "tz": tz,
                         "radius": POINT_RADIUS, "pane": POINTS_PANE, "codes": codes}
        self.initial: dict | None = None  # a live map's first data, put in the page's data element

    @property
    def initial_key(self) -> str:
        """The page data entry holding ``initial``."""
        return self.get_name() + "_initial"

    def render(self, **kwargs) -> None:
        entries = page_data(self)  # the popups are shown through the page's OpsMap helper
        if self.initial is not None:
            entries[self.initial_key] = self.initial
        code = f"var {self.get_name()} = {STATUS_JS.strip()}({to_json(self.settings)});"
        self.get_root().header.add_child(Raw(_CLUSTER_STYLE + script_element(code)), name=self.get_name())

    def js(self, member: str) -> JsCode:
        """A reference to one helper, for folium options that take a JS function."""
        return JsCode(f"{self.get_name()}.{member}")


class AttachLive(MacroElement):
    """Tells the status helpers the live layer, once made, so they can take removed points off it."""

    _template = Template("""{% macro script(this, kwargs) %}
        {{ this.helpers.get_name() }}.attach({{ this.live.get_name() }});
    {% endmacro %}""")

    def __init__(self, helpers: Element, live: Element):
        super().__init__()
        self._name = "AttachLive"
        self.helpers, self.live = helpers, live


LIVE_SECTOR_COLOUR = "#3b6ea5"


def _add_sectors_and_ranges(m: folium.Map, features: Sequence[Mapping], words: Mapping[str, str],
                            live: bool) -> None:
    sectors = folium.FeatureGroup(name=words["sectors"], overlay=True).add_to(m)
    ranges = folium.FeatureGroup(name=words["ranges"], overlay=True).add_to(m)
    for f in features:
        p = f.get("properties") or {}
        lon, lat = f["geometry"]["coordinates"][:2]
        radius = p.get("max_range_km")
        if not radius:
            continue
        # On a live map the markers change colour and the wedges do not: one neutral colour then.
        colour = LIVE_SECTOR_COLOUR if live else colour_hex(p.get("colour"))
        start, end = p.get("sector_start_deg"), p.get("sector_end_deg")
        if start is not None and end is not None:
            folium.Polygon(sector_polygon(lat, lon, start, end, radius), color=colour, weight=1, fill=True,
                           fill_color=colour, fill_opacity=0.12,
                           tooltip=Tooltip(f"{esc(_code(f))} {esc(words['sector'])} {start:g}° → {end:g}°")
                           ).add_to(sectors)
        folium.PolyLine(range_ring(lat, lon, radius), color="#555", weight=1, opacity=0.7, dash_array="4 6",
                        tooltip=Tooltip(f"{esc(_code(f))} {esc(words['max_range'])} {radius:g} km")).add_to(ranges)


CREW_RADIUS = 4  # half a state dot: under it (CREWS_PANE), a crew beside its point never hides the point
CREW_COLOUR = "#17becf"
CREW_OUTSIDE_COLOUR = "#ff66cc"  # outside its geofence: pink, far from every SPEC state colour


def _add_crews(m: folium.Map, crew_positions: Sequence[Mapping], words: Mapping[str, str], tz: str,
               scale_threshold: int) -> None:
    crews = [c for c in crew_positions if c.get("latitude") is not None and c.get("longitude") is not None]
    if not crews:
        return
    group = folium.FeatureGroup(name=words["crews"], overlay=True).add_to(m)

    def popup(c: Mapping) -> str:
        fence = c.get("within_geofence")
        text = f"<b>{esc(c.get('name'))}</b><br>{esc(c.get('point_code'))} {format_time(c.get('recorded_at'), tz)}"
        if fence is not None:
            text += "<br>" + esc(words["inside_geofence"] if fence else words["outside_geofence"])
        return text

    if len(crews) > scale_threshold:
        # Like the points: one layer, not thousands of markers.
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [c["longitude"], c["latitude"]]},
             "properties": {"popup": popup(c), "outside": c.get("within_geofence") is False}} for c in crews]}
        EmbeddedGeoJson(data, name=words["crews"], control=False, point_to_layer=JsCode(
            f"function (f, ll) {{ return L.circleMarker(ll, {{radius: {CREW_RADIUS}, weight: 1, color: '#024',"
            f" pane: {to_json(CREWS_PANE)}, fillColor: f.properties.outside ? {to_json(CREW_OUTSIDE_COLOUR)} :"
            f" {to_json(CREW_COLOUR)}, fillOpacity: 0.9}}); }}"),
            on_each_feature=JsCode("function (f, l) { l.bindPopup(f.properties.popup); }")).add_to(group)
        return
    for c in crews:
        outside = c.get("within_geofence") is False
        dot = folium.CircleMarker([c["latitude"], c["longitude"]], radius=CREW_RADIUS, weight=1, color="#024",
                                  fill=True, fill_color=CREW_OUTSIDE_COLOUR if outside else CREW_COLOUR,
                                  fill_opacity=0.9, popup=Popup(popup(c), max_width=260),
                                  tooltip=Tooltip(esc(c.get("name"))))
        dot.options["pane"] = CREWS_PANE  # folium's path options drop a pane given as an argument
        dot.add_to(group)


def _extent(features: Sequence[Mapping], crews: Sequence[Mapping], with_ranges: bool) -> list[tuple[float, float]]:
    """What the view must hold: every point, its range ring (it holds the wedge) and every crew."""
    out = []
    for f in features:
        lon, lat = f["geometry"]["coordinates"][:2]
        out.append((lat, lon))
        radius = (f.get("properties") or {}).get("max_range_km")
        if with_ranges and radius:
            out += range_ring(lat, lon, radius, n=8)  # eight bearings: the ring's bounding box, near enough
    out += [(c["latitude"], c["longitude"]) for c in crews
            if c.get("latitude") is not None and c.get("longitude") is not None]
    return out


def build_status_map(status_geojson: Mapping, crew_positions: Sequence[Mapping] | None = None, tiles="none",
                     realtime_url: str | None = None, *, lang: str = "zh", labels: Mapping[str, str] | None = None,
                     tz: str = DEFAULT_TZ, tiles_key: str | None = None, tiles_attr: str | None = None,
                     scale_threshold: int = SCALE_THRESHOLD, interval_ms: int = POLL_INTERVAL_MS,
                     cluster: bool | None = None, vendor_url: str = VENDOR_URL, base_layer: Mapping | None = None,
                     zones: Sequence[Mapping] | None = None) -> folium.Map:
    """The command centre's map of every point's live state, from the status GeoJSON.

    - each point a circle in its state colour (the feed's ``colour``) labelled with its code (up to
      ``scale_threshold`` points), with a popup (built in the browser, see above): name, county,
      state, equipment, crew on site vs minimum (the feed's ``below_min_crew``), stock, round, the
      open window and its time left, last check-in, flags, alerts;
    - each point's safe firing sector as a wedge and its maximum-range ring (up to ``scale_threshold``);
    - ``crew_positions`` (``{crew_id, name, point_code, latitude, longitude, recorded_at,
      within_geofence}``) in their own layer, small dots under the state dots;
    - a layer control, a legend of the colours, the view fitted to the points, their rings and the
      crews (else to ``base_layer``'s region);
    - above ``scale_threshold`` points: the layer clustered (``cluster=False`` to turn clustering
      off), no per-point wedges;
    - with ``realtime_url``: the points layer polls that URL every ``interval_ms`` and updates each
      marker (matched by feature id) in place;
    - ``zones`` (``opsserver.zones.services.zone_features()``): the no-fire zones and their buffers by
      kind, in their own layer and legend (``maps.zones``).

    ``tiles``: ``"none"``/``None`` (default: the base layer only), ``"osm"``, ``"tianditu"`` (+
    ``tiles_key``) or a URL template; added after the page loads (``maps.base``). ``base_layer``: the
    region's outlines and names (``opsserver.registry.basemap``). ``lang``: ``"zh"`` or ``"en"``;
    ``labels`` overrides single words. Times are in ``tz``.
    """
    words = labels_for(lang, labels)
    features = _point_features(status_geojson)
    crew_positions = list(crew_positions or [])
    at_scale = len(features) > scale_threshold
    cluster = at_scale if cluster is None else cluster
    # Canvas draws thousands of circles far faster than one SVG element each.
    m = base_map(bounds_of(_extent(features, crew_positions, with_ranges=not at_scale)), tiles, words=words,
                 lang=lang, title=words["title_status"], base_layer=base_layer, tiles_key=tiles_key,
                 tiles_attr=tiles_attr, vendor_url=vendor_url, prefer_canvas=at_scale)

    if not at_scale:
        _add_sectors_and_ranges(m, features, words, live=bool(realtime_url))
    add_zones(m, zones, words)

    helpers = StatusScript(words, tz, codes=not at_scale)
    m.add_child(helpers)
    if cluster:
        points = MarkerCluster(name=words["points"], overlay=True, icon_create_function=None,
                               options={"disableClusteringAtZoom": 12, "chunkedLoading": True,
                                        "showCoverageOnHover": False, "maxClusterRadius": 50})
        points.icon_create_function = f"{helpers.get_name()}.clusterIcon"
    else:
        points = folium.FeatureGroup(name=words["points"], overlay=True)
    points.add_to(m)

    data = {"type": "FeatureCollection", "features": [slim_feature(f) for f in features]}
    if status_geojson.get("version"):  # the feed's version, so the first poll asks only what changed since
        data["version"] = str(status_geojson["version"])
    if realtime_url:
        helpers.initial = data
        live = Realtime(
            JsCode(f"{helpers.get_name()}.source({to_json(realtime_url)}, {to_json(helpers.initial_key)})"),
            interval=int(interval_ms),
            get_feature_id=f"{helpers.get_name()}.featureId",
            update_feature=f"{helpers.get_name()}.update",
            remove_missing=False,  # a delta names only what changed: the source removes what it says
            container=JsCode(f"{helpers.get_name()}.batched({points.get_name()})") if cluster else points,
            point_to_layer=helpers.js("pointToLayer"),
            on_each_feature=helpers.js("bind"),
        )
        # The markers live in ``points`` (listed in the layer control); the poller itself is neither
        # listed nor added to the map a second time.
        live.control = False
        live.show = False
        m.add_child(live)
        m.add_child(AttachLive(helpers, live))
    else:
        EmbeddedGeoJson(data, control=False, point_to_layer=helpers.js("pointToLayer"),
                        on_each_feature=helpers.js("bind")).add_to(points)

    if crew_positions:
        _add_crews(m, crew_positions, words, tz, scale_threshold)
    crew_entries = [(words["crew_dot"], CREW_COLOUR), (words["crew_outside"], CREW_OUTSIDE_COLOUR)]
    Legend(words["legend"], state_legend(words).entries + (crew_entries if crew_positions else [])).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
