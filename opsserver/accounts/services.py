"""Account operations: create, log in (issue a token), log out; each one transaction with its audit event."""

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..database import begin_write, lock_for, now_utc
from ..errors import ProblemError, field_error
from ..extensions import db
from .auth import Principal, hash_token
from .models import ROLES, Account, Token
from .ratelimit import check_login_rate

_hashers: dict[bool, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    fast = bool(current_app.config.get("OPS_PASSWORD_HASH_FAST"))
    if fast not in _hashers:
        # Tests use tiny Argon2 parameters; production keeps argon2-cffi's (slow) defaults.
        _hashers[fast] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
    return _hashers[fast]


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher().hash(password)


def create_account(actor: str, username: str, password: str, role: str, crew_id: int | None = None) -> Account:
    """Create an account; a crew account must name an existing crew member."""
    from ..registry.models import CrewMember

    begin_write(db.session)
    if role not in ROLES:
        raise field_error("role", f"Unknown role '{role}'.")
    if role == "crew" and crew_id is None:
        raise field_error("crew_id", "A crew account must be linked to a crew member.")
    if crew_id is not None and db.session.get(CrewMember, crew_id) is None:
        raise field_error("crew_id", f"No crew member with id {crew_id}.")
    if db.session.execute(select(Account.id).where(Account.username == username)).first():
        raise ProblemError(409, f"The username '{username}' is taken.", type_="conflict",
                           errors=[{"field": "username", "location": "json", "detail": "already exists"}])
    account = Account(username=username, password_hash=hash_password(password), role=role, crew_id=crew_id)
    db.session.add(account)
    db.session.flush()
    audit.append(actor, "account.create", "account", account.id,
                 {"username": username, "role": role, "crew_id": crew_id})
    db.session.commit()
    return account


def _recent_failures(username: str, since: datetime) -> int:
    return db.session.execute(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.entity == "account",
            AuditEvent.entity_id == username, AuditEvent.at >= since)
    ).scalar_one()


def _locked_out(username: str, remote_addr: str | None):
    """Record the refused attempt and answer 429 until the window passes."""
    begin_write(db.session)
    audit.append("anonymous", "auth.login_locked", "account", username, {"remote_addr": remote_addr})
    db.session.commit()
    raise ProblemError(429, "Too many failed logins for this account; try again later.", type_="locked-out",
                       headers={"Retry-After": str(int(current_app.config["OPS_LOGIN_WINDOW"].total_seconds()))})


def login(username: str, password: str, remote_addr: str | None) -> tuple[str, Token, Account]:
    """Check the password and issue a token; failures are audited and lock the account out after a limit."""
    check_login_rate(remote_addr, username)
    cfg = current_app.config
    since = now_utc() - cfg["OPS_LOGIN_WINDOW"]
    failures = _recent_failures(username, since)
    if failures >= cfg["OPS_LOGIN_MAX_FAILURES"]:
        _locked_out(username, remote_addr)
    account = db.session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    ok = False
    if account is not None and account.active:
        try:
            ok = _hasher().verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    # The slow password check ran outside the write lock; only the record of it is written under it.
    begin_write(db.session)
    lock_for(db.session, f"login:{username}", 0)  # PostgreSQL: one attempt per account at a time from here
    failures = _recent_failures(username, since)  # again, under the lock: parallel guesses cannot overtake it
    if failures >= cfg["OPS_LOGIN_MAX_FAILURES"]:
        _locked_out(username, remote_addr)
    if not ok:
        audit.append("anonymous", "auth.login_failed", "account", username,
                     {"remote_addr": remote_addr, "failures_in_window": failures + 1})
        db.session.commit()
        raise ProblemError(401, "Unknown username or wrong password.", type_="bad-credentials")
    raw = secrets.token_urlsafe(32)
    token = Token(token_hash=hash_token(raw), account_id=account.id, expires_at=now_utc() + cfg["OPS_TOKEN_TTL"])
    db.session.add(token)
    db.session.flush()
    audit.append(account.username, "auth.login", "account", account.id,
                 {"token_id": token.id, "expires_at": token.expires_at, "remote_addr": remote_addr})
    db.session.commit()
    return raw, token, account


def logout(who: Principal, raw_token: str) -> None:
    """Revoke the token used for this request."""
    begin_write(db.session)
    token = db.session.execute(select(Token).where(Token.token_hash == hash_token(raw_token))).scalar_one()
    token.revoked_at = now_utc()
    audit.append(who.username, "auth.logout", "account", who.account_id, {"token_id": token.id})
    db.session.commit()


def whoami(who: Principal) -> dict:
    """What the crew phone page needs on opening: me, my shift, my point, its round and state, the time."""
    from ..operations import services as ops
    from ..operations.models import Round, RoundPoint
    from ..registry.models import CrewMember, Point, Shift
    from ..registry.schemas import CrewSchema, PointSchema, ShiftSchema
    from ..registry.services import crew_view, point_views, shift_view

    now = now_utc()
    answer = {"username": who.username, "role": who.role, "crew_id": who.crew_id, "server_time": now.isoformat(),
              "crew": None, "shift": None, "point": None, "round": None}
    if who.crew_id is None:
        return answer
    member = db.session.get(CrewMember, who.crew_id)
    answer["crew"] = CrewSchema().dump(crew_view(member))
    shift = db.session.execute(select(Shift).where(Shift.crew_id == who.crew_id, Shift.ends_at > now)
                               .order_by(Shift.starts_at).limit(1)).scalar_one_or_none()
    point = shift.point if shift else member.home_point
    if shift:
        answer["shift"] = {**ShiftSchema().dump(shift_view(shift)), "on_now": shift.starts_at <= now}
    if point is None:
        return answer
    answer["point"] = PointSchema().dump(point_views([db.session.get(Point, point.id)])[0])
    r = db.session.execute(select(Round).join(RoundPoint, RoundPoint.round_id == Round.id)
                           .where(RoundPoint.point_id == point.id, Round.activated_at.is_not(None),
                                  Round.closed_at.is_(None)).order_by(Round.activated_at.desc()).limit(1)
                           ).scalar_one_or_none()
    if r is not None:
        pr = next(p for p in ops.points_in_rounds([r], now)[r.id] if p.point.id == point.id)
        answer["round"] = {"id": r.id, "name": r.name, "purpose": r.purpose, "state": pr.state,
                           "colour": ops.colour(pr.state, bool(pr.flags)),
                           "open_window": ops.window_view(pr.open_window)}
    return answer
