"""A firing report judged: every rule it can break as a flag with its reason, and "flagged" in SQL."""

from datetime import date, datetime

from .certificate import certificate_valid_at
from .flags import Flag, local_time, utc_text
from .sector import sector_flag
from .staffing import staffing_flag
from .stock import stock_flag
from .window import Window, window_flags

NO_FLAGS_JSON = "[]"  # how a report's stored flags column reads when it broke no rule


def limit_flags(height_m: float | None, max_height_m: float, range_km: float | None,
                max_range_km: float) -> list[Flag]:
    """`over_height` / `over_range` for a reported height or range beyond the point's maximum."""
    flags = []
    if height_m is not None and height_m > max_height_m:
        flags.append(Flag("over_height", f"height {height_m:g} m is above the point's maximum {max_height_m:g} m",
                          {"height": height_m, "max": max_height_m}))
    if range_km is not None and range_km > max_range_km:
        flags.append(Flag("over_range", f"range {range_km:g} km is beyond the point's maximum {max_range_km:g} km",
                          {"range": range_km, "max": max_range_km}))
    return flags


def firing_flags(*, started_at: datetime, ended_at: datetime, azimuth_deg: float, sector_start_deg: float,
                 sector_end_deg: float, height_m: float | None, max_height_m: float, range_km: float | None,
                 max_range_km: float, windows: list[Window], certified_on_site: int, min_crew: int,
                 reporter_certificate_expires: date | None, fired: dict[str, int], stock: dict[str, int],
                 tz_name: str, instant: bool = False) -> list[Flag]:
    """Every safety rule a firing can break, each as a flag with its reason (`instant`: a clearance query)."""
    flags = window_flags(started_at, ended_at, windows, tz_name, instant)
    flags += filter(None, [sector_flag(azimuth_deg, sector_start_deg, sector_end_deg)])
    flags += limit_flags(height_m, max_height_m, range_km, max_range_km)
    flags += filter(None, [staffing_flag(certified_on_site, min_crew)])
    if reporter_certificate_expires is not None and not certificate_valid_at(
            reporter_certificate_expires, started_at, tz_name):
        flags.append(Flag("uncertified", f"the reporting crew member's certificate expired on "
                                         f"{reporter_certificate_expires.isoformat()}",
                            {"expires": reporter_certificate_expires.isoformat()}))
    flags += filter(None, [stock_flag(fired, stock)])
    return flags


def late_report_flag(received: datetime, closed_at: datetime | None, tz_name: str) -> Flag | None:
    """`late_report` when the report arrived after its round closed, else None."""
    if closed_at is None:
        return None
    return Flag("late_report", f"received {local_time(received, tz_name)}, after the "
                               f"round closed at {local_time(closed_at, tz_name)}",
                {"received_at": utc_text(received), "closed_at": utc_text(closed_at)})


def not_ordered_flag(point_code: str, round_id: int, ordered: bool) -> Flag | None:
    """`not_ordered` when the point fired in a round that did not order it, else None."""
    return None if ordered else Flag("not_ordered", f"{point_code} was not ordered in round {round_id}",
                                          {"point": point_code, "round": round_id})


def report_flagged(flags: list) -> bool:
    """A report is flagged when it broke at least one rule."""
    return bool(flags)


def report_flagged_sql(flags_json):
    """`report_flagged` as an SQL condition on a report's stored JSON `flags` column (negate with `~`)."""
    return flags_json != NO_FLAGS_JSON
