"""Accounts, their bearer tokens and page sessions, and the counters of the login limits."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

ROLES = ("crew", "commander", "auditor", "admin")
TOKEN_KINDS = ("bearer", "session")  # an API token, or a page session (its id in the signed cookie)


class Account(db.Model):
    """A login. A `crew` account is linked to exactly one crew member."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crew_members.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    crew = relationship("CrewMember", lazy="raise")


class Token(db.Model):
    """A bearer token or a page session, stored only as its SHA-256; revoked ones keep their row for the record.

    A page session is a token of kind 'session': the cookie holds its random id, so disabling the account
    or signing out ends it here, and the id is no bearer token for the API.
    """

    __tablename__ = "tokens"
    __table_args__ = (CheckConstraint("kind IN ('bearer', 'session')", name="ck_tokens_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="bearer", server_default="bearer")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(db.Model):
    """One failed login, kept for the window of the lockouts (older rows are deleted as new ones come)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_account_addr", "username", "remote_addr", "at"),
                      Index("ix_login_failures_account", "username", "at"),
                      Index("ix_login_failures_addr", "remote_addr", "known", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))  # as typed: an unknown one is counted too
    remote_addr: Mapped[str] = mapped_column(String(64))
    known: Mapped[bool] = mapped_column(Boolean)  # whether the username named an account
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)


class RateLimitCounter(db.Model):
    """One fixed-window counter of the `limits` library when it counts in the app's database (ratelimit)."""

    __tablename__ = "rate_limit_counters"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch, as `limits` keeps it
