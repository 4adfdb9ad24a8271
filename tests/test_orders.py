"""Orders (`/api/v1/rounds/{id}/orders`, `/api/v1/orders/{id}/ack`, `/sync` items `order_ack`): the point's
state in the round, refusals of orders that break a rule, acknowledgements once (with the phone's time,
also late through the queue), the five-minute alert, `off_order` and a cease order's effect on firings."""

import uuid
from datetime import timedelta

import time_machine

from opsserver.database.utc import now_utc
from tests.helpers.problems import assert_problem, assert_refused
from tests.helpers.world import parse


def order(w, kind="readiness", point="LH01", **fields):
    """Give an order as the commander; the answer."""
    body = {"point_code": point, "kind": kind, **fields}
    return w.post("commander", f"/api/v1/rounds/{w.round_id}/orders", body)


def point_state(w, code="LH01") -> dict:
    resp = w.get("commander", f"/api/v1/rounds/{w.round_id}")
    assert resp.status_code == 200, resp.json
    return next(p for p in resp.json["points"] if p["point_code"] == code)


def audit_actions(w, action: str) -> list[dict]:
    resp = w.get("auditor", "/api/v1/audit/events?limit=500")
    assert resp.status_code == 200, resp.json
    return [e for e in resp.json["items"] if e["action"] == action]


def test_orders_change_the_points_state_in_the_round(ops_world):
    """Readiness 3 → 2 → 1, then fire inside the window, then cease: each shows in the point's state."""
    w = ops_world
    w.ready_to_fire()
    assert point_state(w)["readiness_level"] is None and point_state(w)["last_order"] is None
    for level in (3, 2, 1):
        resp = order(w, readiness_level=level)
        assert resp.status_code == 201, resp.json
        assert point_state(w)["readiness_level"] == level
    fire = order(w, "fire", azimuth_deg=20.0, elevation_deg=55.0, rounds=4)
    assert fire.status_code == 201, fire.json
    state = point_state(w)
    assert state["open_fire_order"]["id"] == fire.json["id"] and state["last_order"]["kind"] == "fire"
    assert state["readiness_level"] == 1
    assert fire.json["text"] == "射击：方位 20°，仰角 55°，4 发"
    cease = order(w, "cease")
    assert cease.status_code == 201, cease.json
    state = point_state(w)
    assert state["open_fire_order"] is None and state["last_order"]["id"] == cease.json["id"]
    assert state["open_window"] is None  # the cease ended the window at once
    created = audit_actions(w, "order.create")
    assert len(created) == 5 and {e["entity"] for e in created} == {"order"}
    listed = w.get("crew1", f"/api/v1/rounds/{w.round_id}/orders?point_code=LH01").json["items"]
    assert [o["kind"] for o in listed] == ["readiness"] * 3 + ["fire", "cease"]


def test_order_texts_follow_the_readers_language(ops_world):
    w = ops_world
    w.ready_to_fire()
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/orders",
                  {"point_code": "LH01", "kind": "readiness", "readiness_level": 2}, **{"Accept-Language": "en"})
    assert resp.json["text"] == "Readiness level 2: stand by at the launcher"
    assert order(w, readiness_level=2).json["text"] == "二级准备：在发射装置旁待命"
    one = w.post("commander", f"/api/v1/rounds/{w.round_id}/orders", {"point_code": "LH01", "kind": "fire",
                 "azimuth_deg": 10, "elevation_deg": 55, "rounds": 1}, **{"Accept-Language": "en"})
    assert one.json["text"] == "Fire: azimuth 10°, elevation 55°, 1 round"


def test_a_fire_order_needs_an_open_approved_window(ops_world, rows):
    """A plan that breaks a rule is refused: no window at LH01 yet, so a fire order is a 409 and writes nothing."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: order(w, "fire", azimuth_deg=10.0, elevation_deg=55.0, rounds=2), 409)
    resp = order(w, "fire", azimuth_deg=10.0, elevation_deg=55.0, rounds=2)
    assert resp.json["type"].endswith("not-cleared") and "LH01" in resp.json["detail"]
    assert "no_airspace" in [r["code"] for r in resp.json["reasons"]]


def test_a_fire_order_outside_the_safe_sector_is_refused(ops_world, rows):
    """A fire order is a plan: at 180° against LH01's 300° → 40° sector it is refused with the clearance's
    reason, though the window is open and the crew on site (review F1)."""
    w = ops_world
    w.ready_to_fire()
    resp = assert_refused(rows, lambda: order(w, "fire", azimuth_deg=180.0, elevation_deg=55.0, rounds=2), 409)
    assert [r["code"] for r in resp.json["reasons"]] == ["outside_sector"], resp.json
    assert order(w, "fire", azimuth_deg=10.0, elevation_deg=55.0, rounds=2).status_code == 201


def test_orders_go_only_to_active_rounds_and_ordered_points(ops_world, rows):
    w = ops_world
    assert_refused(rows, lambda: order(w, readiness_level=3), 409)  # planned, not active
    w.activate()
    assert_refused(rows, lambda: order(w, readiness_level=3, point="LH99"), 422, field="point_code")
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH02/stand-down", {"reason": "fog"})
    assert resp.status_code == 200
    assert_refused(rows, lambda: order(w, readiness_level=3, point="LH02"), 409)


def test_an_order_carries_exactly_its_kinds_fields(ops_world, rows):
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: order(w), 422, field="readiness_level")
    assert_refused(rows, lambda: order(w, readiness_level=4), 422, field="readiness_level")
    assert_refused(rows, lambda: order(w, "fire", azimuth_deg=10.0), 422, field="rounds")
    assert_refused(rows, lambda: order(w, "cease", rounds=3), 422, field="rounds")
    assert_refused(rows, lambda: order(w, "launch"), 422, field="kind")
    assert_refused(rows, lambda: order(w, readiness_level=3, notes="x" * 2001), 422, field="notes")


def test_an_ack_twice_is_stored_once(ops_world):
    w = ops_world
    w.activate()
    issued = order(w, readiness_level=3).json
    phone_time = now_utc().replace(microsecond=0)
    first = w.post("crew1", f"/api/v1/orders/{issued['id']}/ack", {"acknowledged_at": phone_time.isoformat()})
    assert first.status_code == 200, first.json
    assert parse(first.json["acknowledged_at"]) == phone_time and first.json["acknowledged_by"] == "crew1"
    again = w.post("crew1", f"/api/v1/orders/{issued['id']}/ack",
                   {"acknowledged_at": (phone_time + timedelta(minutes=1)).isoformat()})
    assert again.status_code == 200 and again.json == first.json
    assert len(audit_actions(w, "order.ack")) == 1
    assert point_state(w)["last_order"]["acknowledged_at"] is not None


def test_only_the_points_crew_acknowledges(ops_world, rows):
    """crew2 (Dong, of LH02) may not acknowledge LH01's order, nor may a commander through the queue."""
    w = ops_world
    w.activate()
    issued = order(w, readiness_level=3).json
    assert_refused(rows, lambda: w.post("crew2", f"/api/v1/orders/{issued['id']}/ack"), 403)
    sync = w.post("commander", "/api/v1/sync", {"items": [{"type": "order_ack", "order_id": issued["id"]}]})
    assert sync.json["items"][0]["status"] == 403
    assert_refused(rows, lambda: w.post("crew1", "/api/v1/orders/99999/ack"), 404)


def test_an_ack_sent_offline_arrives_later_with_its_phone_time(ops_world):
    """The phone acknowledged at 20:00:05 with no signal; its queue reaches /sync 40 minutes later: the ack
    keeps the phone's time, the server its own receipt time, and the delay is counted from the phone's."""
    w = ops_world
    issued_at = now_utc() - timedelta(minutes=40)
    with time_machine.travel(issued_at, tick=False):
        w.activate()
        issued = order(w, readiness_level=3).json
    phone_time = parse(issued["issued_at"]) + timedelta(seconds=5)
    item_id = str(uuid.uuid4())
    resp = w.post("crew1", "/api/v1/sync", {"items": [{"type": "order_ack", "id": item_id, "order_id": issued["id"],
                                                       "acknowledged_at": phone_time.isoformat()}]})
    result = resp.json["items"][0]
    assert result["status"] == 200 and result["id"] == item_id, result
    body = result["body"]
    assert parse(body["acknowledged_at"]) == phone_time
    assert parse(body["ack_received_at"]) - phone_time > timedelta(minutes=39)
    assert body["ack_delay_s"] == 5.0
    # The same queue sent again (the answer was lost on the way back) stores nothing more.
    again = w.post("crew1", "/api/v1/sync", {"items": [{"type": "order_ack", "id": item_id,
                                                        "order_id": issued["id"],
                                                        "acknowledged_at": phone_time.isoformat()}]})
    assert again.json["items"][0]["body"] == body
    assert len(audit_actions(w, "order.ack")) == 1


def test_a_phone_clock_ahead_does_not_stretch_the_delay(ops_world):
    """A phone that says it acknowledged 30 days from now: its time is stored as it came (a fact), but the delay
    counts no further than the server's receipt (review F7)."""
    w = ops_world
    w.activate()
    issued = order(w, readiness_level=3).json
    ahead = now_utc() + timedelta(days=30)
    resp = w.post("crew1", f"/api/v1/orders/{issued['id']}/ack", {"acknowledged_at": ahead.isoformat()})
    assert resp.status_code == 200, resp.json
    assert parse(resp.json["acknowledged_at"]) == ahead.replace(microsecond=ahead.microsecond)
    received = parse(resp.json["ack_received_at"])
    assert resp.json["ack_delay_s"] == (received - parse(issued["issued_at"])).total_seconds()


def _order_alerts(w) -> list[dict]:
    return [a for a in w.get("commander", "/api/v1/alerts").json["items"] if a["type"] == "order_unacknowledged"]


def test_an_order_unacknowledged_for_five_minutes_is_an_alert(ops_world):
    w = ops_world
    w.activate()
    issued = order(w, readiness_level=3).json
    at = parse(issued["issued_at"])
    with time_machine.travel(at + timedelta(minutes=4, seconds=59), tick=False):
        assert _order_alerts(w) == []
    with time_machine.travel(at + timedelta(minutes=5, seconds=1), tick=False):
        (alert,) = _order_alerts(w)
        assert alert["id"] == f"order_unacknowledged:order:{issued['id']}" and alert["point_code"] == "LH01"
        assert "三级准备" in alert["message"]
        ack = w.post("crew1", f"/api/v1/orders/{issued['id']}/ack")
        assert ack.status_code == 200
        assert _order_alerts(w) == []


def test_no_unacknowledged_alert_for_a_point_out_of_the_round_or_a_later_answer(ops_world):
    """The 5-minute alert is for an order still waiting: not once the point is stood down, nor for an order the
    crew answered a later one after (review F9)."""
    w = ops_world
    w.activate()
    first = order(w, readiness_level=3).json
    second = order(w, readiness_level=2).json
    lh02 = order(w, readiness_level=3, point="LH02").json
    assert w.post("crew1", f"/api/v1/orders/{second['id']}/ack").status_code == 200
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH02/stand-down",
                  {"reason": "fog"}).status_code == 200
    with time_machine.travel(parse(first["issued_at"]) + timedelta(minutes=6), tick=False):
        assert _order_alerts(w) == []
    assert lh02["point_code"] == "LH02"


def _fire(w, azimuth=20.0, rounds=4) -> dict:
    resp = order(w, "fire", azimuth_deg=azimuth, elevation_deg=55.0, rounds=rounds)
    assert resp.status_code == 201, resp.json
    return resp.json


def _codes(report) -> list[str]:
    assert report.status_code == 201, report.json
    return [f["code"] for f in report.json["flags"]]


def test_off_order_at_15_and_15_1_degrees(ops_world):
    """Ordered 20°: a firing at 35° (15° off) follows the order, one at 35.1° does not; 350° is 30° off across
    north. The sector (300° → 40°) holds all three, so only off_order can flag them."""
    w = ops_world
    w.ready_to_fire()
    _fire(w, azimuth=20.0, rounds=20)  # rounds enough for all four reports: only the azimuth counts here
    assert "off_order" not in _codes(w.report(azimuth=35.0))
    flagged = w.report(azimuth=35.1)
    assert "off_order" in _codes(flagged)
    reason = next(f["reason"] for f in flagged.json["flags"] if f["code"] == "off_order")
    assert "35.1°" in reason and "20°" in reason and "15.1°" in reason
    assert "off_order" in _codes(w.report(azimuth=350.0))
    assert "off_order" not in _codes(w.report(azimuth=5.0))


def test_off_order_for_more_rounds_than_ordered(ops_world):
    w = ops_world
    w.ready_to_fire()
    _fire(w, azimuth=10.0, rounds=2)
    assert "off_order" not in _codes(w.report(ammo=[{"type": "RKT-AGI", "fired": 2, "duds": 0}]))
    flagged = w.report(ammo=[{"type": "RKT-AGI", "fired": 3, "duds": 1}])
    assert "off_order" in _codes(flagged)


def test_off_order_at_15_degrees_with_decimals(ops_world):
    """17.1° against an ordered 2.1° is 15° off, within the order, though binary floating point makes the
    difference 15.000000000000002 (review F2); 17.2° is not within."""
    w = ops_world
    w.ready_to_fire()
    _fire(w, azimuth=2.1, rounds=20)
    assert "off_order" not in _codes(w.report(azimuth=17.1))
    assert "off_order" in _codes(w.report(azimuth=17.2))


def test_off_order_counts_the_rounds_of_every_report_under_the_order(ops_world):
    """Three reports of two rounds each under an order of four: the third takes the order's total to six and
    is flagged; a new fire order starts the count again (review F4)."""
    w = ops_world
    w.ready_to_fire()
    _fire(w, azimuth=10.0, rounds=4)
    assert "off_order" not in _codes(w.report(azimuth=10.0))
    assert "off_order" not in _codes(w.report(azimuth=10.0))
    third = w.report(azimuth=10.0)
    assert "off_order" in _codes(third)
    assert any("6" in f["reason"] and "4" in f["reason"] for f in third.json["flags"] if f["code"] == "off_order")
    _fire(w, azimuth=10.0, rounds=2)
    assert "off_order" not in _codes(w.report(azimuth=10.0, started=now_utc() + timedelta(seconds=1)))


def test_no_fire_order_no_off_order(ops_world):
    w = ops_world
    w.ready_to_fire()
    assert "off_order" not in _codes(w.report(azimuth=100.0))


def test_a_cease_order_ends_the_firing_authority_at_once(ops_world):
    """After a cease order a firing is flagged outside_window, clearance says no and a fire order is refused."""
    w = ops_world
    w.ready_to_fire()
    _fire(w)
    assert "outside_window" not in _codes(w.report(azimuth=20.0))
    cease = order(w, "cease")
    assert cease.status_code == 201
    later = w.report(azimuth=20.0, started=now_utc() + timedelta(seconds=1))
    assert "outside_window" in _codes(later)
    assert "off_order" not in _codes(later)  # the cease closed the fire order: nothing to differ from
    clearance = w.get("crew1", "/api/v1/points/LH01/clearance?azimuth=20").json
    assert clearance["cleared"] is False
    assert_problem(order(w, "fire", azimuth_deg=20.0, elevation_deg=55.0, rounds=1), 409)
    terminated = audit_actions(w, "airspace.terminate")
    assert len(terminated) == 1 and terminated[0]["payload"]["order_id"] == cease.json["id"]


def test_an_unchanged_list_of_orders_is_a_304(ops_world):
    """The phone polls its orders every few seconds: the same answer again costs a 304 with no body; an ack
    (or a new order) changes it."""
    w = ops_world
    w.activate()
    issued = order(w, readiness_level=3).json
    url = f"/api/v1/rounds/{w.round_id}/orders?point_code=LH01"
    first = w.get("crew1", url)
    etag = first.headers["ETag"]
    again = w.get("crew1", url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert w.post("crew1", f"/api/v1/orders/{issued['id']}/ack").status_code == 200
    changed = w.get("crew1", url, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["items"][0]["acknowledged_by"] == "crew1"
    english = w.get("crew1", url, **{"If-None-Match": changed.headers["ETag"], "Accept-Language": "en"})
    assert english.status_code == 200 and english.json["items"][0]["text"].startswith("Readiness")
