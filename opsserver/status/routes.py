"""The live status feed (JSON and GeoJSON, with ETag and 304) and the alerts."""

from flask import current_app, json, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..accounts.auth import ALL_ROLES, roles_required
from ..database import now_utc
from . import services

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="Live status of every point, and alerts")


def _cached_answer(build, mimetype: str):
    """Answer 304 when the client's ETag is the current version; otherwise build and tag the body."""
    at = now_utc()
    etag = f'W/"{services.version(at, current_app.config["OPS_STATUS_BUCKET_S"])}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = current_app.response_class(status=304)
    else:
        resp = current_app.response_class(json.dumps(build(at)), mimetype=mimetype)
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _geojson(at):
    return services.status_features(at)



def _status(at):
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
        return _cached_answer(_status, "application/json")


@blp.route("/status.geojson")
class StatusGeoJSONResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """The same as a GeoJSON FeatureCollection, one Feature per point (for the maps)."""
        return _cached_answer(_geojson, "application/geo+json")


@blp.route("/alerts")
class AlertsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """Every alert, most severe first."""
        return {"items": services.alert_views(services.compute_alerts()), "next_cursor": None}
