"""The admin pages' forms: Flask-WTF adds and checks the CSRF token and reads each input as its type; what a value
may be is the API's schema's to say (common.schema_load), so these fields carry no rules of their own beyond
"may be left blank" (Optional stops a blank number from being read as a bad one)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FloatField, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms import TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from rules.zones import DEFAULT_BUFFER_M

from ...accounts.models import ROLES
from ...ammo.models import MOVEMENT_KINDS
from ...registry.models import EQUIPMENT
from .common import EQUIPMENT_NAMES, MOVEMENT_NAMES, ROLE_NAMES

BLANK = SelectChoice("", "—")


def _choices(codes, names) -> list[SelectChoice]:
    return [SelectChoice(code, names[code]) for code in codes]


def choices(pairs) -> list[SelectChoice]:
    """A select's options: none chosen first, then (value, label) pairs."""
    return [BLANK, *(SelectChoice(value, label) for value, label in pairs)]


class AccountCreateForm(FlaskForm):
    """A new account; a crew account names its crew member."""

    # Never the browser's saved sign-in: an admin's own password autofilled here would become someone else's.
    username = StringField(_l("Username"), render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "new-password"})
    role = SelectField(_l("Role"), choices=_choices(ROLES, ROLE_NAMES))
    crew_id = SelectField(_l("Crew member"), choices=[BLANK], validate_choice=False)


class AccountChangeForm(FlaskForm):
    """A change of an account's role, crew member or password (a blank password stays as it is)."""

    role = SelectField(_l("Role"), choices=_choices(ROLES, ROLE_NAMES))
    crew_id = SelectField(_l("Crew member"), choices=[BLANK], validate_choice=False)
    password = PasswordField(_l("New password"), render_kw={"autocomplete": "new-password"})


class AccountActiveForm(FlaskForm):
    """Disable or enable an account: one button; `active` is what it becomes."""

    active = HiddenField()


class PointForm(FlaskForm):
    """An operating point's fields as in SPEC's words (the code only when it is created)."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    county = StringField(_l("County"))
    township = StringField(_l("Township"))
    city = StringField(_l("City"))
    province = StringField(_l("Province"))
    latitude = FloatField(_l("Latitude"), validators=[Optional()])
    longitude = FloatField(_l("Longitude"), validators=[Optional()])
    elevation_m = FloatField(_l("Elevation (m)"), validators=[Optional()])
    equipment = SelectField(_l("Equipment"), choices=_choices(EQUIPMENT, EQUIPMENT_NAMES))
    launchers = IntegerField(_l("Launchers"), validators=[Optional()])
    sector_start_deg = FloatField(_l("Safe sector from (°)"), validators=[Optional()])
    sector_end_deg = FloatField(_l("Safe sector to (°)"), validators=[Optional()])
    max_range_km = FloatField(_l("Maximum range (km)"), validators=[Optional()])
    max_height_m = FloatField(_l("Maximum height (m)"), validators=[Optional()])
    geofence_m = FloatField(_l("Geofence (m)"), validators=[Optional()])
    min_crew = IntegerField(_l("Minimum crew"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)


POINT_FIELDS = ("name", "county", "township", "city", "province", "latitude", "longitude", "elevation_m",
                "equipment", "launchers", "sector_start_deg", "sector_end_deg", "max_range_km", "max_height_m",
                "geofence_m", "min_crew", "active")


class CrewForm(FlaskForm):
    """A new crew member with their certificate."""

    name = StringField(_l("Name"))
    phone = StringField(_l("Phone"))
    certificate_no = StringField(_l("Certificate no."))
    certificate_expires = StringField(_l("Certificate expires"))
    home_point = SelectField(_l("Home point"), choices=[BLANK], validate_choice=False)


class AmmoTypeForm(FlaskForm):
    """A new type in the ammunition catalogue."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    agent = StringField(_l("Agent"))
    agent_g_per_unit = FloatField(_l("Agent per unit (g)"), validators=[Optional()])
    placeholder = BooleanField(_l("Placeholder values (demo)"))


class MovementForm(FlaskForm):
    """A movement in the ledger: receipt, transfer, return, recovered dud or adjustment."""

    kind = SelectField(_l("Movement"), choices=_choices(MOVEMENT_KINDS, MOVEMENT_NAMES))
    point_code = SelectField(_l("Point"), choices=[BLANK], validate_choice=False)
    ammo_type = SelectField(_l("Ammunition type"), choices=[BLANK], validate_choice=False)
    quantity = IntegerField(_l("Quantity"), validators=[Optional()])
    to_point_code = SelectField(_l("To point (transfer)"), choices=[BLANK], validate_choice=False)
    reference = StringField(_l("Reference"))
    reason = TextAreaField(_l("Reason (adjustment)"))


class ZoneForm(FlaskForm):
    """A no-fire zone's fields; its geometry is GeoJSON text (a geometry object, as the API takes it). The kind's
    choices are set per request (their labels in the reader's language)."""

    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=[BLANK], validate_choice=False)
    buffer_m = FloatField(_l("Buffer (m)"), validators=[Optional()], default=int(DEFAULT_BUFFER_M))
    notes = TextAreaField(_l("Notes"))
    # GeoJSON is code, not text for a person: translate="no" (and no spelling marks in it).
    geometry = TextAreaField(_l("Geometry (GeoJSON)"),
                             render_kw={"rows": 8, "spellcheck": "false", "translate": "no"})


class ZoneActiveForm(FlaskForm):
    """Deactivate or reactivate a zone (never delete it): one button; `active` is what it becomes."""

    active = HiddenField()


class ZoneImportForm(FlaskForm):
    """A GeoJSON FeatureCollection file: one zone a feature, its properties the zone's fields."""

    file = FileField(_l("GeoJSON file (FeatureCollection)"),
                     render_kw={"accept": ".geojson,.json,application/geo+json"})


class AuditFilterForm(FlaskForm):
    """The audit page's filters (read from the query string: a search, so no CSRF token)."""

    class Meta:
        csrf = False

    round_id = IntegerField(_l("Round"), validators=[Optional()])
    point_code = StringField(_l("Point"))
    since = DateTimeLocalField(_l("From"), validators=[Optional()])
    until = DateTimeLocalField(_l("Until"), validators=[Optional()])
    actor = StringField(_l("Actor"))
    action = StringField(_l("Action"))


class LedgerFilterForm(FlaskForm):
    """The ledger's filters by point and type (query string, no CSRF token)."""

    class Meta:
        csrf = False

    point_code = SelectField(_l("Point"), choices=[BLANK], validate_choice=False)
    ammo_type = SelectField(_l("Ammunition type"), choices=[BLANK], validate_choice=False)
