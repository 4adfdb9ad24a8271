"""Database plumbing: how times are stored on SQLite, the background WAL checkpointer, and the direct
connection the busiest endpoints use instead of the ORM session."""

import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, text
from sqlalchemy.dialects import sqlite

from opsserver import create_app
from opsserver.database import UTCDateTime
from opsserver.extensions import db

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
    from opsserver.database import begin_write, in_write

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


def test_a_direct_connection_reads_without_a_transaction_and_converts_times(app):
    """Reads on a direct connection leave no transaction behind (no snapshot, no lock held until the
    request ends), and `Prepared` converts values as Session.execute would: times come back aware."""
    from sqlalchemy import bindparam, literal_column, select

    from opsserver.database import Prepared, UTCDateTime
    from opsserver.extensions import direct_connection

    when = datetime(2026, 11, 30, 0, 5, 7, 1, tzinfo=timezone(timedelta(hours=8)))
    stmt = Prepared(select(bindparam("t", type_=UTCDateTime).label("t"), literal_column("1").label("n")))
    with app.app_context():
        conn = direct_connection()
        value, n = stmt.first(conn, {"t": when})
        assert value == when and value.utcoffset() == timedelta(0) and n == 1
        if conn.dialect.name == "sqlite":
            assert not conn.dbapi.in_transaction
        else:
            assert conn.dbapi.info.transaction_status == 0  # idle


def test_a_direct_write_rolled_back_frees_the_lock_and_the_pooled_connection_is_as_before(db_url):
    """A direct write that is rolled back leaves nothing and ends the write (SQLite's lock is free for
    the session's next writer); the connection goes back to the pool as the session expects it, so a
    session transaction on it still rolls back (on PostgreSQL the direct one ran in autocommit)."""
    from opsserver.database import _lock_for, begin_write
    from opsserver.extensions import close_direct_connection, direct_connection

    # One pooled connection: the session gets the very connection the direct path gave back.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})
    with app.app_context():
        db.session.execute(text("CREATE TABLE scratch (n INTEGER PRIMARY KEY)"))
        db.session.commit()
        db.session.close()
        conn = direct_connection()
        conn.begin_write()
        cursor = conn.dbapi.cursor()
        cursor.execute("INSERT INTO scratch (n) VALUES (1)")
        cursor.close()
        conn.rollback()
        assert not conn.writing
        close_direct_connection()
        if db.engine.dialect.name == "sqlite":
            assert not _lock_for(db.engine.url.database).mutex.locked()
        begin_write(db.session)
        db.session.execute(text("INSERT INTO scratch (n) VALUES (2)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
        db.session.close()
        db.engine.dispose()


def test_a_second_writer_in_one_thread_is_refused_not_left_waiting(app):
    """The SQLite write lock is not reentrant: a session write begun while this thread's direct
    connection holds the lock (or the other way round) is an error at once, not a thread waiting on
    itself for ever. Run in a thread of its own, so that a regression fails here instead of hanging."""
    import threading

    from opsserver.database import begin_write
    from opsserver.extensions import close_direct_connection, direct_connection

    _sqlite_path(app)
    outcome = []

    def scenario():
        with app.app_context():
            conn = direct_connection()
            conn.begin_write()
            with pytest.raises(RuntimeError, match="direct connection"):
                begin_write(db.session)
            conn.rollback()
            begin_write(db.session)
            with pytest.raises(RuntimeError, match="write transaction already"):
                conn.begin_write()
            db.session.rollback()
            conn.begin_write()  # both free again
            conn.rollback()
            close_direct_connection()
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
