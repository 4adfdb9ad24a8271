"""Where folium's scripts and stylesheets come from: the app's own ``/vendor`` route, never a CDN.

folium and its plugins name CDN URLs for Leaflet, jQuery, Bootstrap, Font Awesome, the marker and
time-slider plugins. A command centre may have no internet, so every such URL is swapped for the same
file installed from npm (pinned in package.json / package-lock.json, installed by ``npm ci`` into
node_modules and served at ``/vendor/<npm package>/<path>``). A URL with no local copy listed here is
an error, not a silent CDN fetch: a folium upgrade or a new plugin then fails the tests loudly.
"""

from __future__ import annotations

from pathlib import Path

import folium
from branca.element import MacroElement
from folium.template import Template

from .safe import seal, walk

VENDOR_URL = "/vendor"

#: node_modules of this checkout, where ``npm ci`` puts the packages below.
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

# Each CDN URL that folium 0.20.0 (and the plugins the maps use) asks for, mapped to
# (npm package, file inside it). ``None`` drops the link: nothing on our maps uses it.
LOCAL_ASSETS: dict[str, tuple[str, str] | None] = {
    # folium.Map
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": ("leaflet", "dist/leaflet.js"),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": ("leaflet", "dist/leaflet.css"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "dist/jquery.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        ("bootstrap", "dist/js/bootstrap.bundle.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        ("bootstrap", "dist/css/bootstrap.min.css"),
    # Bootstrap 3's glyphicons, the default icon set of folium.Icon; this package ships only them.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        ("glyphicons-only-bootstrap", "css/bootstrap.min.css"),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        ("@fortawesome/fontawesome-free", "css/all.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        ("leaflet.awesome-markers", "dist/leaflet.awesome-markers.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        ("leaflet.awesome-markers", "dist/leaflet.awesome-markers.css"),
    # folium's own stylesheet for icons turned by an arbitrary ``angle``; no npm package ships it and
    # no map here turns an icon (Font Awesome's own fa-rotate-90/180/270 still work).
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        None,
    # folium.plugins.MarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        ("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        ("leaflet.markercluster", "dist/MarkerCluster.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        ("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    # folium.plugins.Realtime
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-realtime/2.2.0/leaflet-realtime.js":
        ("leaflet-realtime", "dist/leaflet-realtime.js"),
    # folium.plugins.TimestampedGeoJson
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js": ("jquery", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/jqueryui/1.10.2/jquery-ui.min.js":
        ("jquery-ui-dist", "jquery-ui.min.js"),
    "https://cdn.jsdelivr.net/npm/iso8601-js-period@0.2.1/iso8601.min.js": ("iso8601-js-period", "iso8601.js"),
    "https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.min.js":
        ("leaflet-timedimension", "dist/leaflet.timedimension.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/moment.js/2.18.1/moment.min.js": ("moment", "min/moment.min.js"),
    "https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.control.css":
        ("leaflet-timedimension", "dist/leaflet.timedimension.control.css"),
    # Code highlighting for the plugin's own examples page; the time slider does not use it.
    "https://cdnjs.cloudflare.com/ajax/libs/highlight.js/8.4/styles/default.min.css": None,
}

# leaflet.timedimension.control.css declares the glyphicons font at a CDN (protocol-relative URL).
# A later @font-face of the same family wins, so the slider's buttons use the local font instead.
_TIMEDIMENSION_CSS = ("leaflet-timedimension", "dist/leaflet.timedimension.control.css")
_GLYPHICONS_FONTS = "glyphicons-only-bootstrap/fonts/glyphicons-halflings-regular"


PATCHED_CSS = {_TIMEDIMENSION_CSS}  # (package, file) that served_css must rewrite


def served_css(text: str, base_url: str = VENDOR_URL) -> str:
    """leaflet.timedimension.control.css as it must be served (see PATCHED_CSS).

    It names the glyphicons font at a CDN; the later local @font-face (GlyphiconsFontFix) wins for
    drawing, but browsers still try the CDN first, which a Content-Security-Policy refuses and an
    offline machine cannot reach. Served, it names the local font.
    """
    return text.replace("//netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/glyphicons-halflings-regular",
                        f"{base_url.rstrip('/')}/{_GLYPHICONS_FONTS}")


class UnlocalizedAssetError(LookupError):
    """A folium element asks for a remote script or stylesheet that has no local copy listed."""


def npm_packages() -> set[str]:
    """The npm packages the maps load files from (each must be served by the ``/vendor`` route)."""
    return {v[0] for v in LOCAL_ASSETS.values() if v is not None}


def vendor_files() -> set[str]:
    """Every ``<package>/<path>`` the maps may reference, relative to node_modules."""
    files = {f"{pkg}/{path}" for pkg, path in (v for v in LOCAL_ASSETS.values() if v is not None)}
    files |= {f"{_GLYPHICONS_FONTS}.{ext}" for ext in ("woff2", "woff", "ttf")}
    return files


def missing_vendor_files(node_modules: Path = NODE_MODULES) -> list[str]:
    """Listed files not present under ``node_modules`` (empty after a good ``npm ci``)."""
    return sorted(f for f in vendor_files() if not (node_modules / f).is_file())


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def local_url(url: str, base_url: str = VENDOR_URL) -> str | None:
    """The local URL for a folium CDN URL; ``None`` when the asset is dropped; local URLs are kept."""
    if not _is_remote(url):
        return url
    try:
        entry = LOCAL_ASSETS[url]
    except KeyError:
        raise UnlocalizedAssetError(f"no local copy of {url}: add its npm package and an entry to "
                                    f"maps.assets.LOCAL_ASSETS") from None
    if entry is None:
        return None
    package, path = entry
    return f"{base_url.rstrip('/')}/{package}/{path}"


class GlyphiconsFontFix(MacroElement):
    """Re-declares the glyphicons font from the local package after the time slider's stylesheet."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        @font-face {
            font-family: 'Glyphicons Halflings';
            src: url('{{ this.fonts }}.woff2') format('woff2'),
                 url('{{ this.fonts }}.woff') format('woff'),
                 url('{{ this.fonts }}.ttf') format('truetype');
        }
        </style>
        {% endmacro %}
    """)

    def __init__(self, base_url: str = VENDOR_URL):
        super().__init__()
        self._name = "GlyphiconsFontFix"
        self.fonts = f"{base_url.rstrip('/')}/{_GLYPHICONS_FONTS}"


def localize(m: folium.Map, base_url: str = VENDOR_URL) -> folium.Map:
    """Point every script and stylesheet of ``m`` and its descendants at ``base_url`` (default /vendor).

    Call it after the last element is added (``OfflineMap`` does so at render time). Idempotent, and a
    later call with another ``base_url`` re-points the links. Raises ``UnlocalizedAssetError`` for a
    remote URL with no local copy.
    """
    needs_font_fix = False
    for el in walk(m):
        for attr in ("default_js", "default_css"):
            if not isinstance(getattr(el, attr, None), list):
                continue
            # Keep the element's original CDN list so a second call starts again from it.
            original_attr = f"_cdn_{attr}"
            if original_attr not in el.__dict__:
                el.__dict__[original_attr] = list(getattr(el, attr))
            links = []
            for name, url in el.__dict__[original_attr]:
                local = local_url(url, base_url)
                if local is None:
                    continue
                if local != url:
                    # One name per file: jQuery asked for by the map and by a plugin loads once.
                    name = "vendor:" + local[len(base_url.rstrip("/")) + 1:]
                links.append((name, local))
                if url != local and LOCAL_ASSETS.get(url) == _TIMEDIMENSION_CSS:
                    needs_font_fix = True
            # An instance attribute: folium's lists are class attributes shared by every map.
            setattr(el, attr, links)
    for name, child in list(m._children.items()):
        if isinstance(child, GlyphiconsFontFix):
            del m._children[name]
    if needs_font_fix:
        m.add_child(GlyphiconsFontFix(base_url))
    return m


class OfflineMap(folium.Map):
    """A ``folium.Map`` whose scripts and stylesheets are localized when it renders, and which refuses
    to render an element that would write text into its script (``maps.safe.seal``).

    ``vendor_url`` is where the app serves node_modules (``/vendor``, or the route's full URL).
    """

    def __init__(self, *args, vendor_url: str = VENDOR_URL, **kwargs):
        super().__init__(*args, **kwargs)
        self.vendor_url = vendor_url

    def render(self, **kwargs):
        seal(self)
        localize(self, self.vendor_url)
        return super().render(**kwargs)
