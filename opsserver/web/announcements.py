"""The announcements' pages: the list, a new draft, one announcement (its notice in the reader's language with the
Chinese original, the draft's edit form and publish button, links to its CAP alert and its printable A4 page).

Every write is the announcement service the API calls, its input loaded by the API's own schemas (a page accepts
exactly what the API accepts); the service's refusals are shown on the form in the reader's language.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import FloatField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..announcements import cap, services
from ..announcements.models import Announcement
from ..announcements.schemas import AnnouncementBaseSchema, AnnouncementCreateSchema
from ..extensions import db
from ..i18n import current_lang
from ..registry.models import Point
from .admin.common import actor, done, localized, run_service, schema_load
from .auth import PAGE_ROLES, CsrfForm, page_principal, page_roles_required

bp = Blueprint("announcement_pages", __name__, url_prefix="/announcements")

STATUS_NAMES = {"draft": _l("draft"), "published": _l("published"), "superseded": _l("superseded")}
FIELDS = ("purpose", "issuer", "contact_unit", "contact_person", "contact_phone", "safety_radius_km", "notes")
# The service's and the schema's refusals, in the reader's language (the codes and numbers they name kept).
_TEXTS = [
    (r"The period must end after it starts\.", _l("The period must end after it starts.")),
    (r"An announcement covers at most (?P<days>\d+) days\.", _l("An announcement covers at most %(days)s days.")),
    (r"The safety radius must reach every point's maximum range: (?P<code>\S+) reaches (?P<km>\S+) km\.",
     _l("The safety radius must reach every point's maximum range: %(code)s reaches %(km)s km.")),
    (r"Unknown point codes: (?P<codes>.*)\.", _l("Unknown points: %(codes)s.")),
    (r"Inactive points cannot be announced: (?P<codes>.*)\.", _l("Inactive points cannot be announced: %(codes)s.")),
    (r"A point is named once per announcement\.", _l("A point is named once per announcement.")),
    (r"Announcement (?P<id>\d+) is not a published announcement.*",
     _l("Announcement %(id)s is not published; only a published announcement can be superseded.")),
    (r"Announcement (?P<id>\d+) is (published|superseded); only a draft can be (edited|published)\..*",
     _l("Announcement %(id)s is no longer a draft: a published announcement is never edited; draft a new one "
        "that supersedes it.")),
    (r"Announcement (?P<id>\d+), which this one supersedes, is (?P<status>\w+).*",
     _l("Announcement %(id)s, which this one supersedes, is no longer published.")),
]
_PATTERNS = [(re.compile(p), t) for p, t in _TEXTS]


def refusal_text(message: str) -> str:
    """A refusal in the reader's language (a text it does not know stays as it is)."""
    for pattern, text in _PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return str(text) % found.groupdict()
    return localized(message)


class AnnouncementForm(FlaskForm):
    """A draft's fields; the period in the operations time zone (datetime-local has no offset)."""

    period_start = DateTimeLocalField(_l("Period from"), validators=[Optional()])
    period_end = DateTimeLocalField(_l("Period until"), validators=[Optional()])
    # one box a point: a season notice names all of them, a night's a few
    point_codes = SelectMultipleField(_l("Points"), choices=[], validate_choice=False,
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    purpose = StringField(_l("Purpose"))
    issuer = StringField(_l("Issuer"))
    contact_unit = StringField(_l("Contact unit"))
    contact_person = StringField(_l("Contact person"))
    contact_phone = StringField(_l("Contact phone"))
    safety_radius_km = FloatField(_l("Safety radius (km)"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"))
    supersedes = SelectField(_l("Supersedes"), choices=[], validate_choice=False)


def _form(**kwargs) -> AnnouncementForm:
    form = AnnouncementForm(**kwargs)
    form.point_codes.choices = [(c, f"{c} {n}") for c, n in db.session.execute(
        select(Point.code, Point.name).where(Point.active.is_(True)).order_by(Point.code))]
    form.supersedes.choices = [("", "—")] + [(str(i), f"#{i}") for i in db.session.execute(
        select(Announcement.id).where(Announcement.status == "published").order_by(Announcement.id.desc())).scalars()]
    return form


def _aware(local: datetime | None) -> str | None:
    tz = ZoneInfo(current_app.config["OPS_TIMEZONE"])
    return None if local is None else local.replace(tzinfo=tz).isoformat()


def _body(form: AnnouncementForm) -> dict:
    """What the form says, as the API's body would (blank fields left out: the schema says what is required)."""
    body = {}
    for name in ("period_start", "period_end"):
        if form[name].data is not None:
            body[name] = _aware(form[name].data)
    if form.point_codes.data:
        body["point_codes"] = list(form.point_codes.data)
    for name in FIELDS:
        value = form[name].data
        value = value.strip() if isinstance(value, str) else value
        if value not in (None, ""):
            body[name] = value
    body["supersedes"] = int(form.supersedes.data) if (form.supersedes.data or "").isdigit() else None
    return body


def _localize_errors(form: AnnouncementForm) -> None:
    for f in form:
        if f.errors and isinstance(f.errors, list):
            f.errors = [refusal_text(e) for e in f.errors]
    form.form_errors[:] = [refusal_text(e) for e in form.form_errors]


def _can_write() -> bool:
    who = page_principal()
    return who is not None and who.role == "commander"


@bp.get("")
@page_roles_required(*PAGE_ROLES)
def index():
    """Every announcement, newest first: its state, period, points, and who published it when."""
    items = db.session.execute(select(Announcement).order_by(Announcement.id.desc())).scalars().all()
    rows = [{"a": a, "points": services.points_of(a)} for a in items]
    return render_template("announcements/list.html", rows=rows, statuses=STATUS_NAMES, can_write=_can_write())


@bp.get("/new")
@page_roles_required("commander")
def new():
    """The form for a new draft (the period, the points, the purpose, the issuer and the contact)."""
    form = _form(formdata=None)
    if request.args.get("supersedes", "").isdigit():
        form.supersedes.data = request.args["supersedes"]
    return render_template("announcements/new.html", form=form)


@bp.post("")
@page_roles_required("commander")
def create():
    """Draft an announcement (the API's POST /announcements)."""
    form = _form()
    if form.validate_on_submit():
        data = schema_load(form, AnnouncementCreateSchema(), _body(form))
        made = data is not None and run_service(form, lambda: services.create_announcement(actor(), data))
        if made:
            return done(_("Announcement %(id)s drafted.", id=made.id), "announcement_pages.detail",
                        announcement_id=made.id)
    _localize_errors(form)
    return render_template("announcements/new.html", form=form), 422


def _detail(a: Announcement, form: AnnouncementForm | None = None, status_code: int = 200,
            refused: list[str] | None = None):
    view = services.announcement_view(a)
    if form is None and a.status == "draft":
        form = _form(formdata=None, obj=a)
        tz = ZoneInfo(current_app.config["OPS_TIMEZONE"])
        form.period_start.data = a.period_start.astimezone(tz).replace(tzinfo=None)
        form.period_end.data = a.period_end.astimezone(tz).replace(tzinfo=None)
        form.point_codes.data = view["point_codes"]
        form.supersedes.data = str(a.supersedes_id or "")
    return render_template("announcements/detail.html", a=view, form=form, publish_form=CsrfForm(),
                           statuses=STATUS_NAMES, can_write=_can_write(), lang=current_lang(),
                           refused=refused or []), status_code


@bp.get("/<int:announcement_id>")
@page_roles_required(*PAGE_ROLES)
def detail(announcement_id: int):
    """One announcement: the notice, its points, its lifecycle; a draft's edit form and publish button."""
    return _detail(services.announcement_by_id(announcement_id))


@bp.post("/<int:announcement_id>")
@page_roles_required("commander")
def update(announcement_id: int):
    """Save a draft's fields (the API's PATCH; a published one: refused, nothing written)."""
    a = services.announcement_by_id(announcement_id)
    form = _form()
    if form.validate_on_submit():
        data = schema_load(form, AnnouncementBaseSchema(partial=True), _body(form))
        if data is not None and run_service(form, lambda: services.update_announcement(actor(), a.id, data)):
            return done(_("Announcement %(id)s saved.", id=a.id), "announcement_pages.detail", announcement_id=a.id)
    db.session.rollback()
    _localize_errors(form)
    return _detail(services.announcement_by_id(announcement_id), form, 422)


@bp.post("/<int:announcement_id>/publish")
@page_roles_required("commander")
def publish(announcement_id: int):
    """Publish a draft (the API's POST .../publish)."""
    form = CsrfForm()
    a = services.announcement_by_id(announcement_id)
    if form.validate_on_submit() and run_service(form, lambda: services.publish_announcement(actor(), a.id)):
        return done(_("Announcement %(id)s published.", id=a.id), "announcement_pages.detail", announcement_id=a.id)
    refused = list(dict.fromkeys(refusal_text(e) for e in form.form_errors)) or [
        _("The form expired; please send it again.")]
    db.session.rollback()
    return _detail(services.announcement_by_id(announcement_id), status_code=409, refused=refused)


@bp.get("/<int:announcement_id>/print")
@page_roles_required(*PAGE_ROLES)
def print_page(announcement_id: int):
    """The notice on one A4 page for printing and posting: the Chinese notice (`?lang=en`: the English one)."""
    view = services.announcement_view(services.announcement_by_id(announcement_id))
    return render_template("announcements/print.html", a=view, lang=current_lang(), statuses=STATUS_NAMES)


@bp.get("/<int:announcement_id>/cap.xml")
@page_roles_required(*PAGE_ROLES)
def cap_alert(announcement_id: int):
    """The CAP 1.2 alert, as the API's `?format=cap` answers it, for the page session."""
    a = services.announcement_by_id(announcement_id)
    return Response(services.cap_document(a), mimetype=cap.MIMETYPE,
                    headers={"Content-Disposition": f'inline; filename="announcement-{a.id}.cap.xml"'})
