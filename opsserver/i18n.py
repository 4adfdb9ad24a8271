"""The reader's language and the one way a time is shown to people.

Pages: `?lang=` (remembered in the session) > the session's choice > Simplified Chinese.
The API (`/api/...`): `?lang=` where a document takes it > `Accept-Language` (best match of zh, en) >
Simplified Chinese. The API sets no cookie: its callers are scripts and phones with tokens.
Times for people: the operations time zone with its offset, `2026-07-18 21:05 +08:00` (SPEC, Languages).
"""

from datetime import datetime

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from marshmallow import fields, validate

from rules import local_time

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
API_PREFIX = "/api/"


def _asked() -> str | None:
    """The `?lang=` of this request when it names a language we have."""
    if b"lang=" not in request.query_string:  # most requests: spare parsing the query string
        return None
    lang = request.args.get("lang")
    return lang if lang in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector: the reader's language for this request (see the module's rules)."""
    if not has_request_context():
        return DEFAULT
    asked = _asked()
    if request.path.startswith(API_PREFIX):
        return asked or request.accept_languages.best_match(LANGUAGES, default=DEFAULT)
    return asked or (session.get("lang") if session.get("lang") in LANGUAGES else DEFAULT)


def remember_language() -> None:
    """A page's `?lang=` is kept in the session, so every later page answers in it (sign-in keeps it too)."""
    if request.path.startswith(API_PREFIX):
        return
    asked = _asked()
    if asked is not None and session.get("lang") != asked:
        session["lang"] = asked


def current_lang() -> str:
    """`zh` or `en`: the language of this request's answer."""
    locale = get_locale() if has_request_context() else None
    return str(locale)[:2] if locale is not None and str(locale)[:2] in LANGUAGES else DEFAULT


def as_datetime(value) -> datetime | None:
    """A datetime from a datetime or an ISO 8601 string (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def format_time(value, with_date: bool = True) -> str:
    """A time as people read it: local (config OPS_TIMEZONE) with its offset, `2026-07-18 21:05 +08:00`
    (`with_date=False`: `21:05 +08:00`); a missing time is a dash."""
    value = as_datetime(value)
    return "—" if value is None else local_time(value, current_app.config["OPS_TIMEZONE"], with_date)


def lang_field() -> fields.String:
    """A document's `lang` query parameter (its text in zh or en; without it, `Accept-Language` decides)."""
    return fields.String(load_default=None, validate=validate.OneOf(LANGUAGES), metadata={
        "description": "the language of the document's text: zh (Simplified Chinese) or en; "
                       "default from Accept-Language, else zh"})
