"""Time and clocks: phones hours off, reports arriving days late and out of order, in a zone without daylight
saving (Asia/Shanghai) and one with it (Europe/Berlin, whose clocks went back at 01:00 UTC on 2026-10-25).
Events land on the timeline and in the exports in the order they happened, each with its receipt time kept.
"""

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

T0 = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # Berlin 01:00 +02:00 on the 25th; an hour before the change
# Happened in this order; sent two days later in another one. In Berlin the first two read 02:30 both,
# +02:00 then +01:00: the local wall clock alone would put them in the wrong order.
FIRINGS = [T0 + timedelta(minutes=90), T0 + timedelta(minutes=150), T0 + timedelta(minutes=200)]
SENT_ORDER = [2, 0, 1]
PHONE_AHEAD = timedelta(hours=3)


def report_body(started: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "point_code": "LH01", "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=5)).isoformat(), "azimuth_deg": 10.0, "elevation_deg": 55.0,
            "ammo": [{"type": "RKT-AGI", "fired": 1, "duds": 0}]}


@pytest.mark.parametrize("zone, local_first_two", [
    # the one time format people read (minutes, with the offset): the offset tells the fold's two 02:30 apart
    ("Asia/Shanghai", ["2026-10-25 08:30 +08:00", "2026-10-25 09:30 +08:00"]),
    ("Europe/Berlin", ["2026-10-25 02:30 +02:00", "2026-10-25 02:30 +01:00"]),
])
def test_late_out_of_order_reports_from_skewed_phones_land_in_time_order(app, ops_world, zone, local_first_two):
    app.config["OPS_TIMEZONE"] = zone
    w = ops_world
    with time_machine.travel(T0, tick=False):
        w.activate()
        for key in ("ann", "bo", "cai"):
            w.arrive(key)
        req = w.request_window("LH01", minutes=240, start=T0)
        assert req.status_code == 201, req.json
        assert w.approve(req.json["id"], T0, T0 + timedelta(hours=4)).status_code == 200
    arrived = T0 + timedelta(days=2)
    sent = []
    with time_machine.travel(arrived, tick=False):
        for index in SENT_ORDER:
            body = report_body(FIRINGS[index])
            # The phone's clock runs three hours fast; the times it reports were taken from it earlier.
            resp = w.post("crew1", f"/api/v1/rounds/{w.round_id}/reports", body,
                          **{"X-Device-Time": (arrived + PHONE_AHEAD).isoformat()})
            assert resp.status_code == 201, resp.json
            assert "late_report" not in {f["code"] for f in resp.json["flags"]}  # the round is still active
            assert resp.json["received_at"].startswith(arrived.isoformat()[:19])
            sent.append((index, body["id"]))
        checkin = w.post("crew1", "/api/v1/checkins", {
            "id": str(uuid.uuid4()), "point_code": "LH01", "kind": "depart", "latitude": 33.58, "longitude": 114.02,
            "accuracy_m": 5.0, "recorded_at": (arrived + PHONE_AHEAD).isoformat()},
            **{"X-Device-Time": (arrived + PHONE_AHEAD).isoformat()})
        assert checkin.status_code == 201, checkin.json
        assert checkin.json["clock_offset_s"] == pytest.approx(PHONE_AHEAD.total_seconds(), abs=1)
        assert "clock_skew" in {f["code"] for f in checkin.json["flags"]}
        assert checkin.json["received_at"].startswith(arrived.isoformat()[:19])

        # The point's activity log (ICS-214): firings in the order they happened, local times with the
        # offset in force at each instant.
        resp = w.get("commander", f"/api/v1/rounds/{w.round_id}/points/LH01/activity-log?format=csv")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        rows = [r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True))) if r["kind"] == "firing"]
        assert [datetime.fromisoformat(r["at_utc"]) for r in rows] == FIRINGS
        assert [r["at_local"] for r in rows[:2]] == local_first_two
        activities = [datetime.fromisoformat(r["at_utc"]) for r in
                      csv.DictReader(io.StringIO(resp.get_data(as_text=True))) if r["section"] == "activity"]
        assert activities == sorted(activities)

        # The stored reports keep when they happened and when they arrived.
        listed = w.get("auditor", f"/api/v1/rounds/{w.round_id}/reports").json["items"]
        by_id = {r["id"]: r for r in listed}
        for index, report_id in sent:
            assert datetime.fromisoformat(by_id[report_id]["started_at"]) == FIRINGS[index]
            assert datetime.fromisoformat(by_id[report_id]["received_at"]) == arrived

        # The audit export is in chain (receipt) order, and each event carries both times.
        export = w.get("auditor", "/api/v1/audit/export?format=jsonl").get_data(as_text=True)
        events = [json.loads(line) for line in export.splitlines()]
        created = [e for e in events if e["action"] == "report.create"]
        assert [e["entity_id"] for e in created] == [report_id for _, report_id in sent]
        for e, (index, _) in zip(created, sent):
            assert datetime.fromisoformat(e["payload"]["started_at"]) == FIRINGS[index]
            assert datetime.fromisoformat(e["at"].replace("Z", "+00:00")) == arrived

        # The round report's timeline: by when things happened.
        report = w.get("auditor", f"/api/v1/rounds/{w.round_id}/report?format=json").json
        times = [datetime.fromisoformat(e["at"]) for e in report["timeline"]]
        assert times == sorted(times)
        fired = [datetime.fromisoformat(e["at"]) for e in report["timeline"] if e["type"] == "report"]
        assert fired == FIRINGS
