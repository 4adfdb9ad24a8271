"""The configured operations time zone (SPEC: times stored in UTC, shown in Asia/Shanghai by default)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from .database.utc import now_utc


def zone_name() -> str:
    """The IANA name of the operations time zone."""
    return current_app.config["OPS_TIMEZONE"]


def local_today(at: datetime | None = None) -> date:
    """The calendar date in the operations time zone."""
    return (at or now_utc()).astimezone(ZoneInfo(zone_name())).date()
