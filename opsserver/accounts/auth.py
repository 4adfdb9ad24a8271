"""Bearer-token authentication and the role check every endpoint uses."""

import functools
import hashlib
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import bindparam, select

from ..database.utc import UTCDateTime, now_utc
from ..errors import ProblemError
from ..extensions import unit_of_work
from .models import Account, Token


@dataclass(frozen=True)
class Principal:
    """Who is calling: a plain value, so nothing lazy-loads after the request's transaction."""

    account_id: int
    username: str
    role: str
    crew_id: int | None


def hash_token(token: str) -> str:
    """Tokens are stored only as this digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


_BY_TOKEN = (select(Account.id, Account.username, Account.role, Account.crew_id)
             .join(Token, Token.account_id == Account.id)
             .where(Token.token_hash == bindparam("digest"), Token.kind == bindparam("kind"),
                    Token.revoked_at.is_(None), Token.expires_at > bindparam("now", type_=UTCDateTime),
                    Account.active.is_(True)))


def principal_for_token(token: str, kind: str = "bearer") -> Principal | None:
    """The account behind a live (unexpired, unrevoked) token of this kind, or None.

    The kind keeps the two apart: a page session's id (kind 'session') is no bearer token for the API.
    """
    # On the request's own connection (in autocommit: the lookup leaves no transaction behind), which a
    # check-in or a firing report then writes on.
    row = unit_of_work().connection.execute(
        _BY_TOKEN, {"digest": hash_token(token), "kind": kind, "now": now_utc()}).first()
    return Principal(*row) if row else None


def current_principal() -> Principal | None:
    """The caller of this request, resolved once."""
    if "principal" not in g:
        token = _bearer()
        g.principal = principal_for_token(token) if token else None
        g.token = token
    return g.principal


def unauthorized() -> ProblemError:
    return ProblemError(401, "A valid bearer token is required.", type_="unauthorized",
                        headers={"WWW-Authenticate": 'Bearer realm="ops"'})


def roles_required(*roles: str):
    """Refuse the view with 401 without a live token and 403 for any role not listed."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            who = current_principal()
            if who is None:
                raise unauthorized()
            if who.role not in roles:
                raise ProblemError(403, f"The role '{who.role}' may not do this; allowed: {', '.join(roles)}.",
                                   type_="forbidden")
            return view(*args, **kwargs)

        wrapper._ops_roles = roles  # read by the docs and the authorization-matrix test
        return wrapper

    return decorator


ALL_ROLES = ("crew", "commander", "auditor", "admin")
