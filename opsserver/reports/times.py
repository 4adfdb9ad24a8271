"""The reports' two ways of writing a time: UTC ISO 8601 for machines, local time with its offset for people.

The local zone is config ``OPS_TIMEZONE``. Values may be datetimes or the ISO strings the views carry.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def as_datetime(value) -> datetime | None:
    """A datetime from a datetime or an ISO 8601 string (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def iso(value) -> str | None:
    """UTC, ISO 8601, for machine formats."""
    value = as_datetime(value)
    return value.isoformat() if value is not None else None


def local(value, with_date: bool = True) -> str:
    """Local time with its offset for people, e.g. ``2026-11-29 22:05:09 +08:00``."""
    value = as_datetime(value)
    if value is None:
        return "—"
    t = value.astimezone(ZoneInfo(current_app.config["OPS_TIMEZONE"]))
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S") + f" {offset[:3]}:{offset[3:]}"


def seconds_between(a, b) -> float | None:
    """Seconds from a to b, to a tenth (None when either is missing)."""
    if a is None or b is None:
        return None
    return round((as_datetime(b) - as_datetime(a)).total_seconds(), 1)
