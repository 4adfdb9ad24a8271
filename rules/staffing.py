"""Staffing: who is on shift, who is on site, and whether a point has its minimum certified crew.

Each predicate that queries need too has its SQL expression beside it, built on the columns it is
given, so a query states the rule by calling it rather than writing it again. They use only the operators
SQLAlchemy's column expressions carry (comparisons, `&`, `.is_`), so the package imports no database library.
"""

from datetime import datetime, timedelta

from .flags import Flag

ON_SITE_HORIZON = timedelta(hours=24)  # an arrival older than this no longer counts as "on site"


def on_shift(starts_at: datetime, ends_at: datetime, at: datetime) -> bool:
    """A shift covers an instant from its start (inclusive) to its end (exclusive)."""
    return starts_at <= at < ends_at


def on_shift_sql(starts_at, ends_at, at):
    """`on_shift` as an SQL condition on a shift's `starts_at` / `ends_at` columns (`at`: value or bindparam)."""
    return (starts_at <= at) & (ends_at > at)


def on_site_since(at: datetime) -> datetime:
    """The oldest check-in (exclusive) that still counts when judging who is on site at `at`."""
    return at - ON_SITE_HORIZON


def within_on_site_horizon(recorded_at: datetime, since: datetime, at: datetime) -> bool:
    """A check-in counts for who is on site at `at` when recorded in (since, at]."""
    return since < recorded_at <= at


def within_on_site_horizon_sql(recorded_at, since, at):
    """`within_on_site_horizon` as an SQL condition on a check-in's `recorded_at` column."""
    return (recorded_at > since) & (recorded_at <= at)


def on_site(kind: str, within_geofence: bool) -> bool:
    """A crew member is on site when their latest check-in within the horizon is an arrival inside the geofence."""
    return kind == "arrive" and within_geofence is True


def on_site_sql(kind, within_geofence):
    """`on_site` as an SQL condition on the latest check-in's `kind` and `within_geofence` columns."""
    return (kind == "arrive") & within_geofence.is_(True)


def understaffed(certified_on_site: int, min_crew: int) -> bool:
    """Fewer certified crew on site than the point's minimum crew."""
    return certified_on_site < min_crew


def staffing_flag(certified_on_site: int, min_crew: int) -> Flag | None:
    """`understaffed` when firing began with fewer certified crew than the point needs, else None."""
    if not understaffed(certified_on_site, min_crew):
        return None
    return Flag("understaffed", f"{certified_on_site} certified crew checked in when firing began; "
                                f"the point needs {min_crew}",
                {"on_site": certified_on_site, "min_crew": min_crew})
