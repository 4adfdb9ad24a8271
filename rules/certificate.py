"""Crew certificates: valid at an instant, covering a shift, and their status for display."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CERTIFICATE_WARNING_DAYS = 30


def certificate_valid_at(expires: date, at: datetime, tz_name: str) -> bool:
    """A certificate is valid through its expiry date in local time (dates compared, so no overflow)."""
    return at.astimezone(ZoneInfo(tz_name)).date() <= expires


def certificate_problem(expires: date, starts_at: datetime, ends_at: datetime, tz_name: str) -> str | None:
    """Why a certificate does not cover a whole shift, or None when it does."""
    if not certificate_valid_at(expires, starts_at, tz_name):
        return f"certificate expired on {expires.isoformat()}, before the shift starts"
    # A shift may end exactly at the midnight that follows the expiry date: its last instant is before it.
    last_day = (ends_at.astimezone(ZoneInfo(tz_name)) - timedelta(microseconds=1)).date()
    if last_day > expires:
        return f"certificate expires on {expires.isoformat()}, inside the shift"
    return None


def certificate_status(expires: date, today: date) -> str:
    """`expired`, `expiring` (within 30 days) or `valid`, for display and alerts."""
    if expires < today:
        return "expired"
    if (expires - today).days <= CERTIFICATE_WARNING_DAYS:
        return "expiring"
    return "valid"


def certificate_status_sql(expires, status: str, today: date):
    """`certificate_status(expires, today) == status` as an SQL condition on the expiry column `expires`."""
    soon = today + timedelta(days=CERTIFICATE_WARNING_DAYS)
    return {"expired": expires < today, "expiring": expires.between(today, soon), "valid": expires > soon}[status]
