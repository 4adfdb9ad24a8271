"""Airspace windows: open at an instant, covering a firing, and the flags when none does."""

from dataclasses import dataclass
from datetime import datetime

from .flags import Flag, local_time


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
