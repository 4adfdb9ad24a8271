"""The safety rules as pure functions of plain values.

Every caller (check-ins, reports, clearance, alerts, pages, maps) uses these; none re-implements them.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
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


# --- airspace windows and firings ------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """An approved airspace window; an early termination ends it sooner."""

    start: datetime
    end: datetime
    terminated_at: datetime | None = None

    @property
    def effective_end(self) -> datetime:
        if self.terminated_at is not None and self.terminated_at < self.end:
            return self.terminated_at
        return self.end

    def open_at(self, at: datetime) -> bool:
        """Open from its start (inclusive) to its effective end (exclusive)."""
        return self.start <= at < self.effective_end

    def covers(self, start: datetime, end: datetime) -> bool:
        """A firing lies inside it, both edges counting, to the second."""
        return self.start <= start and end <= self.effective_end


def local_time(value: datetime, tz_name: str) -> str:
    """A time as people read it in reasons: local, with its offset."""
    return value.astimezone(ZoneInfo(tz_name)).isoformat(timespec="seconds")


def window_flags(started_at: datetime, ended_at: datetime, windows: list[Window], tz_name: str,
                 instant: bool = False) -> list[Flag]:
    """`no_airspace` without an approved window, `outside_window` when none covers the whole firing.

    A reported firing may end exactly at the window's end; asked for one instant (clearance), the
    window must be open at it, so its end (or termination) instant is already outside.
    """
    if not windows:
        return [Flag("no_airspace", "no approved airspace window for this point in this round")]
    if instant:
        if any(w.open_at(started_at) for w in windows):
            return []
        w = min(windows, key=lambda w: min(abs((w.start - started_at).total_seconds()),
                                           abs((w.effective_end - started_at).total_seconds())))
        if started_at < w.start:
            return [Flag("outside_window", f"the window opens only at {local_time(w.start, tz_name)}")]
        how = "was terminated" if w.effective_end != w.end else "closed"
        return [Flag("outside_window", f"the window {how} at {local_time(w.effective_end, tz_name)}")]
    if any(w.covers(started_at, ended_at) for w in windows):
        return []
    # Explain against the window the firing overlaps most (or the nearest one).
    def overlap(w: Window) -> float:
        return (min(ended_at, w.effective_end) - max(started_at, w.start)).total_seconds()

    w = max(windows, key=overlap)
    parts = []
    if started_at < w.start:
        parts.append(f"started {local_time(started_at, tz_name)}, {(w.start - started_at).total_seconds():.0f} s "
                     f"before the window opened at {local_time(w.start, tz_name)}")
    if ended_at > w.effective_end:
        how = "was terminated" if w.effective_end != w.end else "closed"
        parts.append(f"ended {local_time(ended_at, tz_name)}, {(ended_at - w.effective_end).total_seconds():.0f} s "
                     f"after the window {how} at {local_time(w.effective_end, tz_name)}")
    if started_at >= w.effective_end:
        how = "was terminated" if w.effective_end != w.end else "closed"
        parts = [f"started {local_time(started_at, tz_name)}, after the window {how} "
                 f"at {local_time(w.effective_end, tz_name)}"]
    return [Flag("outside_window", "; ".join(parts))]


def firing_flags(*, started_at: datetime, ended_at: datetime, azimuth_deg: float, sector_start_deg: float,
                 sector_end_deg: float, height_m: float | None, max_height_m: float, range_km: float | None,
                 max_range_km: float, windows: list[Window], certified_on_site: int, min_crew: int,
                 reporter_certificate_expires: date | None, fired: dict[str, int], stock: dict[str, int],
                 tz_name: str, instant: bool = False) -> list[Flag]:
    """Every safety rule a firing can break, each as a flag with its reason (`instant`: a clearance query)."""
    flags = window_flags(started_at, ended_at, windows, tz_name, instant)
    if not in_sector(azimuth_deg, sector_start_deg, sector_end_deg):
        flags.append(Flag("outside_sector", f"azimuth {azimuth_deg:g}° is outside the safe sector "
                                            f"{sector_start_deg:g}° → {sector_end_deg:g}° (clockwise)"))
    if height_m is not None and height_m > max_height_m:
        flags.append(Flag("over_height", f"height {height_m:g} m is above the point's maximum {max_height_m:g} m"))
    if range_km is not None and range_km > max_range_km:
        flags.append(Flag("over_range", f"range {range_km:g} km is beyond the point's maximum {max_range_km:g} km"))
    if certified_on_site < min_crew:
        flags.append(Flag("understaffed", f"{certified_on_site} certified crew checked in when firing began; "
                                          f"the point needs {min_crew}"))
    if reporter_certificate_expires is not None and not certificate_valid_at(
            reporter_certificate_expires, started_at, tz_name):
        flags.append(Flag("uncertified", f"the reporting crew member's certificate expired on "
                                         f"{reporter_certificate_expires.isoformat()}"))
    short = {code: n - stock.get(code, 0) for code, n in fired.items() if n > stock.get(code, 0)}
    if short:
        flags.append(Flag("insufficient_stock", "; ".join(
            f"{code}: fired {fired[code]}, the ledger held {stock.get(code, 0)} (short {n})"
            for code, n in sorted(short.items()))))
    return flags
