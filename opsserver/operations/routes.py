"""Endpoints for rounds, airspace requests and decisions, firing reports and clearance."""

from flask import request
from flask.views import MethodView
from sqlalchemy import select

import rules
from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..http import HEADERS_DOC, idempotency_key, idempotent_answer
from ..pagination import keyset_page
from ..registry.models import Point
from ..registry.services import point_by_code
from . import airspace, clearance, orders, reports, rounds, state
from .models import AirspaceRequest, FiringReport, Order, Round
from .schemas import (ActivateSchema, AirspaceCreateSchema, AirspaceListSchema, AirspaceQuerySchema, AirspaceSchema,
                      ClearanceQuerySchema, ClearanceSchema, DecisionSchema, OrderAckSchema, OrderCreateSchema,
                      OrderListSchema, OrderQuerySchema, OrderSchema, ReasonSchema, ReportCreateSchema,
                      ReportListSchema, ReportQuerySchema, ReportSchema, RoundCreateSchema, RoundListSchema,
                      RoundQuerySchema, RoundSchema)

blp = Blueprint("operations", __name__, url_prefix="/api/v1",
                description="Operation rounds, airspace windows, firing reports and clearance")


def _round_detail(r: Round) -> dict:
    return state.round_view(r, state.points_in_rounds([r])[r.id])


@blp.route("/rounds")
class RoundsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(RoundQuerySchema(), location="query")
    @blp.response(200, RoundListSchema)
    def get(self, query):
        """Rounds, newest first, each with its points' states."""
        stmt = select(Round)
        status = query.get("status")
        if status == "planned":
            stmt = stmt.where(Round.activated_at.is_(None))
        elif status == "active":
            stmt = stmt.where(Round.activated_at.is_not(None), Round.closed_at.is_(None))
        elif status == "closed":
            stmt = stmt.where(Round.closed_at.is_not(None))
        page = keyset_page(stmt, Round.id, query["limit"], query["cursor"], descending=True)
        states = state.points_in_rounds(page["items"])
        page["items"] = [state.round_view(r, states[r.id]) for r in page["items"]]
        return page

    @roles_required("commander")
    @blp.arguments(RoundCreateSchema())
    @blp.response(201, RoundSchema)
    def post(self, body):
        """Plan a round and order its points."""
        return _round_detail(rounds.create_round(current_principal().username, body))


@blp.route("/rounds/<int:round_id>")
class RoundResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, RoundSchema)
    def get(self, round_id):
        """One round with each ordered point's state."""
        return _round_detail(rounds.get_round(round_id))


@blp.route("/rounds/<int:round_id>/activate")
class ActivateResource(MethodView):
    @roles_required("commander")
    @blp.arguments(ActivateSchema(), required=False)
    @blp.response(200, RoundSchema)
    def post(self, body, round_id):
        """Start the round (409 naming the points no published announcement covers, unless a reason is given)."""
        return _round_detail(rounds.activate_round(current_principal().username, round_id,
                                                   body.get("without_announcement_reason")))


@blp.route("/rounds/<int:round_id>/close")
class CloseResource(MethodView):
    @roles_required("commander")
    @blp.response(200, RoundSchema)
    def post(self, round_id):
        """End the round."""
        return _round_detail(rounds.close_round(current_principal().username, round_id))


@blp.route("/rounds/<int:round_id>/points/<code>/decline")
class DeclineResource(MethodView):
    @roles_required("crew", "commander")
    @blp.arguments(ReasonSchema())
    @blp.response(200, RoundSchema)
    def post(self, body, round_id, code):
        """The point answers that it cannot operate (its crew, or a commander for it)."""
        rounds.decline_point(current_principal(), round_id, code, body["reason"])
        return _round_detail(rounds.get_round(round_id))


@blp.route("/rounds/<int:round_id>/points/<code>/stand-down")
class StandDownResource(MethodView):
    @roles_required("commander")
    @blp.arguments(ReasonSchema())
    @blp.response(200, RoundSchema)
    def post(self, body, round_id, code):
        """The commander releases a point from the round."""
        rounds.stand_down_point(current_principal().username, round_id, code, body["reason"])
        return _round_detail(rounds.get_round(round_id))


@blp.route("/rounds/<int:round_id>/airspace")
class RoundAirspaceResource(MethodView):
    @roles_required("crew", "commander")
    @blp.arguments(AirspaceCreateSchema())
    @blp.response(201, AirspaceSchema)
    @blp.doc(**HEADERS_DOC)
    def post(self, body, round_id):
        """Ask for an airspace window for a point (its crew on shift, or a commander)."""
        status, view, replayed = airspace.submit_airspace_request(current_principal(), round_id,
                                                                  request.get_json(), idempotency_key(), body)
        return idempotent_answer(view, status, replayed)


@blp.route("/airspace")
class AirspaceListResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(AirspaceQuerySchema(), location="query")
    @blp.response(200, AirspaceListSchema)
    def get(self, query):
        """Airspace requests with their decisions."""
        stmt = select(AirspaceRequest, Point.code).join(Point, Point.id == AirspaceRequest.point_id)
        if "round_id" in query:
            stmt = stmt.where(AirspaceRequest.round_id == query["round_id"])
        if "point_code" in query:
            stmt = stmt.where(AirspaceRequest.point_id == point_by_code(query["point_code"]).id)
        page = keyset_page(stmt, [AirspaceRequest.created_at, AirspaceRequest.id], query["limit"],
                           query["cursor"], scalars=False)
        page["items"] = [airspace.airspace_view(req, code) for req, code in page["items"]]
        return page


@blp.route("/airspace/<request_id>/decision")
class DecisionResource(MethodView):
    @roles_required("commander")
    @blp.arguments(DecisionSchema())
    @blp.response(200, AirspaceSchema)
    def post(self, body, request_id):
        """Record air traffic control's decision."""
        return airspace.decide(current_principal().username, request_id, body)


@blp.route("/airspace/<request_id>/terminate")
class TerminateResource(MethodView):
    @roles_required("commander")
    @blp.response(200, AirspaceSchema)
    def post(self, request_id):
        """End an approved window now ("stop firing")."""
        return airspace.terminate(current_principal().username, request_id)


@blp.route("/airspace/<request_id>/cancel")
class CancelResource(MethodView):
    @roles_required("crew", "commander")
    @blp.response(200, AirspaceSchema)
    def post(self, request_id):
        """Withdraw a pending request, or an approved one whose window has not opened."""
        return airspace.cancel(current_principal(), request_id)


@blp.route("/rounds/<int:round_id>/reports")
class ReportsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(ReportQuerySchema(), location="query")
    @blp.response(200, ReportListSchema)
    def get(self, query, round_id):
        """A round's firing reports in the order they happened."""
        rounds.get_round(round_id)
        stmt = (select(FiringReport, Point.code).join(Point, Point.id == FiringReport.point_id)
                .where(FiringReport.round_id == round_id))
        if "point_code" in query:
            stmt = stmt.where(FiringReport.point_id == point_by_code(query["point_code"]).id)
        if "flagged" in query:
            flagged = rules.report_flagged_sql(FiringReport.flags)
            stmt = stmt.where(flagged if query["flagged"] else ~flagged)
        page = keyset_page(stmt, [FiringReport.started_at, FiringReport.id], query["limit"], query["cursor"],
                           scalars=False)
        lines = reports.report_lines([rep.id for rep, _ in page["items"]])
        page["items"] = [reports.report_view(rep, code, lines.get(rep.id, [])) for rep, code in page["items"]]
        return page

    @roles_required("crew", "commander")
    @blp.arguments(ReportCreateSchema())
    @blp.response(201, ReportSchema)
    @blp.alt_response(200, schema=ReportSchema, description="The same report again: the first answer")
    @blp.doc(**HEADERS_DOC)
    def post(self, body, round_id):
        """Report a firing; rules it breaks are flagged, never refused. Consumption goes into the ledger."""
        status, view, replayed = reports.submit_report(current_principal(), round_id, request.get_json(),
                                                        idempotency_key(), body)
        return idempotent_answer(view, status, replayed)


@blp.route("/points/<code>/clearance")
class ClearanceResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(ClearanceQuerySchema(), location="query")
    @blp.response(200, ClearanceSchema)
    def get(self, query, code):
        """May this point fire now (or at `at`) at this azimuth? Yes, or no with every reason."""
        return clearance.clearance(code, query["azimuth"], query.get("elevation"), query.get("at"))


@blp.route("/rounds/<int:round_id>/orders")
class OrdersResource(MethodView):
    # The phone asks every few seconds over a field network: an unchanged answer is a 304 with no body.
    @blp.etag
    @roles_required(*ALL_ROLES)
    @blp.arguments(OrderQuerySchema(), location="query")
    @blp.response(200, OrderListSchema)
    def get(self, query, round_id):
        """A round's orders in the order they were issued, with their acknowledgements."""
        rounds.get_round(round_id)
        stmt = select(Order, Point.code).join(Point, Point.id == Order.point_id).where(Order.round_id == round_id)
        if "point_code" in query:
            stmt = stmt.where(Order.point_id == point_by_code(query["point_code"]).id)
        page = keyset_page(stmt, [Order.issued_at, Order.id], query["limit"], query["cursor"], scalars=False)
        page["items"] = [orders.order_view(order, code) for order, code in page["items"]]
        return page

    @roles_required("commander")
    @blp.arguments(OrderCreateSchema())
    @blp.response(201, OrderSchema)
    def post(self, body, round_id):
        """Give a point of an active round an order: readiness, fire (inside an open approved window) or cease
        (ends the point's approved windows at once)."""
        return orders.issue_order(current_principal().username, round_id, body)


@blp.route("/orders/<int:order_id>/ack")
class OrderAckResource(MethodView):
    @roles_required("crew")
    @blp.arguments(OrderAckSchema(), required=False)
    @blp.response(200, OrderSchema)
    @blp.doc(**HEADERS_DOC)
    def post(self, body, order_id):
        """The crew of the order's point acknowledges it, with the phone's time; again, the first answer."""
        status, view, replayed = orders.acknowledge(current_principal(), order_id, request.get_json(silent=True) or {},
                                                    idempotency_key(), body)
        return idempotent_answer(view, status, replayed)
