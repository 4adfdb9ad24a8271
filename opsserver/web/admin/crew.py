"""The crew page: every crew member (name, phone, certificate and its status, home point; a certificate that
expires within 30 days or has expired is flagged) and the form for a new one (the API's POST /crew)."""

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...registry import services
from ...registry.models import CrewMember, Point
from ...registry.schemas import CrewCreateSchema
from ..auth import page_roles_required
from .common import CERTIFICATE_NAMES, actor, bp, done, present, run_service, schema_load
from .forms import choices, CrewForm


def _point_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Point.code, Point.name).order_by(Point.code)).all()
    return choices((row.code, f"{row.code} {row.name}") for row in rows)


def _page(form: CrewForm | None = None, status_code: int = 200):
    if form is None:
        form = CrewForm(formdata=None)
        form.home_point.choices = _point_choices()
    members = db.session.execute(select(CrewMember).order_by(CrewMember.name, CrewMember.id)).scalars().all()
    return render_template("admin/crew.html", crew=[services.crew_view(m) for m in members], form=form,
                           certificate=CERTIFICATE_NAMES), status_code


@bp.get("/admin/crew")
@page_roles_required("admin")
def crew():
    """The crew members and the form for a new one."""
    return _page()


@bp.post("/admin/crew")
@page_roles_required("admin")
def crew_create():
    """Register a crew member with their certificate."""
    form = CrewForm()
    form.home_point.choices = _point_choices()
    if form.validate_on_submit():
        body = present(form, ("name", "phone", "certificate_no", "certificate_expires", "home_point"))
        data = schema_load(form, CrewCreateSchema(), body)
        if data is not None and run_service(form, lambda: services.create_crew(actor(), data)):
            return done(_("Crew member %(name)s added.", name=data["name"]), "admin.crew")
    return _page(form, 422)
