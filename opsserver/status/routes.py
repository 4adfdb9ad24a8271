"""The live status feed (JSON and GeoJSON, with ETag and 304) and the alerts."""

import gc
from contextlib import contextmanager

import orjson
from flask import current_app, request
from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, roles_required
from ..blueprint import Blueprint
from ..database import now_utc
from . import services

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="Live status of every point, and alerts")


# The last body built per feed, keyed by its version: wall screens and maps poll the same feed every
# few seconds, so one build per version serves them all. A memo of database state, not state itself:
# every process builds the same body for the same version.
_built: dict[str, tuple[str, bytes]] = {}


@contextmanager
def gc_paused():
    """Hold off the cyclic garbage collector while building one big acyclic answer.

    Tens of thousands of new dicts set off collection after collection, each walking every live object:
    at 10,000 points that was 40% of the build. Refcounting still frees everything as usual.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def feed_answer(build, mimetype: str):
    """Answer 304 when the client's ETag is the current version; otherwise the body of this version."""
    at = now_utc()
    version = services.version(at, current_app.config["OPS_STATUS_BUCKET_S"])
    etag = f'W/"{version}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = current_app.response_class(status=304)
    else:
        key = f"{mimetype}:{current_app.config['SQLALCHEMY_DATABASE_URI']}"
        cached = _built.get(key)
        if cached is None or cached[0] != version or not current_app.config["OPS_STATUS_MEMO"]:
            with gc_paused():
                # orjson: a tenth of the json module's time for the 6 MB of 10,000 points.
                body = orjson.dumps(build(at))
            _built[key] = cached = (version, body)
        resp = current_app.response_class(cached[1], mimetype=mimetype)
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def geojson_body(at):
    return services.status_features(at)


def status_body(at):
    collection = services.status_features(at)
    return {"generated_at": collection["generated_at"],
            "points": [{**f["properties"], "latitude": f["geometry"]["coordinates"][1],
                        "longitude": f["geometry"]["coordinates"][0]} for f in collection["features"]]}


@blp.route("/status")
class StatusResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """Every point's live state: round, state and colour, crew on site, stock, window, last check-in, flags."""
        return feed_answer(status_body, "application/json")


@blp.route("/status.geojson")
class StatusGeoJSONResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """The same as a GeoJSON FeatureCollection, one Feature per point (for the maps)."""
        return feed_answer(geojson_body, "application/geo+json")


@blp.route("/alerts")
class AlertsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """Every alert, most severe first."""
        return {"items": services.alert_views(services.compute_alerts()), "next_cursor": None}
