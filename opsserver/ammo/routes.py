"""Endpoints for the ammunition catalogue, movements, stock and the ledger."""

from flask.views import MethodView
from sqlalchemy import select

from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..extensions import db
from ..operations.models import FiringReport
from ..pagination import keyset_page
from ..registry.models import Point
from ..registry.services import point_by_code
from . import services
from .models import AmmoType, LedgerEntry
from .schemas import (AmmoTypeListSchema, AmmoTypeSchema, LedgerListSchema, LedgerQuerySchema, MovementResultSchema,
                      MovementSchema, StockSchema)

blp = Blueprint("ammo", __name__, url_prefix="/api/v1", description="Ammunition catalogue, movements and ledger")


@blp.route("/ammo/types")
class AmmoTypesResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, AmmoTypeListSchema)
    def get(self):
        """The catalogue."""
        types = list(db.session.execute(select(AmmoType).order_by(AmmoType.code)).scalars())
        return {"items": types, "next_cursor": None}

    @roles_required("admin")
    @blp.arguments(AmmoTypeSchema())
    @blp.response(201, AmmoTypeSchema)
    def post(self, body):
        """Add a type to the catalogue."""
        return services.create_type(current_principal().username, body)


@blp.route("/ammo/movements")
class MovementsResource(MethodView):
    @roles_required("commander")
    @blp.arguments(MovementSchema())
    @blp.response(201, MovementResultSchema)
    def post(self, body):
        """Record a receipt, a transfer between points, a return, a recovered dud or an adjustment."""
        return services.record_movement(current_principal().username, body)


@blp.route("/points/<code>/ammo")
class PointStockResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, StockSchema)
    def get(self, code):
        """A point's stock per type: the sum of its ledger."""
        return services.point_stock(code)


@blp.route("/ammo/ledger")
class LedgerResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(LedgerQuerySchema(), location="query")
    @blp.response(200, LedgerListSchema)
    def get(self, query):
        """Ledger entries in the order they were written."""
        stmt = (select(LedgerEntry, Point.code, AmmoType.code)
                .join(Point, Point.id == LedgerEntry.point_id)
                .join(AmmoType, AmmoType.id == LedgerEntry.ammo_type_id))
        if "point_code" in query:
            stmt = stmt.where(LedgerEntry.point_id == point_by_code(query["point_code"]).id)
        if "ammo_type" in query:
            stmt = stmt.where(AmmoType.code == query["ammo_type"])
        if "kind" in query:
            stmt = stmt.where(LedgerEntry.kind == query["kind"])
        if "report_id" in query:
            stmt = stmt.where(LedgerEntry.report_id == query["report_id"])
        if "round_id" in query:
            stmt = stmt.where(LedgerEntry.report_id.in_(
                select(FiringReport.id).where(FiringReport.round_id == query["round_id"])))
        page = keyset_page(stmt, LedgerEntry.id, query["limit"], query["cursor"], scalars=False)
        page["items"] = [services.entry_view(e, pc, tc) for e, pc, tc in page["items"]]
        return page

