"""Plausible times: a firing report whose times cannot be true is stored and flagged `implausible_time`,
and its times drive no live state (a point is not "firing" for 30 hours because a phone said so).

What is refused stays refused elsewhere (a firing that ends before it starts is malformed, one outside
its round's active period is a 409); these are the times that pass those checks and still cannot be true.
"""

from datetime import datetime, timedelta

from .checkin import CLOCK_SKEW_LIMIT_S
from .flags import Flag, local_time, utc_text

IMPLAUSIBLE_TIME = "implausible_time"
# A report may end a little after the server received it: the phone's clock may be off by as much as the
# SPEC tolerates before it calls a clock skewed (10 minutes).
FUTURE_TOLERANCE = timedelta(seconds=CLOCK_SKEW_LIMIT_S)
# An approved window is typically 30–60 minutes and a firing lasts minutes inside it: a report covering
# more than two hours is not one firing.
MAX_FIRING = timedelta(hours=2)


def implausible_time_flag(started_at: datetime, ended_at: datetime, received_at: datetime,
                          tz_name: str) -> Flag | None:
    """`implausible_time` when the firing ends after it was received (beyond the clock tolerance) or lasts
    longer than any firing, with each reason as a part (`params["parts"]`); else None."""
    texts, parts = [], []
    ahead = ended_at - received_at
    if ahead > FUTURE_TOLERANCE:
        minutes = round(ahead.total_seconds() / 60)
        texts.append(f"ends {local_time(ended_at, tz_name)}, {minutes} min after the server received it "
                     f"at {local_time(received_at, tz_name)}")
        parts.append({"text": "implausible_time.ends_after_receipt", "ended_at": utc_text(ended_at),
                      "received_at": utc_text(received_at), "minutes": minutes})
    length = ended_at - started_at
    if length > MAX_FIRING:
        hours, limit = round(length.total_seconds() / 3600, 2), round(MAX_FIRING.total_seconds() / 3600, 2)
        texts.append(f"lasts {hours:g} h ({local_time(started_at, tz_name)} to {local_time(ended_at, tz_name)}), "
                     f"longer than a firing can ({limit:g} h at most)")
        parts.append({"text": "implausible_time.too_long", "started_at": utc_text(started_at),
                      "ended_at": utc_text(ended_at), "hours": hours, "max_hours": limit})
    if not parts:
        return None
    return Flag(IMPLAUSIBLE_TIME, "; ".join(texts), {"parts": parts})


def times_drive_state(flags: list[dict]) -> bool:
    """A report's times drive its point's state (firing, done) unless they were flagged implausible."""
    return not any(f.get("code") == IMPLAUSIBLE_TIME for f in flags)
