"""Check-in flags: outside the geofence, off shift, phone clock skewed. A check-in is marked, never refused."""

from .flags import Flag
from .geofence import within_geofence

CLOCK_SKEW_LIMIT_S = 600  # SPEC: a phone whose clock differs from the server by more than 10 minutes


def clock_skewed(offset_s: float | None) -> bool:
    """A phone clock more than the limit away from the server's."""
    return offset_s is not None and abs(offset_s) > CLOCK_SKEW_LIMIT_S


def checkin_flags(*, kind: str, distance: float, geofence_m: float, on_shift: bool,
                  clock_offset_s: float | None) -> list[Flag]:
    """Flags on a stored check-in: it is never refused for these, only marked."""
    flags = []
    if not within_geofence(distance, geofence_m):
        flags.append(Flag("outside_geofence",
                          f"{kind} reported {distance:.0f} m from the point, outside its {geofence_m:.0f} m geofence",
                          {"kind": kind, "distance": distance, "geofence": geofence_m}))
    if not on_shift:
        flags.append(Flag("off_shift", "no shift at this point covers the time of this check-in"))
    if clock_skewed(clock_offset_s):
        flags.append(Flag("clock_skew", f"the phone's clock is {clock_offset_s:+.0f} s off the server's",
                          {"offset": clock_offset_s}))
    return flags


def checkin_flagged(*, within_geofence: bool, on_shift: bool, clock_offset_s: float | None) -> bool:
    """A stored check-in carries at least one flag (its stored geofence verdict, shift and clock offset)."""
    return not within_geofence or not on_shift or clock_skewed(clock_offset_s)


def checkin_flagged_sql(within_geofence, on_shift, clock_offset_s):
    """`checkin_flagged` as an SQL condition on a check-in's `within_geofence`, `on_shift`, `clock_offset_s`."""
    # |offset| > limit written as two comparisons, and a missing offset false rather than NULL, so that the
    # negation (`~`, the unflagged check-ins) selects the rows with no offset too.
    limit = CLOCK_SKEW_LIMIT_S
    skewed = clock_offset_s.is_not(None) & ((clock_offset_s > limit) | (clock_offset_s < -limit))
    return within_geofence.is_(False) | on_shift.is_(False) | skewed
