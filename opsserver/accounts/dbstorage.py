"""A `limits` storage in the app's own database (`database://`): counters every worker and server share.

`memory://` counts in each worker process, so a limit of 60 a minute was about 120 with two workers.
These fixed-window counters are rows of `rate_limit_counters`, each increment one short write
transaction (on SQLite under the app's write lock, like every other writer).
"""

import time

from limits.storage import Storage
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..database.unitofwork import ConnectionWork
from .models import RateLimitCounter

C = RateLimitCounter.__table__.c
_DROP_EXPIRED = delete(RateLimitCounter.__table__).where(C.expires_at <= bindparam("now"))
# The same statement on SQLite (3.35 and later) and PostgreSQL.
_INCREMENT = text(
    "INSERT INTO rate_limit_counters (name, count, expires_at) VALUES (:name, :amount, :expires_at) "
    "ON CONFLICT (name) DO UPDATE SET count = rate_limit_counters.count + excluded.count RETURNING count")
_GET = select(C.count, C.expires_at).where(C.name == bindparam("name"), C.expires_at > bindparam("now"))
_CLEAR = delete(RateLimitCounter.__table__).where(C.name == bindparam("name"))
_CLEAR_ALL = delete(RateLimitCounter.__table__)


class DatabaseStorage(Storage):
    """Fixed-window counters in the app's database; built by `storage_from_string("database://", engine=…)`."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, engine: Engine | None = None,
                 **options):
        if engine is None:
            raise ValueError("the database:// rate-limit storage needs the app's engine")
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = engine

    @property
    def base_exceptions(self):
        return SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error

    def _write(self, statement, params: dict) -> int | None:
        work = ConnectionWork(self.engine)
        try:
            work.begin_write()
            work.connection.execute(_DROP_EXPIRED, {"now": params.get("now", time.time())})
            result = work.connection.execute(statement, params)
            value = result.scalar() if result.returns_rows else None
            work.commit()
            return value
        finally:
            work.close()

    def _read(self, name: str) -> tuple[int, float]:
        work = ConnectionWork(self.engine)
        try:
            row = work.connection.execute(_GET, {"name": name, "now": time.time()}).first()
            return tuple(row) if row else (0, time.time())
        finally:
            work.close()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the counter; a counter that has expired starts again with a new window."""
        now = time.time()
        return self._write(_INCREMENT, {"name": key, "amount": amount, "expires_at": now + expiry, "now": now})

    def get(self, key: str) -> int:
        return self._read(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._read(key)[1]

    def check(self) -> bool:
        try:
            self._read("-")
            return True
        except self.base_exceptions:
            return False

    def reset(self) -> int | None:
        self._write(_CLEAR_ALL, {})
        return None

    def clear(self, key: str) -> None:
        self._write(_CLEAR, {"name": key})
