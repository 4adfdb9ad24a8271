"""A broken rule as a flag with its reason, and times as reasons show them."""

from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Flag:
    """A broken rule on a stored fact, with a reason a person can act on."""

    code: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def local_time(value: datetime, tz_name: str) -> str:
    """A time as people read it in reasons: local, with its offset."""
    return value.astimezone(ZoneInfo(tz_name)).isoformat(timespec="seconds")
