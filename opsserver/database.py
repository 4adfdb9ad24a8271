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
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
# Set by begin_write() for the current thread/context: the next SQLite BEGIN is a write transaction.
_writing: ContextVar["_WriteLock | None"] = ContextVar("ops_sqlite_writing", default=None)
# Set while a DirectConnection holds the SQLite write lock in this context. The lock's mutex is not
# reentrant: a second writer in the same thread is refused rather than left waiting on itself.
_direct_writing: ContextVar[bool] = ContextVar("ops_sqlite_direct_writing", default=False)


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


def begin_write(session: "Session | DirectConnection") -> None:
    """Start the current command's write transaction; call it before the reads its decisions depend on.

    On SQLite this waits for the write lock and begins IMMEDIATE, so the reads that follow see the
    latest commit and no other writer can slip in before this one commits. On PostgreSQL it does
    nothing for a session: row locks, advisory locks and constraints do that work there.
    """
    if isinstance(session, DirectConnection):
        session.begin_write()
        return
    session = session() if callable(session) and not isinstance(session, Session) else session  # scoped
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or _writing.get() is not None:
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the first change of a command")
    if _direct_writing.get():
        raise RuntimeError("a direct connection holds this thread's write transaction: commit it first")
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


def in_write(session: "Session | DirectConnection") -> bool:
    """Whether a write transaction was begun with begin_write() (always true for a session off SQLite)."""
    if isinstance(session, DirectConnection):
        return session.writing
    return session.get_bind().dialect.name != "sqlite" or _writing.get() is not None


class DirectConnection:
    """A DB-API connection from the engine's pool, for the busiest endpoints, without the ORM session.

    The session's begin, commit and clean-up cost about 110 µs a request here against 20 µs for this
    (measured for the check-in). Reads run in autocommit mode: each sees the latest commit and leaves
    no transaction, lock or snapshot behind. Writes go in one explicit transaction from begin_write()
    to commit() or rollback(): on SQLite under the same write lock as the session's writers (BEGIN
    IMMEDIATE), on PostgreSQL a plain BEGIN. Statements run through `Prepared`.
    """

    def __init__(self, engine: Engine):
        self.dialect = engine.dialect
        self._sqlite_path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._pooled = engine.raw_connection()
        self.dbapi = self._pooled.dbapi_connection
        self._lock: _WriteLock | None = None
        self.writing = False
        if self._sqlite_path is None:
            # SQLite connections are in autocommit mode already (configure_engine); a pooled PostgreSQL
            # one is put back as it was in close(), since the session's transactions use it too.
            self.dbapi.autocommit = True

    def _run(self, sql: str) -> None:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def begin_write(self) -> None:
        """Begin the write transaction (on SQLite, wait for the write lock first); a no-op when begun."""
        if self.writing:
            return
        if self._sqlite_path is None:
            self._run("BEGIN")
        else:
            if _writing.get() is not None or _direct_writing.get():
                raise RuntimeError("this thread holds the write transaction already: commit it first")
            lock = _lock_for(self._sqlite_path)
            lock.acquire()
            try:
                self._run("BEGIN IMMEDIATE")
            except BaseException:
                lock.release()
                raise
            self._lock = lock
            _direct_writing.set(True)
        self.writing = True

    def commit(self) -> None:
        """Commit the write transaction and free the write lock; a failed commit is rolled back."""
        if not self.writing:
            return
        try:
            self._run("COMMIT")
        except self.dialect.loaded_dbapi.IntegrityError as err:  # a constraint checked at commit
            self.rollback()
            raise IntegrityError("COMMIT", None, err) from err
        except BaseException:
            self.rollback()
            raise
        self._ended()

    def rollback(self) -> None:
        """Roll back the write transaction, if one is open, and free the write lock."""
        if not self.writing:
            return
        try:
            # SQLite ends a transaction itself after some errors; ROLLBACK then would be an error.
            if self._sqlite_path is None or self.dbapi.in_transaction:
                self._run("ROLLBACK")
        finally:
            self._ended()

    def _ended(self) -> None:
        self.writing = False
        if self._lock is not None:
            lock, self._lock = self._lock, None
            _direct_writing.set(False)
            lock.release()

    def close(self) -> None:
        """Roll back what is open and give the connection back to the pool (dropped if it broke)."""
        try:
            self.rollback()
            if self._sqlite_path is None:
                self.dbapi.autocommit = False
        except Exception:
            self._pooled.invalidate()
            raise
        finally:
            self._pooled.close()


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
    lookup); a check-in runs six of them, so its hot path uses this. The SQL, the bind processing
    and the result processing (UTC datetimes, dialect casts) are still SQLAlchemy's own; rows come back
    as plain tuples.
    """

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[tuple, tuple] = {}
        self._results: dict[str, list | None] = {}  # per dialect: the result columns' converters

    def _compiled(self, dialect, keys: tuple):
        cache_key = (dialect.name, keys)
        entry = self._by_dialect.get(cache_key)
        if entry is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
            positions = compiled.positiontup if compiled.positional else None
            entry = (compiled, str(compiled), dict(compiled._bind_processors), positions)
            self._by_dialect[cache_key] = entry
        return entry

    def execute(self, on: "Session | Connection | DirectConnection", params: dict | None = None, *,
                insert: bool = False):
        """Run on a direct connection, a connection, or the session's (inside its transaction); returns
        the DB-API cursor.

        Passing the Connection saves the session's per-call bind lookup when one command runs several.
        """
        return self._run(on, params, insert)[0]

    def first(self, on: "Session | Connection | DirectConnection", params: dict | None = None) -> tuple | None:
        """The first row as a tuple (its values converted by their column types), or None."""
        cursor, dialect = self._run(on, params, False)
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            processors = self._results.get(dialect.name, False)
            if processors is False:
                # Values that need converting (times, decorated types) are converted as Session.execute
                # would; some drivers' converters depend on the column's type code, known only now.
                processors = [column.type._cached_result_processor(dialect, described[1]) for column, described
                              in zip(self.statement.selected_columns, cursor.description)]
                processors = self._results[dialect.name] = processors if any(processors) else None
        finally:
            cursor.close()
        if processors:
            row = tuple(process(value) if process else value for process, value in zip(processors, row))
        return row

    def _run(self, on, params: dict | None, insert: bool):
        if isinstance(on, DirectConnection):
            dialect, dbapi_connection = on.dialect, on.dbapi
        else:
            connection = on if isinstance(on, Connection) else on.connection()
            dialect, dbapi_connection = connection.dialect, connection.connection.dbapi_connection
        params = params or {}
        compiled, sql, processors, positions = self._compiled(dialect, tuple(params) if insert else ())
        values = compiled.construct_params(params)
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql, [values[name] for name in positions] if positions is not None else values)
        except dialect.loaded_dbapi.IntegrityError as err:
            cursor.close()
            # Callers catch SQLAlchemy's exception, as they would from Session.execute.
            raise IntegrityError(sql, None, err) from err
        return cursor, dialect

    def keys(self) -> list[str]:
        """The names of a select's result columns, in order."""
        return [column.key for column in self.statement.selected_columns]
