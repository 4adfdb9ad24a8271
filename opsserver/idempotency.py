"""Idempotency records: the same request again returns the first answer and creates nothing."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .canonical import canonical_json
from .database.unitofwork import UnitOfWork
from .database.utc import UTCDateTime, now_utc
from .errors import ProblemError
from .extensions import db, session_work


class IdempotencyRecord(db.Model):
    """The first 2xx answer to a request carrying this key."""

    __tablename__ = "idempotency_records"

    # Keys are the client's; scoping them to the account keeps two phones' counters from colliding.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(80))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


def request_hash(body) -> str:
    """Digest of the request's JSON, independent of key order and whitespace."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _replay(record, endpoint: str, digest: str) -> tuple[int, dict]:
    stored_endpoint, stored_digest, status, response = record
    if stored_endpoint != endpoint or stored_digest != digest:
        raise ProblemError(422, "This Idempotency-Key was used before with a different request; "
                                "send a new key for a new request.", type_="idempotency-key-reuse",
                           errors=[{"field": "Idempotency-Key", "location": "headers",
                                    "detail": "reused with a different body"}])
    return status, json.loads(response)


_TABLE = IdempotencyRecord.__table__
_LOOKUP = (select(_TABLE.c.endpoint, _TABLE.c.request_hash, _TABLE.c.status, _TABLE.c.response)
           .where(_TABLE.c.account_id == bindparam("account_id"), _TABLE.c.key == bindparam("key")))
_INSERT = _TABLE.insert()


def run_once(account_id: int, key: str, endpoint: str, body, command: Callable[[bool], tuple[int, dict]],
             on: UnitOfWork | None = None) -> tuple[int, dict, bool]:
    """Run `command` once per key (of this account) and commit its writes together with the answer.

    `command(optimistic)` begins the write transaction of the unit of work `on` (the session's by default)
    itself, after its own reads, and writes without committing. The first try is optimistic: retries
    are rare, so instead of looking the key up first, the unique key (and the row's own id) refuse a
    repeat at insert time; the second try then looks up the stored answer, or runs `command(False)`,
    which checks for an existing row itself.
    Returns (status, answer, replayed). A problem raised by `command` is not remembered (its writes are
    rolled back), so a corrected request may reuse the key.
    """
    work = on or session_work
    digest = request_hash(body)
    where = {"account_id": account_id, "key": key}
    for optimistic in (True, False):
        if not optimistic:
            record = work.connection.execute(_LOOKUP, where).first()
            if record is not None:
                return (*_replay(record, endpoint, digest), True)
        try:
            status, answer = command(optimistic)
            work.begin_write()  # a no-op when `command` wrote; a replay of a stored row only records its key
            work.connection.execute(_INSERT, {**where, "endpoint": endpoint, "request_hash": digest,
                                              "status": status, "response": canonical_json(answer),
                                              "created_at": now_utc()})
            work.commit()
            return status, answer, False
        except IntegrityError:
            work.rollback()
            if not optimistic:
                # A concurrent twin of this request stored the key between our lookup and our insert.
                record = work.connection.execute(_LOOKUP, where).first()
                if record is None:
                    raise
                return (*_replay(record, endpoint, digest), True)
        except BaseException:
            work.rollback()
            raise
    raise AssertionError("unreachable")
