"""Orders and their acknowledgements in the record: the round report's orders section (JSON, CSV, HTML), the
activity log's entries, the replay's events, and the audit export's round filter.

The world: LH01 ready to fire (manned, a window open); the commander gives LH01 readiness 2 and then a fire
order, and LH02 readiness 3; LH01's phone acknowledges the readiness order 40 s after it was issued (its own
clock) but the acknowledgement reaches the server two minutes later; nobody acknowledges the others.
"""

import csv
import io
import json
from datetime import timedelta

import pytest
import time_machine

import maps.rounds
from maps.labels import labels_for

from opsserver.database.utc import now_utc
from opsserver.reports.facts import round_data, round_events

from .helpers.world import parse

HOSTILE_NOTES = "</script><script>window.__pwned=1</script>"


@pytest.fixture
def ordered(app, ops_world):
    """The round with its three orders and one acknowledgement; the orders' ids and the acknowledgement's times."""
    w = ops_world
    w.ready_to_fire()
    url = f"/api/v1/rounds/{w.round_id}/orders"
    t0 = now_utc()
    with time_machine.travel(t0, tick=True):
        ready = w.post("commander", url, {"point_code": "LH01", "kind": "readiness", "readiness_level": 2,
                                          "notes": HOSTILE_NOTES})
        assert ready.status_code == 201, ready.json
        other = w.post("commander", url, {"point_code": "LH02", "kind": "readiness", "readiness_level": 3})
        assert other.status_code == 201, other.json
    phone_time = parse(ready.json["issued_at"]) + timedelta(seconds=40)
    with time_machine.travel(t0 + timedelta(minutes=2), tick=True):
        ack = w.post("crew1", f"/api/v1/orders/{ready.json['id']}/ack", {"acknowledged_at": phone_time.isoformat()})
        assert ack.status_code == 200, ack.json
        fire = w.post("commander", url, {"point_code": "LH01", "kind": "fire", "azimuth_deg": 10.0,
                                         "elevation_deg": 55.0, "rounds": 4})
        assert fire.status_code == 201, fire.json
    return {"world": w, "ready": ready.json, "other": other.json, "fire": fire.json, "ack": ack.json}


def _report(w, lang="en", fmt="json"):
    resp = w.get("auditor", f"/api/v1/rounds/{w.round_id}/report?format={fmt}", **{"Accept-Language": lang})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def test_the_report_lists_each_points_orders_with_their_acknowledgement(ordered):
    w = ordered["world"]
    rep = _report(w).json
    section = rep["orders"]
    assert {k: section[k] for k in ("issued", "acknowledged", "unacknowledged")} == {
        "issued": 3, "acknowledged": 1, "unacknowledged": 2}
    # per point, in the report's point order, oldest first
    assert [(o["point_code"], o["kind"]) for o in section["items"]] == [
        ("LH01", "readiness"), ("LH01", "fire"), ("LH02", "readiness")]
    ready, fire, other = section["items"]
    assert ready["id"] == ordered["ready"]["id"] and ready["issued_by"] == "commander"
    assert ready["readiness_level"] == 2 and ready["text"] == "Readiness level 2: stand by at the launcher"
    assert parse(ready["acknowledged_at"]) == parse(ordered["ack"]["acknowledged_at"])  # the phone's time
    assert parse(ready["ack_received_at"]) - parse(ready["acknowledged_at"]) > timedelta(minutes=1)
    assert ready["ack_delay_s"] == 40.0
    assert ready["acknowledged_by"] == "crew1" and ready["acknowledged_by_name"] == "Ann"
    assert (fire["azimuth_deg"], fire["elevation_deg"], fire["rounds"]) == (10.0, 55.0, 4)
    assert fire["acknowledged_at"] is None and other["acknowledged_at"] is None
    points = {p["point_code"]: p for p in rep["points"]}
    assert (points["LH01"]["orders"], points["LH01"]["orders_unacknowledged"]) == (2, 1)
    assert (points["LH02"]["orders"], points["LH02"]["orders_unacknowledged"]) == (1, 1)
    assert rep["response_times"]["order_to_ack_s"] == {str(ready["id"]): 40.0, str(fire["id"]): None,
                                                      str(other["id"]): None}
    # the timeline: each order at its issue, the acknowledgement at the phone's time
    timeline = [e for e in rep["timeline"] if e["type"] in ("order", "ack")]
    assert [(e["type"], e["point_code"]) for e in timeline] == [
        ("order", "LH01"), ("order", "LH02"), ("ack", "LH01"), ("order", "LH01")]
    assert parse(timeline[2]["at"]) == parse(ready["acknowledged_at"])
    assert "not acknowledged" in timeline[1]["label"] and "not acknowledged" not in timeline[0]["label"]
    assert "after 40 s" in timeline[2]["label"]


def test_the_report_csv_counts_orders_per_point(ordered):
    w = ordered["world"]
    rows = list(csv.reader(io.StringIO(_report(w, fmt="csv").get_data(as_text=True), newline="")))
    assert rows[0][-2:] == ["orders", "orders_unacknowledged"]
    assert {r[0]: r[-2:] for r in rows[1:]} == {"LH01": ["2", "1"], "LH02": ["1", "1"], "TOTAL": ["3", "2"]}


def test_the_report_html_has_the_orders_table_in_both_languages(ordered):
    w = ordered["world"]
    acked_at = _report(w).json["orders"]["items"][0]["acknowledged_at"]
    for lang, heading, words in (("zh", "作业指令", ("二级准备", "未确认")),
                                 ("en", "Orders", ("Readiness level 2", "not acknowledged"))):
        page = _report(w, lang, "html").get_data(as_text=True)
        assert f"<h2>{heading}</h2>" in page
        table = page.split('<table id="orders">', 1)[1].split("</table>", 1)[0]
        assert table.count('<tr data-kind="') == 3
        assert all(word in table for word in words), lang
        assert HOSTILE_NOTES not in page and "&lt;/script&gt;&lt;script&gt;window.__pwned=1" in table
        assert f'<time datetime="{acked_at}">' in table  # the phone's time of the acknowledgement


def test_the_activity_log_has_orders_and_acknowledgements_in_time_order(ordered):
    w = ordered["world"]
    resp = w.get("auditor", f"/api/v1/rounds/{w.round_id}/points/LH01/activity-log", **{"Accept-Language": "en"})
    assert resp.status_code == 200
    rows = [r for r in csv.reader(io.StringIO(resp.get_data(as_text=True), newline="")) if r[0] == "activity"]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    mine = [(r[3], r[4]) for r in rows if r[3] in ("order", "order_ack")]
    assert mine == [("order", "commander"), ("order_ack", "Ann"), ("order", "commander")]
    ready, ack, fire = (r for r in rows if r[3] in ("order", "order_ack"))
    assert parse(ack[1]) == parse(ordered["ack"]["acknowledged_at"])
    assert ready[5].startswith("Readiness level 2") and "not acknowledged" not in ready[5]
    assert "40 s after it was issued" in ack[5]
    assert fire[5].startswith("Fire: azimuth 10°") and fire[5].endswith("; not acknowledged")
    # LH02's log has its own order only
    other = w.get("auditor", f"/api/v1/rounds/{w.round_id}/points/LH02/activity-log").get_data(as_text=True)
    kinds = [r[3] for r in csv.reader(io.StringIO(other, newline="")) if r[0] == "activity"]
    assert kinds.count("order") == 1 and "order_ack" not in kinds
    html = w.get("auditor", f"/api/v1/rounds/{w.round_id}/points/LH01/activity-log?format=html").get_data(as_text=True)
    assert 'data-code="order_ack">指令已确认</td>' in html and 'data-code="order">作业指令</td>' in html


def test_the_replay_shows_orders_and_acknowledgements(app, ordered):
    w = ordered["world"]
    with app.app_context():
        data = round_data(w.round_id)
        features = maps.rounds.replay_features(data, round_events(data), labels_for("en"))
    mine = [f["properties"] for f in features if f["properties"]["type"] in ("order", "ack")]
    assert [(p["type"], p["point_code"]) for p in mine] == [
        ("order", "LH01"), ("order", "LH02"), ("ack", "LH01"), ("order", "LH01")]
    assert mine[0]["iconstyle"]["fillColor"] == maps.rounds.ORDER_COLOUR
    assert mine[2]["iconstyle"]["fillColor"] == maps.rounds.ACK_COLOUR
    # the map's words in English, the events' texts in the language of the request (none here: Chinese)
    assert "order acknowledged" in mine[2]["tooltip"] and "Ann 于 40 秒后确认：二级准备" in mine[2]["popup"]
    assert "&lt;/script&gt;" in mine[0]["popup"]  # the notes, escaped once in the popup's HTML
    page = w.get("auditor", f"/maps/rounds/{w.round_id}/replay").get_data(as_text=True)
    assert "window.__pwned=1</script>" not in page  # text only as JSON into the script
    assert "作业指令" in page and "指令已确认" in page  # the legend and the features, in Chinese by default


def test_the_audit_export_of_the_round_holds_its_orders_and_acks(ordered):
    w = ordered["world"]
    resp = w.get("auditor", f"/api/v1/audit/export?format=jsonl&round_id={w.round_id}")
    assert resp.status_code == 200
    events = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    orders = [e for e in events if e["action"].startswith("order.")]
    assert [(e["action"], e["entity_id"]) for e in orders] == [
        ("order.create", str(ordered["ready"]["id"])), ("order.create", str(ordered["other"]["id"])),
        ("order.ack", str(ordered["ready"]["id"])), ("order.create", str(ordered["fire"]["id"]))]
