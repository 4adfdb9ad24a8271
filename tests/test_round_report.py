"""Round reports and ICS-214-style activity logs over a drill-sized round (seed-demo + drill).

The report's totals equal the ledger's consumption for the round; its HTML opens in headless Chromium
with its two charts and the map and prints to an A4 PDF (test-artifacts/round-report.pdf).
"""

import csv
import io
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from .helpers import live

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def drilled(app, runner, client):
    """The demo seeded and drilled (one round, 18 points); tokens for the auditor, commander and a crew member.

    The drill plays the last night that has passed (20:00 to 04:40 local, on its own shifts); the whole
    test runs at 10:00 local the morning after tonight, the clock ticking, whatever the hour it is
    started at, so the crew who arrived last night still count as on site (24 h).
    """
    from opsserver.demo.seed import tonight

    with app.app_context():
        night_start, _ = tonight()
    with time_machine.travel(night_start + timedelta(hours=16), tick=True):
        app.config["OPS_MAP_TILES"] = "none"  # no tile server in the test: the map must not reach the internet
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        result = runner.invoke(args=["ops", "drill"])
        assert result.exit_code == 0, result.output
        tokens = {}
        for user in ("auditor", "commander", "crew-lh01"):
            resp = client.post("/api/v1/auth/token",
                               json={"username": user, "password": f"{user.split('-')[0]}-demo-pass"})
            assert resp.status_code == 200, resp.json
            tokens[user] = {"Authorization": f"Bearer {resp.json['access_token']}"}
        yield tokens


def test_report_totals_equal_the_ledger(client, drilled):
    h = drilled["auditor"]
    rep = client.get("/api/v1/rounds/1/report", headers=h)
    assert rep.status_code == 200, rep.get_data(as_text=True)
    rep = rep.json
    reports = client.get("/api/v1/rounds/1/reports?limit=1000", headers=h).json["items"]
    ledger = client.get("/api/v1/ammo/ledger?round_id=1&kind=consumption&limit=1000", headers=h).json["items"]
    types = {t["code"]: t for t in client.get("/api/v1/ammo/types", headers=h).json["items"]}
    report_ids = {r["id"] for r in reports}
    consumed = Counter()
    for e in ledger:
        assert e["kind"] == "consumption" and e["report_id"] in report_ids
        consumed[e["ammo_type"]] -= e["quantity"]
    assert sum(consumed.values()) > 0
    assert {k: v["fired"] for k, v in rep["totals"].items()} == dict(consumed)
    assert rep["ledger_consumption"] == dict(consumed) and rep["totals_match_ledger"] is True
    duds = Counter()
    for r in reports:
        for line in r["ammo"]:
            duds[line["type"]] += line["duds"]
    for code, t in rep["totals"].items():
        assert t["duds"] == duds[code]
        assert t["agent_g"] == pytest.approx(consumed[code] * types[code]["agent_g_per_unit"])
    # every flag of every report, with its reason
    assert sorted((f["report_id"], f["code"], f["reason"]) for f in rep["flags"]) == \
        sorted((r["id"], f["code"], f["reason"]) for r in reports for f in r["flags"])
    # the drill asks 14 windows: one rejected, two left pending, one terminated; eight points fire
    assert rep["points_ordered"] == 18 and rep["points_fired"] == 8
    air = rep["airspace"]
    assert (air["asked"], air["rejected"], air["terminated"], air["pending"], air["approved"]) == (14, 1, 1, 2, 11)
    assert 1 <= air["used"] <= 8
    assert all(w["request_to_decision_s"] >= 0 for w in air["windows"] if w["decided_at"])
    manned = [p for p in rep["points"] if p["manned_at"]]
    assert manned and all(p["order_to_manned_s"] >= 0 for p in manned)
    assert [e["at"] for e in rep["timeline"]] == sorted(e["at"] for e in rep["timeline"])
    assert {"report", "airspace", "decision", "terminated", "checkin", "declined", "stood_down"} <= \
        {e["type"] for e in rep["timeline"]}


def test_report_csv_and_roles(client, drilled):
    resp = client.get("/api/v1/rounds/1/report?format=csv", headers=drilled["commander"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    points, total = rows[:-1], rows[-1]
    assert len(points) == 18 and len({r["point_code"] for r in points}) == 18 and total["point_code"] == "TOTAL"
    assert int(total["fired_total"]) == sum(int(r["fired_total"]) for r in points) > 0
    assert client.get("/api/v1/rounds/1/report", headers=drilled["crew-lh01"]).status_code == 403
    assert client.get("/api/v1/rounds/1/points/LH01/activity-log", headers=drilled["crew-lh01"]).status_code == 403
    assert client.get("/api/v1/rounds/1/report").status_code == 401
    assert client.get("/api/v1/rounds/999/report", headers=drilled["auditor"]).status_code == 404
    assert client.get("/api/v1/rounds/999/points/LH01/activity-log", headers=drilled["auditor"]).status_code == 404
    assert client.get("/api/v1/rounds/1/points/NOPE/activity-log", headers=drilled["auditor"]).status_code == 404
    assert client.get("/api/v1/rounds/1/report?format=pdf", headers=drilled["auditor"]).status_code == 422


def test_activity_log(client, drilled):
    h = drilled["auditor"]
    rep = client.get("/api/v1/rounds/1/report", headers=h).json
    point = next(p for p in rep["points"] if p["fired"] and p["windows_approved"])["point_code"]
    resp = client.get(f"/api/v1/rounds/1/points/{point}/activity-log?format=csv", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    sections = Counter(r["section"] for r in rows)
    assert sections["period"] == 2 and sections["crew"] >= 1
    # Chinese, the default (no Accept-Language): the English documents are tests/test_reports_golden.py's
    assert all(r["detail"].startswith("证书 ") and r["kind"] for r in rows if r["section"] == "crew")
    acts = [r for r in rows if r["section"] == "activity"]
    assert [a["at_utc"] for a in acts] == sorted(a["at_utc"] for a in acts)
    kinds = [a["kind"] for a in acts]
    assert {"arrival", "airspace_request", "airspace_approved", "firing"} <= set(kinds)
    assert kinds.index("arrival") < kinds.index("airspace_request") < kinds.index("airspace_approved") \
        < kinds.index("firing")
    assert all(a["at_local"].endswith("+08:00") for a in acts)  # Asia/Shanghai, the default zone
    html = client.get(f"/api/v1/rounds/1/points/{point}/activity-log?format=html", headers=h)
    assert html.status_code == 200 and html.mimetype == "text/html"
    text = html.get_data(as_text=True)
    assert "作业时段" in text and "+08:00" in text and "size: A4" in text
    first = acts[0]
    assert f'datetime="{first["at_utc"]}"' in text and first["at_local"] in text


@live.needs_chromium
def test_report_html_in_chromium_prints_to_pdf(app, client, drilled):
    with live.serving(app) as base, live.chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(15000)
        errors = live.script_errors(page)
        page.set_extra_http_headers(drilled["auditor"])
        resp = page.goto(f"{base}/api/v1/rounds/1/report?format=html", wait_until="load")
        assert resp.status == 200
        assert page.locator("#chart-ammo svg").count() == 1
        assert page.locator("#chart-windows svg").count() == 1
        frame = page.frame_locator("#round-map")
        frame.locator(".leaflet-container").wait_for()
        assert frame.locator(".leaflet-interactive").count() > 0  # the points, sectors and arrows drawn
        assert page.locator("#points tbody tr").count() == 18
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "round-report.pdf"
        page.emulate_media(media="print")
        page.pdf(format="A4", path=str(path), print_background=True)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10000
    assert not errors, errors
