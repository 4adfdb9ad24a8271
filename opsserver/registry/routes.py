"""Endpoints for points, crew members and shifts (thin: load → service → dump)."""

from flask.views import MethodView
from sqlalchemy import select

import rules
from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..checkins.services import point_views
from ..clock import local_today
from ..pagination import keyset_page
from . import services
from .models import CrewMember, Point, Shift
from .schemas import (CrewCreateSchema, CrewListSchema, CrewQuerySchema, CrewSchema, PointBaseSchema,
                      PointCreateSchema, PointListSchema, PointQuerySchema, PointSchema, ShiftCreateSchema,
                      ShiftListSchema, ShiftQuerySchema, ShiftSchema)

blp = Blueprint("registry", __name__, url_prefix="/api/v1", description="Operating points, crew and shifts")


@blp.route("/points")
class PointsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(PointQuerySchema(), location="query")
    @blp.response(200, PointListSchema)
    def get(self, query):
        """List operating points with the crew on site."""
        stmt = select(Point)
        for key in ("province", "city", "county", "equipment", "active"):
            if key in query:
                stmt = stmt.where(getattr(Point, key) == query[key])
        page = keyset_page(stmt, Point.code, query["limit"], query["cursor"])
        page["items"] = point_views(page["items"])
        return page

    @roles_required("admin")
    @blp.arguments(PointCreateSchema())
    @blp.response(201, PointSchema)
    def post(self, body):
        """Register an operating point."""
        point = services.create_point(current_principal().username, body)
        return point_views([point])[0]


@blp.route("/points/<code>")
class PointResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, PointSchema)
    def get(self, code):
        """One operating point."""
        return point_views([services.point_by_code(code, status=404)])[0]

    @roles_required("admin")
    @blp.arguments(PointBaseSchema(partial=True))
    @blp.response(200, PointSchema)
    def patch(self, body, code):
        """Change some of a point's fields (its code stays)."""
        point = services.update_point(current_principal().username, code, body)
        return point_views([point])[0]


@blp.route("/crew")
class CrewResource(MethodView):
    @roles_required("commander", "admin")
    @blp.arguments(CrewQuerySchema(), location="query")
    @blp.response(200, CrewListSchema)
    def get(self, query):
        """List crew members with their certificate status."""
        stmt = select(CrewMember)
        if "home_point" in query:
            stmt = stmt.where(CrewMember.home_point_id == services.point_by_code(query["home_point"],
                                                                                   "home_point").id)
        status = query.get("certificate_status")
        if status:
            stmt = stmt.where(rules.certificate_status_sql(CrewMember.certificate_expires, status, local_today()))
        page = keyset_page(stmt, CrewMember.id, query["limit"], query["cursor"])
        page["items"] = [services.crew_view(m) for m in page["items"]]
        return page

    @roles_required("commander", "admin")
    @blp.arguments(CrewCreateSchema())
    @blp.response(201, CrewSchema)
    def post(self, body):
        """Register a crew member."""
        return services.crew_view(services.create_crew(current_principal().username, body))


@blp.route("/shifts")
class ShiftsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(ShiftQuerySchema(), location="query")
    @blp.response(200, ShiftListSchema)
    def get(self, query):
        """List shifts, filtered by point, crew member or time."""
        stmt = select(Shift)
        if "point_code" in query:
            stmt = stmt.where(Shift.point_id == services.point_by_code(query["point_code"]).id)
        if "crew_id" in query:
            stmt = stmt.where(Shift.crew_id == query["crew_id"])
        if "at" in query:
            stmt = stmt.where(rules.on_shift_sql(Shift.starts_at, Shift.ends_at, query["at"]))
        if "ends_after" in query:
            stmt = stmt.where(Shift.ends_at > query["ends_after"])
        if "starts_before" in query:
            stmt = stmt.where(Shift.starts_at < query["starts_before"])
        page = keyset_page(stmt, Shift.id, query["limit"], query["cursor"])
        page["items"] = [services.shift_view(s) for s in page["items"]]
        return page

    @roles_required("commander")
    @blp.arguments(ShiftCreateSchema())
    @blp.response(201, ShiftSchema)
    def post(self, body):
        """Plan a shift (refused for an uncertified crew member or an overlap)."""
        return services.shift_view(services.create_shift(current_principal().username, **body))
