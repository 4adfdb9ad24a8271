"""Orders: which fire order is in force at a time, a firing that differs from it (`off_order`), and an
order left unacknowledged too long."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .flags import Flag

OFF_ORDER_AZIMUTH_DEG = 15.0  # a firing more than this far from the ordered azimuth is off the order
ACK_LIMIT = timedelta(minutes=5)  # an order unacknowledged for longer than this is an alert


@dataclass(frozen=True)
class OrderFact:
    """What the rules need of an order: its kind, when it was issued, and what a fire order asked for."""

    id: int
    kind: str  # readiness / fire / cease
    issued_at: datetime
    azimuth_deg: float | None = None
    rounds: int | None = None


def fire_order_at(orders: list[OrderFact], at: datetime, windows: list | None = None) -> OrderFact | None:
    """The fire order in force at `at`: the latest fire order issued by then, unless a cease came after it
    (a readiness order leaves a fire order standing; a later fire order replaces it). Given the point's
    approved windows (rules.Window), a fire order lasts no longer than the window it was given in: after that
    window ends, none is in force until a new one is given."""
    in_force = None
    for order in sorted(orders, key=lambda o: (o.issued_at, o.id)):
        if order.issued_at > at:
            break
        if order.kind == "fire":
            in_force = order
        elif order.kind == "cease":
            in_force = None
    if in_force is not None and windows is not None and not any(
            w.open_at(in_force.issued_at) and at <= w.effective_end for w in windows):
        return None
    return in_force


def azimuth_difference(a: float, b: float) -> float:
    """The angle between two azimuths, the short way round (0–180°), to a millionth of a degree: 17.1° − 2.1°
    is 15°, not the 15.000000000000002 of binary floating point (which would make 15° off an order)."""
    d = abs(a - b) % 360.0
    return round(360.0 - d if d > 180.0 else d, 6)


def off_order_flag(azimuth_deg: float, fired: int, order: OrderFact | None) -> Flag | None:
    """`off_order` when a firing differs from the fire order in force: its azimuth more than 15° from the
    ordered one, or more rounds fired than ordered. None without a fire order (other flags say that)."""
    if order is None:
        return None
    parts, texts = [], []
    off = azimuth_difference(azimuth_deg, order.azimuth_deg) if order.azimuth_deg is not None else 0.0
    if off > OFF_ORDER_AZIMUTH_DEG:
        texts.append(f"azimuth {azimuth_deg:g}° is {off:.1f}° from the ordered {order.azimuth_deg:g}° "
                     f"(at most {OFF_ORDER_AZIMUTH_DEG:g}°)")
        parts.append({"text": "off_order.azimuth", "azimuth": azimuth_deg, "ordered": order.azimuth_deg,
                      "difference": round(off, 1), "limit": OFF_ORDER_AZIMUTH_DEG})
    if order.rounds is not None and fired > order.rounds:
        texts.append(f"{fired} rounds fired, {order.rounds} ordered")
        parts.append({"text": "off_order.rounds", "fired": fired, "ordered": order.rounds})
    if not parts:
        return None
    return Flag("off_order", "; ".join(texts), {"parts": parts, "order_id": order.id})


def unacknowledged(issued_at: datetime, acknowledged_at: datetime | None, at: datetime) -> bool:
    """An order not acknowledged more than five minutes after it was issued."""
    return acknowledged_at is None and at - issued_at > ACK_LIMIT

