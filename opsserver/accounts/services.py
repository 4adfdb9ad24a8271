"""Account operations: create, change (and stop), log in (a token or a page session), log out; each one
transaction with its audit event."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update

from ..audit import services as audit
from ..database.utc import now_utc
from ..database.writelock import begin_write, lock_for
from ..errors import ProblemError, field_error
from ..fields import CONTROL_MESSAGE, has_control
from ..extensions import db
from ..checkins.services import point_views
from ..operations.models import Round, RoundPoint
from ..operations.state import colour, points_in_rounds, window_view
from ..registry.models import CrewMember, Point, Shift
from ..registry.schemas import CrewSchema, PointSchema, ShiftSchema
from ..registry.services import crew_view, shift_view
from .auth import Principal, hash_token
from .lockout import Lockout, lockout, record_failure
from .models import ROLES, TOKEN_KINDS, Account, Token
from .ratelimit import check_login_rate

_hashers: dict[bool, PasswordHasher] = {}
_dummy_hashes: dict[bool, str] = {}


def _hasher() -> PasswordHasher:
    fast = bool(current_app.config.get("OPS_PASSWORD_HASH_FAST"))
    if fast not in _hashers:
        # Tests use tiny Argon2 parameters; production keeps argon2-cffi's (slow) defaults.
        _hashers[fast] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
    return _hashers[fast]


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher().hash(password)


def _password_matches(account: Account | None, password: str) -> bool:
    """One Argon2 check whoever asks: a username that names no account is checked against a dummy hash of the
    same cost, so the time of the answer does not tell which usernames exist."""
    fast = bool(current_app.config.get("OPS_PASSWORD_HASH_FAST"))
    if fast not in _dummy_hashes:
        _dummy_hashes[fast] = hash_password(secrets.token_urlsafe(24))
    try:
        return _hasher().verify(account.password_hash if account else _dummy_hashes[fast], password)
    except (VerificationError, InvalidHashError):
        return False


def _check_crew(role: str, crew_id: int | None) -> None:
    if role == "crew" and crew_id is None:
        raise field_error("crew_id", "A crew account must be linked to a crew member.")
    if crew_id is not None and db.session.get(CrewMember, crew_id) is None:
        raise field_error("crew_id", f"No crew member with id {crew_id}.")


def create_account(actor: str, username: str, password: str, role: str, crew_id: int | None = None) -> Account:
    """Create an account; a crew account must name an existing crew member."""
    password_hash = hash_password(password)  # slow: before the write lock
    begin_write(db.session)
    if role not in ROLES:
        raise field_error("role", f"Unknown role '{role}'.")
    _check_crew(role, crew_id)
    if db.session.execute(select(Account.id).where(Account.username == username)).first():
        raise ProblemError(409, f"The username '{username}' is taken.", type_="conflict",
                           errors=[{"field": "username", "location": "json", "detail": "already exists"}])
    account = Account(username=username, password_hash=password_hash, role=role, crew_id=crew_id)
    db.session.add(account)
    db.session.flush()
    audit.append(actor, "account.create", "account", account.id,
                 {"username": username, "role": role, "crew_id": crew_id})
    db.session.commit()
    return account


def revoke_tokens(account_id: int) -> int:
    """Revoke every live bearer token and page session of an account (in the caller's transaction)."""
    now = now_utc()
    return db.session.execute(update(Token).where(Token.account_id == account_id, Token.revoked_at.is_(None),
                                                  Token.expires_at > now).values(revoked_at=now)).rowcount


def update_account(actor: str, username: str, changes: dict) -> Account:
    """Change an account's `active`, `role`, `password` or `crew_id`. Disabling it, or a new password, revokes
    all its bearer tokens and page sessions in the same transaction; the last active admin is kept."""
    if not changes:
        raise field_error("(body)", "Nothing to change: name at least one of active, role, password, crew_id.")
    new_hash = hash_password(changes["password"]) if changes.get("password") is not None else None
    begin_write(db.session)
    # PostgreSQL: one account change at a time, taken before the reads, so two admins disabling each other
    # at once cannot both count the other as the remaining active admin (SQLite: the write lock does it).
    lock_for(db.session, "accounts", 0)
    account = db.session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    if account is None:
        raise ProblemError(404, f"No account '{username}'.", type_="not-found")
    wanted = {key: changes.get(key, getattr(account, key)) for key in ("active", "role", "crew_id")}
    if wanted["role"] not in ROLES:
        raise field_error("role", f"Unknown role '{wanted['role']}'.")
    _check_crew(wanted["role"], wanted["crew_id"])
    if account.role == "admin" and account.active and (wanted["role"] != "admin" or not wanted["active"]):
        others = db.session.execute(select(func.count()).select_from(Account).where(
            Account.role == "admin", Account.active.is_(True), Account.id != account.id)).scalar_one()
        if not others:
            field = "active" if not wanted["active"] else "role"
            raise ProblemError(409, "The last active admin cannot be disabled or given another role.",
                               type_="conflict", errors=[{"field": field, "location": "json",
                                                          "detail": "the last active admin"}])
    diff: dict = {}
    for key, value in wanted.items():
        if getattr(account, key) != value:
            diff[key] = [getattr(account, key), value]
            setattr(account, key, value)
    if new_hash is not None:
        account.password_hash = new_hash
        diff["password"] = "changed"  # that it changed; never the password nor its hash
    revoked = revoke_tokens(account.id) if diff.get("active") == [True, False] or new_hash is not None else 0
    if diff:
        audit.append(actor, "account.update", "account", account.id,
                     {"username": account.username, "changes": diff, "revoked_tokens": revoked})
    db.session.commit()
    return account


def _locked_out(username: str, remote_addr: str | None, lock: Lockout):
    """Record the refused attempt and answer 429 until the window passes."""
    begin_write(db.session)
    audit.append("anonymous", "auth.login_locked", "account", username,
                 {"remote_addr": remote_addr, "scope": lock.scope})
    db.session.commit()
    raise ProblemError(429, lock.detail, type_="locked-out", headers={"Retry-After": str(lock.retry_after)})


def login(username: str, password: str, remote_addr: str | None, kind: str = "bearer") -> tuple[str, Token, Account]:
    """Check the password and issue a bearer token or a page session (`kind`); failures are audited and
    counted, and lock out as lockout.py says."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    if has_control(username):  # no account has such a name, and PostgreSQL cannot store a NUL in the record
        raise field_error("username", CONTROL_MESSAGE)
    check_login_rate(remote_addr)
    if lock := lockout(username, remote_addr, now_utc()):
        _locked_out(username, remote_addr, lock)
    account = db.session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    ok = _password_matches(account, password) and account.active
    # The slow password check ran outside the write lock; only the record of it is written under it.
    begin_write(db.session)
    lock_for(db.session, f"login:{username}", 0)  # PostgreSQL: one attempt per account at a time from here
    now = now_utc()
    if lock := lockout(username, remote_addr, now):  # again, under the lock: parallel guesses cannot overtake it
        _locked_out(username, remote_addr, lock)
    if not ok:
        record_failure(username, remote_addr, account is not None, now)
        audit.append("anonymous", "auth.login_failed", "account", username, {"remote_addr": remote_addr})
        db.session.commit()
        raise ProblemError(401, "Unknown username or wrong password.", type_="bad-credentials")
    raw, token = _issue(account, kind, now)
    audit.append(account.username, "auth.login", "account", account.id,
                 {"token_id": token.id, "kind": kind, "expires_at": token.expires_at, "remote_addr": remote_addr})
    db.session.commit()
    return raw, token, account


def _issue(account: Account, kind: str, now) -> tuple[str, Token]:
    """A new token of `kind` for the account (in the caller's transaction); the raw value is shown once."""
    raw = secrets.token_urlsafe(32)
    token = Token(token_hash=hash_token(raw), account_id=account.id, kind=kind,
                  expires_at=now + current_app.config["OPS_TOKEN_TTL"])
    db.session.add(token)
    db.session.flush()
    return raw, token


def hand_over_to_phone(account: Account, raw_sid: str) -> tuple[str, Token] | None:
    """A crew account signed in at /login: its page session becomes a bearer token for the crew page, which
    talks to the API with one; the session is revoked in the same transaction. None when it has ended."""
    begin_write(db.session)
    now = now_utc()
    session_token = db.session.execute(select(Token).where(
        Token.token_hash == hash_token(raw_sid), Token.kind == "session", Token.account_id == account.id,
        Token.revoked_at.is_(None), Token.expires_at > now)).scalar_one_or_none()
    if session_token is None:
        db.session.rollback()
        return None
    session_token.revoked_at = now
    raw, token = _issue(account, "bearer", now)
    audit.append(account.username, "auth.handover", "account", account.id,
                 {"session_token_id": session_token.id, "token_id": token.id, "expires_at": token.expires_at})
    db.session.commit()
    return raw, token


def logout(who: Principal, raw_token: str, kind: str = "bearer") -> None:
    """Revoke the token (or page session) used for this request."""
    begin_write(db.session)
    token = db.session.execute(select(Token).where(Token.token_hash == hash_token(raw_token), Token.kind == kind,
                                                   Token.account_id == who.account_id,
                                                   Token.revoked_at.is_(None))).scalar_one_or_none()
    if token is None:  # ended already (signed out elsewhere, or the account was disabled)
        db.session.rollback()
        return
    token.revoked_at = now_utc()
    audit.append(who.username, "auth.logout", "account", who.account_id, {"token_id": token.id, "kind": kind})
    db.session.commit()


def whoami(who: Principal) -> dict:
    """What the crew phone page needs on opening: me, my shift, my point, its round and state, the time."""
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
        pr = next(p for p in points_in_rounds([r], now)[r.id] if p.point.id == point.id)
        answer["round"] = {"id": r.id, "name": r.name, "purpose": r.purpose, "state": pr.state,
                           "activated_at": r.activated_at.isoformat(),
                           "colour": colour(pr.state, bool(pr.flags)),
                           "open_window": window_view(pr.open_window)}
    return answer
