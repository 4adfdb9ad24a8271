"""Each engine's setup: SQLite's pragmas and its background WAL checkpointer (nothing to do on PostgreSQL)."""

import logging
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


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
            with _guard:  # a database made again at this path gets a new checkpointer
                _checkpointers.pop((os.getpid(), self.path), None)


_checkpointers: dict[tuple[int, str], _Checkpointer] = {}
_guard = threading.Lock()


def _start_checkpointer(path: str, interval: float) -> None:
    key = (os.getpid(), path)  # threads do not survive a fork: each worker starts its own
    with _guard:
        if key not in _checkpointers:
            _checkpointers[key] = _Checkpointer(path, interval)
            _checkpointers[key].start()


def configure_engine(engine: Engine, synchronous: str = "FULL", checkpoint_ms: int = 0) -> None:
    """Install SQLite's pragmas and start its checkpointer; nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    path = engine.url.database
    background = checkpoint_ms > 0 and path not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Autocommit mode: reads begin no transaction; a writer emits BEGIN IMMEDIATE itself (writelock.py),
        # since pysqlite's own handling is lazy and wrong (a deferred BEGIN that read the audit head and then
        # wrote could fail with SQLITE_BUSY when another process committed in between).
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
