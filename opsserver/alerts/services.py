"""Alerts as a commander works through them: the active list (acknowledged ones out until they return),
filters and counts, and the acknowledgement itself (one transaction, audited)."""

from datetime import datetime

from sqlalchemy import func, select

import rules
from ..audit import services as audit
from ..database.utc import now_utc
from ..database.writelock import begin_write
from ..errors import ProblemError
from ..extensions import db
from ..registry.models import REGION_FIELDS, Point
from .compute import SEVERITY_ORDER, alert_views, compute_alerts
from .models import AlertAck



def latest_acks(alert_ids: list[str]) -> dict[str, AlertAck]:
    """The newest acknowledgement of each of these alerts (one query, served by ix_alert_acks_alert)."""
    if not alert_ids:
        return {}
    newest = select(AlertAck.alert_id, func.max(AlertAck.id).label("id")).group_by(AlertAck.alert_id)
    # Thousands of alerts at national scale: a list of ids that long costs more than reading every
    # acknowledgement's newest (a commander's acts, far fewer) and keeping the ones asked for.
    if len(alert_ids) <= 500:
        newest = newest.where(AlertAck.alert_id.in_(alert_ids))
    wanted = set(alert_ids)
    newest = newest.subquery()
    return {a.alert_id: a for a in db.session.execute(
        select(AlertAck).join(newest, newest.c.id == AlertAck.id)).scalars() if a.alert_id in wanted}


def acknowledged(alert: dict, ack: AlertAck | None) -> bool:
    """True while the commander's acknowledgement still holds (the alert has not worsened or come back)."""
    return ack is not None and not rules.alert_returns(ack.severity, ack.measure, ack.alert_since,
                                                       alert["severity"], alert.get("measure"), alert["since"])


def ack_view(ack: AlertAck) -> dict:
    return {"acknowledged_by": ack.acknowledged_by, "acknowledged_at": ack.acknowledged_at.isoformat(),
            "note": ack.note, "severity": ack.severity, "measure": ack.measure}


def with_acks(alerts: list[dict]) -> list[dict]:
    """Each alert with `acknowledged` (bool) and `acknowledgement` (the newest one, or None)."""
    acks = latest_acks([a["id"] for a in alerts])
    out = []
    for a in alerts:
        ack = acks.get(a["id"])
        out.append({**a, "acknowledged": acknowledged(a, ack), "acknowledgement": ack_view(ack) if ack else None})
    return out


def active_alerts(at: datetime | None = None, alerts: list[dict] | None = None) -> list[dict]:
    """The alerts not acknowledged, or acknowledged and come back (worse, or started again)."""
    alerts = compute_alerts(at) if alerts is None else alerts
    return [a for a in with_acks(alerts) if not a["acknowledged"]]


def ordered(alerts: list[dict]) -> list[dict]:
    """Most severe first and, within a severity, the newest first: what changed last is what a commander
    has not yet seen."""
    out = sorted(alerts, key=lambda a: a["since"], reverse=True)
    out.sort(key=lambda a: SEVERITY_ORDER[a["severity"]])
    return out


def by_kind(alerts: list[dict], shown: int = 3) -> list[dict]:
    """The alerts grouped by kind for the dashboard: each kind with its count, its worst severity and its
    first `shown` alerts (in `ordered` order); the kinds with the most severe and newest alerts first."""
    groups: dict[str, dict] = {}
    for a in ordered(alerts):
        g = groups.setdefault(a["type"], {"kind": a["type"], "severity": a["severity"], "count": 0, "items": []})
        g["count"] += 1
        if len(g["items"]) < shown:
            g["items"].append(a)
    return list(groups.values())


def _points_in_region(query: dict) -> set[str] | None:
    wanted = {f: query[f] for f in REGION_FIELDS if query.get(f)}
    if not wanted:
        return None
    stmt = select(Point.code)
    for field, value in wanted.items():
        stmt = stmt.where(getattr(Point, field) == value)
    return set(db.session.execute(stmt).scalars())


def select_alerts(query: dict, at: datetime | None = None) -> list[dict]:
    """The alerts the filters keep (point, region, kind, severity; acknowledged ones only when asked for),
    each with its acknowledgement, in `ordered` order."""
    items = with_acks(compute_alerts(at))
    if not query.get("include_acknowledged"):
        items = [a for a in items if not a["acknowledged"]]
    if query.get("point_code"):
        items = [a for a in items if a["point_code"] == query["point_code"]]
    region = _points_in_region(query)
    if region is not None:
        items = [a for a in items if a["point_code"] in region]
    if query.get("kind"):
        items = [a for a in items if a["type"] == query["kind"]]
    if query.get("severity"):
        items = [a for a in items if a["severity"] == query["severity"]]
    return ordered(items)


def counts(alerts: list[dict]) -> dict:
    """How many alerts of each kind and of each severity."""
    out: dict[str, dict[str, int]] = {"by_kind": {}, "by_severity": {}}
    for a in alerts:
        out["by_kind"][a["type"]] = out["by_kind"].get(a["type"], 0) + 1
        out["by_severity"][a["severity"]] = out["by_severity"].get(a["severity"], 0) + 1
    return out


def alert_list(query: dict, at: datetime | None = None) -> dict:
    """`GET /api/v1/alerts`: `select_alerts` as served, with the counts of what the filters kept."""
    items = select_alerts(query, at)
    return {"items": alert_views(items), "total": len(items),
            "counts": counts(items), "next_cursor": None}


def acknowledge(actor: str, alert_id: str, note: str | None, at: datetime | None = None,
                seen: dict | None = None) -> dict:
    """A commander acknowledges an active alert with a note; the alert as it stands is kept with the
    acknowledgement, so it comes back when it worsens. An alert that is not active now is not found; one
    worse now than as the commander saw it (`seen`: its severity and measure on their screen) is refused
    (409) with the alert as it is, so a worsening is never acknowledged unseen."""
    at = at or now_utc()
    # Computed before the write lock: at national scale the alerts take most of a second, and the lock
    # holds every check-in back while it is held.
    alert = next((a for a in compute_alerts(at) if a["id"] == alert_id), None)
    if alert is None:
        raise ProblemError(404, f"No active alert with id {alert_id}.", type_="not-found")
    if seen and seen.get("severity") and rules.alert_returns(
            seen["severity"], seen.get("measure"), alert["since"], alert["severity"], alert.get("measure"),
            alert["since"]):
        raise ProblemError(409, f"The alert {alert_id} is worse now than as seen: {alert['message']}",
                           type_="alert-changed", extra={"alert": alert_views([alert])[0]})
    begin_write(db.session)
    ack = AlertAck(alert_id=alert_id, kind=alert["type"], point_code=alert["point_code"], severity=alert["severity"],
                   measure=alert.get("measure"), alert_since=alert["since"], note=note, acknowledged_by=actor,
                   acknowledged_at=at)
    db.session.add(ack)
    db.session.flush()
    event = audit.append(actor, "alert.ack", "alert", alert_id, {
        "alert_id": alert_id, "kind": alert["type"], "point_code": alert["point_code"],
        "severity": alert["severity"], "measure": alert.get("measure"), "alert_since": alert["since"],
        "note": note, "acknowledged_at": at})
    ack.seq = event["seq"]
    db.session.commit()
    return {**alert_views([alert])[0], "acknowledged": True, "acknowledgement": ack_view(ack)}
