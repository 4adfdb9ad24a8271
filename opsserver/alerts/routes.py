"""The alerts: what needs a commander's attention now, and their acknowledgement."""

from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..errors import ProblemError
from ..registry.services import point_by_code
from . import models  # noqa: F401  (the alert_acks table is part of the schema)
from . import services
from .schemas import AlertAckSchema, AlertListSchema, AlertQuerySchema, AlertSchema

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts, and their acknowledgement")


@blp.route("/alerts")
class AlertsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(AlertQuerySchema(), location="query")
    @blp.response(200, AlertListSchema)
    @blp.alt_response(404, description="no point with that `point_code`")
    def get(self, query):
        """The active alerts (acknowledged ones until they worsen or come back), most severe and newest first,
        filtered by point, region, kind and severity, with counts by kind and severity."""
        if query.get("point_code"):
            point_by_code(query["point_code"])  # an unknown point is not found, as on every other filter
        return services.alert_list(query)


@blp.route("/alerts/<string:alert_id>/ack")
class AlertAckResource(MethodView):
    @roles_required("commander")
    @blp.arguments(AlertAckSchema(), required=False)
    @blp.response(200, AlertSchema)
    @blp.alt_response(404, description="no alert with that id is active now")
    @blp.alt_response(409, description="the alert is worse now than `seen_severity`/`seen_measure` say")
    def post(self, body, alert_id):
        """A commander acknowledges an active alert with a note (audited): it leaves the active list until its
        condition worsens or comes back. An alert not active now is not found (404)."""
        if len(alert_id) > 200:
            raise ProblemError(404, "No active alert with this id.", type_="not-found")
        body = body or {}
        seen = {"severity": body.get("seen_severity"), "measure": body.get("seen_measure")}
        return services.acknowledge(current_principal().username, alert_id, body.get("note"), seen=seen)
