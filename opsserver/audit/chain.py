"""The chain's building blocks: an event's hash, the head and its lock, and the check of its links.

Shared by appending (services), checkpoints and exports; the hashing half needs no database, so the
offline verifier uses it as the server does. The queries run on a Core Connection: a unit of work's
(`work.connection`) inside a write, or the session's (`db.session.connection()`).
"""

import hashlib
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from ..canonical import canonical_json, format_time
from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works: it names the one advisory lock that serialises appends on PostgreSQL.
_PG_CHAIN_LOCK = text(f"SELECT pg_advisory_xact_lock({0x0A0D17})")
HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_HASH_AT = select(AuditEvent.hash).where(AuditEvent.seq == bindparam("seq"))


def event_hash(seq: int, at: datetime, actor: str, action: str, entity: str, entity_id: str,
               payload: str, prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash."""
    doc = {"seq": seq, "at": format_time(at), "actor": actor, "action": action, "entity": entity,
           "entity_id": entity_id, "payload": payload, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def lock_chain(conn: Connection) -> None:
    """On PostgreSQL, serialise appends to the chain across processes until this transaction ends (on
    SQLite the write lock does it already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_CHAIN_LOCK)


def head(conn: Connection) -> tuple[int, str]:
    """The chain's last sequence number and hash: (0, GENESIS_HASH) while it is empty."""
    row = conn.execute(HEAD).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def hash_at(conn: Connection, seq: int) -> str | None:
    """The hash of event `seq` (GENESIS_HASH for 0), or None when there is no such event."""
    if seq == 0:
        return GENESIS_HASH
    return conn.execute(_HASH_AT, {"seq": seq}).scalar()


_LINKS = (select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity,
                 AuditEvent.entity_id, AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash)
          .where(AuditEvent.seq > bindparam("after"), AuditEvent.seq <= bindparam("upto"))
          .order_by(AuditEvent.seq).limit(2000))


def links_hold(conn: Connection, mark: tuple[int, str], upto: int) -> tuple[int, str] | None:
    """Whether events mark[0]+1 … `upto` each hash to their own hash and link to the one before, starting
    from `mark` (a length and the hash of its last event, already verified) while the mark is still in
    place: the new mark (the longer of the two), or None when a link does not hold."""
    length, prev = mark
    if hash_at(conn, length) != prev:
        return None
    while length < upto:
        rows = conn.execute(_LINKS, {"after": length, "upto": upto}).all()
        if not rows:
            return None
        for seq, at, actor, action, entity, entity_id, payload, prev_hash, hash_ in rows:
            if seq != length + 1 or prev_hash != prev or \
                    event_hash(seq, at, actor, action, entity, entity_id, payload, prev_hash) != hash_:
                return None
            length, prev = seq, hash_
    return length, prev
