"""Database plumbing: the UTC datetime type, `now_utc`, and per-engine connection setup."""

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
# Set by begin_write() for the current thread/context: the next SQLite BEGIN is a write transaction.
_writing: ContextVar["_WriteLock | None"] = ContextVar("ops_sqlite_writing", default=None)


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (used as a callable column default)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        # SQLite has no time zone support: keep the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else as_utc(value)

    # On SQLite both directions skip the dialect's own DATETIME processing (a %-format going in, a parse
    # and a datetime.replace coming out) for the datetime module's C code: several times faster, and
    # nearly every row read carries times.
    # The text is the dialect's exact format ("YYYY-MM-DD HH:MM:SS.ffffff"), so stored values compare
    # and sort as before.
    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            if value is None:
                return None
            if value.tzinfo is not None and value.utcoffset():
                value = value.astimezone(UTC)
            # Cut off the "+00:00" of an aware value (datetime.replace is slower than all the rest).
            return value.isoformat(" ", "microseconds")[:26]

        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value):
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:  # a value written elsewhere with an offset of its own
                return as_utc(datetime.fromisoformat(value))

        return process


class _WriteLock:
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


_locks: dict[tuple[int, str], _WriteLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: str) -> _WriteLock:
    key = (os.getpid(), path)  # a forked child must open its own descriptor
    with _locks_guard:
        if key not in _locks:
            _locks[key] = _WriteLock(path)
        return _locks[key]


def begin_write(session: Session) -> None:
    """Start the current command's write transaction; call it before the reads its decisions depend on.

    On SQLite this waits for the write lock and begins IMMEDIATE, so the reads that follow see the
    latest commit and no other writer can slip in before this one commits. On PostgreSQL it does
    nothing: row locks, advisory locks and constraints do that work there.
    """
    session = session() if callable(session) and not isinstance(session, Session) else session  # scoped
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or _writing.get() is not None:
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the first change of a command")
    lock = _lock_for(bind.url.database)
    lock.acquire()
    _writing.set(lock)
    try:
        if session.in_transaction():
            # Earlier reads ran in autocommit mode (see _on_begin), so SQLite has no transaction open
            # on this connection: begin the write transaction on it; the session's commit ends it.
            # Straight on the DB-API connection: this runs under the write lock, so every µs counts.
            session.connection().connection.dbapi_connection.execute("BEGIN IMMEDIATE")
        else:
            session.connection()  # the begin event emits BEGIN IMMEDIATE
    except Exception:
        _writing.set(None)
        lock.release()
        raise


def in_write(session: Session) -> bool:
    """Whether a write transaction was begun with begin_write() (always true off SQLite)."""
    return session.get_bind().dialect.name != "sqlite" or _writing.get() is not None


def _release() -> None:
    lock = _writing.get()
    if lock is not None:
        _writing.set(None)
        lock.release()


@event.listens_for(Session, "after_commit")
def _release_after_commit(session):
    # The commit is durable here; the next writer need not wait for the session's own cleanup
    # (expiring objects, returning the connection to the pool), which runs after this event.
    # Releasing a SAVEPOINT fires this event too, with the write transaction still open: keep the lock.
    if not session.in_transaction():
        _release()


@event.listens_for(Session, "after_transaction_end")
def _release_write_lock(session, transaction):
    if transaction.parent is None and transaction.nested is False:
        _release()  # a rollback, or a commit that failed


class _Checkpointer(threading.Thread):
    """Copies one database's WAL back into its file every `interval` seconds, from a thread of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages, while that
    writer still holds the write lock, so every writer queued behind it waits for the copy and its
    fsync (3 to 80 ms, against 0.7 ms for a check-in's whole write). A PASSIVE checkpoint here takes
    no write lock: writers go on while it works. With several processes each runs one; SQLite lets
    one checkpoint at a time and the others find it busy, which is harmless.
    """

    def __init__(self, path: str, interval: float):
        super().__init__(daemon=True, name=f"sqlite-checkpoint:{os.path.basename(path)}")
        self.path, self.interval = path, interval

    def run(self) -> None:
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            while os.path.exists(self.path):  # a deleted database (a test's) ends the thread
                time.sleep(self.interval)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy: another checkpoint is running; the next round catches up
        except Exception:
            log.exception("WAL checkpointer for %s stopped; SQLite's automatic checkpoint takes over", self.path)
        finally:
            if conn is not None:
                conn.close()
            with _locks_guard:  # a database made again at this path gets a new checkpointer
                _checkpointers.pop((os.getpid(), self.path), None)


_checkpointers: dict[tuple[int, str], _Checkpointer] = {}


def _start_checkpointer(path: str, interval: float) -> None:
    key = (os.getpid(), path)  # threads do not survive a fork: each worker starts its own
    with _locks_guard:
        if key not in _checkpointers:
            _checkpointers[key] = _Checkpointer(path, interval)
            _checkpointers[key].start()


def configure_engine(engine: Engine, synchronous: str = "FULL", checkpoint_ms: int = 0) -> None:
    """Install SQLite pragmas, write-transaction handling and the checkpointer; nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    path = engine.url.database
    background = checkpoint_ms > 0 and path not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is lazy and wrong).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if background:
            # The automatic checkpoint stays as a backstop, should the thread ever fall far behind.
            cur.execute("PRAGMA wal_autocheckpoint=20000")
            _start_checkpointer(path, checkpoint_ms / 1000)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write transaction (begin_write) takes the write lock up front, since a deferred one that
        # read the audit head and then wrote could fail with SQLITE_BUSY when another process
        # committed in between. Outside it, reads run in SQLite's autocommit mode: each statement
        # sees the latest commit, never waits on writers, and costs no BEGIN/COMMIT round.
        if _writing.get() is not None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for(session, name: str, key: int) -> None:
    """Serialise writers of one thing (e.g. one crew member's shifts) until commit, on PostgreSQL.

    SQLite needs nothing: write requests hold its single write lock from their first statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n), :k)"), {"n": name, "k": key})


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DB-API cursor.

    SQLAlchemy's per-execution machinery (cache lookup, execution context, result wrapping) costs
    about 55 µs a statement here, against 19 µs for this path (measured on the check-in's shift
    lookup); a check-in runs eight statements, so its hot path uses this. The SQL and the bind
    processing (UTC datetimes, dialect casts) are still SQLAlchemy's own; results come back as plain
    tuples, so a select is refused at compile time if a result column is of a type that needs
    processing (dates, JSON, decorated types).
    """

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[tuple, tuple] = {}

    def _compiled(self, dialect, keys: tuple):
        cache_key = (dialect.name, keys)
        entry = self._by_dialect.get(cache_key)
        if entry is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
            for column in getattr(self.statement, "selected_columns", ()):
                if isinstance(column.type, (sqltypes.DateTime, sqltypes.Date, sqltypes.JSON, TypeDecorator)):
                    raise TypeError(f"Prepared cannot return {column} unprocessed; use Session.execute")
            positions = compiled.positiontup if compiled.positional else None
            entry = (compiled, str(compiled), dict(compiled._bind_processors), positions)
            self._by_dialect[cache_key] = entry
        return entry

    def execute(self, on: Session | Connection, params: dict | None = None, *, insert: bool = False):
        """Run on a connection, or the session's (inside its transaction); returns the DB-API cursor.

        Passing the Connection saves the session's per-call bind lookup when one command runs several.
        """
        connection = on if isinstance(on, Connection) else on.connection()
        params = params or {}
        compiled, sql, processors, positions = self._compiled(connection.dialect,
                                                              tuple(params) if insert else ())
        values = compiled.construct_params(params)
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, [values[name] for name in positions] if positions is not None else values)
        except connection.dialect.loaded_dbapi.IntegrityError as err:
            # Callers catch SQLAlchemy's exception, as they would from Session.execute.
            raise IntegrityError(sql, None, err) from err
        return cursor

    def first(self, on: Session | Connection, params: dict | None = None) -> tuple | None:
        """The first row as a tuple, or None."""
        cursor = self.execute(on, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()
