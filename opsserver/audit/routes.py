"""Endpoints for reading and verifying the audit log."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..accounts.auth import roles_required
from ..pagination import keyset_page
from . import services
from .models import AuditEvent
from .schemas import AuditEventListSchema, AuditQuerySchema, VerifySchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The tamper-evident audit log")


@blp.route("/events")
class EventsResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.arguments(AuditQuerySchema(), location="query")
    @blp.response(200, AuditEventListSchema)
    def get(self, query):
        """Events in chain order, filtered by entity or action."""
        table = AuditEvent.__table__
        stmt = select(table)
        for key in ("entity", "entity_id", "action"):
            if key in query:
                stmt = stmt.where(table.c[key] == query[key])
        if "after_seq" in query:
            stmt = stmt.where(table.c.seq > query["after_seq"])
        page = keyset_page(stmt, table.c.seq, query["limit"], query["cursor"], scalars=False)
        page["items"] = [services.event_dict(row) for row in page["items"]]
        return page


@blp.route("/verify")
class VerifyResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.response(200, VerifySchema)
    def get(self):
        """Recompute the whole chain and name the first event that breaks it."""
        return services.verify_chain()
