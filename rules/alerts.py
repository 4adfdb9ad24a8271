"""When an acknowledged alert comes back: the one predicate the alerts list and its tests share."""

from datetime import datetime

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def alert_returns(acked_severity: str, acked_measure: float | None, acked_since: datetime,
                  severity: str, measure: float | None, since: datetime) -> bool:
    """True when the alert as it stands now is worse than when a commander acknowledged it.

    Worse is: more severe; a larger measure of how far off it is (crew short, minutes of clock skew,
    metres into a no-fire buffer); or a later `since`, meaning its condition ended and started again.
    """
    if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(acked_severity, 0):
        return True
    if measure is not None and (acked_measure is None or measure > acked_measure):
        return True
    return since > acked_since
