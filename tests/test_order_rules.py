"""The order rules of rules/orders.py as plain functions: the fire order in force, azimuth differences across
north, `off_order` at its edges and the five-minute acknowledgement limit."""

from datetime import datetime, timedelta, timezone

import rules
from rules import OrderFact

T0 = datetime(2026, 7, 18, 12, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_fire_order_in_force():
    orders = [OrderFact(1, "readiness", at(0)), OrderFact(2, "fire", at(10), 20.0, 4),
              OrderFact(3, "readiness", at(15)), OrderFact(4, "fire", at(20), 90.0, 2),
              OrderFact(5, "cease", at(30)), OrderFact(6, "fire", at(40), 45.0, 1)]
    assert rules.fire_order_at(orders, at(5)) is None
    assert rules.fire_order_at(orders, at(10)).id == 2  # in force from the instant it is issued
    assert rules.fire_order_at(orders, at(16)).id == 2  # a readiness order leaves it standing
    assert rules.fire_order_at(orders, at(25)).id == 4  # a later fire order replaces it
    assert rules.fire_order_at(orders, at(35)) is None  # a cease ends it
    assert rules.fire_order_at(list(reversed(orders)), at(45)).id == 6  # by issue time, not list order


def test_a_fire_order_lasts_no_longer_than_its_window():
    """Given at 10 in the window 5–20, a fire order is in force up to 20 (the window's end counts: a report
    may end there) and not in a later window 30–40 (review F10); an early termination ends it sooner."""
    orders = [OrderFact(2, "fire", at(10), 20.0, 4)]
    first, later = rules.Window(at(5), at(20)), rules.Window(at(30), at(40))
    assert rules.fire_order_at(orders, at(20), [first, later]).id == 2
    assert rules.fire_order_at(orders, at(35), [first, later]) is None
    assert rules.fire_order_at(orders, at(35)).id == 2  # without the windows: until a cease or a new order
    assert rules.fire_order_at(orders, at(16), [rules.Window(at(5), at(20), terminated_at=at(15))]) is None


def test_azimuth_difference_the_short_way_round():
    assert rules.azimuth_difference(350.0, 10.0) == 20.0
    assert rules.azimuth_difference(10.0, 350.0) == 20.0
    assert rules.azimuth_difference(0.0, 180.0) == 180.0
    assert rules.azimuth_difference(360.0, 0.0) == 0.0


def test_off_order_at_its_edges():
    order = OrderFact(7, "fire", at(0), 355.0, 3)
    assert rules.off_order_flag(10.0, 3, order) is None  # 15° across north: within
    flag = rules.off_order_flag(10.1, 3, order)
    assert flag.code == "off_order" and flag.params["parts"][0]["difference"] == 15.1
    assert rules.off_order_flag(340.0, 3, order) is None
    assert rules.off_order_flag(339.9, 3, order) is not None
    assert [p["text"] for p in rules.off_order_flag(355.0, 4, order).params["parts"]] == ["off_order.rounds"]
    both = rules.off_order_flag(100.0, 4, order)
    assert [p["text"] for p in both.params["parts"]] == ["off_order.azimuth", "off_order.rounds"]
    assert rules.off_order_flag(100.0, 9, None) is None


def test_unacknowledged_after_five_minutes():
    assert not rules.unacknowledged(at(0), None, at(4 + 59 / 60))
    assert not rules.unacknowledged(at(0), None, at(5))
    assert rules.unacknowledged(at(0), None, at(5 + 1 / 60))
    assert not rules.unacknowledged(at(0), at(7), at(9))  # acknowledged, however late
