"""Pages and the locally served front-end assets (installed from npm, never fetched from a CDN)."""

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template_string, send_from_directory

bp = Blueprint("web", __name__)

# Only these npm packages are served, and only their distribution files.
VENDOR_PACKAGES = {
    "swagger-ui-dist",
    # the maps (maps/assets.py); a scoped package is served through its scope's folder
    "leaflet", "jquery", "bootstrap", "glyphicons-only-bootstrap", "@fortawesome", "leaflet.awesome-markers",
    "leaflet.markercluster", "leaflet-realtime", "leaflet-timedimension", "iso8601-js-period", "moment",
    "jquery-ui-dist",
}

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<ul>
  <li><a href="{{ url_for('api-docs.openapi_swagger_ui') }}">API documentation</a></li>
  <li><a href="{{ url_for('api-docs.openapi_json') }}">OpenAPI document</a></li>
</ul>
</body></html>"""


@bp.get("/")
def index():
    """Landing page with links to the API documentation."""
    return render_template_string(_INDEX, title=current_app.config["API_TITLE"])


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """Serve a file of an allowed npm package from the local node_modules."""
    if package not in VENDOR_PACKAGES:
        abort(404)
    root = Path(current_app.config["OPS_VENDOR_DIR"]) / package
    return send_from_directory(root, filename, max_age=86400)
