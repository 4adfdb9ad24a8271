"""Endpoints for check-ins and the phone sync queue."""

from datetime import datetime

import orjson
from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import func, or_, select

import rules
from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..errors import field_error
from ..pagination import keyset_page
from ..registry.models import Point
from ..registry.services import point_by_code
from . import services
from .models import Checkin
from .schemas import (CheckinCreateSchema, CheckinListSchema, CheckinQuerySchema, CheckinSchema, SyncRequestSchema,
                      SyncResponseSchema)

blp = Blueprint("checkins", __name__, url_prefix="/api/v1", description="Phone check-ins and the sync queue")

# A header value: no control characters but tab (RFC 9110 field values).
HEADER_TEXT = r"^[^\x00-\x08\x0a-\x1f\x7f]+$"
HEADERS_DOC = {"parameters": [
    {"in": "header", "name": "Idempotency-Key", "required": False,
     "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": HEADER_TEXT},
     "description": "The same key and body again returns the first answer; another body is refused (422). "
                    "1–200 characters, no control characters (else 400)."},
    {"in": "header", "name": "X-Device-Time", "required": False,
     "schema": {"type": "string", "format": "date-time", "pattern": HEADER_TEXT},
     "description": "The phone's clock when sending, an ISO 8601 time with its offset (else 400); gives the "
                    "clock offset."},
]}


def device_time() -> datetime | None:
    """The phone's clock at sending, from `X-Device-Time`, for the clock-offset check."""
    raw = request.headers.get("X-Device-Time")
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise field_error("X-Device-Time", "Not an ISO 8601 time with an offset.", status=400, location="headers")
    return value


def json_answer(body: dict, status: int, headers: dict | None = None):
    """A service's JSON-ready answer (maybe replayed from storage), written with sorted keys so that a
    replay is byte for byte the first answer (stored answers are canonical JSON)."""
    resp = current_app.response_class(orjson.dumps(body, option=orjson.OPT_SORT_KEYS), status=status,
                                      mimetype="application/json")
    resp.headers.update(headers or {})
    return resp


def json_body():
    """The request's JSON, read as the other endpoints' webargs reads it: no JSON content type or an empty
    body reads as {} (so the schema names the missing fields), malformed JSON is a 400 naming the body."""
    raw = request.get_data(cache=True)
    if not request.is_json or not raw:
        return {}
    try:
        return current_app.json.loads(raw)
    except ValueError:
        raise field_error("(body)", "Invalid JSON body.", status=400) from None


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise field_error("Idempotency-Key", "Must be 1–200 characters.", status=400, location="headers")
    return key


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
            # The same conditions as rules.checkin_flags, in SQL.
            flagged = or_(Checkin.within_geofence.is_(False), Checkin.on_shift.is_(False),
                          func.coalesce(func.abs(Checkin.clock_offset_s), 0) > rules.CLOCK_SKEW_LIMIT_S)
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
        return json_answer(view, status, {"Idempotent-Replayed": "true"} if replayed else {})


@blp.route("/sync")
class SyncResource(MethodView):
    @roles_required("crew", "commander")
    @blp.arguments(SyncRequestSchema())
    @blp.response(200, SyncResponseSchema)
    @blp.doc(**HEADERS_DOC)
    def post(self, body):
        """Apply a phone's queue: one result per item, in order, each as if sent alone."""
        return {"items": services.sync(current_principal(), body["items"], device_time())}
