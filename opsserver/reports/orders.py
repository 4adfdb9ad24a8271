"""A round's orders and the crews' acknowledgements in the record: the round report's section, the timeline and
replay events, and the activity log's entries.

The orders come as the API serves them (`operations.orders.order_view`, its `text` in the reader's language);
`acknowledged_at` is the phone's time of the acknowledgement, `ack_received_at` the server's.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import Account
from ..extensions import db
from ..operations.orders import order_view, orders_in_round
from ..registry.models import CrewMember
from .times import iso, local

ORDER_KEYS = ("id", "round_id", "point_code", "kind", "readiness_level", "azimuth_deg", "elevation_deg", "rounds",
              "notes", "issued_at", "issued_by", "acknowledged_at", "acknowledged_by", "ack_received_at",
              "ack_delay_s", "text")


def round_orders(round_id: int, codes: dict[int, str], point_id: int | None = None) -> list[dict]:
    """The round's orders (of one point when `point_id` is given), oldest first, as JSON-ready order views (times
    as UTC ISO 8601) with the name of whoever acknowledged each (`acknowledged_by_name`)."""
    out = []
    found = orders_in_round(round_id, point_id)
    names = _acker_names({o.acknowledged_by for o in found if o.acknowledged_by})
    for order in found:
        view = order_view(order, codes.get(order.point_id, "?"))
        out.append({**{k: iso(view.get(k)) if k.endswith("_at") else view.get(k) for k in ORDER_KEYS},
                    "acknowledged_by_name": names.get(order.acknowledged_by)})
    return out


def _acker_names(usernames: set[str]) -> dict[str, str]:
    """Who acknowledged, for people: the crew member's name of a crew account, else the username."""
    if not usernames:
        return {}
    rows = db.session.execute(select(Account.username, CrewMember.name)
                              .join(CrewMember, CrewMember.id == Account.crew_id)
                              .where(Account.username.in_(usernames))).all()
    return {u: u for u in usernames} | {u: name for u, name in rows}


def order_events(orders: list[dict]) -> list[dict]:
    """Each order at its issue, and its acknowledgement at the phone's time of it, as timeline events."""
    events = []
    for o in orders:
        label = _("order: %(text)s", text=o["text"]) + (_(" (%(notes)s)", notes=o["notes"]) if o["notes"] else "")
        if o["acknowledged_at"] is None:
            label += _(" (not acknowledged)")
        events.append({"at": o["issued_at"], "type": "order", "point_code": o["point_code"], "label": label})
        if o["acknowledged_at"] is not None:
            events.append({"at": o["acknowledged_at"], "type": "ack", "point_code": o["point_code"],
                           "label": _("acknowledged by %(who)s after %(delay)s s: %(text)s",
                                      who=o["acknowledged_by_name"], delay=_delay(o["ack_delay_s"]), text=o["text"])})
    return events


def _delay(seconds) -> str:
    return "—" if seconds is None else f"{seconds:g}"


def order_section(orders: list[dict], point_codes: list[str]) -> dict:
    """The report's orders: counts, and every order grouped by point (in the report's point order), oldest first,
    with who acknowledged it, when (phone time) and after how long."""
    rank = {code: i for i, code in enumerate(point_codes)}
    items = sorted(orders, key=lambda o: (rank.get(o["point_code"], len(rank)), o["issued_at"], o["id"]))
    acked = sum(1 for o in items if o["acknowledged_at"] is not None)
    return {"issued": len(items), "acknowledged": acked, "unacknowledged": len(items) - acked, "items": items}


def point_order_counts(orders: list[dict], code: str) -> dict:
    """How many orders a point had and how many of them its crew never acknowledged."""
    mine = [o for o in orders if o["point_code"] == code]
    return {"orders": len(mine), "orders_unacknowledged": sum(1 for o in mine if o["acknowledged_at"] is None)}


def order_activities(round_id: int, point_id: int, code: str) -> list[dict]:
    """A point's orders and their acknowledgements as activity-log entries (`at, kind, who, detail`)."""
    orders = round_orders(round_id, {point_id: code}, point_id)
    out = []
    for o in orders:
        detail = o["text"] + (_(" (%(notes)s)", notes=o["notes"]) if o["notes"] else "")
        if o["acknowledged_at"] is None:
            detail += _("; not acknowledged")
        out.append({"at": o["issued_at"], "kind": "order", "who": o["issued_by"], "detail": detail})
        if o["acknowledged_at"] is not None:
            out.append({"at": o["acknowledged_at"], "kind": "order_ack", "who": o["acknowledged_by_name"] or "",
                        "detail": _("acknowledged “%(text)s” %(delay)s s after it was issued (received %(at)s)",
                                    text=o["text"], delay=_delay(o["ack_delay_s"]),
                                    at=local(o["ack_received_at"]))})
    return out
