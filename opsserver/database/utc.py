"""The UTC datetime column type, `now_utc` and `as_utc`: aware times in, aware UTC times out."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# Set only by `played_at` (the drill replays a past night through the services); never in a request.
_PLAYED_AT: ContextVar[datetime | None] = ContextVar("played_at", default=None)


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (used as a callable column default); inside `played_at`,
    the time played."""
    played = _PLAYED_AT.get()
    return datetime.now(UTC) if played is None else played


@contextmanager
def played_at(at: datetime) -> Iterator[None]:
    """Within the block (this thread or task only), `now_utc()` is `at`: the demo drill plays a night that
    has passed through the same services as the API, each step stamped with its time of that night."""
    token = _PLAYED_AT.set(as_utc(at))
    try:
        yield
    finally:
        _PLAYED_AT.reset(token)


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
