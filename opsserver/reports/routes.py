"""Round reports and ICS-214-style activity logs: JSON, CSV and printable HTML."""

from flask import Response
from flask.views import MethodView
from marshmallow import validate as V

from ..accounts.auth import roles_required
from ..blueprint import Blueprint
from ..fields import QuerySchema, Text
from ..i18n import lang_field
from ..serving.security import allow_inline_scripts
from . import gather, render

blp = Blueprint("reports", __name__, url_prefix="/api/v1", template_folder="templates",
                description="Post-event round reports and activity logs")

READERS = ("commander", "auditor", "admin")


class ReportQuerySchema(QuerySchema):
    format = Text(load_default="json", validate=V.OneOf(("json", "csv", "html")))
    lang = lang_field()


class LogQuerySchema(QuerySchema):
    format = Text(load_default="csv", validate=V.OneOf(("csv", "html")))
    lang = lang_field()


def _attachment(body: str, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/rounds/<int:round_id>/report")
class RoundReportResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ReportQuerySchema(), location="query")
    @blp.response(200, description="The round report: JSON (default), CSV (one row per point) or printable HTML")
    def get(self, query, round_id):
        """Points ordered and fired, totals cross-checked against the ledger, flags, airspace, response times."""
        rep = gather.round_report(round_id)
        fmt = query["format"]
        if fmt == "csv":
            return _attachment(render.report_csv(rep), "text/csv", f"round-{round_id}-report.csv")
        if fmt == "html":
            allow_inline_scripts()  # the round map in its srcdoc frame
            return Response(render.report_html(rep), mimetype="text/html")
        return Response(render.report_json(rep), mimetype="application/json")


@blp.route("/rounds/<int:round_id>/points/<string:code>/activity-log")
class ActivityLogResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(LogQuerySchema(), location="query")
    @blp.response(200, description="The ICS-214-style activity log of one point in one round: CSV or HTML")
    def get(self, query, round_id, code):
        """The operational period, the crew with their positions, every notable activity with its time."""
        log = gather.activity_log(round_id, code)
        if query["format"] == "html":
            return Response(render.activity_log_html(log), mimetype="text/html")
        return _attachment(render.activity_log_csv(log), "text/csv",
                           f"round-{round_id}-{log['point']['code']}-activity-log.csv")
