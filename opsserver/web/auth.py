"""Sign-in for pages: a session login (CSRF-protected form, a server-side session) or a bearer token, as the
API takes; and where a login may send the browser next."""

import functools
import re
from urllib.parse import unquote, urlsplit

from flask import abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts.auth import Principal, current_principal, principal_for_token

PAGE_ROLES = ("commander", "auditor", "admin")
# Printable ASCII without the space: no control character, whitespace or look-alike Unicode slash
# reaches a browser's URL parser, which strips or folds such characters into `//` (another site).
_PLAIN = re.compile(r"[!-~]+")
_DECODINGS = 4  # more layers of percent-encoding than this is no link anyone writes


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that carry no cookie.

    Phones and API clients never send one, and the signer costs about as much as a bare request.
    """

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def _local_path(value: str) -> bool:
    if not _PLAIN.fullmatch(value) or "\\" in value:  # browsers read a backslash as a slash
        return False
    if not value.startswith("/") or value.startswith("//"):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (the caller goes to its default page).

    Every percent-decoded form of it must be such a path too: a check of one form alone is passed by
    encoding the attack once more (`/%2F%2Fevil`, `/%5Cevil`, `/%2509/evil`).
    """
    value = target or ""
    for _ in range(_DECODINGS):
        if not _local_path(value):
            return None
        decoded = unquote(value)
        if decoded == value:
            return target
        value = decoded
    return None


class LoginForm(FlaskForm):
    """Username and password; Flask-WTF adds and checks the CSRF token."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CsrfForm(FlaskForm):
    """A form with only its CSRF token (sign-out)."""


def page_principal() -> Principal | None:
    """The caller of a page: the session's record, else an `Authorization: Bearer` header.

    The signed cookie holds only the session's random id (`sid`); the record is a token row of kind
    'session', so disabling the account or signing out ends it, and the id is no bearer token.
    """
    if "page_principal" not in g:
        sid = session.get("sid")
        g.page_principal = principal_for_token(sid, kind="session") if isinstance(sid, str) else None
        if g.page_principal is None and request.headers.get("Authorization"):
            g.page_principal = current_principal()
    return g.page_principal


def page_roles_required(*roles: str):
    """Send a browser without a session to the login page; refuse other roles with 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            who = page_principal()
            if who is None:
                if request.headers.get("Authorization"):
                    abort(401)
                return redirect(url_for("web.login", next=request.full_path))
            if who.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper._ops_roles = roles
        return wrapper

    return decorator
