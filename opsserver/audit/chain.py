"""The chain's building blocks: canonical JSON, the one time format, an event's hash, the head and its lock.

Shared by appending (services), checkpoints and exports; the hashing half needs no database, so the
offline verifier uses it as the server does.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..database import DirectConnection, Prepared, as_utc
from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works: it names the one advisory lock that serialises appends on PostgreSQL.
_PG_CHAIN_LOCK = Prepared(text(f"SELECT pg_advisory_xact_lock({0x0A0D17})"))
HEAD = Prepared(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
HASH_AT = Prepared(select(AuditEvent.hash).where(AuditEvent.seq == bindparam("seq")))


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


def lock_chain(on: "Session | Connection | DirectConnection") -> None:
    """On PostgreSQL, serialise appends to the chain across processes until this transaction ends (on
    SQLite the write lock does it already)."""
    dialect = on.dialect if isinstance(on, (DirectConnection, Connection)) else on.get_bind().dialect
    if dialect.name == "postgresql":
        _PG_CHAIN_LOCK.execute(on).close()


def head(on: "Session | Connection | DirectConnection") -> tuple[int, str]:
    """The chain's last sequence number and hash: (0, GENESIS_HASH) while it is empty."""
    row = HEAD.first(on)
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def hash_at(on: "Session | Connection | DirectConnection", seq: int) -> str | None:
    """The hash of event `seq` (GENESIS_HASH for 0), or None when there is no such event."""
    if seq == 0:
        return GENESIS_HASH
    row = HASH_AT.first(on, {"seq": seq})
    return row[0] if row else None


_LINKS = Prepared(select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity,
                         AuditEvent.entity_id, AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash)
                  .where(AuditEvent.seq > bindparam("after"), AuditEvent.seq <= bindparam("upto"))
                  .order_by(AuditEvent.seq).limit(2000))


def _when(at) -> datetime:
    # The raw DB-API row: SQLite's driver gives the stored text, PostgreSQL's a datetime.
    return as_utc(at if isinstance(at, datetime) else datetime.fromisoformat(at))


def links_hold(on: "Session | Connection | DirectConnection", mark: tuple[int, str],
               upto: int) -> tuple[int, str] | None:
    """Whether events mark[0]+1 … `upto` each hash to their own hash and link to the one before, starting
    from `mark` (a length and the hash of its last event, already verified) while the mark is still in
    place: the new mark (the longer of the two), or None when a link does not hold."""
    length, prev = mark
    if hash_at(on, length) != prev:
        return None
    while length < upto:
        rows = _LINKS.execute(on, {"after": length, "upto": upto}).fetchall()
        if not rows:
            return None
        for seq, at, actor, action, entity, entity_id, payload, prev_hash, hash_ in rows:
            if seq != length + 1 or prev_hash != prev or \
                    event_hash(seq, _when(at), actor, action, entity, entity_id, payload, prev_hash) != hash_:
                return None
            length, prev = seq, hash_
    return length, prev
