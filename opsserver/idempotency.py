"""Idempotency records: the same request again returns the first answer and creates nothing."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .accounts.auth import Principal
from .audit.services import canonical_json
from .database import Prepared, UTCDateTime, begin_write, now_utc
from .errors import ProblemError
from .extensions import db


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


def _replay(record, who: Principal, endpoint: str, digest: str) -> tuple[int, dict]:
    if record.endpoint != endpoint or record.request_hash != digest:
        raise ProblemError(422, "This Idempotency-Key was used before with a different request; "
                                "send a new key for a new request.", type_="idempotency-key-reuse",
                           errors=[{"field": "Idempotency-Key", "location": "headers",
                                    "detail": "reused with a different body"}])
    return record.status, json.loads(record.response)


_TABLE = IdempotencyRecord.__table__
_LOOKUP = select(_TABLE).where(_TABLE.c.account_id == bindparam("account_id"), _TABLE.c.key == bindparam("key"))
_INSERT = Prepared(_TABLE.insert())


def _lookup(account_id: int, key: str):
    return db.session.connection().execute(_LOOKUP, {"account_id": account_id, "key": key}).first()


def run_once(who: Principal, key: str, endpoint: str, body,
             work: Callable[[bool], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run `work` once per key and commit its writes together with the answer.

    `work(optimistic)` begins its write transaction itself (after its own reads) and writes without
    committing. The first try is optimistic: retries are rare, so instead of looking the key up first,
    the unique key (and the row's own id) refuse a repeat at insert time; the second try then looks
    up the stored answer, or runs `work(False)`, which checks for an existing row itself.
    Returns (status, answer, replayed). A problem raised by `work` is not remembered, so a corrected
    request may reuse the key.
    """
    digest = request_hash(body)
    for optimistic in (True, False):
        if not optimistic:
            record = _lookup(who.account_id, key)
            if record is not None:
                return (*_replay(record, who, endpoint, digest), True)
        try:
            status, answer = work(optimistic)
            begin_write(db.session)  # a no-op when `work` wrote; a replay of a stored row only records its key
            _INSERT.execute(db.session, {
                "key": key, "account_id": who.account_id, "endpoint": endpoint, "request_hash": digest,
                "status": status, "response": canonical_json(answer), "created_at": now_utc()}, insert=True).close()
            db.session.commit()
            return status, answer, False
        except IntegrityError:
            db.session.rollback()
            if not optimistic:
                # A concurrent twin of this request stored the key between our lookup and our insert.
                record = _lookup(who.account_id, key)
                if record is None:
                    raise
                return (*_replay(record, who, endpoint, digest), True)
    raise AssertionError("unreachable")
