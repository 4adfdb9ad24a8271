"""The unit of work: one command's statements and the transaction around them, the one thing the writers
below a command (audit, idempotency, the ledger, checkpoints) take.

Statements run on `work.connection`, a SQLAlchemy Core Connection, through its public API
(`connection.execute(statement, params)`; SQLAlchemy's compiled cache compiles each statement once).
Two kinds share the interface: `SessionWork`, the ORM session's transaction, for commands that change
ORM objects; and `ConnectionWork`, a Core connection of its own, for the busiest endpoints.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import writelock


class UnitOfWork(ABC):
    """A command's transaction: begin the write (before the reads it depends on), write, commit or roll back."""

    @property
    @abstractmethod
    def connection(self) -> Connection:
        """The Connection the command's statements run on, inside its transaction once begun."""

    @property
    @abstractmethod
    def writing(self) -> bool:
        """Whether the write transaction was begun (begin_write) and has not ended."""

    @abstractmethod
    def begin_write(self) -> None:
        """Begin the write transaction (on SQLite, wait for the write lock first); a no-op when begun."""

    @abstractmethod
    def commit(self) -> None:
        """Commit, free the write lock, then run the `when_done` calls."""

    @abstractmethod
    def rollback(self) -> None:
        """Roll back what is open, free the write lock, then run the `when_done` calls."""

    @abstractmethod
    def when_done(self, call: Callable[[], None]) -> None:
        """Run `call` once this transaction has ended, committed or not (e.g. copying what it signed)."""

    def lock(self, name: str, key: int) -> None:
        """Serialise writers of one thing until this transaction ends (PostgreSQL; SQLite's write lock does it)."""
        writelock.advisory_lock(self.connection, name, key)


_WHEN_DONE = "ops_when_done"  # in Session.info: the calls waiting for the session's transaction to end


class SessionWork(UnitOfWork):
    """The ORM session's transaction (a Session, or the app's scoped session) as a unit of work."""

    def __init__(self, session):
        self.session = session

    @property
    def connection(self) -> Connection:
        return self.session.connection()

    @property
    def writing(self) -> bool:
        return writelock.in_write(self.session)

    def begin_write(self) -> None:
        writelock.begin_write(self.session)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def when_done(self, call: Callable[[], None]) -> None:
        self.session.info.setdefault(_WHEN_DONE, []).append(call)


@event.listens_for(Session, "after_transaction_end")
def _run_when_done(session, transaction):
    # The outermost transaction only (a SAVEPOINT ends inside it); after writelock's listener has freed the lock.
    if transaction.parent is None and transaction.nested is False:
        for call in session.info.pop(_WHEN_DONE, ()):
            call()


class ConnectionWork(UnitOfWork):
    """A Core connection from the engine's pool, without the ORM session: the busiest endpoints' way.

    The session's begin, flush, commit and clean-up cost more there than the statements themselves.
    Reads run in autocommit mode: each sees the latest commit and leaves no transaction, lock or
    snapshot behind. Writes go in one transaction from begin_write() to commit() or rollback(): on
    SQLite BEGIN IMMEDIATE under the same write lock as the session's writers, on PostgreSQL a
    transaction at the engine's isolation level.
    """

    def __init__(self, engine: Engine):
        self._path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._connection = engine.connect()
        self._writing = False
        self._when_done: list[Callable[[], None]] = []
        if self._path is None:
            # SQLite connections are in autocommit mode already (engine.py); PostgreSQL's are put in it for
            # reads, and the pool resets them when they go back.
            self._isolation = self._connection.default_isolation_level
            self._connection.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def writing(self) -> bool:
        return self._writing

    def begin_write(self) -> None:
        if self._writing:
            return
        conn = self._connection
        if self._path is not None:
            writelock.begin_immediate(conn, self._path, self)
        else:
            if conn.in_transaction():
                conn.commit()  # the reads' (autocommit: nothing at the database), before the isolation level
            conn.execution_options(isolation_level=self._isolation)
            conn.begin()
        self._writing = True

    def commit(self) -> None:
        if not self._writing:
            return
        try:
            self._connection.commit()
        except BaseException:
            self.rollback()  # a constraint checked at commit, or a broken connection
            raise
        self._ended()

    def rollback(self) -> None:
        if not self._writing:
            return
        try:
            self._connection.rollback()
        finally:
            self._ended()

    def when_done(self, call: Callable[[], None]) -> None:
        self._when_done.append(call)

    def _ended(self) -> None:
        self._writing = False
        writelock.release(self)
        if self._path is None:
            self._connection.execution_options(isolation_level="AUTOCOMMIT")
        calls, self._when_done = self._when_done, []
        for call in calls:
            call()

    def close(self) -> None:
        """Roll back what is open and give the connection back to the pool (dropped if it broke)."""
        try:
            self.rollback()
        finally:
            self._connection.close()
