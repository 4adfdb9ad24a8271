"""The alerts: what needs a commander's attention now."""

from flask.views import MethodView

from ..accounts.auth import ALL_ROLES, roles_required
from ..blueprint import Blueprint
from . import compute
from . import models  # noqa: F401  (the alert_acks table is part of the schema)

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts, and their acknowledgement")


@blp.route("/alerts")
class AlertsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """Every alert, most severe first."""
        return {"items": compute.alert_views(compute.compute_alerts()), "next_cursor": None}
