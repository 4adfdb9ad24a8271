"""CSV exports never carry a live spreadsheet formula (OWASP's CSV injection rule), whoever typed the text.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading `'`, so a
spreadsheet shows it as text. Numbers the system writes as numbers stay numbers. The JSON lines export
keeps the exact text, and its hashes still verify.
"""

import csv
import io
import json
from datetime import timedelta

import pytest

from opsserver.audit.csvsafe import FORMULA_STARTS, safe_cell, writer
from opsserver.database.utc import now_utc

from .helpers.world import OpsWorld

LINK = 'HYPERLINK("http://x","y")'
HOSTILE = {start: f"{start}{LINK}" for start in ("=", "+", "-", "@", "\t", "\r")}


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_no_live_formula(text: str) -> None:
    """Every cell that starts like a formula is a number the system wrote (e.g. a negative count)."""
    for cell in cells(text):
        if cell[:1] in FORMULA_STARTS:
            float(cell)  # raises for text: a live formula


def test_the_writer_neutralises_every_formula_start_and_keeps_numbers():
    """Text starting with any of the six characters gets a quote; ints and floats are written as numbers."""
    assert FORMULA_STARTS == ("=", "+", "-", "@", "\t", "\r")
    for start, text in HOSTILE.items():
        assert safe_cell(text) == "'" + text
    assert [safe_cell(v) for v in (-3, -2.5, 0, "plain", "a=b", "", None, "'=quoted")] == \
        [-3, -2.5, 0, "plain", "a=b", "", None, "'=quoted"]
    assert safe_cell("-3") == "'-3"  # typed text that looks like a number is still text
    buffer = io.StringIO()
    out = writer(buffer, lineterminator="\n")
    out.writerow([HOSTILE["="], -3, 1.5, None, "ok"])
    out.writerows([[HOSTILE["\r"]], [HOSTILE["@"]]])
    assert cells(buffer.getvalue()) == ["'" + HOSTILE["="], "-3", "1.5", "", "ok", "'" + HOSTILE["\r"],
                                        "'" + HOSTILE["@"]]


def test_a_failed_login_name_is_text_in_the_audit_csv_and_exact_in_jsonl(world):
    """The username of a failed login is audited; the CSV shows it as text, the JSON lines file as typed."""
    resp = world.client.post("/api/v1/auth/token", json={"username": HOSTILE["="], "password": "wrong-password"})
    assert resp.status_code == 401
    auditor = world.headers("auditor")
    text = world.client.get("/api/v1/audit/export?format=csv", headers=auditor).get_data(as_text=True)
    assert "'" + HOSTILE["="] in cells(text)
    assert_no_live_formula(text)
    failed = [row for row in csv.DictReader(io.StringIO(text, newline="")) if row["action"] == "auth.login_failed"]
    assert [row["entity_id"] for row in failed] == ["'" + HOSTILE["="]]
    lines = world.client.get("/api/v1/audit/export?format=jsonl", headers=auditor).get_data(as_text=True)
    event = next(json.loads(x) for x in lines.splitlines() if json.loads(x)["action"] == "auth.login_failed")
    assert event["entity_id"] == HOSTILE["="]
    assert world.client.get("/api/v1/audit/verify", headers=auditor).json["ok"] is True


@pytest.fixture
def hostile(ops_world: OpsWorld) -> OpsWorld:
    """A round where every text a person types starts like a formula: two crew names, a point name, a decline
    reason, a stand-down reason and a firing report's notes (names refuse control characters, so the tab and
    the carriage return go into the free texts: the notes and the decline reason)."""
    w = ops_world
    start = now_utc() - timedelta(hours=1)
    for start_char in ("=", "+"):
        resp = w.post("admin", "/api/v1/crew", {"name": HOSTILE[start_char], "phone": "13900000000",
                                                "certificate_no": f"CERT-{ord(start_char)}",
                                                "certificate_expires": (start + timedelta(days=400)).date().isoformat(),
                                                "home_point": "LH01"})
        assert resp.status_code == 201, resp.json
        w.crew[start_char] = resp.json["id"]
        resp = w.post("commander", "/api/v1/shifts", {"point_code": "LH01", "crew_id": resp.json["id"],
                                                  "starts_at": start.isoformat(),
                                                  "ends_at": (start + timedelta(hours=8)).isoformat()})
        assert resp.status_code == 201, resp.json
    resp = w.client.patch("/api/v1/points/LH01", json={"name": HOSTILE["-"]}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    w.ready_to_fire()
    for start_char in ("=", "+"):
        w.arrive(start_char)
    resp = w.report(notes=HOSTILE["\t"])
    assert resp.status_code == 201 and not resp.json["flags"], resp.json
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH02/decline", {"reason": HOSTILE["\r"]})
    assert resp.status_code == 200, resp.json
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH01/stand-down", {"reason": HOSTILE["@"]})
    assert resp.status_code == 200, resp.json
    return w


def test_round_report_csv(hostile):
    """The point's name and the decline and stand-down reasons are text in the round report."""
    text = hostile.get("commander", f"/api/v1/rounds/{hostile.round_id}/report?format=csv").get_data(as_text=True)
    assert {"'" + HOSTILE[c] for c in "-\r@"} <= set(cells(text))
    assert_no_live_formula(text)


def test_activity_log_csv(hostile):
    """Crew names (one starting with `=`, one with `+`) are text in the activity log."""
    text = hostile.get("auditor", f"/api/v1/rounds/{hostile.round_id}/points/LH01/activity-log?format=csv") \
        .get_data(as_text=True)
    assert {"'" + HOSTILE["="], "'" + HOSTILE["+"]} <= set(cells(text))
    assert_no_live_formula(text)


def test_daily_log_csv(hostile):
    """The point's name and a report's notes (starting with a tab) are text in the daily log."""
    today = now_utc().date()
    query = (f"point_code=LH01&date_from={(today - timedelta(days=1)).isoformat()}"
             f"&date_to={(today + timedelta(days=1)).isoformat()}&format=csv")
    text = hostile.get("commander", f"/api/v1/records/daily-log?{query}").get_data(as_text=True)
    assert {"'" + HOSTILE["-"], "'" + HOSTILE["\t"]} <= set(cells(text))
    assert_no_live_formula(text)


def test_season_summary_and_audit_csv_of_the_same_round(hostile):
    """The season summary (numbers and labels) and the audit CSV of the round hold no live formula either."""
    year = now_utc().year
    assert_no_live_formula(hostile.get("commander", f"/api/v1/records/season-summary?year={year}&format=csv")
                           .get_data(as_text=True))
    assert_no_live_formula(hostile.get("auditor", "/api/v1/audit/export?format=csv").get_data(as_text=True))
