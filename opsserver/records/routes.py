"""Regulatory records (15 CFR Part 908): the daily log per point and the season summary (NOAA Form 17-4A)."""

from datetime import timedelta

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from ..accounts.auth import roles_required
from ..blueprint import Blueprint
from ..clock import local_today
from ..errors import ProblemError
from ..fields import FIRST_YEAR, LAST_YEAR, Count, Day, QuerySchema, Text
from ..i18n import lang_field
from . import services

blp = Blueprint("records", __name__, url_prefix="/api/v1",
                description="Regulatory records mirroring 15 CFR Part 908 (NOAA weather modification reports)")

ROLES = ("auditor", "admin", "commander")
MAX_DAYS = 366


class DailyLogQuerySchema(QuerySchema):
    point_code = Text(load_default=None, validate=ma.validate.Length(min=2, max=20), metadata={
        "description": "the code of an existing point; an unknown one is not found (404)"})
    date_from = Day(load_default=None, metadata={"description": "first local date (default: 30 days before date_to)"})
    date_to = Day(load_default=None, metadata={"description": "last local date (default: today); not before "
                                                              f"date_from, at most {MAX_DAYS} days after it"})
    format = Text(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    lang = lang_field()

    @ma.validates_schema
    def _range(self, data, **kwargs):
        first, last = data.get("date_from"), data.get("date_to")
        if first is not None and last is not None:
            if first > last:
                raise ma.ValidationError("Must not be before date_from.", "date_to")
            if (last - first).days >= MAX_DAYS:
                raise ma.ValidationError(f"A daily log covers at most {MAX_DAYS} days.", "date_to")


class SeasonQuerySchema(QuerySchema):
    year = Count(load_default=None, validate=ma.validate.Range(min=FIRST_YEAR, max=LAST_YEAR),
                 metadata={"description": "calendar year in local time (default: this year)"})
    format = Text(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    lang = lang_field()


def _csv(body: str, name: str) -> Response:
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/records/daily-log")
class DailyLogResource(MethodView):
    @roles_required(*ROLES)
    @blp.arguments(DailyLogQuerySchema(), location="query")
    @blp.response(200, description="JSON (times in UTC) or CSV (local times with offset)")
    def get(self, query):
        """Daily log per point per local date: operations, hours, agent amounts, cloud types, remarks."""
        last = query["date_to"] or local_today()
        first = query["date_from"] or last - timedelta(days=30)
        if first > last:
            raise ProblemError(422, "date_from is after date_to.")
        code = query["point_code"]
        if code is not None and not services.point_exists(code):
            raise ProblemError(404, f"No operating point '{code}'.", type_="not-found")
        log = services.daily_log(first, last, code)
        if query["format"] == "csv":
            return _csv(services.daily_log_csv(log), f"daily-log-{first}-{last}.csv")
        return services.daily_log_json(log)


@blp.route("/records/season-summary")
class SeasonSummaryResource(MethodView):
    @roles_required(*ROLES)
    @blp.arguments(SeasonQuerySchema(), location="query")
    @blp.response(200, description="NOAA Form 17-4A columns by month, JSON or CSV")
    def get(self, query):
        """Season summary (17-4A): modification days by purpose, ground apparatus hours, grams of each agent."""
        year = query["year"] or local_today().year
        summary = services.season_summary(year)
        if query["format"] == "csv":
            return _csv(services.season_summary_csv(summary), f"season-summary-{year}.csv")
        return summary
