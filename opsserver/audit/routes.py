"""Endpoints for reading and verifying the audit log."""

from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy import select

from ..accounts.auth import roles_required
from ..blueprint import Blueprint
from ..pagination import keyset_page
from . import exports, services
from .models import AuditEvent
from .schemas import AuditEventListSchema, AuditQuerySchema, ExportQuerySchema, VerifySchema

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


@blp.route("/export")
class ExportResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.arguments(ExportQuerySchema(), location="query")
    @blp.response(200, description="CSV, JSON lines or GeoJSON, streamed; one event per line/row/feature")
    def get(self, query):
        """Stream the log (filtered by round, point and time), each event with its sequence number and hash."""
        fmt, filters = query.pop("format"), {k: v for k, v in query.items() if v is not None}
        app = current_app._get_current_object()

        def stream():
            # A generator outlives the view: it runs in its own app context with its own session.
            with app.app_context():
                yield from exports.render(exports.iter_export(**filters, decode=fmt != "csv"), fmt)

        name = f"audit-{fmt}.{ 'json' if fmt == 'geojson' else fmt}"
        return Response(stream(), mimetype=exports.FORMATS[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/export/manifest")
class ExportManifestResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.arguments(ExportQuerySchema(), location="query")
    @blp.response(200)
    def get(self, query):
        """The manifest of the same export: count, first and last sequence, chain head, SHA-256 of the file."""
        fmt, filters = query.pop("format"), {k: v for k, v in query.items() if v is not None}
        return exports.manifest(exports.iter_export(**filters, decode=fmt != "csv"), fmt,
                                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()})


@blp.route("/verify")
class VerifyResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.response(200, VerifySchema)
    def get(self):
        """Recompute the whole chain and name the first event that breaks it."""
        return services.verify_chain()
