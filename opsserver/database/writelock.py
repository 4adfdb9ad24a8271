"""SQLite's write lock: one writer at a time per database, queued here; PostgreSQL's advisory locks.

A write transaction begins IMMEDIATE under this lock, before the reads its decisions depend on, so
they see the latest commit and no other writer slips in before this one commits. Outside it, reads
run in SQLite's autocommit mode (connections are set up so in engine.py): each statement sees the
latest commit, never waits on writers, and costs no BEGIN/COMMIT round.
"""

import fcntl
import os
import threading
from contextvars import ContextVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


class WriteLock:
    """One SQLite database's writers, queued on a file lock (processes) and a mutex (threads).

    SQLite's own busy handler polls with sleeps of up to 100 ms; queuing writers here instead hands the
    lock over the moment the previous commit ends, which keeps latency flat under concurrent writes.
    """

    def __init__(self, path: str):
        self.mutex = threading.Lock()
        self.fd = os.open(path + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self) -> None:
        self.mutex.acquire()
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.mutex.release()


_locks: dict[tuple[int, str], WriteLock] = {}
_locks_guard = threading.Lock()
# The write lock this thread/context holds, and its holder (a Session or a unit of work). The mutex is not
# reentrant: a second writer in the same thread is refused rather than left waiting on itself.
_held: ContextVar["tuple[WriteLock, object] | None"] = ContextVar("ops_sqlite_write_lock", default=None)


def lock_for_path(path: str) -> WriteLock:
    """The write lock of the SQLite database at `path`, in this process."""
    key = (os.getpid(), path)  # a forked child must open its own descriptor
    with _locks_guard:
        if key not in _locks:
            _locks[key] = WriteLock(path)
        return _locks[key]


def holds(holder: object) -> bool:
    """Whether `holder` holds this context's write lock."""
    held = _held.get()
    return held is not None and held[1] is holder


def begin_immediate(connection: Connection, path: str, holder: object) -> None:
    """Wait for the write lock of the database at `path`, then begin the write transaction on `connection`.

    Any transaction SQLAlchemy began for earlier reads is bookkeeping only (SQLite stayed in autocommit
    mode), so BEGIN IMMEDIATE goes on the same connection; its commit or rollback ends both.
    """
    held = _held.get()
    if held is not None:
        raise RuntimeError(f"this thread holds the write transaction already ({type(held[1]).__name__}): "
                           f"commit it first")
    lock = lock_for_path(path)
    lock.acquire()
    _held.set((lock, holder))
    try:
        if not connection.in_transaction():
            connection.begin()  # SQLAlchemy's bookkeeping only, so that its commit() commits
        # Straight on the driver's connection (public: Connection.connection.driver_connection): this runs
        # under the write lock, where every µs counts.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
    except BaseException:
        release(holder)
        raise


def release(holder: object) -> None:
    """Free the write lock if `holder` holds it."""
    held = _held.get()
    if held is not None and held[1] is holder:
        _held.set(None)
        held[0].release()


def _current(session) -> Session:
    return session() if callable(session) else session  # a scoped_session gives its current Session


def begin_write(session) -> None:
    """Start a session command's write transaction; call it before the reads its decisions depend on.

    On SQLite this waits for the write lock and begins IMMEDIATE. On PostgreSQL it does nothing: row
    locks, advisory locks and constraints do that work there.
    """
    session = _current(session)
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or holds(session):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the first change of a command")
    begin_immediate(session.connection(), bind.url.database, session)


def in_write(session) -> bool:
    """Whether a session's write transaction was begun with begin_write() (always true off SQLite)."""
    session = _current(session)
    return session.get_bind().dialect.name != "sqlite" or holds(session)


@event.listens_for(Session, "after_commit")
def _release_after_commit(session):
    # The commit is durable here; the next writer need not wait for the session's own cleanup
    # (expiring objects, returning the connection to the pool), which runs after this event.
    # Releasing a SAVEPOINT fires this event too, with the write transaction still open: keep the lock.
    if not session.in_transaction():
        release(session)


@event.listens_for(Session, "after_transaction_end")
def _release_write_lock(session, transaction):
    if transaction.parent is None and transaction.nested is False:
        release(session)  # a rollback, or a commit that failed


_ADVISORY = text("SELECT pg_advisory_xact_lock(hashtext(:n), :k)")


def advisory_lock(connection: Connection, name: str, key: int) -> None:
    """On PostgreSQL, serialise writers of one thing (`name`, `key`) until `connection`'s transaction ends.

    SQLite needs nothing: writers hold its single write lock from their first statement.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY, {"n": name, "k": key})


def lock_for(session, name: str, key: int) -> None:
    """advisory_lock in a session's transaction (e.g. one crew member's shifts, until commit)."""
    advisory_lock(_current(session).connection(), name, key)


def for_update(session, stmt):
    """`stmt` reading rows a write decides on: re-read (not the session's copies), and held until commit on
    PostgreSQL (FOR UPDATE); SQLite's write lock, taken by begin_write, serialises its writers already."""
    stmt = stmt.execution_options(populate_existing=True)
    return stmt.with_for_update() if session.get_bind().dialect.name == "postgresql" else stmt
