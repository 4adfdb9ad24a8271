"""Text from the database reaches a map's scripts only as data, never as code.

folium writes a popup's and a tooltip's HTML into a JavaScript template literal, so ``${...}`` in a
name runs and one backtick ends the whole map script; and it parses every element's script again as
a Jinja template, so ``{{ ... }}`` in a name is evaluated on the server. Every map here instead:

- keeps the content of its popups and tooltips (HTML whose every value its builder escaped) and its
  GeoJSON in ONE data element of the page, ``<script type="application/json" id="ops-map-data">``,
  as JSON escaped for a script element (``to_json``);
- names an entry from its scripts (``OpsMap.popup(circle_marker_1, "popup_2", {...})``): generated
  identifiers, never text;
- in the browser parses an entry inertly and rebuilds it from a short list of elements and
  attributes, its text as text nodes (``js/opsmap.js``);
- writes its own scripts and data into the page as they are (``Raw``), past folium's second parse.

``seal`` (run by ``OfflineMap`` when a map renders) refuses folium's own popups, tooltips and
GeoJSON layers, so no builder can bring the old path back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import folium
from branca.element import Element, Html
from folium.features import GeoJsonPopup, GeoJsonTooltip
from folium.plugins import TimestampedGeoJson
from folium.template import Template
from folium.utilities import camelize

DATA_ID = "ops-map-data"
OPSMAP_JS = (Path(__file__).resolve().parent / "js" / "opsmap.js").read_text(encoding="utf-8")

# Inside a JSON string each of these becomes its \u escape: "<", ">" and "&" so that no "</script>"
# or "<!--" can end or bend the element, U+2028/U+2029 (line ends to older JavaScript), and the
# quote, backtick and "$" so that the text stays inert in any JavaScript string it is later put in.
_SCRIPT_SAFE = [(c, f"\\u{ord(c):04x}") for c in "<>&'`$\u2028\u2029"]
_ENDS_SCRIPT = re.compile(r"</script|<!--", re.I)


def to_json(value) -> str:
    """JSON that stays data wherever a script holds it (``json.loads`` reads back the same value)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _SCRIPT_SAFE:  # str.replace: several times faster than str.translate on megabytes
        text = text.replace(char, escape)
    return text


def checked_script(code: str) -> str:
    """``code`` unchanged, after making sure it cannot end its script element or change how it parses."""
    if _ENDS_SCRIPT.search(code):
        raise ValueError("script text must not contain '</script' or '<!--': put text in as to_json data")
    return code


def script_element(code: str) -> str:
    """A ``<script>`` element holding ``code`` as it is (see ``checked_script``)."""
    return f"<script>\n{checked_script(code)}\n</script>"


class Raw(Element):
    """Text put into the page as it is: never parsed again as a Jinja template."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class _PageData(Element):
    """The page's JSON data element: every entry registered while the map rendered."""

    def __init__(self):
        super().__init__()
        self._name = "OpsMapData"
        self.entries: dict[str, object] = {}

    def render(self, **kwargs) -> str:
        return f'<script type="application/json" id="{DATA_ID}">{to_json(self.entries)}</script>'


def page_data(element: Element) -> dict[str, object]:
    """The data entries of the page ``element`` renders into (made, with the browser helper, on first use)."""
    figure = element.get_root()
    block = figure.html._children.get("ops_map_data")
    if not isinstance(block, _PageData):
        block = _PageData()
        figure.html.add_child(block, name="ops_map_data")
        figure.header.add_child(Raw(script_element(OPSMAP_JS)), name="ops_map_js")
    return block.entries


def add_script(element: Element, code: str, name: str | None = None) -> None:
    """Append ``code`` to the page's main script as it is, in render order (folium's own parse skipped)."""
    element.get_root().script.add_child(Raw(checked_script(code) + "\n"), name=name or element.get_name())


class RawScript(Element):
    """A script put into the page without passing through Jinja (large data, code that holds JSON)."""

    def __init__(self, code: str):
        super().__init__()
        self._name = "RawScript"
        self.code = checked_script(code)

    def render(self, **kwargs) -> None:
        add_script(self, self.code)


def _options(options: dict) -> str:
    return to_json({camelize(k): v for k, v in options.items()})


class Popup(folium.Popup):
    """A popup whose HTML (every value in it escaped by the caller) travels as data, built safely on open."""

    def __init__(self, html: str, max_width: int | str = 300, **options):
        super().__init__(max_width=max_width, **options)  # no html here: folium would write it into a script
        self.html.add_child(Html(html, script=True))

    def render(self, **kwargs) -> None:
        key = self.get_name()
        page_data(self)[key] = self.html.render(**kwargs)
        add_script(self, f"OpsMap.popup({self._parent.get_name()}, {to_json(key)}, {_options(self.options)});")


class Tooltip(folium.Tooltip):
    """A tooltip whose HTML (escaped by the caller) travels as data, built safely when it shows."""

    def render(self, **kwargs) -> None:
        key = self.get_name()
        page_data(self)[key] = self.text
        add_script(self, f"OpsMap.tooltip({self._parent.get_name()}, {to_json(key)}, {_options(self.options)});")


class EmbeddedGeoJson(folium.GeoJson):
    """``folium.GeoJson`` whose data travels in the page's data element (faster too: folium would parse
    megabytes of it again as a template). A feature's ``popup``/``tooltip`` property is HTML content."""

    def render(self, **kwargs):
        data, key = self.data, self.get_name()
        page_data(self)[key] = data
        # The layer's own script adds an empty collection; the raw script right after it adds the data,
        # before the layer is added to its parent (a marker cluster takes in its layers only then).
        self.data = {"type": "FeatureCollection", "features": []}
        self.add_child(RawScript(f"{key}_add(OpsMap.geojson({to_json(key)}));"), name=key + "_data", index=0)
        try:
            super().render(**kwargs)
        finally:
            self.data = data


class TimedGeoJson(TimestampedGeoJson):
    """``TimestampedGeoJson`` whose features travel in the page's data element (folium writes them into
    its script as they are); each feature's ``popup``/``tooltip`` property is HTML content."""

    # folium 0.20.0's template, less the ``console.log`` it ran for every date the slider shows, and with the
    # date in the map's zone and the one time format (OpsBase.time, js/base.js) instead of the browser's zone.
    _template = Template("""
        {% macro script(this, kwargs) %}
            L.Control.TimeDimensionCustom = L.Control.TimeDimension.extend({
                _getDisplayDateFormat: function(date){
                    return OpsBase.time(date, {{ this.tz|tojson }});
                }
            });
            {{this._parent.get_name()}}.timeDimension = L.timeDimension(
                {
                    period: {{ this.period|tojson }},
                }
            );
            var timeDimensionControl = new L.Control.TimeDimensionCustom(
                {{ this.options|tojavascript }}
            );
            {{this._parent.get_name()}}.addControl(this.timeDimensionControl);

            var geoJsonLayer = L.geoJson({{this.data}}, {
                    pointToLayer: function (feature, latLng) {
                        if (feature.properties.icon == 'marker') {
                            if(feature.properties.iconstyle){
                                return new L.Marker(latLng, {
                                    icon: L.icon(feature.properties.iconstyle)});
                            }
                            //else
                            return new L.Marker(latLng);
                        }
                        if (feature.properties.icon == 'circle') {
                            if (feature.properties.iconstyle) {
                                return new L.circleMarker(latLng, feature.properties.iconstyle)
                                };
                            //else
                            return new L.circleMarker(latLng);
                        }
                        //else

                        return new L.Marker(latLng);
                    },
                    style: function (feature) {
                        return feature.properties.style;
                    },
                    onEachFeature: function(feature, layer) {
                        if (feature.properties.popup) {
                        layer.bindPopup(feature.properties.popup);
                        }
                        if (feature.properties.tooltip) {
                        layer.bindTooltip(feature.properties.tooltip);
                        }
                    }
                })

            var {{this.get_name()}} = L.timeDimension.layer.geoJson(
                geoJsonLayer,
                {
                    updateTimeDimension: true,
                    addlastPoint: {{ this.add_last_point|tojson }},
                    duration: {{ this.duration }},
                }
            ).addTo({{this._parent.get_name()}});
        {% endmacro %}
    """)

    def __init__(self, data, *, tz: str, **options):
        super().__init__(data, **options)
        self.tz = tz  # the zone its slider shows times in

    def render(self, **kwargs):
        data, key = self.data, self.get_name()
        page_data(self)[key] = json.loads(data)
        self.data = f"OpsMap.geojson({to_json(key)})"
        try:
            super().render(**kwargs)
        finally:
            self.data = data


class UnsafeContentError(TypeError):
    """A map holds a folium element that would write text into the page's script."""


_UNSAFE = (folium.Popup, folium.Tooltip, folium.GeoJson, TimestampedGeoJson, GeoJsonPopup, GeoJsonTooltip)
_SAFE = (Popup, Tooltip, EmbeddedGeoJson, TimedGeoJson)


def walk(element: Element) -> Iterator[Element]:
    """``element`` and all its descendants."""
    yield element
    for child in list(element._children.values()):
        yield from walk(child)


def seal(m: Element) -> Element:
    """Refuse (``UnsafeContentError``) any element of ``m`` that would write text into a script."""
    for el in walk(m):
        if isinstance(el, _UNSAFE) and not isinstance(el, _SAFE):
            raise UnsafeContentError(f"{type(el).__name__} ({el.get_name()}) writes its text into the map's "
                                     "script: use maps.safe's Popup, Tooltip, EmbeddedGeoJson or TimedGeoJson")
    return m
