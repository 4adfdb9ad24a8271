"""A firing report with implausible times (SPEC: a field fact is stored and flagged, never refused) is kept
in the record and the audit log, flagged `implausible_time` with its reason, and does not drive its point's
live state: the round's view, the status feed (and so the maps) and the alerts all derive it from one state
function, and none of them shows the point "firing" for 30 hours.

Rounds are activated in the past with time-machine so the firing can start hours ago.
"""

import json
from datetime import timedelta

import pytest
import time_machine

from opsserver.database.utc import now_utc
from opsserver.extensions import db
from opsserver.operations.models import FiringReport
from opsserver.operations.rounds import get_round
from opsserver.operations.state import points_in_rounds

EN = {"Accept-Language": "en"}


def activated_hours_ago(w, hours: float):
    """Activate the world's round `hours` ago, man LH01 then, and approve a window open now."""
    with time_machine.travel(now_utc() - timedelta(hours=hours), tick=True):
        w.activate()
        for key in ("ann", "bo", "cai"):
            w.arrive(key)
    now = now_utc()
    req = w.request_window("LH01", minutes=60, start=now - timedelta(minutes=10))
    assert req.status_code == 201, req.json
    resp = w.approve(req.json["id"], now - timedelta(minutes=10), now + timedelta(minutes=50))
    assert resp.status_code == 200, resp.json


def lh01_everywhere(w) -> dict:
    """LH01's state in the round's view and in the status feed (the maps draw the feed)."""
    detail = w.get("commander", f"/api/v1/rounds/{w.round_id}").json
    feed = w.get("commander", "/api/v1/status.geojson").json
    [feature] = [f["properties"] for f in feed["features"] if f["properties"]["code"] == "LH01"]
    [point] = [p for p in detail["points"] if p["point_code"] == "LH01"]
    return {"round": point["state"], "feed": feature["state"], "colour": feature["colour"]}


def test_thirty_hours_ending_tomorrow_is_stored_flagged_and_not_firing(app, ops_world, rows):
    """Started six hours ago, ending tomorrow: 201, in the record and the audit log, flagged with both
    reasons, and LH01 is "cleared" (its window is open), not "firing", in the round, the feed and the alerts."""
    w = ops_world
    activated_hours_ago(w, 7)
    now = now_utc()
    started, ended = now - timedelta(hours=6), now + timedelta(hours=24)
    before = rows()
    resp = w.report(started=started, ended=ended)
    assert resp.status_code == 201, resp.json
    assert rows()["firing_reports"] == before["firing_reports"] + 1
    report_id = resp.json["id"]

    assert "implausible_time" in {f["code"] for f in resp.json["flags"]}
    # Stored with both reasons as parameters (the reader's language writes them again) ...
    with app.app_context():
        stored_flags = json.loads(db.session.get(FiringReport, report_id).flags)
    [flag] = [f for f in stored_flags if f["code"] == "implausible_time"]
    parts = {p["text"]: p for p in flag["params"]["parts"]}
    assert set(parts) == {"implausible_time.ends_after_receipt", "implausible_time.too_long"}
    assert parts["implausible_time.too_long"]["hours"] == 30
    assert 24 * 60 - 1 <= parts["implausible_time.ends_after_receipt"]["minutes"] <= 24 * 60
    # ... and listed with its reason in English on request: how long, and how far after its receipt.
    listed = w.client.get(f"/api/v1/rounds/{w.round_id}/reports", headers={**w.headers("auditor"), **EN}).json
    [stored] = [r for r in listed["items"] if r["id"] == report_id]
    [reason] = [f["reason"] for f in stored["flags"] if f["code"] == "implausible_time"]
    assert "30 h" in reason and "min after" in reason, reason
    events = w.client.get("/api/v1/audit/events", query_string={"entity": "firing_report", "entity_id": report_id},
                          headers=w.headers("auditor")).json["items"]
    assert [e["action"] for e in events] == ["report.create"]
    assert "implausible_time" in {f["code"] for f in events[0]["payload"]["flags"]}

    seen = lh01_everywhere(w)
    assert seen["round"] == seen["feed"] == "cleared", seen
    assert seen["colour"] == "purple"  # the flag shows; the state does not pretend
    alerts = w.get("commander", "/api/v1/alerts").json["items"]
    assert any(a["type"] == "flagged_report" and a["point_code"] == "LH01" for a in alerts)

    # Tonight, when the report says the firing is still going on, the point is not firing either.
    with app.app_context():
        [lh01] = [pr for pr in points_in_rounds([get_round(w.round_id)], now + timedelta(hours=12))[w.round_id]
                  if pr.point.code == "LH01"]
        assert lh01.state != "firing" and lh01.timed_reports == []


def test_a_firing_reported_while_it_lasts_still_drives_the_state(ops_world):
    """The control: a firing that started two minutes ago and ends in one (inside the clock tolerance) is
    not flagged implausible, and LH01 is "firing" everywhere."""
    w = ops_world
    activated_hours_ago(w, 1)
    now = now_utc()
    resp = w.report(started=now - timedelta(minutes=2), ended=now + timedelta(minutes=1))
    assert resp.status_code == 201, resp.json
    assert "implausible_time" not in {f["code"] for f in resp.json["flags"]}
    seen = lh01_everywhere(w)
    assert seen["round"] == seen["feed"] == "firing", seen


@pytest.mark.parametrize(("hours", "flagged"), [(2, False), (2.01, True)])
def test_a_long_firing_in_the_past_is_flagged_past_two_hours(ops_world, hours, flagged):
    """Entirely in the past, only its length can be implausible: two hours is the most a firing lasts."""
    w = ops_world
    activated_hours_ago(w, 5)
    ended = now_utc() - timedelta(minutes=30)
    resp = w.report(started=ended - timedelta(hours=hours), ended=ended)
    assert resp.status_code == 201, resp.json
    assert ("implausible_time" in {f["code"] for f in resp.json["flags"]}) is flagged
