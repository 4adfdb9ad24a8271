"""Sign-in for pages: a session login (CSRF-protected form) or a bearer token, as the API takes."""

import functools

from flask import abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts.auth import Principal, current_principal, principal_for_token

PAGE_ROLES = ("commander", "auditor", "admin")


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that carry no cookie.

    Phones and API clients never send one, and the signer costs about as much as a bare request.
    """

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


class LoginForm(FlaskForm):
    """Username and password; Flask-WTF adds and checks the CSRF token."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CsrfForm(FlaskForm):
    """A form with only its CSRF token (sign-out)."""


def page_principal() -> Principal | None:
    """The caller of a page: the session's token, else an `Authorization: Bearer` header."""
    if "page_principal" not in g:
        token = session.get("token")
        g.page_principal = principal_for_token(token) if token else None
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
