"""Endpoints for check-ins and the phone sync queue."""

from flask.views import MethodView
from sqlalchemy import select

import rules
from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..http import HEADERS_DOC, device_time, idempotency_key, idempotent_answer, json_body
from ..pagination import keyset_page
from ..registry.models import Point
from ..registry.services import point_by_code
from . import services
from .models import Checkin
from .schemas import (CheckinCreateSchema, CheckinListSchema, CheckinQuerySchema, CheckinSchema, SyncRequestSchema,
                      SyncResponseSchema)

blp = Blueprint("checkins", __name__, url_prefix="/api/v1", description="Phone check-ins and the sync queue")


@blp.route("/checkins")
class CheckinsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(CheckinQuerySchema(), location="query")
    @blp.response(200, CheckinListSchema)
    def get(self, query):
        """List check-ins, newest first, by point, crew member and time."""
        stmt = select(Checkin, Point.code).join(Point, Point.id == Checkin.point_id)
        if "point_code" in query:
            stmt = stmt.where(Checkin.point_id == point_by_code(query["point_code"]).id)
        if "crew_id" in query:
            stmt = stmt.where(Checkin.crew_id == query["crew_id"])
        if "since" in query:
            stmt = stmt.where(Checkin.recorded_at >= query["since"])
        if "until" in query:
            stmt = stmt.where(Checkin.recorded_at < query["until"])
        if "flagged" in query:
            flagged = rules.checkin_flagged_sql(Checkin.within_geofence, Checkin.on_shift, Checkin.clock_offset_s)
            stmt = stmt.where(flagged if query["flagged"] else ~flagged)
        page = keyset_page(stmt, [Checkin.received_at, Checkin.id], query["limit"], query["cursor"], scalars=False,
                           descending=True)
        page["items"] = [services.checkin_view(row[0], row[1]) for row in page["items"]]
        return page

    @roles_required("crew", "commander")
    @blp.response(201, CheckinSchema)
    @blp.alt_response(200, schema=CheckinSchema, description="The same check-in again: the first answer")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": CheckinCreateSchema}}},
             **HEADERS_DOC)
    def post(self):
        """Record a check-in; outside the geofence or off shift it is stored and flagged."""
        # The body is loaded by the service's schema rather than by @blp.arguments: webargs' wrapper
        # was a twelfth of this endpoint's time, the busiest one (bench/checkin_bench.py).
        status, view, replayed = services.submit_checkin(current_principal(), json_body(), idempotency_key(),
                                                         device_time())
        return idempotent_answer(view, status, replayed)


@blp.route("/sync")
class SyncResource(MethodView):
    @roles_required("crew", "commander")
    @blp.arguments(SyncRequestSchema())
    @blp.response(200, SyncResponseSchema)
    @blp.doc(**HEADERS_DOC)
    def post(self, body):
        """Apply a phone's queue: one result per item, in order, each as if sent alone."""
        return {"items": services.sync(current_principal(), body["items"], device_time())}
