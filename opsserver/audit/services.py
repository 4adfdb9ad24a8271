"""Append to the audit chain (inside the caller's transaction) and verify it against its signed checkpoints."""

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ..canonical import canonical_json, format_time
from ..database.unitofwork import UnitOfWork
from ..database.utc import now_utc
from ..extensions import db, session_work
from . import checkpoints
from .chain import GENESIS_HASH, HEAD, event_hash, lock_chain  # noqa: F401 (used by callers as
# audit.canonical_json, audit.event_hash, audit.lock_chain, audit.GENESIS_HASH)
from .models import AuditEvent

_INSERT = AuditEvent.__table__.insert()


def append(actor: str, action: str, entity: str, entity_id: Any, payload: dict | str | None = None,
           on: UnitOfWork | None = None) -> dict:
    """Add one event to the chain in the unit of work `on` (the session's by default); the caller commits.

    The caller must have begun its write transaction (begin_write) before the reads that led to this
    change, so the event and the change it records commit together or not at all.
    A payload given as text must be canonical_json's output (made before the write lock, on hot paths).
    When the last checkpoint is older than the interval, a signed one of the new head joins the same
    transaction (checkpoints.add_if_due; between checkpoints that costs no query).
    """
    work = on or session_work
    if not work.writing:
        raise RuntimeError("audit.append outside a write transaction: call begin_write() first")
    conn = work.connection  # one connection for the lock, the head and the insert
    lock_chain(conn)
    head = conn.execute(HEAD).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    at = now_utc()
    body = payload if isinstance(payload, str) else canonical_json(payload or {})
    event = {"seq": seq, "at": at, "actor": actor, "action": action, "entity": entity,
             "entity_id": str(entity_id), "payload": body, "prev_hash": prev}
    event["hash"] = event_hash(**event)
    conn.execute(_INSERT, event)
    checkpoints.add_if_due(work, seq, event["hash"], at)
    return event


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


def _shown(pin: dict) -> dict:
    """A checkpoint as the verification answer shows it (a line that is not a checkpoint shows as nulls)."""
    return {"length": pin["length"] if isinstance(pin.get("length"), int) else None,
            **{k: pin[k] if isinstance(pin.get(k), str) else None for k in ("head_hash", "at")},
            "source": pin["source"]}


def _against(pin: dict, count: int, hashes: dict) -> tuple[int | None, str] | None:
    if "junk_line" in pin:
        return None, (f"line {pin['junk_line']} of the checkpoint file is not a checkpoint: the file was "
                      f"damaged or written by something else")
    where = f"the checkpoint signed at {pin.get('at')} (in the {pin['source']})"
    if not pin["valid"]:
        return _shown(pin)["length"], f"{where} does not carry a valid signature of this server's key"
    if count < pin["length"]:
        return count + 1, (f"{where} covers {pin['length']} events; the log holds {count}: "
                           f"events it covers are missing")
    if hashes.get(pin["length"], GENESIS_HASH if pin["length"] == 0 else None) != pin["head_hash"]:
        return pin["length"], (f"event {pin['length']} differs from the one {where} covers: events up to it "
                               f"were changed, removed or re-chained")
    return None


def verify_chain() -> dict:
    """Recompute every hash and link, then hold the chain to its latest signed checkpoints (the table's and
    the file's); name the first event that does not fit."""
    checkpoints.sync_quietly()  # the file holds every committed checkpoint before it is read
    found = checkpoints.pins()
    # An unsigned one first, then the longest first (the table's before the file's): the first that fails is named.
    pins = [p for p in found if not p["valid"]] + sorted(
        (p for p in found if p["valid"]), key=lambda p: (p["length"], p["source"] == "table"), reverse=True)
    wanted = {p["length"] for p in pins if p["valid"]}
    hashes: dict[int, str] = {}
    strongest = next((p for p in pins if p["valid"]), None)
    pinned = None if strongest is None else _shown(strongest)
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
                    "reason": reason, "checkpoint": pinned}
        if ev.seq in wanted:
            hashes[ev.seq] = ev.hash
        count += 1
        expected_prev, expected_seq = ev.hash, ev.seq + 1
    for pin in pins:
        broken = _against(pin, count, hashes)
        if broken:
            return {"ok": False, "count": count, "head_hash": expected_prev, "first_bad_seq": broken[0],
                    "reason": broken[1], "checkpoint": _shown(pin)}
    return {"ok": True, "count": count, "head_hash": expected_prev, "first_bad_seq": None, "reason": None,
            "checkpoint": pinned}
