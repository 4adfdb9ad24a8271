"""The live status feed (JSON and GeoJSON, with ETag and 304) and the alerts."""

from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, roles_required
from ..blueprint import Blueprint
from . import services
from .feed import feed_answer, geojson_body, status_body

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="Live status of every point, and alerts")


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
