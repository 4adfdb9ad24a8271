"""A point's state in a round, derived from the facts (check-ins, requests and decisions, reports), and
the views of a round and its points that the API, the pages and the maps serve."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

import rules
from ..checkins.services import on_site_by_point
from ..database.utc import now_utc
from ..extensions import db
from ..reasons import localized_flags
from ..registry.models import Point
from .context import request_status, window_of
from .models import AirspaceRequest, FiringReport, Round, RoundPoint
from .orders import order_fact, order_view, orders_by_point
from .rounds import round_status


COLOURS = {"idle": "grey", "ordered": "grey", "declined": "grey", "stood_down": "grey", "rejected": "grey",
           "manned": "blue", "requested": "amber", "cleared": "green", "firing": "red", "done": "black"}
FLAGGED_COLOUR = "purple"


class PointRef(NamedTuple):
    """The few facts of a point that its state in a round needs."""

    id: int
    code: str
    name: str
    min_crew: int


@dataclass(slots=True)
class PointInRound:
    """What is known of one point in one round, and the state derived from it."""

    round_point: object  # a round_points row
    point: object  # id, code, name, min_crew
    requests: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    certified_on_site: int = 0
    state: str = "ordered"
    open_window: object = None
    flags: list = field(default_factory=list)  # of the point's reports in this round, decoded once
    timed_reports: list = field(default_factory=list)  # the reports whose times drive the state (plausible ones)
    orders: list = field(default_factory=list)  # the point's orders in this round, as issued
    when: datetime | None = None  # the time the state is judged at (a closed round: its closing)


def derive_state(pr: PointInRound, at: datetime) -> str:
    """The SPEC's state of a point in a round at a time, from the facts alone."""
    rp = pr.round_point
    if rp.stood_down_at is not None and rp.stood_down_at <= at:
        return "stood_down"
    if rp.declined_at is not None and rp.declined_at <= at:
        return "declined"
    # A report flagged implausible_time (ending tomorrow, 30 hours long) is kept and flagged, but its times
    # say nothing about the point now: it neither makes the point firing nor done.
    reports = pr.timed_reports
    if not reports and not pr.requests:  # most points of a big round: only the crew decides
        return "ordered" if rules.understaffed(pr.certified_on_site, pr.point.min_crew) else "manned"
    if any(x.started_at <= at <= x.ended_at for x in reports):
        return "firing"
    last_end = max((x.ended_at for x in reports), default=None)
    # After a report only a new request (made after that firing) moves the point on again.
    requests = [q for q in pr.requests if q.created_at <= at and q.cancelled_at is None
                and (last_end is None or q.created_at > last_end)]
    if any(w is not None and w.open_at(at) for w in map(window_of, requests)):
        return "cleared"
    latest = requests[-1] if requests else None
    if any(q.decision is None or (q.decision == "approved" and q.approved_start > at and
                                  (q.terminated_at is None or q.terminated_at > at)) for q in requests):
        return "requested"
    if reports:
        return "done"
    if latest is not None and latest.decision == "rejected":
        return "rejected"
    if not rules.understaffed(pr.certified_on_site, pr.point.min_crew):
        return "manned"
    return "ordered"


def points_in_rounds(rounds: list[Round], at: datetime | None = None,
                     on_site: dict | None = None) -> dict[int, list[PointInRound]]:
    """Every ordered point of these rounds with its derived state, in a fixed number of queries.

    `on_site` (from on_site_by_point at the same time) may be passed in when the caller has it already.
    """
    at = at or now_utc()
    ids = [r.id for r in rounds]
    if not ids:
        return {}
    # Plain rows, not ORM objects: a national round orders thousands of points.
    rp, pt = RoundPoint.__table__.c, Point.__table__.c
    rows = db.session.connection().execute(
        select(rp.round_id, rp.point_id, rp.ordered_at, rp.declined_at, rp.declined_reason, rp.stood_down_at,
               rp.stood_down_reason, pt.code, pt.name, pt.min_crew)
        .join(Point.__table__, pt.id == rp.point_id).where(rp.round_id.in_(ids)).order_by(pt.code)).all()
    out: dict[int, list[PointInRound]] = {i: [] for i in ids}
    index: dict[tuple[int, int], PointInRound] = {}
    for row in rows:
        round_id, point_id = row[0], row[1]
        pr = PointInRound(row, PointRef(point_id, row[7], row[8], row[9]))
        out[round_id].append(pr)
        index[(round_id, point_id)] = pr
    for req in db.session.execute(select(AirspaceRequest).where(AirspaceRequest.round_id.in_(ids))
                                  .order_by(AirspaceRequest.created_at)).scalars():
        if (req.round_id, req.point_id) in index:
            index[(req.round_id, req.point_id)].requests.append(req)
    for rep in db.session.execute(select(FiringReport).where(FiringReport.round_id.in_(ids))
                                  .order_by(FiringReport.started_at)).scalars():
        if (rep.round_id, rep.point_id) in index:
            index[(rep.round_id, rep.point_id)].reports.append(rep)
    for key, orders in orders_by_point(ids).items():
        if key in index:
            index[key].orders = orders
    # A closed round is judged as it stood when it closed, crew on site included.
    when_by_round = {r.id: min(at, r.closed_at) if r.closed_at else at for r in rounds}
    point_ids = list({pr.point.id for pr in index.values()})
    on_site_at = {at: on_site if on_site is not None else on_site_by_point(point_ids, at)}
    for when in set(when_by_round.values()) - {at}:
        on_site_at[when] = on_site_by_point(point_ids, when)
    certified_at = {when: {point_id: sum(1 for p in people if p["certificate_valid"])
                           for point_id, people in crew.items()} for when, crew in on_site_at.items()}
    for (round_id, point_id), pr in index.items():
        when = when_by_round[round_id]
        for rep in pr.reports:
            flags = json.loads(rep.flags)
            pr.flags += flags
            if rules.times_drive_state(flags):
                pr.timed_reports.append(rep)
        pr.certified_on_site = certified_at[when].get(point_id, 0)
        pr.when = when
        pr.state = derive_state(pr, when)
        if pr.requests:
            windows = [(w, q) for q in pr.requests if (w := window_of(q)) is not None and w.open_at(when)]
            pr.open_window = windows[0][1] if windows else None
    return out


def colour(state: str, flagged: bool) -> str:
    """SPEC colours; purple wins when a flag or alert is active."""
    return FLAGGED_COLOUR if flagged else COLOURS.get(state, "grey")


def window_view(req, countdown: bool = True) -> dict | None:
    """An approved request's window as served (None for no request); `countdown`: with `ends_in_s`, the
    seconds left now (the live feed leaves it out: it would change every point with a window in every
    version, and its readers have `end`)."""
    if req is None:
        return None
    w = window_of(req)
    view = {"request_id": req.id, "start": w.start.isoformat(), "end": w.effective_end.isoformat(),
            "reference": req.reference}
    if countdown:
        view["ends_in_s"] = max(0, int((w.effective_end - now_utc()).total_seconds()))
    return view


def round_view(r: Round, points: list[PointInRound] | None = None) -> dict:
    """A round as served, with each ordered point's state."""
    view = {c.key: getattr(r, c.key) for c in Round.__table__.columns}
    view["status"] = round_status(r)
    if points is not None:
        view["points"] = [{
            "point_code": pr.point.code, "point_name": pr.point.name, "state": pr.state,
            "colour": colour(pr.state, bool(pr.flags)), "crew_on_site": pr.certified_on_site,
            "min_crew": pr.point.min_crew, "ordered_at": pr.round_point.ordered_at,
            "below_min_crew": rules.understaffed(pr.certified_on_site, pr.point.min_crew),
            "declined_at": pr.round_point.declined_at, "declined_reason": pr.round_point.declined_reason,
            "stood_down_at": pr.round_point.stood_down_at, "stood_down_reason": pr.round_point.stood_down_reason,
            "open_window": window_view(pr.open_window), "reports": len(pr.reports),
            "flags": localized_flags(pr.flags), **order_fields(pr),
        } for pr in points]
    return view


def order_fields(pr: PointInRound) -> dict:
    """A point's orders as its state in the round shows them: the readiness level of its latest readiness
    order, the fire order in force, and its latest order of any kind (with its acknowledgement)."""
    issued = [o for o in pr.orders if pr.when is None or o.issued_at <= pr.when]
    readiness = [o for o in issued if o.kind == "readiness"]
    by_id = {o.id: o for o in issued}
    windows = [w for w in map(window_of, pr.requests) if w is not None]
    fire = rules.fire_order_at([order_fact(o) for o in issued], pr.when or now_utc(), windows)
    code = pr.point.code
    return {"readiness_level": readiness[-1].readiness_level if readiness else None,
            "open_fire_order": order_view(by_id[fire.id], code) if fire else None,
            "last_order": order_view(issued[-1], code) if issued else None}
