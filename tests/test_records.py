"""Regulatory records (15 CFR Part 908): the daily log per point and the NOAA Form 17-4A season summary.

A season is seeded by hand through the API: three rounds (one per purpose) activated in the past with
time-machine, and eight firings at known UTC instants with known ammunition. Every expected figure below
is worked out in the comments from those inputs (OPS_TIMEZONE Asia/Shanghai, UTC+8, no DST), not copied
from the app's answer.

Catalogue: RKT-AGI 1.2 g AgI per rocket, SHELL-37 0.5 g AgI per shell (fixture), FLARE-HYG 40 g NaCl per
flare (added here).
"""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
import time_machine

from .helpers.problems import assert_problem
from .helpers.world import OpsWorld



def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def new_active_round(w: OpsWorld, purpose: str, when: datetime) -> int:
    """A round ordering LH01 and LH02, planned and activated at `when` (in the past)."""
    with time_machine.travel(when, tick=True):
        resp = w.post("commander", "/api/v1/rounds", {
            "name": f"Season {purpose}", "purpose": purpose, "planned_start": when.isoformat(),
            "planned_end": when.replace(hour=23).isoformat(), "point_codes": ["LH01", "LH02"]})
        assert resp.status_code == 201, resp.json
        round_id = resp.json["id"]
        # the world's announcement covers the month around now, not this season: the commander says why
        resp = w.post("commander", f"/api/v1/rounds/{round_id}/activate",
                      {"without_announcement_reason": "test: a season seeded by hand"})
        assert resp.status_code == 200, resp.json
    return round_id


def fire(w: OpsWorld, round_id: int, point: str, started: str, ended: str, ammo: list, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "point_code": point, "started_at": utc(started).isoformat(),
            "ended_at": utc(ended).isoformat(), "azimuth_deg": 10.0 if point == "LH01" else 120.0,
            "elevation_deg": 55.0, "ammo": [{"type": t, "fired": n, "duds": d} for t, n, d in ammo],
            "crew_id": w.crew["ann" if point == "LH01" else "dong"], **extra}
    resp = w.post("commander", f"/api/v1/rounds/{round_id}/reports", body)
    assert resp.status_code == 201, resp.json
    return resp.json


@pytest.fixture
def season(ops_world: OpsWorld) -> OpsWorld:
    w = ops_world
    resp = w.post("admin", "/api/v1/ammo/types", {"code": "FLARE-HYG", "name": "Hygroscopic flare",
                                                  "agent": "NaCl", "agent_g_per_unit": 40.0, "placeholder": True})
    assert resp.status_code == 201, resp.json
    rain = new_active_round(w, "rain_enhancement", utc("2026-06-10T00:00:00"))
    hail = new_active_round(w, "hail_suppression", utc("2026-06-10T05:00:00"))
    other = new_active_round(w, "other", utc("2026-07-01T00:00:00"))
    # June (local dates):
    # 1. rain, LH01, local 06-10 10:00–10:30: 0.5 h; 3 rockets × 1.2 = 3.6 g AgI; 2 flares × 40 = 80 g NaCl
    fire(w, rain, "LH01", "2026-06-10T02:00:00", "2026-06-10T02:30:00",
         [("RKT-AGI", 3, 1), ("FLARE-HYG", 2, 0)], cloud_type="Cb", notes="first firing of the season")
    # 2. rain, LH02, local 06-10 11:00–12:00: 1.0 h; 10 shells × 0.5 = 5.0 g AgI
    fire(w, rain, "LH02", "2026-06-10T03:00:00", "2026-06-10T04:00:00", [("SHELL-37", 10, 0)], cloud_type="Cu")
    # 3. rain, LH01, local 06-11 09:00–09:15: 0.25 h; 2 × 1.2 = 2.4 g AgI
    fire(w, rain, "LH01", "2026-06-11T01:00:00", "2026-06-11T01:15:00", [("RKT-AGI", 2, 0)], cloud_type="Ns")
    # 4. hail, LH02, local 06-10 14:00–14:45: 0.75 h; 20 × 0.5 = 10.0 g AgI
    fire(w, hail, "LH02", "2026-06-10T06:00:00", "2026-06-10T06:45:00", [("SHELL-37", 20, 2)], cloud_type="Cb")
    # July (local dates) — the first firing is in June by UTC but in July locally:
    # 5. hail, LH01, 06-30T16:30Z = local 07-01 00:30–01:00: 0.5 h; 4 × 1.2 = 4.8 g AgI
    fire(w, hail, "LH01", "2026-06-30T16:30:00", "2026-06-30T17:00:00", [("RKT-AGI", 4, 0)], cloud_type="Cb")
    # 6. other, LH01, 07-01T15:59Z = local 07-01 23:59–00:00 (a day by its start): 1 min; 2 × 1.2 = 2.4 g AgI
    fire(w, other, "LH01", "2026-07-01T15:59:00", "2026-07-01T16:00:00", [("RKT-AGI", 2, 0)])
    # 7. other, LH01, 07-01T16:30Z = local 07-02 00:30–00:50: 20 min; 1 × 1.2 = 1.2 g AgI
    fire(w, other, "LH01", "2026-07-01T16:30:00", "2026-07-01T16:50:00", [("RKT-AGI", 1, 0)], cloud_type="Cb")
    # 8. other, LH02, local 07-02 10:00–11:30: 1.5 h; 6 × 0.5 = 3.0 g AgI
    fire(w, other, "LH02", "2026-07-02T02:00:00", "2026-07-02T03:30:00", [("SHELL-37", 6, 0)])
    return w


# --- NOAA Form 17-4A -----------------------------------------------------------------------------

def test_season_summary_equals_figures_computed_by_hand(season):
    resp = season.get("auditor", "/api/v1/records/season-summary?year=2026")
    assert resp.status_code == 200, resp.json
    s = resp.json
    assert s["year"] == 2026 and s["timezone"] == "Asia/Shanghai"
    assert s["agents"] == ["AgI", "NaCl"]
    months = {m["month"]: m for m in s["months"]}
    assert sorted(months) == list(range(1, 13))

    june, july = months[6], months[7]
    # June: rain on 06-10 (1, 2) and 06-11 (3) = 2 days; hail on 06-10 (4) = 1 day; other none.
    assert june["modification_days"] == {"rain_enhancement": 2, "hail_suppression": 1, "other": 0}
    assert june["modification_days_any"] == 2  # 06-10, 06-11
    # 0.5 + 1.0 + 0.25 + 0.75 = 2.5 h
    assert june["ground_apparatus_hours"] == 2.5
    # AgI 3.6 + 5.0 + 2.4 + 10.0 = 21.0 g; NaCl 80 g
    assert june["agent_g"] == {"AgI": 21.0, "NaCl": 80.0}
    assert june["operations"] == 4

    # July: hail on 07-01 (5) = 1 day; other on 07-01 (6) and 07-02 (7, 8) = 2 days; rain none.
    assert july["modification_days"] == {"rain_enhancement": 0, "hail_suppression": 1, "other": 2}
    assert july["modification_days_any"] == 2  # 07-01, 07-02
    # 30 + 1 + 20 + 90 minutes = 141 min = 2.35 h
    assert july["ground_apparatus_hours"] == 2.35
    # AgI 4.8 + 2.4 + 1.2 + 3.0 = 11.4 g; NaCl none
    assert july["agent_g"] == {"AgI": 11.4, "NaCl": 0.0}
    assert july["operations"] == 4

    for m in set(months) - {6, 7}:
        assert months[m]["modification_days"] == {"rain_enhancement": 0, "hail_suppression": 0, "other": 0}
        assert months[m]["ground_apparatus_hours"] == 0
        assert months[m]["agent_g"] == {"AgI": 0.0, "NaCl": 0.0}

    t = s["totals"]
    # rain 2 + 0, hail 1 + 1, other 0 + 2; any 2 + 2
    assert t["modification_days"] == {"rain_enhancement": 2, "hail_suppression": 2, "other": 2}
    assert t["modification_days_any"] == 4
    assert t["ground_apparatus_hours"] == 4.85  # 2.5 + 2.35
    assert t["agent_g"] == {"AgI": 32.4, "NaCl": 80.0}  # 21.0 + 11.4
    assert t["operations"] == 8

    # Another year holds none of it.
    empty = season.get("auditor", "/api/v1/records/season-summary?year=2025").json
    assert empty["totals"]["operations"] == 0 and empty["agents"] == []


def test_season_summary_csv_parses_with_the_same_figures(season):
    resp = season.get("commander", "/api/v1/records/season-summary?year=2026&format=csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 13  # twelve months and the total
    by_month = {r["month"]: r for r in rows}
    assert by_month["2026-06"] == {"month": "2026-06", "days_rain_enhancement": "2", "days_hail_suppression": "1",
                                   "days_other": "0", "days_any": "2", "ground_apparatus_hours": "2.50",
                                   "operations": "4", "agent_AgI_g": "21", "agent_NaCl_g": "80"}
    assert by_month["2026-07"]["days_other"] == "2"
    assert by_month["2026-07"]["ground_apparatus_hours"] == "2.35"
    assert by_month["2026-07"]["agent_AgI_g"] == "11.4"
    assert by_month["total"]["ground_apparatus_hours"] == "4.85"
    assert by_month["total"]["agent_AgI_g"] == "32.4"
    assert by_month["2026-01"]["operations"] == "0"


# --- daily log -----------------------------------------------------------------------------------

def test_daily_log_of_a_point_by_local_date(season):
    resp = season.get("auditor", "/api/v1/records/daily-log?point_code=LH01&date_from=2026-06-01&date_to=2026-07-31")
    assert resp.status_code == 200, resp.json
    items = resp.json["items"]
    # LH01 fired on local 06-10 (1), 06-11 (3), 07-01 (5 and 6) and 07-02 (7).
    assert [(r["date"], r["point_code"]) for r in items] == [
        ("2026-06-10", "LH01"), ("2026-06-11", "LH01"), ("2026-07-01", "LH01"), ("2026-07-02", "LH01")]
    d10, d11, j1, j2 = items
    assert [(o["started_at"], o["ended_at"]) for o in d10["operations"]] == [
        ("2026-06-10T02:00:00.000000Z", "2026-06-10T02:30:00.000000Z")]
    assert d10["hours"] == 0.5
    assert d10["agents"] == {"AgI": 3.6, "NaCl": 80.0}  # 3 × 1.2, 2 × 40
    assert d10["ammo"] == {"FLARE-HYG": {"fired": 2, "duds": 0}, "RKT-AGI": {"fired": 3, "duds": 1}}
    assert d10["cloud_types"] == ["Cb"]
    assert "first firing of the season" in d10["remarks"]
    # No stock of flares at LH01 and no airspace approved: both flagged and in the remarks.
    assert {"insufficient_stock", "no_airspace"} <= set(d10["flags"])
    assert any(r.startswith("库存不足") for r in d10["remarks"])  # the remarks in the reader's language (zh)
    assert d11["hours"] == 0.25 and d11["agents"] == {"AgI": 2.4}
    # 07-01 local: firing 5 (06-30T16:30Z, 30 min) and firing 6 (07-01T15:59Z, 1 min): 31 min = 0.52 h
    assert [o["started_at"] for o in j1["operations"]] == ["2026-06-30T16:30:00.000000Z",
                                                           "2026-07-01T15:59:00.000000Z"]
    assert [o["purpose"] for o in j1["operations"]] == ["hail_suppression", "other"]
    assert j1["hours"] == 0.52
    assert j1["agents"] == {"AgI": 7.2}  # (4 + 2) × 1.2
    # 07-01T16:30Z is already 07-02 in Shanghai: 20 min = 0.33 h, 1.2 g
    assert j2["hours"] == 0.33 and j2["agents"] == {"AgI": 1.2}

    # Every point, one day: LH01's firing 1 and LH02's firings 2 and 4 on local 06-10.
    day = season.get("auditor", "/api/v1/records/daily-log?date_from=2026-06-10&date_to=2026-06-10").json["items"]
    assert [r["point_code"] for r in day] == ["LH01", "LH02"]
    lh02 = day[1]
    assert lh02["hours"] == 1.75  # 1.0 + 0.75
    assert lh02["agents"] == {"AgI": 15.0}  # (10 + 20) × 0.5
    assert lh02["cloud_types"] == ["Cu", "Cb"]


def test_daily_log_csv_in_local_time_with_offset(season):
    resp = season.get("admin", "/api/v1/records/daily-log?point_code=LH01&date_from=2026-07-01"
                               "&date_to=2026-07-02&format=csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["date"] for r in rows] == ["2026-07-01", "2026-07-02"]
    assert rows[0]["operations"] == ("2026-07-01 00:30 +08:00 – 2026-07-01 01:00 +08:00; "
                                     "2026-07-01 23:59 +08:00 – 2026-07-02 00:00 +08:00")
    assert rows[0]["hours_of_operation"] == "0.52"
    assert rows[0]["agent_amounts_g"] == "AgI 7.2"
    assert rows[1]["operations"] == "2026-07-02 00:30 +08:00 – 2026-07-02 00:50 +08:00"
    assert rows[1]["hours_of_operation"] == "0.33"
    assert rows[1]["agent_amounts_g"] == "AgI 1.2"
    assert rows[1]["cloud_types"] == "Cb"


def test_local_midnight_splits_dates(season):
    # Only 07-02 local: the 07-01T16:30Z firing (local 00:30) is in, the 07-01T15:59Z one (local 23:59) is not.
    items = season.get("auditor", "/api/v1/records/daily-log?point_code=LH01&date_from=2026-07-02"
                                  "&date_to=2026-07-02").json["items"]
    assert [o["started_at"] for r in items for o in r["operations"]] == ["2026-07-01T16:30:00.000000Z"]


# --- access and bad queries ----------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/records/daily-log", "/api/v1/records/season-summary"])
def test_roles(ops_world, url):
    assert ops_world.get("crew1", url).status_code == 403
    assert ops_world.client.get(url).status_code == 401
    for who in ("auditor", "admin", "commander"):
        assert ops_world.get(who, url).status_code == 200


@pytest.mark.parametrize("query, field", [
    ("date_from=2026-07-02&date_to=2026-07-01", "date_to"),
    ("date_from=not-a-date", "date_from"),
    ("format=xml", "format"),
    ("date_from=2025-01-01&date_to=2026-12-31", "date_to"),
])
def test_bad_daily_log_query_is_a_problem(ops_world, query, field):
    resp = ops_world.get("auditor", f"/api/v1/records/daily-log?{query}")
    assert_problem(resp, 422, field)


def test_bad_season_query_and_unknown_point(ops_world):
    resp = ops_world.get("auditor", "/api/v1/records/season-summary?year=1900")
    assert_problem(resp, 422)
    resp = ops_world.get("auditor", "/api/v1/records/daily-log?point_code=NOPE")
    assert_problem(resp, 404)
