"""Versioned asset URLs: the pages' own scripts and styles (/static/web) and the npm files (/vendor) are
named with their version, so a browser keeps them for a year and still fetches a file the moment it changes.

- ``url_for("web.static", filename=...)`` gains ``?v=`` the first 12 hex digits of the file's SHA-256;
  ``url_for("web.vendor", ...)`` gains ``?v=`` the version of node_modules (the hash of npm's record of what
  it installed, node_modules/.package-lock.json, which changes with package-lock.json). The templates need
  nothing: a URL-defaults hook adds it. The crew service worker matches its files by path, so it keeps them
  whatever the query says.
- The maps load /vendor files from ``versioned_vendor_url()``, ``/vendor/~<version>``: a path, not a query, so
  the fonts and images their stylesheets name by relative URL are versioned too.

An answer to a URL whose version is the current one is ``Cache-Control: public, max-age=31536000, immutable``;
any other (no version, an old one) keeps its short lifetime.

These files are also compressed once, with brotli at quality 10, and kept per file ETag (a file changed
on disk has a new ETag): 15% fewer bytes than compressing each answer quickly (zstd at level 3) for the
maps' and the crew page's files, for about one second of CPU per worker, once (docs/performance.md).
"""

import hashlib
from pathlib import Path

import brotli
from flask import Flask, current_app, g, request
from werkzeug.security import safe_join

import maps

IMMUTABLE = "public, max-age=31536000, immutable"
ASSET_ENDPOINTS = ("web.static", "web.vendor")
BROTLI_QUALITY = 10  # 11 saves 2% more for three times the CPU
VERSIONED_VENDOR_RULE = "/vendor/~<version>/<package>/<path:filename>"
# (size, mtime) and hash of each file hashed so far: a file is read again only when it changed.
_hashes: dict[str, tuple[tuple[int, int], str]] = {}
# Per file, by its ETag (send_file's: the file's mtime, size and normalised name), its brotli body. Keyed by
# the file, not the URL: any number of URLs (`/vendor/~<anything>/…`, `./` in a path) name one file.
_compressed: dict[str, bytes] = {}


def content_version(path: str | Path | None) -> str | None:
    """The first 12 hex digits of the file's SHA-256; None when there is no such file."""
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    key, known = (stat.st_size, stat.st_mtime_ns), _hashes.get(str(path))
    if known is None or known[0] != key:
        known = _hashes[str(path)] = (key, hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12])
    return known[1]


def static_version(filename: str) -> str | None:
    """The version of one of the pages' static files."""
    return content_version(safe_join(current_app.blueprints["web"].static_folder, filename))


def vendor_version() -> str | None:
    """The version of every /vendor file: npm's record of the packages it installed."""
    return content_version(Path(current_app.config["OPS_VENDOR_DIR"]) / ".package-lock.json")


def versioned_vendor_url() -> str:
    """Where the maps load /vendor files from: ``/vendor/~<version>`` (plain ``/vendor`` before npm ci)."""
    version = vendor_version()
    return f"{request.script_root}/vendor/~{version}" if version else f"{request.script_root}/vendor"


def _add_version(endpoint: str, values: dict) -> None:
    if "v" in values or "version" in values:
        return
    if endpoint == "web.static":
        version = static_version(values.get("filename", ""))
    elif endpoint == "web.vendor":
        version = vendor_version()
    else:
        return
    if version:
        values["v"] = version


def _take_path_version(endpoint: str | None, values: dict | None) -> None:
    # The versioned /vendor rule's version is for the cache header, not for the view.
    if endpoint == "web.vendor" and values and "version" in values:
        g.asset_version = values.pop("version")


def _cache_for_a_year(response):
    if response.status_code not in (200, 304) or request.endpoint not in ASSET_ENDPOINTS:
        return response
    given = g.get("asset_version") or request.args.get("v")
    if not given:
        return response
    args = request.view_args or {}
    if request.endpoint == "web.static":
        current = static_version(args.get("filename", ""))
    elif (args.get("package"), args.get("filename")) in maps.assets.PATCHED_CSS:
        current = None  # rewritten by our code as it is served: its content is not npm's alone
    else:
        current = vendor_version()
    if given == current:
        response.headers["Cache-Control"] = IMMUTABLE
        response.expires = None
    return response


def _compressed_once(response):
    # A file answered whole (send_file sets its ETag; a 206 or a rewritten stylesheet has none) as the
    # kept brotli body; Flask-Compress leaves an answer with a Content-Encoding alone.
    etag, weak = response.get_etag()
    if (response.status_code != 200 or request.endpoint not in ASSET_ENDPOINTS or not etag or weak
            or "Content-Encoding" in response.headers or not request.accept_encodings["br"]
            or not current_app.config["COMPRESS_REGISTER"]
            or response.mimetype not in current_app.config["COMPRESS_MIMETYPES"]):
        return response
    kept = _compressed.get(etag)
    if kept is None:
        kept = _compressed[etag] = brotli.compress(b"".join(response.iter_encoded()), quality=BROTLI_QUALITY)
    response.close()  # the file it would have streamed
    response.direct_passthrough = False
    response.set_data(kept)
    response.headers["Content-Encoding"] = "br"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{etag}:br")  # what Flask-Compress names an encoded answer's ETag too
    return response.make_conditional(request)


def init_asset_urls(app: Flask) -> None:
    """Version the asset URLs the app builds, serve /vendor under its versioned path, cache versioned
    answers for a year and compress the files once."""
    app.add_url_rule(VERSIONED_VENDOR_RULE, endpoint="web.vendor", methods=["GET"])
    app.url_defaults(_add_version)
    app.url_value_preprocessor(_take_path_version)
    app.after_request(_cache_for_a_year)
    app.after_request(_compressed_once)  # runs before the one above (last registered, first run)
