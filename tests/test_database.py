"""Database plumbing: how times are stored on SQLite, the background WAL checkpointer, the write lock, and
the units of work (the session's, and the Core connection the busiest endpoints use instead)."""

import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, text
from sqlalchemy.dialects import sqlite

from opsserver import create_app
from opsserver.database.unitofwork import ConnectionWork, SessionWork
from opsserver.database.utc import UTCDateTime
from opsserver.database.writelock import begin_write, in_write, lock_for_path
from opsserver.extensions import close_unit_of_work, db, unit_of_work

TIMES = [
    datetime(2026, 11, 29, 16, 5, 7, 123456, tzinfo=UTC),
    datetime(2026, 11, 29, 16, 5, 7, tzinfo=UTC),  # no microseconds: still written with .000000
    datetime(2026, 11, 30, 0, 5, 7, 1, tzinfo=timezone(timedelta(hours=8))),  # stored as 16:05:07 the day before
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    datetime(2026, 1, 1, 0, 0, 0),  # naive: taken as UTC
]


@pytest.mark.parametrize("value", TIMES, ids=str)
def test_sqlite_text_is_sqlalchemys_own_format(value):
    """Times are written exactly as SQLAlchemy's SQLite DATETIME writes the UTC wall time, so stored text
    compares and sorts the same, and read back as the same aware instant."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    assert ours(value) == theirs(utc.replace(tzinfo=None))
    back = UTCDateTime().result_processor(dialect, None)(ours(value))
    assert back == utc and back.utcoffset() == timedelta(0)


def test_sqlite_reads_text_written_elsewhere():
    """Text without microseconds (SQLite's CURRENT_TIMESTAMP) or with an offset of its own reads as UTC."""
    read = UTCDateTime().result_processor(sqlite.dialect(), None)
    assert read("2026-11-29 16:05:07") == datetime(2026, 11, 29, 16, 5, 7, tzinfo=UTC)
    assert read("2026-11-30 00:05:07+08:00") == datetime(2026, 11, 29, 16, 5, 7, tzinfo=UTC)
    assert read(None) is None


def _sqlite_path(app) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("about SQLite's WAL or write lock; this run is on PostgreSQL")
        return db.engine.url.database


@pytest.mark.parametrize("interval_ms", [50, 0])
def test_wal_is_copied_back_by_the_background_checkpointer(db_url, interval_ms):
    """With the checkpointer on, committed pages reach the database file within moments although no
    connection checkpoints by itself; with it off (and well under SQLite's 1,000-page automatic
    checkpoint) they stay in the WAL."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_SQLITE_CHECKPOINT_MS": interval_ms})
    path = _sqlite_path(app)
    with app.app_context():
        db.session.execute(text("CREATE TABLE scratch (n INTEGER PRIMARY KEY, blob TEXT)"))
        db.session.commit()
        time.sleep(0.3)  # the table itself reaches the file first, when the checkpointer is on
        size_before = os.path.getsize(path)
        db.session.execute(text("INSERT INTO scratch (blob) VALUES (:b)"), [{"b": "x" * 4000}] * 100)
        db.session.commit()
        expected = 20000 if interval_ms else 1000
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == expected
        deadline = time.monotonic() + (5 if interval_ms else 1)  # absence needs less waiting
        while os.path.getsize(path) <= size_before and time.monotonic() < deadline:
            time.sleep(0.05)
        grew = os.path.getsize(path) > size_before
        assert grew is bool(interval_ms)
        assert db.session.execute(text("SELECT count(*) FROM scratch")).scalar() == 100
        db.engine.dispose()


def test_a_savepoint_released_inside_a_write_keeps_the_write_lock(app):
    """SQLAlchemy reports a SAVEPOINT's release as a commit; the write lock must stay until the real one."""
    path = _sqlite_path(app)
    assert path
    with app.app_context():
        begin_write(db.session)
        savepoint = db.session.begin_nested()
        db.session.execute(text("SELECT 1"))
        savepoint.commit()
        assert in_write(db.session)
        db.session.commit()
        assert not in_write(db.session)


def _idle(work: ConnectionWork) -> bool:
    """Whether the database has no transaction open on the unit of work's connection."""
    driver = work.connection.connection.driver_connection
    if work.connection.dialect.name == "sqlite":
        return not driver.in_transaction
    return driver.info.transaction_status == 0  # psycopg's IDLE


def test_a_connection_work_reads_without_a_transaction_and_converts_times(app):
    """Reads on the request's unit of work leave no transaction behind at the database (no snapshot, no lock
    held until the request ends), before and after a write, and Core converts values as the session
    would: times come back aware."""
    from sqlalchemy import bindparam, literal_column, select

    when = datetime(2026, 11, 30, 0, 5, 7, 1, tzinfo=timezone(timedelta(hours=8)))
    stmt = select(bindparam("t", type_=UTCDateTime).label("t"), literal_column("1").label("n"))
    with app.app_context():
        work = unit_of_work()
        value, n = work.connection.execute(stmt, {"t": when}).first()
        assert value == when and value.utcoffset() == timedelta(0) and n == 1
        assert _idle(work)
        work.begin_write()
        work.connection.execute(text("SELECT 1"))
        assert not _idle(work) and work.writing
        work.commit()
        work.connection.execute(stmt, {"t": when}).first()
        assert _idle(work) and not work.writing


def test_a_connection_write_rolled_back_frees_the_lock_and_the_pooled_connection_is_as_before(db_url):
    """A unit of work's write that is rolled back leaves nothing and ends the write (SQLite's lock is free
    for the session's next writer); the connection goes back to the pool as the session expects it, so a
    session transaction on it still rolls back (on PostgreSQL the unit of work read in autocommit)."""
    # One pooled connection: the session gets the very connection the unit of work gave back.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})
    with app.app_context():
        db.session.execute(text("CREATE TABLE scratch (n INTEGER PRIMARY KEY)"))
        db.session.commit()
        db.session.close()
        work = unit_of_work()
        work.connection.execute(text("SELECT count(*) FROM scratch"))
        work.begin_write()
        work.connection.execute(text("INSERT INTO scratch (n) VALUES (1)"))
        work.rollback()
        assert not work.writing
        close_unit_of_work()
        if db.engine.dialect.name == "sqlite":
            assert not lock_for_path(db.engine.url.database).mutex.locked()
        begin_write(db.session)
        db.session.execute(text("INSERT INTO scratch (n) VALUES (2)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
        db.session.close()
        db.engine.dispose()


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
@pytest.mark.parametrize("kind", ["session", "connection"])
def test_when_done_runs_once_after_the_transaction_with_the_lock_free(app, kind, commit):
    """A unit of work runs its `when_done` calls once its transaction has ended, committed or rolled back,
    after the write lock is free (the audit checkpoint's copy to its file runs there); a later transaction
    does not run them again."""
    with app.app_context():
        work = SessionWork(db.session) if kind == "session" else unit_of_work()
        sqlite = db.engine.dialect.name == "sqlite"
        seen = []
        work.begin_write()
        work.connection.execute(text("SELECT 1"))
        work.when_done(lambda: seen.append(
            not sqlite or not lock_for_path(db.engine.url.database).mutex.locked()))
        assert seen == []
        work.commit() if commit else work.rollback()
        assert seen == [True]
        work.begin_write()
        work.commit()
        assert seen == [True]


def test_a_second_writer_in_one_thread_is_refused_not_left_waiting(app):
    """The SQLite write lock is not reentrant: a session write begun while this thread's unit of work
    holds the lock (or the other way round) is an error at once, not a thread waiting on itself for
    ever. Run in a thread of its own, so that a regression fails here instead of hanging."""
    import threading

    _sqlite_path(app)
    outcome = []

    def scenario():
        with app.app_context():
            work = unit_of_work()
            work.begin_write()
            with pytest.raises(RuntimeError, match=r"write transaction already \(ConnectionWork\)"):
                begin_write(db.session)
            work.rollback()
            begin_write(db.session)
            with pytest.raises(RuntimeError, match=r"write transaction already \(Session\)"):
                work.begin_write()
            db.session.rollback()
            work.begin_write()  # both free again
            work.rollback()
            close_unit_of_work()
        outcome.append("done")

    def run():
        try:
            scenario()
        except BaseException as err:  # handed to the test's own thread
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert outcome, "the thread is waiting on a lock it holds itself"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]


def test_the_writes_nothing_check_counts_every_table_a_request_writes(app):
    """`rows` (tests/helpers/database.TABLES) proves a refused request wrote nothing only if it counts every table:
    a new feature's table missing from it would let a refusal that wrote there pass. The three left out are
    written beside requests on purpose (signed checkpoints, login failures, rate-limit counters)."""
    from tests.helpers.database import TABLES
    assert set(db.metadata.tables) - set(TABLES) == {"audit_checkpoints", "login_failures", "rate_limit_counters"}
