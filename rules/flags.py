"""A broken rule as a flag with its reason, and times as reasons show them."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Flag:
    """A broken rule on a stored fact, with a reason a person can act on.

    `reason` is the English text (kept with the stored fact as it was written); `params` are its values
    (times as UTC ISO 8601, numbers as numbers) and `params["text"]` the message's key when a code has
    more than one (`params["parts"]`: several such messages in one reason), so opsserver can write the
    reason again in the reader's language. The rules stay free of any translation machinery.
    """

    code: str
    reason: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict:
        out = {"code": self.code, "reason": self.reason}
        if self.params:
            out["params"] = self.params
        return out


def local_time(value: datetime, tz_name: str, with_date: bool = True) -> str:
    """A time as people read it, everywhere (SPEC, Languages): local, with its offset, `2026-07-18 21:05 +08:00`
    (`with_date=False`: `21:05 +08:00`). opsserver.i18n.format_time is this with the configured zone."""
    local = value.astimezone(ZoneInfo(tz_name))
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M") + f" {offset[:3]}:{offset[3:]}"


def utc_text(value: datetime) -> str:
    """A time as a flag's parameter: UTC ISO 8601, as machines read it."""
    return value.astimezone(ZoneInfo("UTC")).isoformat()
