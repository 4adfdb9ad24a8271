"""The firing context: the facts a firing report is judged against, read once per request.

A phone's night queue brings hundreds of reports in one `/sync`. Each is still judged and stored alone,
in its own transaction, but the facts that do not depend on the report's own time (the point, the
reporter, the catalogue, the round's windows at the point, whether the point was ordered, its stock)
are read once and kept in the request's `FiringFacts`; what does depend on it (crew on site when the
firing began, the reporter's shift) is read per report.

The cache is keyed by the head of the audit chain. Every write appends an audit event in the same
transaction, so while the head is the one the facts were read at, or the event of this request's own
last report (whose consumption they include), nothing they hold has changed. When the head has moved,
the events since say what was written: a check-in (an arrival earlier in the same queue, any phone's)
changes none of these facts, a report (another phone's) the stock of its own point only; anything else,
or more than a few events, and every fact is read again. A report rolled back after its event leaves the
database's head behind the cache's, and the cache is forgotten then too.
"""

import json
from datetime import datetime, timezone
from typing import NamedTuple

from flask import g
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

import rules
from ..ammo import services as ammo
from ..audit.chain import head
from ..audit.models import AuditEvent
from ..checkins.services import on_site_by_point
from ..database.utc import UTCDateTime
from ..extensions import db
from ..registry.models import CrewMember, Point, Shift
from ..registry.services import point_by_code
from .models import AirspaceRequest, FiringReport, Order, ReportAmmo, Round, RoundPoint


class PointFacts(NamedTuple):
    """What the firing rules need of a point."""

    id: int
    code: str
    sector_start_deg: float
    sector_end_deg: float
    max_height_m: float
    max_range_km: float
    min_crew: int
    latitude: float
    longitude: float


class MemberFacts(NamedTuple):
    certificate_expires: object  # a date
    home_point_id: int | None


class RoundFacts(NamedTuple):
    id: int
    activated_at: datetime | None
    closed_at: datetime | None


# One-row reads, built once, on the report's own connection (its unit of work's) inside its write
# transaction; the reads of several rows go through the session's connection.
_END_OF_TIME = datetime(2101, 1, 1, tzinfo=timezone.utc)  # past any time the system takes
_LOOK_BACK = 32  # events since the facts were read; beyond that they are read again
_SINCE = (select(AuditEvent.seq, AuditEvent.hash, AuditEvent.action, AuditEvent.payload)
          .where(AuditEvent.seq >= bindparam("seq")).order_by(AuditEvent.seq).limit(_LOOK_BACK + 1))
# The writes whose events leave these facts as they are (crew on site is read per report) or change
# only the stock of the event's point: the actions record_checkin and record_report append.
# An acknowledgement changes no fact a firing is judged against either.
_KEEPS_FACTS, _TAKES_STOCK = ("checkin.create", "order.ack"), "report.create"
# FOR UPDATE (PostgreSQL; SQLite holds its one write lock already): a close cannot land while a report
# is judged against the open round.
_ROUND = select(Round.id, Round.activated_at, Round.closed_at).where(Round.id == bindparam("id")).with_for_update()
_POINT = select(Point.id, Point.code, Point.sector_start_deg, Point.sector_end_deg, Point.max_height_m,
                Point.max_range_km, Point.min_crew, Point.latitude, Point.longitude).where(Point.code == bindparam("code"))
_MEMBER = select(CrewMember.certificate_expires, CrewMember.home_point_id).where(CrewMember.id == bindparam("id"))
_ORDERED = select(RoundPoint.id).where(RoundPoint.round_id == bindparam("round_id"),
                                       RoundPoint.point_id == bindparam("point_id"))
_SHIFT_AT = select(Shift.id).where(
    Shift.crew_id == bindparam("crew_id"), Shift.point_id == bindparam("point_id"),
    rules.on_shift_sql(Shift.starts_at, Shift.ends_at, bindparam("at", type_=UTCDateTime))).limit(1)
_ORDERS = select(Order.id, Order.kind, Order.issued_at, Order.azimuth_deg, Order.rounds).where(
    Order.round_id == bindparam("round_id"), Order.point_id == bindparam("point_id"))
# Rounds already reported fired at a point in a round between two instants (under one fire order).
_FIRED_BETWEEN = (select(func.coalesce(func.sum(ReportAmmo.fired), 0))
                  .join(FiringReport, FiringReport.id == ReportAmmo.report_id)
                  .where(FiringReport.round_id == bindparam("round_id"), FiringReport.point_id == bindparam("point_id"),
                         FiringReport.started_at >= bindparam("since", type_=UTCDateTime),
                         FiringReport.started_at < bindparam("until", type_=UTCDateTime)))
_REQUESTS = select(AirspaceRequest.decision, AirspaceRequest.cancelled_at, AirspaceRequest.approved_start,
                   AirspaceRequest.approved_end, AirspaceRequest.terminated_at).where(
    AirspaceRequest.round_id == bindparam("round_id"), AirspaceRequest.point_id == bindparam("point_id"))


def request_status(req) -> str:
    """pending, approved, rejected, terminated or cancelled, from the request's timestamps."""
    if req.cancelled_at is not None:
        return "cancelled"
    if req.decision is None:
        return "pending"
    if req.decision == "approved" and req.terminated_at is not None:
        return "terminated"
    return req.decision


def window_of(req) -> rules.Window | None:
    """The approved window of a request, or None when it is not (or no longer) approved."""
    if req.decision != "approved" or req.cancelled_at is not None:
        return None
    return rules.Window(req.approved_start, req.approved_end, req.terminated_at)


def windows(round_id: int, point_id: int) -> list[rules.Window]:
    """The approved windows of a point in a round."""
    rows = db.session.connection().execute(_REQUESTS, {"round_id": round_id, "point_id": point_id})
    return [w for w in map(window_of, rows) if w is not None]


def certified_on_site(point_id: int, at: datetime) -> int:
    """How many crew with a valid certificate were on site at a point at a time."""
    return sum(1 for p in on_site_by_point([point_id], at).get(point_id, []) if p["certificate_valid"])


def on_shift(conn: Connection, crew_id: int, point_id: int, at: datetime) -> bool:
    """Whether a shift of this crew member at this point covers the time."""
    return conn.execute(_SHIFT_AT, {"crew_id": crew_id, "point_id": point_id, "at": at}).first() is not None


def round_facts(conn: Connection, round_id: int) -> RoundFacts | None:
    """The round's lifecycle as it is now (its row locked until commit on PostgreSQL), or None."""
    row = conn.execute(_ROUND, {"id": round_id}).first()
    return RoundFacts(*row) if row else None


class FiringFacts:
    """The time-independent facts of firing reports, valid while the audit head is `head`."""

    def __init__(self):
        self.head: tuple | None = None
        self._forget()

    def _forget(self) -> None:
        self.points: dict[str, PointFacts] = {}
        self.members: dict[int, MemberFacts | None] = {}
        self.types: dict[str, int] = {}  # the catalogue: code → id
        self.windows: dict[tuple[int, int], list[rules.Window]] = {}
        self.ordered: dict[tuple[int, int], bool] = {}
        self.orders: dict[tuple[int, int], list[rules.OrderFact]] = {}
        self.stock: dict[int, dict[str, int]] = {}

    def check(self, conn: Connection) -> bool:
        """Forget what was written since the facts were read (everything, unless the events since say
        less); True when anything was forgotten.

        Call it in the write transaction, after the locks the report's decision rests on."""
        rows = [] if self.head is None else conn.execute(_SINCE, {"seq": self.head[0]}).all()
        if not rows or (rows[0][0], rows[0][1]) != self.head or len(rows) > _LOOK_BACK:
            # Never read, rolled back behind the cache, or too much written since.
            self.head = head(conn)
            self._forget()
            return True
        forgot = False
        for seq, hash_, action, payload in rows[1:]:
            self.head = (seq, hash_)
            if action == _TAKES_STOCK:
                point = self.points.get(json.loads(payload).get("point_code"))
                forgot |= point is not None and self.stock.pop(point.id, None) is not None
            elif action not in _KEEPS_FACTS:
                self.head = head(conn)
                self._forget()
                return True
        return forgot

    def point(self, conn: Connection, code: str) -> PointFacts:
        """The point with this code, or the problem naming `point_code`."""
        found = self.points.get(code)
        if found is None:
            row = conn.execute(_POINT, {"code": code}).first()
            if row is None:  # the problem naming the field (or the point, had it come in meanwhile)
                p = point_by_code(code)
                row = (p.id, p.code, p.sector_start_deg, p.sector_end_deg, p.max_height_m, p.max_range_km,
                       p.min_crew, p.latitude, p.longitude)
            found = self.points[code] = PointFacts(*row)
        return found

    def member(self, conn: Connection, crew_id: int) -> MemberFacts | None:
        if crew_id not in self.members:
            row = conn.execute(_MEMBER, {"id": crew_id}).first()
            self.members[crew_id] = MemberFacts(*row) if row else None
        return self.members[crew_id]

    def type_ids(self, codes: list[str]) -> dict[str, int]:
        """Catalogue ids by code; an unknown code is the problem naming `ammo`."""
        if any(code not in self.types for code in codes):
            self.types.update({t.code: t.id for t in ammo.types_by_code(codes, "ammo").values()})
        return {code: self.types[code] for code in codes}

    def windows_at(self, round_id: int, point_id: int) -> list[rules.Window]:
        key = (round_id, point_id)
        if key not in self.windows:
            self.windows[key] = windows(round_id, point_id)
        return self.windows[key]

    def fire_order_at(self, conn: Connection, round_id: int, point_id: int, at: datetime) -> rules.OrderFact | None:
        """The point's fire order in force in the round at `at` (None without one)."""
        key = (round_id, point_id)
        if key not in self.orders:
            self.orders[key] = [rules.OrderFact(*row) for row in conn.execute(
                _ORDERS, {"round_id": round_id, "point_id": point_id})]
        return rules.fire_order_at(self.orders[key], at, self.windows_at(round_id, point_id))

    def fired_under(self, conn: Connection, round_id: int, point_id: int, order: rules.OrderFact) -> int:
        """Rounds the point's reports already fired under this fire order: from its issue to the next fire or
        cease order (or for ever)."""
        later = [o.issued_at for o in self.orders.get((round_id, point_id), [])
                 if o.kind in ("fire", "cease") and (o.issued_at, o.id) > (order.issued_at, order.id)]
        return conn.execute(_FIRED_BETWEEN, {"round_id": round_id, "point_id": point_id, "since": order.issued_at,
                                             "until": min(later, default=_END_OF_TIME)}).scalar_one()

    def is_ordered(self, conn: Connection, round_id: int, point_id: int) -> bool:
        key = (round_id, point_id)
        if key not in self.ordered:
            self.ordered[key] = conn.execute(_ORDERED, {"round_id": round_id, "point_id": point_id}).first() is not None
        return self.ordered[key]

    def stock_at(self, point_id: int) -> dict[str, int]:
        """The point's stock per type code, as the ledger sums it (before this report's consumption)."""
        if point_id not in self.stock:
            self.stock[point_id] = dict(ammo.stock([point_id]).get(point_id, {}))
        return dict(self.stock[point_id])

    def consumed(self, event: dict, point_id: int, fired: dict[str, int]) -> None:
        """This request's report wrote `event` and took `fired` from the point: the facts now stand at it."""
        stock = self.stock.get(point_id)
        if stock is not None:
            for code, n in fired.items():
                if n > 0:  # a line firing none writes no ledger entry
                    stock[code] = stock.get(code, 0) - n
        self.head = (event["seq"], event["hash"])


def facts() -> FiringFacts:
    """This request's firing facts (one app context per request)."""
    found = g.get("_ops_firing_facts")
    if found is None:
        found = g._ops_firing_facts = FiringFacts()
    return found
