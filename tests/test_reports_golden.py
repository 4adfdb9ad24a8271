"""The round report and the activity log keep their shape: JSON keys and order, CSV columns, HTML tables.

Built from the outputs on the drilled demo round (seed-demo + drill, 18 points) as they were before the
reports package was split into gathering and rendering, with the orders section added since (issue 18: its keys,
the per-point order counts at the end of each point's line and CSV row, the orders and acknowledgements in the
timeline); every format is checked against the JSON, so a refactor that drops, renames, reorders or reformats a
field fails here.
"""

import csv
import io
import json
from collections import Counter
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from zoneinfo import ZoneInfo

ROUND_KEYS = ["round", "generated_at", "timezone", "points_ordered", "points_fired", "points", "totals",
              "ledger_consumption", "totals_match_ledger", "flags", "airspace", "orders", "response_times", "timeline",
              "reports"]
ROUND_HEADER_KEYS = ["id", "name", "purpose", "status", "planned_start", "planned_end", "created_at",
                     "activated_at", "closed_at"]
POINT_KEYS = ["point_code", "point_name", "state", "min_crew", "ordered_at", "manned_at", "order_to_manned_s",
              "declined_at", "declined_reason", "stood_down_at", "stood_down_reason", "fired", "reports", "ammo",
              "fired_total", "duds_total", "agent_g", "flags", "windows_asked", "windows_approved", "windows_used",
              "windows_rejected", "windows_terminated", "request_to_decision_s", "orders", "orders_unacknowledged"]
WINDOW_KEYS = ["request_id", "point_code", "status", "requested_at", "window_start", "window_end", "decided_at",
               "request_to_decision_s", "approved_start", "approved_end", "effective_end", "terminated_at",
               "reference", "reason", "used"]
AIRSPACE_KEYS = ["asked", "approved", "used", "rejected", "terminated", "cancelled", "pending", "windows"]
ORDERS_KEYS = ["issued", "acknowledged", "unacknowledged", "items"]
ORDER_KEYS = ["id", "round_id", "point_code", "kind", "readiness_level", "azimuth_deg", "elevation_deg", "rounds",
              "notes", "issued_at", "issued_by", "acknowledged_at", "acknowledged_by", "ack_received_at", "ack_delay_s",
              "text", "acknowledged_by_name"]
REPORT_KEYS = ["id", "round_id", "point_code", "crew_id", "started_at", "ended_at", "received_at", "azimuth_deg",
               "elevation_deg", "height_m", "range_km", "ammo", "cloud_type", "weather_before", "weather_after",
               "notes", "flags"]
CSV_COLUMNS = ["point_code", "point_name", "state", "ordered_at_utc", "manned_at_utc", "order_to_manned_s",
               "reports", "fired_total", "duds_total", "agent_g", "ammo", "flags", "windows_asked",
               "windows_approved", "windows_used", "windows_rejected", "windows_terminated",
               "request_to_decision_s", "declined_reason", "stood_down_reason", "orders", "orders_unacknowledged"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOG_COLUMNS = ["section", "at_utc", "at_local", "kind", "who", "detail"]
# the drill's outcome per point (seed 7), as the report showed it before the split; since the drill plays a
# night that has passed, LH10–LH12's unused windows have closed by the morning after (they were "cleared")
STATES = {"LH01": "done", "LH02": "done", "LH03": "done", "LH04": "done", "LH05": "rejected", "LH06": "done",
          "LH07": "done", "LH08": "done", "LH09": "done", "LH10": "manned", "LH11": "manned", "LH12": "manned",
          "LH13": "requested", "LH14": "requested", "LH15": "manned", "LH16": "manned", "LH17": "declined",
          "LH18": "stood_down"}
# LH02's mid-sector firing passes the demo school lying in its sector (a no-fire zone of luohe.json)
# and LH04 fires one round more than its fire order says (off_order)
FLAGS = {"LH02": ["no_fire_zone"], "LH03": ["understaffed"], "LH04": ["over_height", "off_order"],
         "LH06": ["understaffed"],
         "LH07": ["outside_sector"], "LH08": ["insufficient_stock"], "LH09": ["outside_window"]}


@pytest.fixture
def drilled(app, runner, client):
    """The demo seeded and drilled at 10:00 local the morning after tonight (the drill plays that night);
    the auditor's token."""
    from opsserver.demo.seed import tonight

    with app.app_context():
        night_start, _ = tonight()
    with time_machine.travel(night_start + timedelta(hours=16), tick=True):
        app.config["OPS_MAP_TILES"] = "none"  # no tile server in the test
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        result = runner.invoke(args=["ops", "drill"])
        assert result.exit_code == 0, result.output
        resp = client.post("/api/v1/auth/token", json={"username": "auditor", "password": "auditor-demo-pass"})
        assert resp.status_code == 200, resp.json
        # The English documents, asked for explicitly (Chinese is the default: tests/test_language.py).
        yield {"Authorization": f"Bearer {resp.json['access_token']}", "Accept-Language": "en"}


def _ammo_cell(ammo: dict) -> str:
    return ";".join(f"{k}:{v['fired']}/{v['duds']}" for k, v in sorted(ammo.items()))


def test_round_report_json_shape_and_values(client, drilled):
    resp = client.get("/api/v1/rounds/1/report", headers=drilled)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    text = resp.get_data(as_text=True)
    rep = json.loads(text)
    assert "\\u" not in text  # UTF-8 text, not escapes (ensure_ascii=False)
    assert list(rep) == ROUND_KEYS
    assert list(rep["round"]) == ROUND_HEADER_KEYS and rep["round"]["status"] == "active"
    assert rep["timezone"] == "Asia/Shanghai"
    assert [p["point_code"] for p in rep["points"]] == list(STATES)
    for p in rep["points"]:
        assert list(p) == POINT_KEYS
        assert p["state"] == STATES[p["point_code"]] and p["flags"] == FLAGS.get(p["point_code"], [])
        for line in p["ammo"].values():
            assert list(line) == ["fired", "duds", "agent_g"]
        assert p["fired_total"] == sum(t["fired"] for t in p["ammo"].values())
        assert p["agent_g"] == round(sum(t["agent_g"] for t in p["ammo"].values()), 3)
        assert p["fired"] == (p["reports"] > 0)
    by_code = {p["point_code"]: p for p in rep["points"]}
    assert by_code["LH17"]["declined_reason"] and by_code["LH17"]["declined_at"]
    assert by_code["LH18"]["stood_down_reason"] and by_code["LH18"]["stood_down_at"]
    assert not by_code["LH03"]["manned_at"] and not by_code["LH06"]["manned_at"]  # understaffed: never manned
    assert rep["points_ordered"] == 18 and rep["points_fired"] == 8
    assert rep["totals"] == {
        "RKT-AGI": {"fired": 88, "duds": 1, "agent_g": 105.6, "agent": "AgI", "agent_g_per_unit": 1.2},
        "SHELL-37": {"fired": 24, "duds": 2, "agent_g": 12.0, "agent": "AgI", "agent_g_per_unit": 0.5}}
    assert [list(t) for t in rep["totals"].values()] == [["fired", "duds", "agent_g", "agent", "agent_g_per_unit"]] * 2
    assert rep["ledger_consumption"] == {"RKT-AGI": 88, "SHELL-37": 24} and rep["totals_match_ledger"] is True
    assert Counter(f["code"] for f in rep["flags"]) == Counter(c for codes in FLAGS.values() for c in codes)
    assert all(list(f) == ["report_id", "point_code", "started_at", "code", "reason"] for f in rep["flags"])
    air = rep["airspace"]
    assert list(air) == AIRSPACE_KEYS and all(list(w) == WINDOW_KEYS for w in air["windows"])
    assert {k: air[k] for k in AIRSPACE_KEYS[:-1]} == {"asked": 14, "approved": 11, "used": air["used"],
                                                        "rejected": 1, "terminated": 1, "cancelled": 0, "pending": 2}
    assert air["used"] == sum(w["used"] for w in air["windows"]) == sum(p["windows_used"] for p in rep["points"])
    # the drill's orders: readiness 3 to all 18 points, four fire orders, one cease; every phone acknowledges
    # except LH16's (LH10's six minutes late, through the queue)
    orders = rep["orders"]
    assert list(orders) == ORDERS_KEYS and all(list(o) == ORDER_KEYS for o in orders["items"])
    assert {k: orders[k] for k in ORDERS_KEYS[:-1]} == {"issued": 22, "acknowledged": 21, "unacknowledged": 1}
    assert Counter(o["kind"] for o in orders["items"]) == {"readiness": 18, "fire": 3, "cease": 1}
    assert [o["point_code"] for o in orders["items"] if o["acknowledged_at"] is None] == ["LH16"]
    assert [o["point_code"] for o in orders["items"] if (o["ack_delay_s"] or 0) > 60] == ["LH10"]
    assert [o["point_code"] for o in orders["items"]] == sorted(o["point_code"] for o in orders["items"])
    assert sum(p["orders"] for p in rep["points"]) == 22 and sum(p["orders_unacknowledged"] for p in rep["points"]) == 1
    assert list(rep["response_times"]) == ["order_to_manned_s", "request_to_decision_s", "order_to_ack_s"]
    assert rep["response_times"]["order_to_ack_s"] == {str(o["id"]): o["ack_delay_s"] for o in orders["items"]}
    assert rep["response_times"]["order_to_manned_s"] == {p["point_code"]: p["order_to_manned_s"]
                                                          for p in rep["points"]}
    assert rep["response_times"]["request_to_decision_s"] == {w["request_id"]: w["request_to_decision_s"]
                                                              for w in air["windows"]}
    assert [list(r) for r in rep["reports"]] == [REPORT_KEYS] * 8
    types = Counter(e["type"] for e in rep["timeline"])
    assert {k: types[k] for k in ("round", "airspace", "decision", "terminated", "report", "declined",
                                  "stood_down", "order", "ack")} == {"round": 2, "airspace": 14, "decision": 12,
                                                                    "terminated": 1, "report": 8, "declined": 1,
                                                                    "stood_down": 1, "order": 22, "ack": 21}
    assert types["checkin"] > 0 and set(types) == {"round", "airspace", "decision", "terminated", "report",
                                                   "declined", "stood_down", "checkin", "order", "ack"}
    keys = {e["type"]: list(e) for e in rep["timeline"]}
    assert keys["checkin"] == ["at", "type", "point_code", "latitude", "longitude", "label"]
    assert keys["report"] == ["at", "type", "point_code", "label", "flagged"]
    assert all(keys[t] == ["at", "type", "point_code", "label"] for t in keys if t not in ("checkin", "report"))
    assert [e["label"] for e in rep["timeline"] if e["type"] == "round"] == ["round ordered", "round activated"]
    # the check-ins of the timeline are those the activity logs show as arrivals and departures
    arrivals = 0
    for code in STATES:
        log = client.get(f"/api/v1/rounds/1/points/{code}/activity-log", headers=drilled).get_data(as_text=True)
        arrivals += sum(r["kind"] in ("arrival", "departure") for r in csv.DictReader(io.StringIO(log)))
    assert types["checkin"] == arrivals


def test_round_report_csv_is_the_json_in_columns(client, drilled):
    rep = client.get("/api/v1/rounds/1/report", headers=drilled).json
    resp = client.get("/api/v1/rounds/1/report?format=csv", headers=drilled)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="round-1-report.csv"'
    text = resp.get_data(as_text=True)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n") and text.endswith(",,,22,1\r\n")
    assert text.count("\r\n") == len(rep["points"]) + 2 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == CSV_COLUMNS
    for p, row in zip(rep["points"], rows[1:-1], strict=True):
        assert row == [p["point_code"], p["point_name"], p["state"], p["ordered_at"] or "", p["manned_at"] or "",
                       "" if p["order_to_manned_s"] is None else str(p["order_to_manned_s"]), str(p["reports"]),
                       str(p["fired_total"]), str(p["duds_total"]), str(p["agent_g"]), _ammo_cell(p["ammo"]),
                       ";".join(p["flags"]), str(p["windows_asked"]), str(p["windows_approved"]),
                       str(p["windows_used"]), str(p["windows_rejected"]), str(p["windows_terminated"]),
                       ";".join(str(s) for s in p["request_to_decision_s"]), p["declined_reason"] or "",
                       p["stood_down_reason"] or "", str(p["orders"]), str(p["orders_unacknowledged"])]
    air = rep["airspace"]
    assert rows[-1] == ["TOTAL", "", "", "", "", "", "8", "112", "3", "117.6", "RKT-AGI:88/1;SHELL-37:24/2", "8",
                        "14", "11", str(air["used"]), "1", "1", "", "", "", "22", "1"]


class _Tables(HTMLParser):
    """Rows and <time> datetimes per table id (None: outside tables), each chart figure's tags, the map's srcdoc."""

    def __init__(self):
        super().__init__()
        self.rows: Counter = Counter()
        self.times: dict[str | None, list[str]] = {}
        self.figures: dict[str, list[str]] = {}
        self.srcdoc = ""
        self._table = self._figure = None
        self._body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.rows[self._table] += 1
        elif tag == "time":
            self.times.setdefault(self._table, []).append(a["datetime"])
        elif tag == "figure":
            self._figure = a["id"]
            self.figures[self._figure] = []
        elif self._figure:
            self.figures[self._figure].append(tag)
        if tag == "iframe":
            self.srcdoc = a["srcdoc"]

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tbody":
            self._body = False
        elif tag == "figure":
            self._figure = None


def test_round_report_html_tables_charts_and_map(client, drilled):
    rep = client.get("/api/v1/rounds/1/report", headers=drilled).json
    resp = client.get("/api/v1/rounds/1/report?format=html", headers=drilled)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = _Tables()
    page.feed(resp.get_data(as_text=True))
    assert dict(page.rows) == {"totals": 2, "points": 18, "flags": 8, "windows": 14, "orders": 22,
                               "timeline": len(rep["timeline"])}
    assert set(page.figures) == {"chart-ammo", "chart-windows"}
    assert all(tags[0] == "svg" for tags in page.figures.values())
    assert page.srcdoc.startswith("<!DOCTYPE html>") and "leaflet" in page.srcdoc
    assert page.times["timeline"] == [e["at"] for e in rep["timeline"]]
    assert page.times["points"] == [t for p in rep["points"] for t in (p["ordered_at"], p["manned_at"] or "")]
    assert page.times["flags"] == [f["started_at"] for f in rep["flags"]]
    assert page.times["orders"] == [t for o in rep["orders"]["items"]
                                    for t in (o["issued_at"], o["acknowledged_at"]) if t is not None]
    assert page.times[None][:2] == [rep["round"]["activated_at"], ""]  # activated, not closed
    assert datetime.fromisoformat(page.times[None][2]) >= datetime.fromisoformat(rep["generated_at"])


def test_activity_log_csv_sections_and_html(client, drilled):
    rep = client.get("/api/v1/rounds/1/report", headers=drilled).json
    for p in rep["points"]:
        code = p["point_code"]
        resp = client.get(f"/api/v1/rounds/1/points/{code}/activity-log", headers=drilled)
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="round-1-{code}-activity-log.csv"'
        text = resp.get_data(as_text=True)
        assert text.startswith(",".join(LOG_COLUMNS) + "\r\n")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == LOG_COLUMNS and all(len(r) == 6 for r in rows)
        start, end = rows[1], rows[2]
        assert start[:2] == ["period", rep["round"]["activated_at"]]
        assert start[3:] == ["start", code, rep["round"]["name"]]
        assert end[0] == "period" and end[3:] == ["now", code, ""]
        assert datetime.fromisoformat(end[1]) >= datetime.fromisoformat(rep["generated_at"])
        crew = [r for r in rows if r[0] == "crew"]
        assert crew and all(r[5].startswith("certificate ") and ", shift to " in r[5] for r in crew)
        acts = [r for r in rows if r[0] == "activity"]
        assert [r[0] for r in rows[3:]] == ["crew"] * len(crew) + ["activity"] * len(acts)
        assert [a[1] for a in acts] == sorted(a[1] for a in acts)
        assert all(a[2].endswith(" +08:00") for a in acts)
        kinds = Counter(a[3] for a in acts)
        assert kinds["ordered"] == 1 and kinds["round_activated"] == 1
        assert kinds["firing"] == p["reports"] and kinds["airspace_request"] == p["windows_asked"]
        assert kinds["airspace_approved"] == p["windows_approved"]
        assert kinds["airspace_rejected"] == p["windows_rejected"]
        assert kinds["airspace_terminated"] == p["windows_terminated"]
        assert kinds["declined"] == (p["declined_at"] is not None)
        assert kinds["stood_down"] == (p["stood_down_at"] is not None)
        assert kinds["order"] == p["orders"] and kinds["order_ack"] == p["orders"] - p["orders_unacknowledged"]
        firings = [a[5] for a in acts if a[3] == "firing"]
        assert all(f.startswith("firing to ") and "azimuth" in f for f in firings)
        flagged = [r for r in rep["reports"] if r["point_code"] == code and r["flags"]]
        assert sum("; flags: " in f for f in firings) == len(flagged)
        html = client.get(f"/api/v1/rounds/1/points/{code}/activity-log?format=html", headers=drilled)
        assert html.status_code == 200 and html.mimetype == "text/html"
        page = _Tables()
        page.feed(html.get_data(as_text=True))
        assert page.times["activities"] == [a[1] for a in acts]
        assert page.times["crew"][::2] == [m[1] for m in crew]
        # the shift's end in the detail is for people: local, in the one format (2026-07-18 21:05 +08:00)
        assert [m[5].rsplit(", shift to ", 1)[1] for m in crew] == [
            datetime.fromisoformat(t).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M +08:00")
            for t in page.times["crew"][1::2]]
        assert dict(page.rows) == {"crew": len(crew), "activities": len(acts)}
