"""The live status feed (JSON and GeoJSON, with ETag and 304)."""

from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, roles_required
from ..blueprint import Blueprint
from . import summary
from .feed import feed_answer, geojson_body, status_body

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="Live status of every point")


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



@blp.route("/status/summary")
class StatusSummaryResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(summary.SummaryQuerySchema(), location="query")
    @blp.response(200)
    def get(self, query):
        """Counts of points per state and active alerts per region (county, city or province)."""
        return summary.current_summary(**query)
