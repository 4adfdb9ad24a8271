"""What the admin and audit pages share: their blueprint, the reader's words for codes, and the one way a form's
input reaches a service (its CSRF and types checked by WTForms, its values by the API's own schema, the
service's refusals shown on the form's fields), so a page accepts exactly what the API accepts."""

import re

import marshmallow as ma
from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import rules

from ...errors import ProblemError
from ...extensions import db
from ..auth import page_principal

bp = Blueprint("admin", __name__)

# The reader's words for the codes the pages show (the codes stay in the forms' values).
ROLE_NAMES = {"crew": _l("crew"), "commander": _l("commander"), "auditor": _l("auditor"), "admin": _l("admin")}
EQUIPMENT_NAMES = {"rocket": _l("rocket launcher"), "gun": _l("anti-aircraft gun"), "burner": _l("ground burner")}
MOVEMENT_NAMES = {"receipt": _l("receipt"), "transfer": _l("transfer"), "return": _l("return"),
                  "recovered_dud": _l("recovered dud"), "adjustment": _l("adjustment")}
ENTRY_NAMES = {**MOVEMENT_NAMES, "transfer_out": _l("transfer out"), "transfer_in": _l("transfer in"),
               "consumption": _l("consumption (firing report)")}
CERTIFICATE_NAMES = {"valid": _l("valid"), "expiring": _l("expiring within 30 days"), "expired": _l("expired")}

# marshmallow's and the schemas' messages, in the reader's language (numbers kept from the English text).
_BETWEEN = re.compile(r"Must be greater than (or equal to )?(?P<min>\S+) and less than (or equal to )?(?P<max>\S+)\.")
_AT_LEAST = re.compile(r"Must be greater than (or equal to )?(?P<min>\S+)\.")
_AT_MOST = re.compile(r"Must be less than (or equal to )?(?P<max>\S+)\.")
_LENGTH = re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.")
_LONGER = re.compile(r"Longer than maximum length (?P<max>\d+)\.")
_YEARS = re.compile(r"Must be between the years (?P<min>\d+) and (?P<max>\d+)\.")
_HOLDS = re.compile(r"(?P<point>\S+) holds (?P<held>-?\d+) (?P<type>\S+); cannot (?P<kind>\w+) (?P<qty>\d+)\.")
_FIXED = {
    "Missing data for required field.": _l("This field is required."),
    "Not a valid number.": _l("Not a number."),
    "Not a valid integer.": _l("Not a whole number."),
    "Not a valid date.": _l("Not a date."),
    "Not a valid boolean.": _l("Choose yes or no."),
    "Must not contain control characters.": _l("Must not contain control characters."),
    "Use 2–20 capital letters, digits, '-' or '_'.": _l("Use 2–20 capital letters, digits, '-' or '_'."),
    "Use 1–20 capital letters, digits, '-' or '_'.": _l("Use 1–20 capital letters, digits, '-' or '_'."),
    "Not a phone number.": _l("Not a phone number."),
    "String does not match expected pattern.": _l("Not in the expected form."),
    "Must be a positive count.": _l("Must be a positive count."),
    "An adjustment changes stock by a non-zero amount.": _l("An adjustment changes stock by a non-zero amount."),
    "An adjustment needs its reason.": _l("An adjustment needs its reason."),
    "A transfer names the point it goes to.": _l("A transfer names the point it goes to."),
    "Only a transfer goes to another point.": _l("Only a transfer goes to another point."),
    "A transfer goes to another point.": _l("A transfer goes to another point."),
    "already exists": _l("This already exists."),
    "A crew account must be linked to a crew member.": _l("A crew account must be linked to a crew member."),
    "the last active admin": _l("The last active admin cannot be disabled or given another role."),
    rules.NO_WIDTH_REASON: _l("The safe sector needs a width: its start and end must differ (0 and 360 for every "
                              "direction)."),
}


def localized(message: str) -> str:
    """One refusal of the schema or a service in the reader's language; a text it does not know stays as is."""
    if message in _FIXED:
        return str(_FIXED[message])
    for pattern, text in ((_BETWEEN, _l("Must be between %(min)s and %(max)s.")),
                          (_AT_LEAST, _l("Must be at least %(min)s.")), (_AT_MOST, _l("Must be at most %(max)s.")),
                          (_LENGTH, _l("Must be %(min)s to %(max)s characters long.")),
                          (_LONGER, _l("At most %(max)s characters.")),
                          (_YEARS, _l("Must be in the years %(min)s to %(max)s."))):
        found = pattern.fullmatch(message)
        if found:
            return str(text) % found.groupdict()
    held = _HOLDS.fullmatch(message)
    if held:
        return _("%(point)s holds %(held)s %(type)s: %(kind)s of %(qty)s is more than that.",
                 **{**held.groupdict(), "kind": MOVEMENT_NAMES.get(held["kind"], held["kind"])})
    if message.startswith("Must be one of:"):
        return _("Choose one of the values offered.")
    if message.startswith("No crew member with id"):
        return _("There is no such crew member.")
    if message.startswith("No operating point with code"):
        return _("There is no such point.")
    if message.startswith("Unknown ammunition type"):
        return _("There is no such ammunition type.")
    return message


def _flat(messages) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    if isinstance(messages, (list, tuple)):
        return [m for value in messages for m in _flat(value)]
    return [str(messages)]


def put_errors(form, errors: dict[str, list[str]]) -> None:
    """Show each refusal on the form's field of that name (others at the top of the form)."""
    for name, messages in errors.items():
        texts = [localized(m) for m in _flat(messages)]
        field = form._fields.get(name) if name != "csrf_token" else None
        if field is not None:
            field.errors = [*field.errors, *texts] if isinstance(field.errors, list) else texts
        else:
            form.form_errors.extend(texts)


def schema_load(form, schema: ma.Schema, data: dict) -> dict | None:
    """`data` loaded by the API's schema, or None with each refusal shown on the form."""
    try:
        return schema.load(data)
    except ma.ValidationError as err:
        put_errors(form, err.messages if isinstance(err.messages, dict) else {"_schema": err.messages})
        return None


def run_service(form, call):
    """Run the service's command; a refusal (ProblemError) is shown on the form's fields and answers None.
    The service wrote nothing then: each command is one transaction, rolled back on its refusal."""
    try:
        return call()
    except ProblemError as err:
        db.session.rollback()  # end the refused command's transaction (and release the write lock) here
        if err.status == 404:  # the record the form is about is gone (a stale page): the site's 404 page
            raise
        fields = {e["field"]: [e["detail"]] for e in err.errors if e.get("field")}
        put_errors(form, fields or {"_schema": [err.detail]})
        if err.status == 409 and not fields:
            form.form_errors.append(localized(err.detail))
        return None


def done(message: str, endpoint: str, **values):
    """After a write: the confirmation for the next page, and the redirect to it (POST → redirect → GET)."""
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))


def actor() -> str:
    """The signed-in person's username, as the services record it in the audit log."""
    return page_principal().username


def present(form, names) -> dict:
    """The named fields' values that were given (blank inputs are left out: the schema says what is required)."""
    out = {}
    for name in names:
        value = form[name].data
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        out[name] = value.strip() if isinstance(value, str) else value
    return out
