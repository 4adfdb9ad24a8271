"""What every map page draws around its data: the offline base layer, the tiles, the way back, the title.

- The base layer (outlines and names of a region's city and counties) is plain GeoJSON passed in by
  the app (``opsserver.registry.basemap``), drawn in its own panes below everything, with its source
  in the attribution: the map reads the same with no tile server and no internet.
- Configured tiles never hold up the page: they are added after the load event, once one probe tile
  has loaded; when it fails (no internet, a dead tile server) or tiles keep failing later, the map
  stays on the base layer, so an offline screen sees one failed request instead of one per tile.
- The page has a title and a ``lang``.
- A first view fitted while the map had no size (a frame not laid out yet) is fitted again once it has one.

The browser side is ``js/base.js`` (``OpsBase``); every text reaches it as script-safe JSON.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
from branca.element import Element
from folium.map import CustomPane, Layer
from folium.template import Template
from folium.utilities import camelize

from .safe import Raw, add_script, page_data, script_element, to_json

BASE_JS = (Path(__file__).resolve().parent / "js" / "base.js").read_text(encoding="utf-8")

# Panes, bottom to top (Leaflet's own: tiles 200, overlays 400, markers 600, tooltips 650, popups 700).
BASE_PANE, PLACES_PANE = "opsBase", "opsPlaces"
ZONES_PANE = "opsZones"  # no-fire zones above the sectors (overlays, 400) so a zone's popup opens inside a wedge
CREWS_PANE, POINTS_PANE = "opsCrews", "opsPoints"
PANES = ((BASE_PANE, 250, False), (PLACES_PANE, 260, False), (ZONES_PANE, 410, True), (CREWS_PANE, 420, True),
         (POINTS_PANE, 440, True))

PAGE_STYLE = """<style>
div.leaflet-container { background: #e9eef2; }  /* after leaflet.css or not: outside the region */
.ops-place span { font: 600 13px/1.2 sans-serif; color: #4a4a55; white-space: nowrap;
                  text-shadow: 0 0 3px #fff, 0 0 3px #fff; transform: translate(-50%, -50%); display: inline-block; }
.ops-place-region span { font-size: 16px; letter-spacing: .08em; color: #2f2f38; }
.leaflet-tooltip.ops-code { background: rgba(255,255,255,.85); border: 0; box-shadow: none; padding: 0 3px;
                            font: bold 11px/1.3 sans-serif; color: #111; }
.leaflet-tooltip.ops-code::before { display: none; }
/* The replay's speed control: its icon is absolutely placed over where the label starts; give it room. */
.leaflet-bar-timecontrol .timecontrol-speed { position: relative; padding-left: 26px; }
.leaflet-bar-timecontrol .timecontrol-speed .speed { width: auto; min-width: 44px; padding-right: 6px; }
</style>"""

# branca's page with a ``lang`` (the Figure's own template has none).
PAGE_TEMPLATE = Template(
    "<!DOCTYPE html>\n"
    "<html lang=\"{{ this.lang }}\">\n"
    "<head>\n"
    "{% if this.title %}<title>{{ this.title }}</title>{% endif %}"
    "    {{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    "<script>\n"
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n",
)


def _helpers(element: Element) -> None:
    """``OpsBase`` and the page's styles, once per page."""
    header = element.get_root().header
    if "ops_base_js" not in header._children:
        header.add_child(Raw(PAGE_STYLE + script_element(BASE_JS)), name="ops_base_js")


def add_panes(m: folium.Map) -> None:
    """The panes above (their z-order is what keeps crews under the state dots)."""
    for name, z, events in PANES:
        CustomPane(name, z_index=z, pointer_events=events).add_to(m)


def set_page(m: folium.Map, title: str, lang: str) -> None:
    """The page's ``<title>`` (escaped here: branca writes it as it is) and its ``lang``."""
    root = m.get_root()
    root._template = PAGE_TEMPLATE
    root.title = html.escape(str(title or ""))
    root.lang = "zh-CN" if str(lang or "").lower().startswith("zh") else "en"


def slim_base_layer(base_layer: Mapping | None, lang: str) -> dict:
    """The base layer with only what is drawn: each place's geometry, its name in ``lang``, its level,
    where its name goes, and whether it is the region itself (the first feature)."""
    zh = str(lang or "").lower().startswith("zh")
    features = []
    for i, f in enumerate((base_layer or {}).get("features") or []):
        p = f.get("properties") or {}
        name = (p.get("name_zh") if zh else p.get("name_en")) or p.get("name_zh") or p.get("name_en") or ""
        features.append({"type": "Feature", "id": f.get("id") or p.get("code"), "geometry": f.get("geometry"),
                         "properties": {"name": name, "level": p.get("level"), "at": p.get("label_at"),
                                        "region": i == 0}})
    return {"type": "FeatureCollection", "features": features}


def base_layer_bounds(base_layer: Mapping | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the base layer's region (its first feature), or None."""
    features = (base_layer or {}).get("features") or []
    if not features:
        return None
    lons, lats = [], []

    def visit(coords):
        if coords and isinstance(coords[0], (int, float)):
            lons.append(coords[0])
            lats.append(coords[1])
        else:
            for c in coords or []:
                visit(c)
    visit((features[0].get("geometry") or {}).get("coordinates"))
    return [[min(lats), min(lons)], [max(lats), max(lons)]] if lats else None


class BaseLayer(Layer):
    """The region's outlines and names (``js/base.js`` draws them from the page's data)."""

    _template = Template("")

    def __init__(self, base_layer: Mapping, name: str, lang: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "BaseLayer"
        self.data = slim_base_layer(base_layer, lang)
        self.attribution = str((base_layer or {}).get("attribution") or "")

    def render(self, **kwargs):
        _helpers(self)
        key = self.get_name()
        page_data(self)[key] = self.data
        options = {"pane": BASE_PANE, "labelPane": PLACES_PANE, "attribution": self.attribution}
        add_script(self, f"var {key} = OpsBase.outlines({self._parent.get_name()}, {to_json(key)}, "
                         f"{to_json(options)});")
        super().render(**kwargs)


class KeepFit(Element):
    """The map's first view made again if it was fitted before the map had a size (``OpsBase.keepFit``)."""

    def __init__(self):
        super().__init__()
        self._name = "KeepFit"

    def render(self, **kwargs):
        _helpers(self)
        add_script(self, f"OpsBase.keepFit({self._parent.get_name()});")


class DeferredTiles(Element):
    """The tile setting's layers, added by ``OpsBase.tiles`` after the load event (see the module)."""

    def __init__(self, layers: Sequence[folium.TileLayer]):
        super().__init__()
        self._name = "DeferredTiles"
        self.layers = [{"url": t.tiles, "options": {camelize(k): v for k, v in t.options.items()}} for t in layers]

    def render(self, **kwargs):
        _helpers(self)
        base = next((c.get_name() for c in self._parent._children.values() if isinstance(c, BaseLayer)), None)
        add_script(self, f"OpsBase.tiles({self._parent.get_name()}, {to_json(self.layers)}, {base or 'null'});")


def add_frame(m: folium.Map, words: Mapping[str, str], lang: str, *, title: str,
              base_layer: Mapping | None, tile_layers: Sequence[folium.TileLayer]) -> BaseLayer | None:
    """Title, styles, base layer and deferred tiles on ``m`` (made by ``common.base_map``)."""
    set_page(m, title, lang)
    _helpers(m)  # the code labels' and the replay's styles are wanted with no base layer too
    m.add_child(KeepFit())  # before the view is fitted (common.base_map adds it after this)
    base = None
    if base_layer and base_layer.get("features"):
        base = BaseLayer(base_layer, words["base_layer"], lang)
        m.add_child(base)
    if tile_layers:
        m.add_child(DeferredTiles(tile_layers))
    return base
