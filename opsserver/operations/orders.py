"""Orders: the command centre's readiness, fire and cease orders to a point in a round, and the crew's
acknowledgements from the phone (directly or through the queue, idempotent, with the phone's time)."""

from datetime import datetime

from sqlalchemy import Select, String, cast, select

import rules
from ..accounts.auth import Principal
from ..audit import services as audit
from ..database.utc import now_utc
from ..database.writelock import begin_write, for_update
from ..errors import ProblemError
from ..extensions import db
from ..fields import MAX_ID
from ..idempotency import run_once
from ..reasons import join_texts, message
from ..registry.models import Point
from ..registry.services import point_by_code
from . import airspace, clearance
from .models import Order
from .rounds import conflict, get_round, is_crew_of, round_point_of, round_status
from .schemas import OrderAckSchema, SyncOrderAckSchema


def order_text(order) -> str:
    """The order in one line, in the reader's language."""
    if order.kind == "readiness":
        return message(f"order.readiness.{order.readiness_level}")
    if order.kind == "fire":
        return message("order.fire.one" if order.rounds == 1 else "order.fire",
                       {"azimuth": order.azimuth_deg, "elevation": order.elevation_deg, "rounds": order.rounds})
    return message("order.cease")


def ack_delay_s(order) -> float | None:
    """Seconds from issue to acknowledgement by the phone's clock, bounded by the server's receipt and by 0 (a
    clock behind), or None."""
    if order.acknowledged_at is None:
        return None
    # A phone clock running ahead says it acknowledged later than the server heard of it: not beyond that.
    acked = min(order.acknowledged_at, order.ack_received_at or order.acknowledged_at)
    return max(0.0, (acked - order.issued_at).total_seconds())


def order_view(order: Order, point_code: str) -> dict:
    """An order as served, JSON-ready (the queue and the idempotency record keep it as it is), with its
    acknowledgement and its text in the reader's language."""
    return {"id": order.id, "round_id": order.round_id, "point_code": point_code, "kind": order.kind,
            "readiness_level": order.readiness_level, "azimuth_deg": order.azimuth_deg,
            "elevation_deg": order.elevation_deg, "rounds": order.rounds, "notes": order.notes,
            "issued_at": _iso(order.issued_at), "issued_by": order.issued_by,
            "acknowledged_at": _iso(order.acknowledged_at), "acknowledged_by": order.acknowledged_by,
            "ack_received_at": _iso(order.ack_received_at), "ack_delay_s": ack_delay_s(order),
            "text": order_text(order)}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_fact(order) -> rules.OrderFact:
    """What the rules need of an order."""
    return rules.OrderFact(order.id, order.kind, order.issued_at, order.azimuth_deg, order.rounds)


def ids_in_round(round_id: int) -> Select:
    """The ids of a round's orders (the audit export's round filter), as the audit log's text ids."""
    return select(cast(Order.id, String)).where(Order.round_id == round_id)


def orders_in_round(round_id: int, point_id: int | None = None) -> list[Order]:
    """A round's orders (of one point), in the order they were issued."""
    stmt = select(Order).where(Order.round_id == round_id)
    if point_id is not None:
        stmt = stmt.where(Order.point_id == point_id)
    return list(db.session.execute(stmt.order_by(Order.issued_at, Order.id)).scalars())


def orders_by_point(round_ids: list[int]) -> dict[tuple[int, int], list[Order]]:
    """The orders of these rounds by (round id, point id), each list in the order issued."""
    out: dict[tuple[int, int], list[Order]] = {}
    if not round_ids:
        return out
    for order in db.session.execute(select(Order).where(Order.round_id.in_(round_ids))
                                    .order_by(Order.issued_at, Order.id)).scalars():
        out.setdefault((order.round_id, order.point_id), []).append(order)
    return out


def issue_order(actor: str, round_id: int, data: dict) -> dict:
    """The command centre gives a point of an active round an order; a fire order needs an approved window
    open now (an order is a plan: refused when it breaks a rule), a cease order ends the point's windows."""
    begin_write(db.session)
    r = get_round(round_id, lock=True)
    point = point_by_code(data["point_code"])
    if round_status(r) != "active":
        raise conflict(f"Round {r.id} is {round_status(r)}; orders go to an active round.", "round-not-active")
    rp = round_point_of(r, point)
    if rp.declined_at or rp.stood_down_at:
        raise conflict(f"{point.code} has {'declined' if rp.declined_at else 'been stood down'} in round {r.id}.")
    now = now_utc()
    if data["kind"] == "fire":
        # The clearance's own answer (window, sector, no-fire zones, crew, stock): an order to fire where
        # the point may not is refused with every reason.
        answer = clearance.clearance(point.code, data["azimuth_deg"], data["elevation_deg"], now)
        if not answer["cleared"]:
            raise ProblemError(409, f"{point.code} may not fire at {data['azimuth_deg']:g}° now: " + join_texts(
                x["reason"] for x in answer["reasons"]) + ".",
                type_="not-cleared", extra={"reasons": answer["reasons"]})
    order = Order(round_id=r.id, point_id=point.id, kind=data["kind"], readiness_level=data.get("readiness_level"),
                  azimuth_deg=data.get("azimuth_deg"), elevation_deg=data.get("elevation_deg"),
                  rounds=data.get("rounds"), notes=data.get("notes"), issued_at=now, issued_by=actor)
    db.session.add(order)
    db.session.flush()
    audit.append(actor, "order.create", "order", order.id,
                 {"round_id": r.id, "point_code": point.code, "issued_at": now,
                  **{k: v for k, v in data.items() if k != "point_code" and v is not None}})
    if data["kind"] == "cease":
        airspace.end_windows(actor, r.id, point, now, {"order_id": order.id})
    db.session.commit()
    return order_view(order, point.code)


def _order_for_update(order_id: int) -> tuple[Order, Point]:
    begin_write(db.session)
    if not 0 < order_id <= MAX_ID:
        raise ProblemError(404, f"No order with id {order_id}.", type_="not-found")
    order = db.session.execute(for_update(db.session, select(Order).where(Order.id == order_id))).scalar_one_or_none()
    if order is None:
        raise ProblemError(404, f"No order with id {order_id}.", type_="not-found")
    return order, db.session.get(Point, order.point_id)


def record_ack(who: Principal, order_id: int, acknowledged_at: datetime | None) -> tuple[int, dict]:
    """The crew of the order's point acknowledges it (not committed: the caller commits). Acknowledging again
    answers the first acknowledgement, unchanged."""
    order, point = _order_for_update(order_id)
    received = now_utc()
    # The crew of the point when the order was issued, or now: an acknowledgement queued on a phone whose
    # shift has ended since is still theirs to send.
    if who.role != "crew" or who.crew_id is None or not (is_crew_of(who.crew_id, point.id, order.issued_at)
                                                         or is_crew_of(who.crew_id, point.id, received)):
        raise ProblemError(403, f"Only the crew of {point.code} may acknowledge its orders.", type_="forbidden")
    if order.acknowledged_at is None:
        order.acknowledged_at = acknowledged_at or received
        order.acknowledged_by, order.ack_received_at = who.username, received
        audit.append(who.username, "order.ack", "order", order.id,
                     {"order_id": order.id, "point_code": point.code, "acknowledged_at": order.acknowledged_at,
                      "ack_received_at": received, "acknowledged_by": who.username})
    return 200, order_view(order, point.code)


_ack_schema, _sync_ack_schema = OrderAckSchema(), SyncOrderAckSchema()


def acknowledge(who: Principal, order_id: int, payload: dict, key: str | None,
                data: dict | None = None) -> tuple[int, dict, bool]:
    """Acknowledge an order; idempotent by itself (the order holds its one acknowledgement), and once per
    `Idempotency-Key` when the phone sends one."""
    data = data if data is not None else _ack_schema.load(payload)
    if key is None:
        status, view = record_ack(who, order_id, data.get("acknowledged_at"))
        db.session.commit()
        return status, view, False
    return run_once(who.account_id, key, "order_ack", {"order_id": order_id, **payload},
                    lambda _optimistic: record_ack(who, order_id, data.get("acknowledged_at")))


def sync_order_ack(who: Principal, payload: dict, key: str | None, _device_time) -> tuple[int, dict, bool]:
    """An acknowledgement from the phone's queue (it names its order)."""
    data = _sync_ack_schema.load(payload)
    body = {k: v for k, v in payload.items() if k not in ("order_id", "id")}
    return acknowledge(who, data["order_id"], body, key, data)
