"""Endpoints for no-fire zones, their import and a point's zones (thin: load → service → dump)."""

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import select

from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..pagination import keyset_page
from ..registry.services import point_by_code
from . import services
from .models import NoFireZone
from .schemas import (ImportAnswerSchema, ImportBodySchema, ImportQuerySchema, PointZonesSchema, ZoneBaseSchema, ZoneCreateSchema,
                      ZoneListSchema, ZoneQuerySchema, ZoneSchema)

blp = Blueprint("zones", __name__, url_prefix="/api/v1", description="No-fire zones and each point's zones")


@blp.route("/zones")
class ZonesResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(ZoneQuerySchema(), location="query")
    @blp.response(200, ZoneListSchema)
    def get(self, query):
        """List no-fire zones (active and deactivated; filter by `active`, `kind`)."""
        stmt = select(NoFireZone)
        for key in ("kind", "active"):
            if key in query:
                stmt = stmt.where(getattr(NoFireZone, key) == query[key])
        page = keyset_page(stmt, NoFireZone.id, query["limit"], query["cursor"])
        page["items"] = [services.zone_view(z) for z in page["items"]]
        return page

    @roles_required("admin")
    @blp.arguments(ZoneCreateSchema())
    @blp.response(201, ZoneSchema)
    def post(self, body):
        """Record a no-fire zone (its geometry checked: 422 naming the problem)."""
        return services.zone_view(services.create_zone(current_principal().username, body))


@blp.route("/zones/<int:zone_id>")
class ZoneResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, ZoneSchema)
    def get(self, zone_id):
        """One no-fire zone."""
        return services.zone_view(services.zone_by_id(zone_id))

    @roles_required("admin")
    @blp.arguments(ZoneBaseSchema(partial=True))
    @blp.response(200, ZoneSchema)
    def patch(self, body, zone_id):
        """Change some of a zone's fields; `active: false` deactivates it (zones are never deleted)."""
        return services.zone_view(services.update_zone(current_principal().username, zone_id, body))


def _import_body_limit() -> None:
    """An import may be larger than other bodies (OPS_ZONE_IMPORT_MAX_BYTES), still bounded: over it, 413."""
    if request.endpoint == "zones.ZoneImport":
        request.max_content_length = current_app.config["OPS_ZONE_IMPORT_MAX_BYTES"]
        # Read now, whoever sends it: an answer (a 401) sent before the body is read closes the connection under
        # the front while it is still sending, and the front then answers for itself.
        request.get_data(cache=True)


blp.before_request(_import_body_limit)


@blp.route("/zones/import")
class ZoneImport(MethodView):
    @roles_required("admin")
    @blp.arguments(ImportBodySchema())
    @blp.arguments(ImportQuerySchema(), location="query")
    @blp.response(200, ImportAnswerSchema)
    @blp.alt_response(413, description="the file is larger than OPS_ZONE_IMPORT_MAX_BYTES")
    def post(self, body, query):
        """Import a GeoJSON FeatureCollection, one zone a feature (its properties the fields): one result per
        feature; a bad feature is refused whole and named while the good ones are stored (or, with
        `all_or_nothing=true`, nothing is stored unless every one is good)."""
        return services.import_zones(current_principal().username, body, query["all_or_nothing"])


@blp.route("/points/<code>/zones")
class PointZones(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.response(200, PointZonesSchema)
    def get(self, code):
        """The zones within the point's maximum range: distance, bearing, in sector, conflict, blocked azimuths."""
        return {"items": services.point_zones(point_by_code(code, status=404))}
