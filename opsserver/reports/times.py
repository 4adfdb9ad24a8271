"""The reports' two ways of writing a time: UTC ISO 8601 for machines, local time with its offset for people
(opsserver.i18n.format_time, the one format).

The local zone is config ``OPS_TIMEZONE``. Values may be datetimes or the ISO strings the views carry.
"""

from ..i18n import as_datetime, format_time

local = format_time  # people's times: the one format of the whole site, `2026-07-18 21:05 +08:00`


def iso(value) -> str | None:
    """UTC, ISO 8601, for machine formats."""
    value = as_datetime(value)
    return value.isoformat() if value is not None else None


def seconds_between(a, b) -> float | None:
    """Seconds from a to b, to a tenth (None when either is missing)."""
    if a is None or b is None:
        return None
    return round((as_datetime(b) - as_datetime(a)).total_seconds(), 1)
