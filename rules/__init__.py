"""The safety rules as pure functions of plain values, one definition each.

No Flask, no database: opsserver and maps both import them (`import rules`, `from rules import in_sector`).
Beside each predicate that a query needs too (on shift, on site, flagged, overlapping) sits its SQL
expression, built on the columns the caller passes in. The crew page runs the same checks from
opsserver/web/static/rules.js against the JSON vectors in rules/vectors/.
"""

from .alerts import SEVERITY_RANK, alert_returns
from .certificate import (CERTIFICATE_WARNING_DAYS, certificate_problem, certificate_status,
                          certificate_status_sql, certificate_valid_at)
from .checkin import CLOCK_SKEW_LIMIT_S, checkin_flagged, checkin_flagged_sql, checkin_flags, clock_skewed
from .flags import Flag, local_time
from .geofence import distance_m, within_geofence
from .interval import overlaps, overlaps_sql
from .orders import (ACK_LIMIT, OFF_ORDER_AZIMUTH_DEG, OrderFact, azimuth_difference, fire_order_at,
                     off_order_flag, unacknowledged)
from .plausibility import IMPLAUSIBLE_TIME, implausible_time_flag, times_drive_state
from .report import (NO_FLAGS_JSON, firing_flags, late_report_flag, limit_flags, not_ordered_flag,
                     report_flagged, report_flagged_sql)
from .sector import FULL_CIRCLE_DEG, NO_WIDTH_REASON, in_sector, sector_flag, sector_has_width, sector_width
from .staffing import (ON_SITE_HORIZON, on_shift, on_shift_sql, on_site, on_site_since, on_site_sql,
                       staffing_flag, understaffed, within_on_site_horizon, within_on_site_horizon_sql)
from .stock import no_stock, no_stock_flag, stock_flag, stock_shortfall
from .window import Window, window_flags

__all__ = [
    "CERTIFICATE_WARNING_DAYS", "CLOCK_SKEW_LIMIT_S", "FULL_CIRCLE_DEG", "NO_FLAGS_JSON", "NO_WIDTH_REASON",
    "ON_SITE_HORIZON", "Flag", "Window", "certificate_problem", "certificate_status", "certificate_status_sql",
    "certificate_valid_at", "checkin_flagged", "checkin_flagged_sql", "checkin_flags", "clock_skewed",
    "distance_m", "firing_flags", "in_sector", "late_report_flag", "limit_flags", "local_time",
    "no_stock", "no_stock_flag", "not_ordered_flag", "on_shift", "on_shift_sql", "on_site", "on_site_since",
    "on_site_sql", "overlaps", "overlaps_sql", "report_flagged", "report_flagged_sql", "sector_flag",
    "sector_has_width", "sector_width", "staffing_flag", "stock_flag", "stock_shortfall", "understaffed",
    "window_flags", "within_geofence", "within_on_site_horizon", "within_on_site_horizon_sql",
    "IMPLAUSIBLE_TIME", "implausible_time_flag", "times_drive_state",
    "ACK_LIMIT", "OFF_ORDER_AZIMUTH_DEG", "OrderFact", "azimuth_difference", "fire_order_at", "off_order_flag",
    "unacknowledged", "SEVERITY_RANK", "alert_returns",
]
