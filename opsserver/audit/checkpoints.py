"""Signed checkpoints of the audit chain: made while writing and with every export, kept in their own
append-only table, copied to a plain file after commit, and read back by verification.

While there are writes, `add_if_due` (called by audit.append inside the writing transaction) signs a
checkpoint of the new head once the last one is older than OPS_AUDIT_CHECKPOINT_INTERVAL_S. When the
next one is due is cached per database engine in each process: between checkpoints a write reads
nothing about them (the check-in's hot path stays as it was); only when the cache says due is the table
asked, since another process may have signed meanwhile. The server refuses to sign a head that
contradicts the longest checkpoint it knows (the table's, and the file's, read once per process):
events it covered are changed or gone, and it would be signing a forgery.

The file gets its copy from the table once the transaction that signed is over (the unit of work runs the
copy then; every verification and export copies too), so a rolled-back checkpoint never reaches it. The
copy follows the table's ids under a file lock that all processes share.
"""

import fcntl
import json
import logging
import os
import re
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..canonical import canonical_json, format_time
from ..database.unitofwork import UnitOfWork
from ..database.utc import now_utc
from ..extensions import db, session_work
from . import chain, signing
from .models import AuditCheckpoint

log = logging.getLogger(__name__)
_T = AuditCheckpoint.__table__
_COLUMNS = (_T.c.id, _T.c.length, _T.c.head_hash, _T.c.at, _T.c.key_id, _T.c.signature)
# The first checkpoint of the longest length: when the chain was last pinned further. A manifest of an old cut
# signs a short (or equally long) checkpoint later, which must not hold off the next one of the head.
_NEWEST = select(_T.c.length, _T.c.head_hash, _T.c.at).order_by(_T.c.length.desc(), _T.c.id).limit(1)
_INSERT = _T.insert()
_FILE_TAIL = 64 * 1024  # where the copy looks for the file's last id
_FILE_LINES = 256  # verification holds the chain to the file's longest checkpoint and its last lines


class ChainContradictsCheckpoint(Exception):
    """The chain no longer holds the events a signed checkpoint covered."""


@dataclass
class _State:
    """What this process knows of one database's checkpoints."""

    next_due: datetime | None = None
    known: tuple[int, str] | None = None  # the longest committed checkpoint seen: (length, head_hash)
    file_read: bool = False  # the file's checkpoints are learnt once per process
    key: Ed25519PrivateKey | None = None
    key_path: str | None = None
    mark: tuple[int, str] = (0, chain.GENESIS_HASH)  # the chain's links are verified up to here


# Per database engine, found by its dialect object, which the connection carries: Flask's current_app costs
# about 4 µs a look-up here, more than all the rest of the check on a check-in's path.
_states: "weakref.WeakKeyDictionary[object, _State]" = weakref.WeakKeyDictionary()


def _state(dialect=None) -> _State:
    dialect = db.engine.dialect if dialect is None else dialect
    state = _states.get(dialect)
    if state is None:
        state = _states.setdefault(dialect, _State())
    return state


def key_path() -> str:
    """Where the private key lives: OPS_AUDIT_KEY_FILE, or audit-signing-key.pem in the instance folder."""
    return current_app.config.get("OPS_AUDIT_KEY_FILE") or os.path.join(current_app.instance_path,
                                                                        "audit-signing-key.pem")


def checkpoint_file_path() -> str:
    """OPS_AUDIT_CHECKPOINT_FILE, or beside the SQLite database file, or in the instance folder named after
    the database: one file per database, since a checkpoint pins one chain."""
    configured = current_app.config.get("OPS_AUDIT_CHECKPOINT_FILE")
    if configured:
        return configured
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return url.database + ".checkpoints.jsonl"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{url.host or 'local'}-{url.port or ''}-{url.database or ''}")
    return os.path.join(current_app.instance_path, f"audit-checkpoints-{name}.jsonl")


class KeyNotShared(click.ClickException):
    """The key file is absent while the table holds checkpoints of a key: this is a second app server."""


def _load_key(path: str) -> bool:
    state = _state()
    state.key, made = signing.load_or_create_private_key(path)
    state.key_path = path
    return made


def ensure_key() -> tuple[str, bool]:
    """Load the signing key, making it when absent (`ops init-db`); its path and whether it was made now.
    Raises KeyNotShared rather than make one while the table holds checkpoints: those were signed by
    another server's key, and every app server must sign with the same one."""
    path = key_path()
    if not os.path.exists(path):
        other = db.session.execute(select(_T.c.key_id).order_by(_T.c.id.desc()).limit(1)).scalar()
        db.session.rollback()
        if other is not None:
            raise KeyNotShared(
                f"no audit signing key at {path}, but the audit checkpoints are signed by key {other}: copy the "
                f"key file from the first app server to {path} (or set OPS_AUDIT_KEY_FILE to it); every app "
                f"server signs with the same key, or their checkpoints fail each other's verification.")
    return path, _load_key(path)


def private_key() -> Ed25519PrivateKey:
    """The server's signing key, loaded once per process (made when absent, with a warning in the log)."""
    state = _state()
    path = key_path()
    if state.key is None or state.key_path != path:
        made = _load_key(path)
        if made:
            log.warning("made a new audit signing key at %s (ops init-db makes it before the first start)", path)
    return state.key


def public_key_pem() -> str:
    """The public half of the signing key, as PEM."""
    return signing.public_pem(private_key())


def _consistent(conn: Connection, state: _State, head_seq: int, upto: int, full: bool = False) -> bool:
    """Whether the chain still holds the longest known checkpoint and its links hold up to `upto`: checked
    from this process's mark (only the events since the last check), or from the first event when `full`."""
    if state.known is not None:
        length, pinned = state.known
        if length > head_seq or chain.hash_at(conn, length) != pinned:
            log.error("the audit chain contradicts its checkpoint of %d events: nothing signed; run ops "
                      "verify-audit", length)
            return False
    mark = chain.links_hold(conn, (0, chain.GENESIS_HASH) if full else state.mark, upto)
    if mark is None:
        log.error("the audit chain's links do not hold up to event %d: nothing signed; run ops verify-audit", upto)
        return False
    state.mark = mark
    return True


def _learn(state: _State, conn: Connection):
    """Learn the longest checkpoint from the table's newest and, once per process, the file's signed lines
    (which SQL cannot reach); answer the table's newest (length, head_hash, at). Checking the chain against
    the longest is enough: an event changed before it changes its hash too."""
    newest = conn.execute(_NEWEST).first()  # committed rows only: the caller's transaction has added none yet
    if newest is not None:
        state.known = max(state.known or (0, ""), (newest.length, newest.head_hash))
    if not state.file_read:
        state.file_read = True
        public = private_key().public_key()
        # Longest first, and only those longer than what is known: usually one signature to check.
        longest, lines, _ = scan_file()
        for cp in sorted(lines + ([longest] if longest else []), key=lambda c: c["length"], reverse=True):
            if state.known is not None and cp["length"] <= state.known[0]:
                break
            if signing.verify_checkpoint(public, cp):
                state.known = (cp["length"], cp["head_hash"])
                break
    return newest


def _insert(work: UnitOfWork, length: int, head_hash: str, at: datetime) -> dict:
    cp = signing.sign_checkpoint(private_key(), length, head_hash, format_time(at))
    work.connection.execute(_INSERT, {**cp, "at": at})
    # Once the transaction is over: copied to the file when committed; when not, the state is read again.
    work.when_done(sync_quietly)
    return cp


def add_if_due(work: UnitOfWork, seq: int, head_hash: str, at: datetime) -> None:
    """Inside audit.append's transaction: sign a checkpoint of the new head (`seq`, `head_hash`) when the
    last one is older than the interval."""
    conn = work.connection
    state = _state(conn.dialect)
    if state.next_due is not None and at < state.next_due:
        return  # the hot path: no query
    interval = timedelta(seconds=current_app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"])
    newest = _learn(state, conn)
    if newest is not None:
        if at < newest.at + interval:
            state.next_due = newest.at + interval
            return
    state.next_due = at + interval
    # Up to the event before: the mark must not name this transaction's event, which may yet roll back.
    if _consistent(conn, state, seq, seq - 1):
        _insert(work, seq, head_hash, at)


def sign_at(length: int | None = None, full: bool = True) -> dict:
    """Sign and store, in a transaction of its own, a checkpoint of the chain's first `length` events (None:
    the head), as every export does. Raises ChainContradictsCheckpoint rather than sign a forgery (the
    chain's links are checked first: from the first event when `full`, as an export reads them all anyway,
    else from this process's mark), and ValueError for a length beyond the head."""
    work = session_work
    work.begin_write()
    try:
        conn = work.connection
        chain.lock_chain(conn)
        head_seq, _ = chain.head(conn)
        length = head_seq if length is None else length
        if length > head_seq:
            raise ValueError(f"the chain holds {head_seq} events")
        state = _state()
        _learn(state, conn)
        if not _consistent(conn, state, head_seq, head_seq, full):
            raise ChainContradictsCheckpoint("the audit log is broken or no longer holds what its last signed "
                                             "checkpoint covered; run the verification")
        at = now_utc()
        cp = _insert(work, length, chain.hash_at(conn, length), at)
        work.commit()
    except BaseException:
        work.rollback()
        raise
    if length == head_seq:
        state.next_due = at + timedelta(seconds=current_app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"])
    return cp


def sign_if_quiet() -> dict | None:
    """Sign a checkpoint of the head when it is past the longest checkpoint and that one is at least the
    interval old (the timer's round); the links are checked from this process's mark."""
    interval = timedelta(seconds=current_app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"])
    conn = db.session.connection()
    newest = conn.execute(_NEWEST).first()
    head_seq = chain.head(conn)[0]
    db.session.rollback()  # the reads' transaction ends before sign_at begins its write
    if head_seq == 0 or (newest is not None and (newest.length >= head_seq or now_utc() < newest.at + interval)):
        return None
    return sign_at(full=False)


def _doc(row) -> dict:
    return {"id": row.id, "length": row.length, "head_hash": row.head_hash, "at": format_time(row.at),
            "key_id": row.key_id, "signature": row.signature}


def _tail(fd: int) -> list[dict]:
    """The parseable lines at the end of the file (a line cut short by a crash is skipped)."""
    size = os.fstat(fd).st_size
    start = max(0, size - _FILE_TAIL)
    lines = os.pread(fd, size - start, start).decode("utf-8", "replace").split("\n")
    out = []
    for line in lines[1:] if start else lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def scan_file() -> tuple[dict | None, list[dict], int | None]:
    """Read the whole checkpoint file, streaming: its longest checkpoint, its last lines, and the number of
    the first line that is not a checkpoint (None when all are; a final line cut short by a crash, with no
    newline after it, is not counted: the next copy removes it)."""
    path = checkpoint_file_path()
    longest, tail, junk = None, deque(maxlen=_FILE_LINES), None
    if not os.path.exists(path):
        return longest, [], junk
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
            if not isinstance(doc, dict) or not isinstance(doc.get("length"), int):
                if junk is None and raw.endswith(b"\n"):
                    junk = number
                continue
            tail.append(doc)
            if longest is None or doc["length"] > longest["length"]:
                longest = doc
    return longest, list(tail), junk


def _cut_torn_line(fd: int) -> None:
    """Remove a final line cut short by a crash (no newline after it), so the next line starts clean; the
    checkpoint it held is copied again from the table."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    n = min(size, _FILE_TAIL)
    end = os.pread(fd, n, size - n).rfind(b"\n")
    if end >= 0 or n == size:
        os.ftruncate(fd, size - n + end + 1)
    else:  # longer than the window: ended instead, and verification names it
        os.write(fd, b"\n")


def sync_file() -> None:
    """Append to the checkpoint file every committed checkpoint it lacks (a new file starts at the newest),
    and refresh this process's view of the newest checkpoint from the table."""
    state = _state()
    public = private_key().public_key()
    path = checkpoint_file_path()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by close
        _cut_torn_line(fd)
        last_id = next((c["id"] for c in reversed(_tail(fd)) if isinstance(c.get("id"), int)), None)
        with db.engine.connect() as conn:
            stmt = (select(*_COLUMNS).order_by(_T.c.id.desc()).limit(1) if last_id is None
                    else select(*_COLUMNS).where(_T.c.id > last_id).order_by(_T.c.id))
            rows = conn.execute(stmt).all()
            newest = conn.execute(_NEWEST).first()
        lines = []
        for row in rows:
            cp = _doc(row)
            if signing.verify_checkpoint(public, cp):
                lines.append(canonical_json(cp) + "\n")
            else:
                log.error("checkpoint %s in the table is not signed by this server's key: not copied", row.id)
        if lines:
            os.write(fd, "".join(lines).encode())
            os.fsync(fd)
    finally:
        os.close(fd)
    if newest is not None:
        state.known = max(state.known or (0, ""), (newest.length, newest.head_hash))
        state.next_due = newest.at + timedelta(seconds=current_app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"])


def sync_quietly() -> None:
    """sync_file, a failure logged rather than raised: after a commit the write stands whatever happens here."""
    try:
        sync_file()
    except Exception:
        log.exception("could not copy audit checkpoints to %s; the next checkpoint or verification tries again",
                      checkpoint_file_path())


def pins() -> list[dict]:
    """Every checkpoint verification holds the chain to: the table's longest and its newest 256, the file's
    longest and its last 256 lines (a longer checkpoint signed over a cut chain must not hide an earlier
    one), and the file's first line that is not a checkpoint, as an invalid one;
    each with its source and whether this server's key signed it."""
    public = private_key().public_key()
    t = _T.c
    rows = db.session.execute(select(*_COLUMNS).order_by(t.length.desc(), t.id.desc()).limit(1)).all()
    rows += db.session.execute(select(*_COLUMNS).order_by(t.id.desc()).limit(256)).all()
    table = {row.id: _doc(row) for row in rows}.values()
    found = [{**cp, "source": "table", "valid": signing.verify_checkpoint(public, cp)} for cp in table]
    longest, lines, junk = scan_file()
    found += [{**cp, "source": "file", "valid": signing.verify_checkpoint(public, cp)}
              for cp in lines + ([longest] if longest is not None and longest not in lines else [])]
    if junk is not None:
        found.append({"source": "file", "valid": False, "junk_line": junk})
    return found
