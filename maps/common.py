"""What the three maps share: the SPEC colours, the tile setting, the base map, the legend, time text."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import folium
from branca.element import MacroElement
from folium.template import Template

from .assets import VENDOR_URL, OfflineMap
from .base import add_frame, add_panes, base_layer_bounds
from .safe import page_data

#: SPEC colour names → what the browser draws ("amber" is no CSS colour name).
COLOUR_HEX: dict[str, str] = {
    "grey": "#8a8a8a",
    "blue": "#1f6fd1",
    "amber": "#f5a300",
    "green": "#2ca02c",
    "red": "#d62728",
    "black": "#111111",
    "purple": "#8e2bbf",
}
#: Legend order, and which colour wins when a cluster holds several (the most urgent).
COLOUR_ORDER = ("grey", "blue", "amber", "green", "red", "black", "purple")
COLOUR_URGENCY = {"grey": 0, "black": 1, "blue": 2, "amber": 3, "green": 4, "red": 5, "purple": 6}

FIT_PADDING = (30, 30)  # pixels around the data, so no point or wedge sits on the map's edge
DEFAULT_CENTER = (33.58, 114.02)  # Luohe, the SPEC's example deployment
DEFAULT_TZ = "Asia/Shanghai"

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
TIANDITU_TILES = ("https://t{s}.tianditu.gov.cn/LAYER_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                  "&LAYER=LAYER&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                  "&TILECOL={x}&tk=KEY")
TIANDITU_ATTR = "&copy; 天地图 Tianditu"


def colour_hex(name: str | None) -> str:
    """CSS colour for a SPEC colour name; any other value (e.g. ``#abc``) is passed through."""
    if not name:
        return COLOUR_HEX["grey"]
    return COLOUR_HEX.get(name, name)


def esc(value) -> str:
    """HTML-escaped text (popups carry names typed by people)."""
    return html.escape("" if value is None else str(value))


def tile_layers(tiles, key: str | None = None, attr: str | None = None) -> list[folium.TileLayer]:
    """The tile setting as folium layers.

    ``None``/``"none"`` (the default) no tiles: the offline base layer only; ``"osm"`` OpenStreetMap;
    ``"tianditu"`` with ``key`` (or ``"tianditu:KEY"``) the Tianditu vector map and its
    labels; any URL template with ``{z}/{x}/{y}`` (a local tile server, or a Tianditu URL carrying its
    key); or a ready ``folium.TileLayer``.
    """
    if tiles is None or tiles is False or (isinstance(tiles, str) and tiles.strip().lower() in ("", "none")):
        return []
    if isinstance(tiles, folium.TileLayer):
        return [tiles]
    if not isinstance(tiles, str):
        raise ValueError(f"unknown tiles setting {tiles!r}")
    name = tiles.strip()
    low = name.lower()
    if low in ("osm", "openstreetmap"):
        return [folium.TileLayer(OSM_TILES, attr=attr or OSM_ATTR, name="OpenStreetMap", max_zoom=19)]
    if low == "tianditu" or low.startswith("tianditu:"):
        key = name.split(":", 1)[1] if ":" in name else key
        if not key:
            raise ValueError("Tianditu tiles need a key: tiles='tianditu:KEY' or tiles_key=")
        common = dict(attr=attr or TIANDITU_ATTR, subdomains="01234567", max_zoom=18)
        return [
            folium.TileLayer(TIANDITU_TILES.replace("LAYER", "vec").replace("KEY", key), name="天地图 Tianditu",
                             **common),
            # The vector layer has no place names; its label layer goes on top and is not listed alone.
            folium.TileLayer(TIANDITU_TILES.replace("LAYER", "cva").replace("KEY", key), name="天地图注记",
                             overlay=True, control=False, **common),
        ]
    if "{z}" in name and "{x}" in name and "{y}" in name:
        extra = {"subdomains": "01234567"} if "tianditu" in low and "{s}" in name else {}
        return [folium.TileLayer(name, attr=attr or "Tiles", name="Tiles", **extra)]
    raise ValueError(f"unknown tiles setting {tiles!r}: use 'osm', 'tianditu', a URL template or None")


def bounds_of(latlons: Iterable[Sequence[float]]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the given (lat, lon) pairs, or None when there are none."""
    lats, lons = [], []
    for lat, lon in latlons:
        lats.append(lat)
        lons.append(lon)
    if not lats:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def base_map(bounds: list[list[float]] | None, tiles, *, words: Mapping[str, str], lang: str, title: str,
             base_layer: Mapping | None = None, tiles_key=None,
             tiles_attr=None, vendor_url: str = VENDOR_URL, prefer_canvas: bool = False) -> OfflineMap:
    """An ``OfflineMap`` fitted to ``bounds`` (the data: points, their sectors, arrows, events), else to the
    base layer's region, with a scale bar, its panes, title and ``lang``, the offline ``base_layer``,
    and the tile setting (added after the page loads, see ``maps.base``)."""
    fit = bounds or base_layer_bounds(base_layer)
    if fit:
        center = ((fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2)
    else:
        center = DEFAULT_CENTER
    # An explicit max zoom: with no tile layer Leaflet has none, and marker clustering refuses to start.
    m = OfflineMap(location=center, zoom_start=12 if fit else 9, tiles=None, control_scale=True,
                   prefer_canvas=prefer_canvas, vendor_url=vendor_url, **{"maxZoom": 18})
    add_panes(m)
    add_frame(m, words, lang, title=title, base_layer=base_layer, tile_layers=tile_layers(tiles, tiles_key, tiles_attr))
    if fit:
        # A single point (no sector) still gets a view of its surroundings, not the maximum zoom.
        fit = [list(fit[0]), list(fit[1])]
        if fit[0] == fit[1]:
            fit = [[fit[0][0] - 0.05, fit[0][1] - 0.05], [fit[1][0] + 0.05, fit[1][1] + 0.05]]
        view = folium.map.FitBounds(fit, padding=FIT_PADDING)
        view.options["animate"] = False  # the first view, not a zoom animation from the centre's default zoom
        view.add_to(m)
    return m


class Legend(MacroElement):
    """A Leaflet control in a corner of the map listing colour → meaning (``entries``)."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .ops-legend { background: #fff; padding: 6px 10px; border-radius: 4px; line-height: 1.5;
                      box-shadow: 0 1px 5px rgba(0,0,0,.4); font: 13px/1.5 sans-serif; }
        .ops-legend b { display: block; margin-bottom: 2px; }
        .ops-legend i { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
                        margin-right: 6px; vertical-align: -1px; border: 1px solid #333; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "ops-legend");
                div.appendChild(OpsMap.content({{ this.get_name()|tojson }})());
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, title: str, entries: Sequence[tuple[str, str]], position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.entries = list(entries)
        self.position = position
        rows = "".join(f'<div><i style="background:{esc(c)}"></i>{esc(label)}</div>' for label, c in self.entries)
        self.html = f"<b>{esc(title)}</b>{rows}"

    def render(self, **kwargs):
        page_data(self)[self.get_name()] = self.html  # its words reach the script as data, like a popup's
        super().render(**kwargs)


def state_legend(words: dict[str, str]) -> Legend:
    """The SPEC colours and what each means."""
    return Legend(words["legend"], [(words[f"colour_{c}"], COLOUR_HEX[c]) for c in COLOUR_ORDER])


def parse_time(value) -> datetime | None:
    """A datetime from an ISO string or datetime; naive times are UTC (the server stores UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def format_time(value, tz: str = DEFAULT_TZ, with_date: bool = True) -> str:
    """Local time in ``tz`` with its offset, e.g. ``2025-07-01 21:40 +08:00``."""
    dt = parse_time(value)
    if dt is None:
        return esc(value) if value else ""
    local = dt.astimezone(ZoneInfo(tz))
    off = local.strftime("%z")
    off = f"{off[:3]}:{off[3:]}" if off else ""
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M") + f" {off}"

