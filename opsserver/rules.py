"""The safety rules as pure functions of plain values.

Every caller (check-ins, reports, clearance, alerts, pages, maps) uses these; none re-implements them.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from geographiclib.geodesic import Geodesic

CLOCK_SKEW_LIMIT_S = 600  # SPEC: a phone whose clock differs from the server by more than 10 minutes
CERTIFICATE_WARNING_DAYS = 30


@dataclass(frozen=True)
class Flag:
    """A broken rule on a stored fact, with a reason a person can act on."""

    code: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


# --- firing sector -------------------------------------------------------------------------------

def sector_width(start_deg: float, end_deg: float) -> float:
    """Clockwise width from start to end; 0 → 360 is the full circle, 300 → 40 crosses north (100°)."""
    if end_deg == start_deg:
        return 0.0
    width = (end_deg - start_deg) % 360.0
    return 360.0 if width == 0 else width


def in_sector(azimuth_deg: float, start_deg: float, end_deg: float) -> bool:
    """True when the azimuth lies in the clockwise sector from start to end, edges included."""
    width = sector_width(start_deg, end_deg)
    if width >= 360.0:
        return True
    return (azimuth_deg - start_deg) % 360.0 <= width


_WGS84 = Geodesic.WGS84

# --- geofence ------------------------------------------------------------------------------------

def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS-84 ellipsoid, in metres.

    This is the computation behind geopy's `geodesic` (Karney's algorithm in geographiclib, which geopy
    uses), called directly: it asks for the distance only and skips geopy's point parsing, which
    took about 6% of a check-in's time when profiled.
    """
    return _WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"]


def within_geofence(distance: float, radius_m: float) -> bool:
    """A position counts as at the point when it is no farther than the geofence radius."""
    return distance <= radius_m


# --- certificates --------------------------------------------------------------------------------

def certificate_valid_until(expires: date, tz_name: str) -> datetime:
    """A certificate is valid through its expiry date in local time: until the next local midnight."""
    return datetime.combine(expires + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz_name))


def certificate_valid_at(expires: date, at: datetime, tz_name: str) -> bool:
    """Whether the certificate is valid at an instant."""
    return at < certificate_valid_until(expires, tz_name)


def certificate_problem(expires: date, starts_at: datetime, ends_at: datetime, tz_name: str) -> str | None:
    """Why a certificate does not cover a whole shift, or None when it does."""
    until = certificate_valid_until(expires, tz_name)
    if starts_at >= until:
        return f"certificate expired on {expires.isoformat()}, before the shift starts"
    if ends_at > until:
        return f"certificate expires on {expires.isoformat()}, inside the shift"
    return None


def certificate_status(expires: date, today: date) -> str:
    """`expired`, `expiring` (within 30 days) or `valid`, for display and alerts."""
    if expires < today:
        return "expired"
    if (expires - today).days <= CERTIFICATE_WARNING_DAYS:
        return "expiring"
    return "valid"


# --- time windows --------------------------------------------------------------------------------

def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals [start, end) overlap; a shift ending at 06:00 and one starting then do not."""
    return a_start < b_end and b_start < a_end


# --- check-ins -----------------------------------------------------------------------------------

def clock_skewed(offset_s: float | None) -> bool:
    """A phone clock more than the limit away from the server's."""
    return offset_s is not None and abs(offset_s) > CLOCK_SKEW_LIMIT_S


def checkin_flags(*, kind: str, distance: float, geofence_m: float, on_shift: bool,
                  clock_offset_s: float | None) -> list[Flag]:
    """Flags on a stored check-in: it is never refused for these, only marked."""
    flags = []
    if not within_geofence(distance, geofence_m):
        flags.append(Flag("outside_geofence",
                          f"{kind} reported {distance:.0f} m from the point, outside its {geofence_m:.0f} m geofence"))
    if not on_shift:
        flags.append(Flag("off_shift", "no shift at this point covers the time of this check-in"))
    if clock_skewed(clock_offset_s):
        flags.append(Flag("clock_skew", f"the phone's clock is {clock_offset_s:+.0f} s off the server's"))
    return flags
