"""Security headers on every answer, a Content-Security-Policy for pages that allows what the maps need
and no more, and a cap on how deeply a JSON body may nest."""

import base64
import hashlib
import html
import json
import re
from urllib.parse import urlsplit

import orjson
from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider

from maps.common import OSM_TILES, TIANDITU_TILES

# Inline <script> blocks (not those with a src): the maps' code, written by folium into the page.
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)
# A srcdoc frame (the round report's map) runs under its parent's policy, so its scripts count too.
_SRCDOC = re.compile(rb'\bsrcdoc\s*=\s*"([^"]*)"', re.S | re.I)


def _inline_scripts(page: bytes) -> list[bytes]:
    found = _INLINE_SCRIPT.findall(page)
    for doc in _SRCDOC.findall(page):
        found += _inline_scripts(html.unescape(doc.decode("utf-8")).encode("utf-8"))
    return found


def tile_origins(setting: str | None) -> list[str]:
    """Where map tiles come from for a tile setting (see maps.common.tile_layers), for img-src."""
    low = (setting or "").strip().lower()
    if low in ("", "none"):
        return []
    if low in ("osm", "openstreetmap"):
        url = OSM_TILES
    elif low == "tianditu" or low.startswith("tianditu:"):
        url = TIANDITU_TILES
    else:
        url = setting.strip()
    parts = urlsplit(url.replace("{s}", "x"))
    host = parts.hostname or ""
    if "{s}" in url:  # subdomains: t0…t7.tianditu.gov.cn, a.b.c.tile.example
        host = "*." + host.split(".", 1)[1]
    return [f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")]


def page_policy(page: bytes, tiles: list[str]) -> str:
    """The page's CSP: scripts from this origin plus the exact inline blocks it carries (by hash)."""
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
                     for body in _inline_scripts(page)})
    return "; ".join([
        " ".join(["script-src", "'self'", *hashes]),
        "default-src 'self'",
        # Leaflet and folium write style attributes into the markers and popups they build.
        "style-src 'self' 'unsafe-inline'",
        " ".join(["img-src", "'self'", "data:", "blob:", *tiles]),
        "connect-src 'self'", "font-src 'self' data:", "worker-src 'self'", "manifest-src 'self'",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'self'",
    ])


# Pages whose inline scripts are our own: folium's map code, and flask-smorest's Swagger UI start-up.
# Only these get the hashes of their inline scripts into their policy; on every other page an inline
# script (one slipped in through data, say) is refused.
_INLINE_SCRIPT_ENDPOINTS = {"api-docs.openapi_swagger_ui"}


def allow_inline_scripts() -> None:
    """Mark this answer's inline scripts as the app's own (a view that renders a folium map calls it)."""
    g.ops_inline_scripts = True


def init_security_headers(app: Flask) -> None:
    tiles = tile_origins(app.config["OPS_MAP_TILES"])

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")  # the dashboard frames the status map
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html" and not response.is_streamed:
            trusted = g.get("ops_inline_scripts") or request.endpoint in _INLINE_SCRIPT_ENDPOINTS
            headers["Content-Security-Policy"] = page_policy(response.get_data() if trusted else b"", tiles)
        return response


def _depth_at_most(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with orjson (request bodies and every other `app.json.loads`) and refusing
    values nested deeper than OPS_MAX_JSON_DEPTH (a request body: 400, never a 500).

    orjson reads strict UTF-8 JSON: NaN, Infinity and lone surrogates, which Python's parser lets through
    (to fail later, in a hash or in the database), are malformed here. It is also several times faster,
    which counts on the phones' busiest endpoint. Without a depth cap, a body of ten thousand `[` would
    make every later walk of the body hit Python's recursion limit.
    """

    def loads(self, s, **kwargs):
        limit = self._app.config["OPS_MAX_JSON_DEPTH"]
        if kwargs:  # options only Python's parser has
            value = super().loads(s, **kwargs)
        else:
            if isinstance(s, (bytes, bytearray)) and s.startswith(b"\xef\xbb\xbf"):
                s = s[3:]  # a UTF-8 byte order mark, which some clients write and Python's parser skips
            value = orjson.loads(s)
        if not _depth_at_most(value, limit):
            raise json.JSONDecodeError(f"JSON nested deeper than {limit} levels", "(request body)", 0)
        return value
