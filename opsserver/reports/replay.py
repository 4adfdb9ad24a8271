"""Check-ins replayed in time order: when each ordered point first had its minimum certified crew on site."""

from datetime import datetime

from flask import current_app
from sqlalchemy import select

import rules

from ..checkins.models import Checkin
from ..extensions import db
from ..registry.models import CrewMember


def _checkins(since: datetime, until: datetime) -> list:
    """Every check-in that can count for who is on site between since and until, oldest first."""
    c, m = Checkin.__table__.c, CrewMember.__table__.c
    return db.session.execute(
        select(c.crew_id, c.point_id, c.kind, c.within_geofence, c.recorded_at, m.certificate_expires)
        .join(CrewMember.__table__, m.id == c.crew_id)
        .where(rules.within_on_site_horizon_sql(c.recorded_at, rules.on_site_since(since), until))
        .order_by(c.recorded_at, c.id)).all()


def manned_times(round_points: list, min_crew: dict[int, int], since: datetime, until: datetime) -> dict[int, datetime]:
    """For each point, the first time at or after its order that it had its minimum certified crew on site.

    `round_points` carry `point_id` and `ordered_at`. The check-ins are replayed as `on_site_by_point`
    judges them: a crew member is on site at the point of their latest check-in when it is an arrival
    inside the geofence, and counts while their certificate is valid.
    """
    tz = current_app.config["OPS_TIMEZONE"]
    ordered = {rp.point_id: rp.ordered_at for rp in round_points}
    latest: dict[int, tuple] = {}  # crew → (point, on site, certificate expiry)
    out: dict[int, datetime] = {}

    def judge(point_id: int, at: datetime) -> None:
        if point_id in out:
            return
        certified = sum(1 for p, on, expires in latest.values()
                        if p == point_id and on and rules.certificate_valid_at(expires, at, tz))
        if not rules.understaffed(certified, min_crew[point_id]):
            out[point_id] = at

    orders = sorted(ordered.items(), key=lambda kv: kv[1])
    i = 0
    for row in _checkins(since, until):
        # points ordered before this check-in are judged on the crew as it stood at their order
        while i < len(orders) and orders[i][1] < row.recorded_at:
            judge(*orders[i])
            i += 1
        latest[row.crew_id] = (row.point_id, rules.on_site(row.kind, row.within_geofence), row.certificate_expires)
        if row.point_id in ordered and row.recorded_at >= ordered[row.point_id]:
            judge(row.point_id, row.recorded_at)
    for point_id, at in orders[i:]:
        judge(point_id, at)
    return out
