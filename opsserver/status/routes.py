"""The live status feed (JSON and GeoJSON, with ETag and 304)."""

from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, roles_required
from ..blueprint import Blueprint
from ..fields import NO_CONTROL_PATTERN
from . import summary
from .feed import feed_answer, geojson_body, status_body

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="Live status of every point")


# Documented, not loaded by a schema: a `since` this server cannot answer from gets the whole feed, not a 422.
FEED_PARAMETERS = [
    {"in": "query", "name": "since", "required": False, "schema": {"type": "string", "pattern": NO_CONTROL_PATTERN},
     "description": "a `version` an earlier answer gave: only the points changed since then and the codes "
                    "`removed`; the whole feed (`full: true`) when this server cannot answer from it"},
    *({"in": "query", "name": k, "required": False, "schema": {"type": "string", "pattern": NO_CONTROL_PATTERN},
       "description": f"only the points of this {k}"} for k in ("province", "city", "county"))]
FEED_DOC = {"parameters": FEED_PARAMETERS, "description": (
    "Every answer carries its `version` (also header X-Status-Version and the weak ETag; If-None-Match with it "
    "answers 304), `full` and `removed`.")}


@blp.route("/status")
class StatusResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    @blp.doc(**FEED_DOC)
    def get(self):
        """Every point's live state: round, state and colour, crew on site, stock, window, last check-in, flags."""
        return feed_answer(status_body, "application/json")


@blp.route("/status.geojson")
class StatusGeoJSONResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    @blp.doc(**FEED_DOC)
    def get(self):
        """The same as a GeoJSON FeatureCollection, one Feature per point (for the maps)."""
        return feed_answer(geojson_body, "application/geo+json")



@blp.route("/status/summary")
class StatusSummaryResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(summary.SummaryQuerySchema(), location="query")
    @blp.response(200, summary.SummarySchema)
    def get(self, query):
        """Counts of points per state and active alerts per region (county, city or province)."""
        return summary.current_summary(**query)
