"""Airspace windows: open at an instant, covering a firing, and the flags when none does."""

from dataclasses import dataclass
from datetime import datetime

from .flags import Flag, local_time, utc_text


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
            return [Flag("outside_window", f"the window opens only at {local_time(w.start, tz_name)}",
                         {"text": "outside_window.opens", "opens_at": utc_text(w.start)})]
        ended = _ended(w)
        how = ended.replace("_", " ")
        return [Flag("outside_window", f"the window {how} at {local_time(w.effective_end, tz_name)}",
                     {"text": f"outside_window.{ended}", "end_at": utc_text(w.effective_end)})]
    if any(w.covers(started_at, ended_at) for w in windows):
        return []
    # Explain against the window the firing overlaps most (or the nearest one).
    def overlap(w: Window) -> float:
        return (min(ended_at, w.effective_end) - max(started_at, w.start)).total_seconds()

    w = max(windows, key=overlap)
    ended = _ended(w)
    parts, texts = [], []
    if started_at < w.start:
        seconds = round((w.start - started_at).total_seconds())
        texts.append(f"started {local_time(started_at, tz_name)}, {seconds} s "
                     f"before the window opened at {local_time(w.start, tz_name)}")
        parts.append({"text": "outside_window.started_before", "started_at": utc_text(started_at),
                      "seconds": seconds, "opens_at": utc_text(w.start)})
    if ended_at > w.effective_end:
        seconds = round((ended_at - w.effective_end).total_seconds())
        texts.append(f"ended {local_time(ended_at, tz_name)}, {seconds} s "
                     f"after the window {ended.replace('_', ' ')} at {local_time(w.effective_end, tz_name)}")
        parts.append({"text": f"outside_window.ended_after_{ended}", "ended_at": utc_text(ended_at),
                      "seconds": seconds, "end_at": utc_text(w.effective_end)})
    if started_at >= w.effective_end:
        texts = [f"started {local_time(started_at, tz_name)}, after the window {ended.replace('_', ' ')} "
                 f"at {local_time(w.effective_end, tz_name)}"]
        parts = [{"text": f"outside_window.started_after_{ended}", "started_at": utc_text(started_at),
                  "end_at": utc_text(w.effective_end)}]
    return [Flag("outside_window", "; ".join(texts), {"parts": parts})]


def _ended(w: Window) -> str:
    """How the window ended: `was_terminated` early, or `closed` at its approved end."""
    return "was_terminated" if w.effective_end != w.end else "closed"
