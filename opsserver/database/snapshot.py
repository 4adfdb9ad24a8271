"""A read of many queries that sees one state of the database: a deferred transaction on SQLite (WAL: the
snapshot is taken at its first read), REPEATABLE READ on PostgreSQL. Reads elsewhere run in autocommit
(engine.py, unitofwork.py), each statement seeing the latest commit; a feed labelled with a version must
not mix two."""

from contextlib import contextmanager

from ..extensions import db
from . import writelock


@contextmanager
def read_snapshot():
    """Run the block's reads through the session in one snapshot, then end it (nothing is written).

    It ends the session's transaction first: a caller with changes pending, or in a write, is a bug."""
    session = db.session
    in_write = db.engine.dialect.name == "sqlite" and writelock.in_write(session)  # (always true off SQLite)
    if session.new or session.dirty or session.deleted or in_write:
        raise RuntimeError("read_snapshot inside a write: commit or roll back first")
    session.rollback()  # whatever the session began for earlier reads: bookkeeping, or a READ COMMITTED one
    if db.engine.dialect.name == "sqlite":
        conn = session.connection()
        driver = conn.connection.driver_connection
        driver.execute("BEGIN")
        try:
            yield
        finally:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            session.rollback()
    else:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            yield
        finally:
            session.rollback()  # the pool puts the connection back at its default isolation level
