"""Append to the audit chain (inside the caller's transaction) and verify it."""

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..database import DirectConnection, Prepared, as_utc, in_write, now_utc
from ..extensions import db
from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works: it names the one advisory lock that serialises appends on PostgreSQL.
_PG_CHAIN_LOCK = Prepared(text(f"SELECT pg_advisory_xact_lock({0x0A0D17})"))
_HEAD = Prepared(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
_INSERT = Prepared(AuditEvent.__table__.insert())


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value):
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def format_time(value: datetime) -> str:
    """UTC ISO 8601 with microseconds and a Z, the one time format inside hashes and exports."""
    v = as_utc(value)
    # Formatted by hand: strftime was a tenth of an export's time per row.
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond:06d}Z")


def event_hash(seq: int, at: datetime, actor: str, action: str, entity: str, entity_id: str,
               payload: str, prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash."""
    doc = {"seq": seq, "at": format_time(at), "actor": actor, "action": action, "entity": entity,
           "entity_id": entity_id, "payload": payload, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def append(actor: str, action: str, entity: str, entity_id: Any, payload: dict | str | None = None,
           on: "Session | DirectConnection | None" = None) -> dict:
    """Add one event to the chain in the current transaction (the session's, or `on`'s); the caller commits.

    The caller must have begun its write transaction (database.begin_write) before the reads that
    led to this change, so the event and the change it records commit together or not at all.
    A payload given as text must be canonical_json's output (made before the write lock, on hot paths).
    """
    on = db.session if on is None else on
    if not in_write(on):
        raise RuntimeError("audit.append outside a write transaction: call begin_write() first")
    lock_chain(on)
    if not isinstance(on, DirectConnection):
        on = on.connection()  # one connection for the head and the insert (see Prepared.execute)
    head = _HEAD.first(on)
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    at = now_utc()
    body = payload if isinstance(payload, str) else canonical_json(payload or {})
    event = {"seq": seq, "at": at, "actor": actor, "action": action, "entity": entity,
             "entity_id": str(entity_id), "payload": body, "prev_hash": prev}
    event["hash"] = event_hash(**event)
    _INSERT.execute(on, event, insert=True).close()
    return event


def lock_chain(on: "Session | Connection | DirectConnection") -> None:
    """On PostgreSQL, serialise appends to the chain across processes until this transaction ends (on
    SQLite the write lock does it already)."""
    dialect = on.dialect if isinstance(on, (DirectConnection, Connection)) else on.get_bind().dialect
    if dialect.name == "postgresql":
        _PG_CHAIN_LOCK.execute(on).close()


def event_dict(ev) -> dict:
    """An event as exported and served: payload decoded, time in UTC."""
    return {"seq": ev.seq, "at": format_time(ev.at), "actor": ev.actor, "action": ev.action, "entity": ev.entity,
            "entity_id": ev.entity_id, "payload": json.loads(ev.payload), "prev_hash": ev.prev_hash,
            "hash": ev.hash}


def iter_events(batch: int = 2000, after_seq: int = 0) -> Iterator:
    """All events in chain order as plain rows, fetched in keyset batches so memory stays flat."""
    table = AuditEvent.__table__
    last = after_seq
    while True:
        rows = db.session.execute(
            select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain() -> dict:
    """Recompute every hash and link; name the first event that does not fit."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for ev in iter_events():
        recomputed = event_hash(ev.seq, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.payload, ev.prev_hash)
        reason = None
        if ev.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {ev.seq}"
        elif ev.prev_hash != expected_prev:
            reason = "prev_hash does not match the previous event's hash"
        elif recomputed != ev.hash:
            reason = "hash does not match the event's content"
        if reason:
            return {"ok": False, "count": count, "head_hash": expected_prev, "first_bad_seq": ev.seq,
                    "reason": reason}
        count += 1
        expected_prev, expected_seq = ev.hash, ev.seq + 1
    return {"ok": True, "count": count, "head_hash": expected_prev, "first_bad_seq": None, "reason": None}
