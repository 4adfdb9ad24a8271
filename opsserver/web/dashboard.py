"""The dashboard's live part: the regions or the page of points, and the alerts, rendered by the server.

The page (`/`, web.routes.index) and its polling (`/dashboard/live`) build the same view (web/overview.py)
and render the same macros (templates/_dashboard.html), so a row is built in one place and in the reader's
language; the script only swaps the fresh parts in. An unchanged feed answers 304 (the status feed's
version and the language).
"""

from flask import Blueprint, current_app, render_template, request

import rules
from ..i18n import as_datetime, current_lang
from ..alerts import services as alert_service
from .overview import dashboard_query, dashboard_view
from .auth import PAGE_ROLES, page_roles_required

bp = Blueprint("dashboard", __name__, template_folder="templates")


def order_ack(order: dict | None, at) -> dict | None:
    """A point's last order (the status feed's `last_order`) as its row shows it at `at` (the feed's time):
    acknowledged after how many seconds, or not yet for how many, and whether that is past the limit
    (`overdue`: rules.unacknowledged, the rule the alert follows). None without an order."""
    if not order:
        return None
    at, issued = as_datetime(at), as_datetime(order["issued_at"])
    limit_min = int(rules.ACK_LIMIT.total_seconds() // 60)
    if order["acknowledged_at"]:
        return {"state": "acknowledged", "seconds": order["ack_delay_s"], "limit_min": limit_min}
    state = "overdue" if rules.unacknowledged(issued, None, at) else "waiting"
    return {"state": state, "seconds": max(0.0, (at - issued).total_seconds()), "limit_min": limit_min}


bp.add_app_template_global(order_ack, "order_ack")  # the dashboard's rows (templates/_dashboard.html)
bp.add_app_template_global(alert_service.by_kind, "alert_groups")  # the alerts panel (templates/_alerts_panel.html)


@bp.get("/dashboard/live")
@page_roles_required(*PAGE_ROLES)
def live():
    """The dashboard's live parts for its query (the regions or the page of rows, the alerts), as the page
    renders them (HTML fragment; ETag of the feed's version and the language, 304 while unchanged)."""
    view = dashboard_view(dashboard_query(request.args))
    etag = f'W/"{view["version"]}.{current_lang()}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = current_app.response_class(status=304)
    else:
        resp = current_app.response_class(render_template("dashboard_live.html", **view), mimetype="text/html")
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    return resp
