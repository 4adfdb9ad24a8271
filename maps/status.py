"""The live status map: every operating point in its state colour, sectors, ranges and crews.

Input is the status feed (``GET /api/v1/status.geojson``) as a dict. Up to ``scale_threshold`` points
each point is its own circle marker with a popup built here; above it (a province or the country)
the points are ONE GeoJSON layer, clustered, whose popups the browser builds from each feature's
properties, and sectors and rings are left out (10,000 wedges would be megabytes no one can read at
that zoom). With ``realtime_url`` the points layer polls the feed and recolours markers in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
from branca.element import Element
from folium.plugins import MarkerCluster, Realtime
from folium.utilities import JsCode

from .assets import VENDOR_URL
from .common import (COLOUR_HEX, COLOUR_URGENCY, DEFAULT_TZ, base_map, bounds_of, colour_hex, esc, format_duration,
                     format_time, state_legend)
from .geometry import range_ring, sector_polygon
from .labels import labels_for
from .safe import EmbeddedGeoJson, Popup, Raw, RawScript, Tooltip, page_data, script_element, to_json

STATUS_JS = (Path(__file__).resolve().parent / "js" / "status.js").read_text(encoding="utf-8")
_CLUSTER_STYLE = "<style>.ops-cluster div { color: #fff; font-weight: bold; text-shadow: 0 0 3px #000; }</style>"

SCALE_THRESHOLD = 500
POLL_INTERVAL_MS = 5000
POINT_RADIUS = 8

# Properties the browser needs for a marker and its popup; the rest of the feed stays on the server.
_SLIM_KEYS = ("code", "name", "equipment", "launchers", "state", "colour", "crew_on_site", "min_crew",
              "stock", "open_window", "flags", "alerts")


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


def slim_feature(feature: Mapping) -> dict:
    """The feature with only what a marker and its popup need (empty values dropped, 6 decimals)."""
    props = feature.get("properties") or {}
    lon, lat = feature["geometry"]["coordinates"][:2]
    slim = {}
    for k in _SLIM_KEYS:
        v = props.get(k)
        if v is None or v == "" or (not v and isinstance(v, (list, dict))):
            continue
        slim[k] = v
    slim.pop("code", None)  # the feature id carries it
    win = slim.get("open_window")
    if win:
        slim["open_window"] = {k: win[k] for k in ("start", "end", "reference") if win.get(k)}
    return {"type": "Feature", "id": _code(feature),
            "geometry": {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]},
            "properties": slim}


def point_popup_html(props: Mapping, words: Mapping[str, str], tz: str = DEFAULT_TZ) -> str:
    """The popup of one point: name, equipment, crew on site vs minimum, stock, window, check-in, flags."""
    rows: list[tuple[str, str]] = []
    colour = colour_hex(props.get("colour"))
    state = props.get("state") or "idle"
    rows.append((words["state"], f'<span style="color:{esc(colour)}">&#9679;</span> '
                                 f'{esc(words.get("state_" + state, state))}'))
    equipment = props.get("equipment")
    if equipment:
        text = esc(words.get("equipment_" + equipment, equipment))
        if props.get("launchers"):
            text += f" &times; {esc(props['launchers'])} {esc(words['launchers'])}"
        rows.append((words["equipment"], text))
    on_site = props.get("crew_on_site") or 0
    minimum = props.get("min_crew")
    crew = f"<b>{esc(on_site)}</b> / {esc(minimum)} ({esc(words['minimum'])})" if minimum is not None \
        else f"<b>{esc(on_site)}</b>"
    if minimum is not None and on_site < minimum:
        crew += f' <span style="color:{COLOUR_HEX["red"]}">{esc(words["below_minimum"])}</span>'
    names = [c.get("name") for c in props.get("crew") or [] if c.get("name")]
    if names:
        crew += "<br><small>" + esc(", ".join(names)) + "</small>"
    rows.append((words["crew_on_site"], crew))
    stock = props.get("stock") or {}
    rows.append((words["stock"], ", ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in sorted(stock.items()))
                 or esc(words["none"])))
    rnd = props.get("round")
    if rnd:
        rows.append((words["round"], esc(rnd.get("name") or rnd.get("id"))))
    win = props.get("open_window")
    if win:
        text = f"{format_time(win.get('start'), tz)} &ndash; {format_time(win.get('end'), tz)}"
        if win.get("reference"):
            text += f", {esc(words['reference'])} {esc(win['reference'])}"
        if win.get("ends_in_s") is not None:
            text += (f"<br>{esc(words['ends'])} {format_time(win.get('end'), tz, with_date=False)}, "
                     f"<b>{esc(format_duration(win['ends_in_s'], words))}</b> {esc(words['left'])}")
        rows.append((words["window"], text))
    else:
        rows.append((words["window"], esc(words["no_window"])))
    last = props.get("last_checkin")
    if last:
        who = next((c.get("name") for c in props.get("crew") or [] if c.get("crew_id") == last.get("crew_id")),
                   None) or f"#{last.get('crew_id')}"
        kind = words.get("kind_" + str(last.get("kind")), last.get("kind") or "")
        fence = last.get("within_geofence")
        fence_text = "" if fence is None else (
            f", {esc(words['inside_geofence'])}" if fence
            else f', <span style="color:{COLOUR_HEX["red"]}">{esc(words["outside_geofence"])}</span>')
        rows.append((words["last_checkin"],
                     f"{esc(who)} {esc(kind)} {format_time(last.get('recorded_at'), tz)}{fence_text}"))
    if props.get("sector_start_deg") is not None and props.get("sector_end_deg") is not None:
        text = f"{props['sector_start_deg']:g}&deg; &rarr; {props['sector_end_deg']:g}&deg;"
        if props.get("max_range_km"):
            text += f", {esc(words['max_range'])} {props['max_range_km']:g} km"
        rows.append((words["sector"], text))
    flags = props.get("flags") or []
    if flags:
        items = "".join(f"<li><b>{esc(f.get('code'))}</b>: {esc(f.get('reason'))}</li>" for f in flags)
        rows.append((words["flags"], f'<ul style="margin:0;padding-left:1.1em;color:{COLOUR_HEX["purple"]}">'
                                     f"{items}</ul>"))
    alerts = props.get("alerts") or []
    if alerts:
        rows.append((words["alerts"], ", ".join(f"{esc(a.get('type'))} ({esc(a.get('severity'))})" for a in alerts)))
    title = f"<b>{esc(props.get('code'))} {esc(props.get('name'))}</b>"
    if props.get("county"):
        title += f" <small>{esc(props['county'])}</small>"
    body = "".join(f'<tr><th style="padding-right:8px;vertical-align:top;white-space:nowrap">{esc(k)}</th>'
                   f"<td>{v}</td></tr>" for k, v in rows)
    return f'<div class="ops-popup">{title}<table style="margin-top:4px">{body}</table></div>'


class StatusScript(Element):
    """Browser-side helpers of the live and large maps (``js/status.js``): marker style, popup, cluster
    icon, feed source; written into the page as they are, their settings as script-safe JSON.

    The popup mirrors ``point_popup_html`` so a marker updated from the feed reads the same as one
    drawn here; the time left is counted when the popup opens.
    """

    def __init__(self, words: Mapping[str, str], tz: str, lang: str):
        super().__init__()
        self._name = "OpsStatus"
        self.settings = {"colours": COLOUR_HEX, "urgency": COLOUR_URGENCY, "words": dict(words), "tz": tz,
                         "locale": "zh-CN" if str(lang).lower().startswith("zh") else "en-GB",
                         "radius": POINT_RADIUS}

    def render(self, **kwargs) -> None:
        page_data(self)  # the popups are shown through the page's OpsMap helper
        code = f"var {self.get_name()} = {STATUS_JS.strip()}({to_json(self.settings)});"
        self.get_root().header.add_child(Raw(_CLUSTER_STYLE + script_element(code)), name=self.get_name())

    def js(self, member: str) -> JsCode:
        """A reference to one helper, for folium options that take a JS function."""
        return JsCode(f"{self.get_name()}.{member}")


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
            "function (f, ll) { return L.circleMarker(ll, {radius: 4, weight: 1, color: '#024',"
            " fillColor: f.properties.outside ? '#ff7f0e' : '#17becf', fillOpacity: 0.9}); }"),
            on_each_feature=JsCode("function (f, l) { l.bindPopup(f.properties.popup); }")).add_to(group)
        return
    for c in crews:
        outside = c.get("within_geofence") is False
        folium.Marker([c["latitude"], c["longitude"]], popup=Popup(popup(c), max_width=260),
                      tooltip=Tooltip(esc(c.get("name"))),
                      icon=folium.Icon(icon="user", prefix="fa", color="orange" if outside else "cadetblue")
                      ).add_to(group)


def build_status_map(status_geojson: Mapping, crew_positions: Sequence[Mapping] | None = None, tiles="osm",
                     realtime_url: str | None = None, *, lang: str = "zh", labels: Mapping[str, str] | None = None,
                     tz: str = DEFAULT_TZ, tiles_key: str | None = None, tiles_attr: str | None = None,
                     scale_threshold: int = SCALE_THRESHOLD, interval_ms: int = POLL_INTERVAL_MS,
                     cluster: bool | None = None, vendor_url: str = VENDOR_URL) -> folium.Map:
    """The command centre's map of every point's live state, from the status GeoJSON.

    - each point a circle in its state colour (the feed's ``colour``) with a popup: name, equipment,
      crew on site vs minimum, stock, the open window and its time left, last check-in, flags, alerts;
    - each point's safe firing sector as a wedge and its maximum-range ring (up to ``scale_threshold``);
    - ``crew_positions`` (``{crew_id, name, point_code, latitude, longitude, recorded_at,
      within_geofence}``) in their own layer;
    - a layer control, a legend of the colours, the view fitted to the points;
    - above ``scale_threshold`` points: one clustered GeoJSON layer (``cluster=False`` to turn
      clustering off), no per-point wedges;
    - with ``realtime_url``: the points layer polls that URL every ``interval_ms`` and updates each
      marker (matched by feature id) in place.

    ``tiles``: ``"osm"``, ``None``, ``"tianditu"`` (+ ``tiles_key``) or a URL template. ``lang``:
    ``"zh"`` or ``"en"``; ``labels`` overrides single words. Times are shown in ``tz``.
    """
    words = labels_for(lang, labels)
    features = _point_features(status_geojson)
    crew_positions = list(crew_positions or [])
    at_scale = len(features) > scale_threshold
    cluster = at_scale if cluster is None else cluster
    latlons = [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]) for f in features]
    latlons += [(c["latitude"], c["longitude"]) for c in crew_positions
                if c.get("latitude") is not None and c.get("longitude") is not None]
    # Canvas draws thousands of circles far faster than one SVG element each.
    m = base_map(bounds_of(latlons), tiles, tiles_key=tiles_key, tiles_attr=tiles_attr, vendor_url=vendor_url,
                 prefer_canvas=at_scale)

    if not at_scale:
        _add_sectors_and_ranges(m, features, words, live=bool(realtime_url))

    helpers = None
    if realtime_url or at_scale:
        helpers = StatusScript(words, tz, lang)
        m.add_child(helpers)

    if cluster:
        points = MarkerCluster(name=words["points"], overlay=True, icon_create_function=None,
                               options={"disableClusteringAtZoom": 12, "chunkedLoading": True,
                                        "showCoverageOnHover": False, "maxClusterRadius": 50})
        if helpers is not None:
            points.icon_create_function = f"{helpers.get_name()}.clusterIcon"
    else:
        points = folium.FeatureGroup(name=words["points"], overlay=True)
    points.add_to(m)

    if realtime_url:
        data = {"type": "FeatureCollection", "features": [slim_feature(f) for f in features]}
        initial = RawScript(f"var {helpers.get_name()}_initial = {to_json(data)};")
        m.add_child(initial)
        live = Realtime(
            JsCode(f"{helpers.get_name()}.source({to_json(realtime_url)}, {helpers.get_name()}_initial)"),
            interval=int(interval_ms),
            get_feature_id=f"{helpers.get_name()}.featureId",
            update_feature=f"{helpers.get_name()}.update",
            remove_missing=True,
            container=JsCode(f"{helpers.get_name()}.batched({points.get_name()})") if cluster else points,
            point_to_layer=helpers.js("pointToLayer"),
            on_each_feature=helpers.js("bind"),
        )
        # The markers live in ``points`` (listed in the layer control); the poller itself is neither
        # listed nor added to the map a second time.
        live.control = False
        live.show = False
        m.add_child(live)
    elif at_scale:
        data = {"type": "FeatureCollection", "features": [slim_feature(f) for f in features]}
        EmbeddedGeoJson(data, name=words["points"], control=False, point_to_layer=helpers.js("pointToLayer"),
                        on_each_feature=helpers.js("bind")).add_to(points)
    else:
        for f in features:
            p = dict(f.get("properties") or {})
            p.setdefault("code", _code(f))
            lon, lat = f["geometry"]["coordinates"][:2]
            folium.CircleMarker(
                [lat, lon], radius=POINT_RADIUS, color="#222", weight=1.5, fill=True,
                fill_color=colour_hex(p.get("colour")), fill_opacity=0.9,
                popup=Popup(point_popup_html(p, words, tz), max_width=360),
                tooltip=Tooltip(f"{esc(p['code'])} {esc(p.get('name'))}"),
            ).add_to(points)

    if crew_positions:
        _add_crews(m, crew_positions, words, tz, scale_threshold)
    state_legend(words).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
