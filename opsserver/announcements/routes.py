"""Endpoints for announcements (thin: load → service → dump); `?format=cap` answers a CAP 1.2 alert."""

from flask import Response
from flask.views import MethodView
from sqlalchemy import select

from ..accounts.auth import ALL_ROLES, current_principal, roles_required
from ..blueprint import Blueprint
from ..pagination import keyset_page
from ..registry.basemap import base_layer_for
from ..registry.services import point_by_code
from . import cap, services
from .models import Announcement, AnnouncementPoint
from .schemas import (AnnouncementBaseSchema, AnnouncementCreateSchema, AnnouncementGetQuerySchema,
                      AnnouncementListSchema, AnnouncementQuerySchema, AnnouncementSchema)

blp = Blueprint("announcements", __name__, url_prefix="/api/v1",
                description="Public announcements of ground operations (作业公告), their text and CAP alerts")


def county_names(app) -> dict[str, str]:
    """{a county as points store it (its English name in the demo): its Chinese name}, from the region's base
    layer (the names the maps show), for the notice; empty when no region is set."""
    layer = base_layer_for(app.config["OPS_MAP_REGION"])
    return {} if layer is None else {f["properties"]["name_en"]: f["properties"]["name_zh"]
                                     for f in layer["features"] if f["properties"]["level"] == "county"}


# The service may not import the base layer (its module reads the demo file, whose seeding calls the service):
# the app tells it where the counties' Chinese names come from.
blp.record_once(lambda state: state.app.extensions.setdefault(services.COUNTY_NAMES,
                                                              lambda: county_names(state.app)))


def _cap_answer(a: Announcement) -> Response:
    return Response(services.cap_document(a), mimetype=cap.MIMETYPE,
                    headers={"Content-Disposition": f'inline; filename="announcement-{a.id}.cap.xml"'})


@blp.route("/announcements")
class AnnouncementsResource(MethodView):
    @roles_required(*ALL_ROLES)
    @blp.arguments(AnnouncementQuerySchema(), location="query")
    @blp.response(200, AnnouncementListSchema)
    def get(self, query):
        """List announcements, newest first (filter by `status`, `point_code`)."""
        stmt = select(Announcement)
        if "status" in query:
            stmt = stmt.where(Announcement.status == query["status"])
        if "point_code" in query:
            point = point_by_code(query["point_code"])
            stmt = stmt.where(Announcement.id.in_(select(AnnouncementPoint.announcement_id).where(
                AnnouncementPoint.point_id == point.id)))
        page = keyset_page(stmt, Announcement.id, query["limit"], query["cursor"], descending=True)
        page["items"] = [services.announcement_view(a) for a in page["items"]]
        return page

    @roles_required("commander")
    @blp.arguments(AnnouncementCreateSchema())
    @blp.response(201, AnnouncementSchema)
    def post(self, body):
        """Draft an announcement (its points checked, its safety radius at least their range: 422 naming the
        field)."""
        return services.announcement_view(services.create_announcement(current_principal().username, body))


@blp.route("/announcements/<int:announcement_id>")
class AnnouncementResource(MethodView):
    @roles_required(*ALL_ROLES)
    # both answers of the one 200 (the JSON view, and the CAP alert with format=cap): the decorator names only one
    @blp.doc(responses={"200": {"description": "The announcement; with `format=cap`, its CAP 1.2 alert",
                                "content": {"application/json": {"schema": AnnouncementSchema},
                                            cap.MIMETYPE: {"schema": {"type": "string"}}}}})
    @blp.arguments(AnnouncementGetQuerySchema(), location="query")
    @blp.response(200, AnnouncementSchema, description="The announcement; with `format=cap`, its CAP 1.2 alert "
                                                       "(application/cap+xml)")
    def get(self, query, announcement_id):
        """One announcement with its Chinese notice (`text`) and English rendering (`text_en`), or its CAP alert."""
        a = services.announcement_by_id(announcement_id)
        if query["format"] == "cap":
            return _cap_answer(a)
        return services.announcement_view(a)

    @roles_required("commander")
    @blp.arguments(AnnouncementBaseSchema(partial=True))
    @blp.response(200, AnnouncementSchema)
    def patch(self, body, announcement_id):
        """Change a draft's fields; a published announcement is never edited (409, nothing written)."""
        return services.announcement_view(
            services.update_announcement(current_principal().username, announcement_id, body))


@blp.route("/announcements/<int:announcement_id>/publish")
class PublishResource(MethodView):
    @roles_required("commander")
    @blp.response(200, AnnouncementSchema)
    def post(self, announcement_id):
        """Publish a draft: its text and points are frozen; the announcement it supersedes stops covering rounds."""
        return services.announcement_view(
            services.publish_announcement(current_principal().username, announcement_id))
