"""Endpoints for reading and verifying the audit log."""

from flask.views import MethodView
from sqlalchemy import select

from ..accounts.auth import roles_required
from ..blueprint import Blueprint
from ..errors import ProblemError, ProblemSchema
from ..pagination import keyset_page
from . import checkpoints, exports, services, timer
from .models import AuditEvent
from .schemas import AuditEventListSchema, AuditQuerySchema, ExportQuerySchema, ManifestSchema, VerifySchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The tamper-evident audit log")
blp.record_once(lambda state: state.app.before_request(timer.start))


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


UPTO_HEADER = exports.UPTO_HEADER


def _split(query: dict) -> tuple[str, int | None, dict]:
    """(format, upto_seq as asked, the filters that were given)."""
    fmt, upto = query.pop("format"), query.pop("upto_seq")
    return fmt, upto, {k: v for k, v in query.items() if v is not None}


def _cut(upto: int | None) -> int:
    """The export's cut: `upto_seq` as asked, or the chain's head now; past the head is a 422."""
    length = exports.chain_length()
    if upto is not None and upto > length:
        raise ProblemError(422, f"upto_seq {upto} is past the chain's head ({length} events).",
                           errors=[{"field": "upto_seq", "location": "query",
                                    "detail": f"at most {length}"}])
    return length if upto is None else upto


@blp.route("/export")
class ExportResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.arguments(ExportQuerySchema(), location="query")
    @blp.response(200, description="CSV, JSON lines or GeoJSON, streamed; one event per line/row/feature, up to "
                                   "the cut named in the Audit-Upto-Seq header",
                  headers={UPTO_HEADER: {"description": "the last sequence number the export may hold: ask for "
                                                        "its manifest with this upto_seq",
                                         "schema": {"type": "integer", "minimum": 0}}})
    @blp.alt_response(409, schema=ProblemSchema, description="The log is broken or contradicts its last signed "
                                                             "checkpoint: nothing is signed; run the verification")
    def get(self, query):
        """Stream the log (filtered by round, point and time) up to a cut, each event with its sequence number and
        hash. Signs a checkpoint of the chain's head, as every export does."""
        fmt, upto, filters = _split(query)
        upto = _cut(upto)
        try:
            checkpoints.sign_at()
        except checkpoints.ChainContradictsCheckpoint as err:
            # No export vouched for by a checkpoint over a broken chain: verification names what is wrong.
            raise ProblemError(409, f"{err}; nothing was signed.", type_="audit-chain-contradicts-checkpoint") from err
        return exports.export_answer(filters, fmt, upto)


@blp.route("/export/manifest")
class ExportManifestResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.arguments(ExportQuerySchema(), location="query")
    @blp.response(200, ManifestSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="The log contradicts its last signed checkpoint: "
                                                             "nothing is signed; run the verification")
    def get(self, query):
        """The signed manifest of the same export: cut, count, first and last sequence, SHA-256 of the file, and a
        checkpoint signed at the cut. Give the export's Audit-Upto-Seq as `upto_seq` to describe that file
        whatever was written since; without it the cut is the head now."""
        fmt, upto, filters = _split(query)
        upto = _cut(upto)
        try:
            return exports.manifest(fmt, filters, upto)
        except checkpoints.ChainContradictsCheckpoint as err:
            raise ProblemError(409, f"{err}; nothing was signed.", type_="audit-chain-contradicts-checkpoint") from err


@blp.route("/verify")
class VerifyResource(MethodView):
    @roles_required("auditor", "admin")
    @blp.response(200, VerifySchema)
    def get(self):
        """Recompute the whole chain, hold it to its latest signed checkpoints (table and file) and name the first
        event that breaks it."""
        return services.verify_chain()
