"""Firing reports (`POST /api/v1/rounds/{id}/reports`): every safety flag true and false at its boundary,
late and refused reports, idempotency (direct and through `/api/v1/sync`), ammunition consumption in the
ledger, and malformed input refused with nothing written.

Rounds are activated and windows terminated in the past with time-machine, so firings can be reported at
exact instants relative to window edges. Expected flags are worked out here from the fixture's facts
(LH01: sector 300 → 40, max 7000 m / 7.0 km, min crew 3, 20 RKT-AGI), not copied from the app.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from opsserver.database.utc import now_utc

from .helpers.problems import assert_problem
from .helpers.world import OpsWorld

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONE_S = timedelta(seconds=1)


# --- helpers -------------------------------------------------------------------------------------

def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def codes(answer: dict) -> set:
    return {f["code"] for f in answer["flags"]}


def flag(answer: dict, code: str) -> dict:
    return next(f for f in answer["flags"] if f["code"] == code)


def activate_at(w: OpsWorld, when: datetime, round_id: int | None = None) -> datetime:
    """Activate a round as if the commander had done it at `when`; answers the stored activation time."""
    with time_machine.travel(when, tick=True):
        return parse(w.activate(round_id)["activated_at"])


def approved_window(w: OpsWorld, start: datetime, end: datetime, point: str = "LH01",
                    round_id: int | None = None) -> dict:
    """Request a window for a point and record ATC's approval of exactly [start, end]."""
    resp = w.request_window(point, start=start, round_id=round_id)
    assert resp.status_code == 201, resp.json
    resp = w.approve(resp.json["id"], start, end)
    assert resp.status_code == 200, resp.json
    return resp.json


def new_round(w: OpsWorld, codes_: list[str]) -> int:
    start = now_utc()
    resp = w.post("commander", "/api/v1/rounds", {"name": "Second round", "purpose": "rain_enhancement",
                                                   "planned_start": start.isoformat(),
                                                   "planned_end": (start + timedelta(hours=3)).isoformat(),
                                                   "point_codes": codes_})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def new_crew(w: OpsWorld, name: str, expires) -> int:
    resp = w.post("commander", "/api/v1/crew", {"name": name, "phone": "13900000009",
                                                 "certificate_no": f"CERT-{uuid.uuid4().hex[:10]}",
                                                 "certificate_expires": expires.isoformat(), "home_point": "LH01"})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def stock(w: OpsWorld, code: str = "LH01") -> dict:
    resp = w.get("auditor", f"/api/v1/points/{code}/ammo")
    assert resp.status_code == 200, resp.json
    return resp.json["stock"]


def ledger(w: OpsWorld, **query) -> list[dict]:
    resp = w.client.get("/api/v1/ammo/ledger", query_string={"limit": 100, **query}, headers=w.headers("auditor"))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def stored_reports(w: OpsWorld, round_id: int | None = None, **query) -> list[dict]:
    resp = w.client.get(f"/api/v1/rounds/{round_id or w.round_id}/reports", query_string={"limit": 100, **query},
                        headers=w.headers("auditor"))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def report_body(started: datetime, ended: datetime | None = None, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "point_code": "LH01", "started_at": started.isoformat(),
            "ended_at": (ended or started).isoformat(), "azimuth_deg": 10.0, "elevation_deg": 55.0,
            "ammo": [{"type": "RKT-AGI", "fired": 2, "duds": 0}]}
    body.update(extra)
    return body


def post_report(w: OpsWorld, body: dict, who: str = "crew1", round_id: int | None = None, **headers):
    return w.post(who, f"/api/v1/rounds/{round_id or w.round_id}/reports", body, **headers)


@dataclass
class Day:
    """An active round with LH01 staffed and an approved window [ws, we], all in the past."""

    w: OpsWorld
    t0: datetime
    activated_at: datetime
    ws: datetime
    we: datetime

    @property
    def fire_at(self) -> datetime:
        """A time well inside the window."""
        return self.ws + timedelta(minutes=5)

    def report(self, who: str = "crew1", *, started=None, ended=None, **extra):
        started = started or self.fire_at
        return self.w.report(who, started=started, ended=ended or started + timedelta(minutes=1), **extra)


def make_day(w: OpsWorld, crew=("ann", "bo", "cai")) -> Day:
    # An odd microsecond count makes the edges exact to the microsecond, not rounded seconds.
    t0 = now_utc().replace(microsecond=654321)
    activated = activate_at(w, t0 - timedelta(hours=2))
    for key in crew:
        w.arrive(key, at=t0 - timedelta(minutes=100))
    ws, we = t0 - timedelta(minutes=90), t0 - timedelta(minutes=30)
    approved_window(w, ws, we)
    return Day(w, t0, activated, ws, we)


@pytest.fixture
def day(ops_world) -> Day:
    return make_day(ops_world)


# --- a report that breaks nothing ----------------------------------------------------------------

def test_report_inside_everything_has_no_flags(day, rows):
    """Staffed, inside window and sector, within limits and stock: 201 with no flags, stored once."""
    before = rows()
    resp = day.report(height_m=5000.0, range_km=5.0)
    assert resp.status_code == 201, resp.json
    assert resp.json["flags"] == []
    assert resp.json["point_code"] == "LH01" and resp.json["round_id"] == day.w.round_id
    assert resp.json["crew_id"] == day.w.crew["ann"]
    assert resp.json["ammo"] == [{"type": "RKT-AGI", "fired": 2, "duds": 0}]
    after = rows()
    assert after["firing_reports"] == before["firing_reports"] + 1
    assert after["report_ammo"] == before["report_ammo"] + 1
    assert after["ledger_entries"] == before["ledger_entries"] + 1
    [stored] = stored_reports(day.w)
    assert stored["id"] == resp.json["id"] and stored["flags"] == []


def test_flagged_report_is_stored_and_listed_as_flagged(day):
    """A report breaking several rules is still 201 and stored; the flagged filter finds it."""
    resp = day.report(started=day.ws - timedelta(minutes=1), azimuth=200.0, height_m=9000.0)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"outside_window", "outside_sector", "over_height"}
    for f in resp.json["flags"]:
        assert isinstance(f["reason"], str) and f["reason"].strip()
    [stored] = stored_reports(day.w, flagged="true")
    assert stored["id"] == resp.json["id"] and codes(stored) == codes(resp.json)
    assert stored_reports(day.w, flagged="false") == []


# --- airspace window -----------------------------------------------------------------------------

def test_start_exactly_at_window_start_is_inside(day):
    """A firing starting at the window's start, to the microsecond, is not flagged."""
    resp = day.report(started=day.ws, ended=day.ws + timedelta(minutes=2))
    assert resp.status_code == 201, resp.json
    assert parse(resp.json["started_at"]) == day.ws
    assert codes(resp.json) == set()


def test_start_one_second_before_window_is_outside_window(day):
    """A firing starting one second before the window opened is flagged `outside_window`."""
    resp = day.report(started=day.ws - ONE_S, ended=day.ws + timedelta(minutes=2))
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"outside_window"}
    assert flag(resp.json, "outside_window")["reason"]


def test_end_exactly_at_window_end_is_inside(day):
    """A firing ending exactly when the window closes is not flagged."""
    resp = day.report(started=day.we - timedelta(minutes=2), ended=day.we)
    assert resp.status_code == 201, resp.json
    assert parse(resp.json["ended_at"]) == day.we
    assert codes(resp.json) == set()


def test_end_one_second_after_window_is_outside_window(day):
    """A firing ending one second after the window closed is flagged `outside_window`."""
    resp = day.report(started=day.we - timedelta(minutes=2), ended=day.we + ONE_S)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"outside_window"}
    assert flag(resp.json, "outside_window")["reason"]


def test_firing_entirely_after_window_is_outside_window(day):
    """A firing after the window is over is `outside_window`, not `no_airspace` (a window exists)."""
    resp = day.report(started=day.we + timedelta(minutes=5))
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"outside_window"}


def test_terminated_window_ends_at_the_termination(day):
    """After "stop firing now", a firing up to the termination instant is inside, one second past it is not."""
    w = day.w
    start, end = day.t0 - timedelta(minutes=25), day.t0 + timedelta(minutes=30)
    req = approved_window(w, start, end)
    with time_machine.travel(day.t0 - timedelta(minutes=20), tick=True):
        resp = w.post("commander", f"/api/v1/airspace/{req['id']}/terminate")
    assert resp.status_code == 200, resp.json
    stop = parse(resp.json["terminated_at"])
    assert start < stop < end

    inside = day.report(started=start + timedelta(minutes=1), ended=stop)
    assert inside.status_code == 201, inside.json
    assert codes(inside.json) == set()

    past = day.report(started=start + timedelta(minutes=1), ended=stop + ONE_S)
    assert past.status_code == 201, past.json
    assert codes(past.json) == {"outside_window"}
    assert "提前终止" in flag(past.json, "outside_window")["reason"]  # Chinese: no Accept-Language

    after = day.report(started=stop + timedelta(minutes=2), ended=stop + timedelta(minutes=3))
    assert after.status_code == 201, after.json
    assert codes(after.json) == {"outside_window"}


def test_no_approved_window_is_no_airspace(ops_world):
    """Without any approved window (only a pending and a rejected request) the firing is `no_airspace`."""
    day = make_day(ops_world)  # LH01's only approval is in this round; now ask again and reject it
    w = day.w
    r2 = new_round(w, ["LH01"])
    activate_at(w, day.t0 - timedelta(hours=2), r2)
    pending = w.request_window("LH01", start=day.ws, round_id=r2)
    assert pending.status_code == 201, pending.json
    rejected = w.request_window("LH01", start=day.ws, round_id=r2)
    assert rejected.status_code == 201, rejected.json
    resp = w.post("commander", f"/api/v1/airspace/{rejected.json['id']}/decision",
                  {"decision": "rejected", "reason": "civil_flight"})
    assert resp.status_code == 200, resp.json
    resp = w.report(started=day.fire_at, round_id=r2)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"no_airspace"}
    assert flag(resp.json, "no_airspace")["reason"]


def test_window_of_another_point_does_not_cover(ops_world):
    """An approved window for LH02 does not clear LH01: LH01's firing is `no_airspace`."""
    w = ops_world
    t0 = now_utc()
    activate_at(w, t0 - timedelta(hours=2))
    for key in ("ann", "bo", "cai"):
        w.arrive(key, at=t0 - timedelta(minutes=100))
    approved_window(w, t0 - timedelta(minutes=90), t0 - timedelta(minutes=30), point="LH02")
    resp = w.report(started=t0 - timedelta(minutes=60))
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"no_airspace"}


# --- sector --------------------------------------------------------------------------------------

@pytest.mark.parametrize("azimuth, outside", [(300.0, False), (0.0, False), (360.0, False), (40.0, False),
                                              (350.0, False), (10.0, False), (299.9, True), (40.1, True),
                                              (180.0, True)])
def test_sector_across_north_edges(day, azimuth, outside):
    """LH01's sector 300 → 40 crosses north: its edges, 0 and 360 are inside, 299.9 and 40.1 are not."""
    resp = day.report(azimuth=azimuth)
    assert resp.status_code == 201, resp.json
    assert resp.json["azimuth_deg"] == azimuth
    assert codes(resp.json) == ({"outside_sector"} if outside else set())
    if outside:
        assert f"{azimuth:g}" in flag(resp.json, "outside_sector")["reason"]


@pytest.mark.parametrize("azimuth, outside", [(90.0, False), (135.0, False), (180.0, False), (89.9, True),
                                              (180.1, True), (0.0, True), (270.0, True)])
def test_plain_sector_edges(ops_world, azimuth, outside):
    """LH02's sector 90 → 180 contains its edges and nothing beyond them (not north)."""
    w = ops_world
    t0 = now_utc()
    activate_at(w, t0 - timedelta(hours=1))
    resp = w.report("crew2", point="LH02", started=t0 - timedelta(minutes=30), azimuth=azimuth,
                    ammo=[{"type": "SHELL-37", "fired": 3, "duds": 0}])
    assert resp.status_code == 201, resp.json
    assert ("outside_sector" in codes(resp.json)) is outside


# --- height and range ----------------------------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    ({"height_m": 7000.0}, set()),
    ({"height_m": 7000.5}, {"over_height"}),
    ({"range_km": 7.0}, set()),
    ({"range_km": 7.01}, {"over_range"}),
    ({"height_m": 8000.0, "range_km": 9.0}, {"over_height", "over_range"}),
    ({}, set()),
])
def test_height_and_range_limits(day, extra, expected):
    """Height and range at LH01's limits (7000 m, 7.0 km) pass; above them they are flagged; omitted is fine."""
    resp = day.report(**extra)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == expected
    if "over_height" in expected:
        assert "7000" in flag(resp.json, "over_height")["reason"]
    if "over_range" in expected:
        assert "7" in flag(resp.json, "over_range")["reason"]


# --- staffing ------------------------------------------------------------------------------------

def staffed(ops_world, arrivals) -> tuple[Day, datetime]:
    """A day with nobody checked in, then `arrivals` [(crew, offset from firing, kind, metres)]."""
    day = make_day(ops_world, crew=())
    fire = day.fire_at
    for key, offset, kind, metres in arrivals:
        ops_world.arrive(key, at=fire + offset, kind=kind, metres=metres)
    return day, fire


BEFORE = -timedelta(minutes=10)


@pytest.mark.parametrize("arrivals, understaffed", [
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", BEFORE, "arrive", 50)], False),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50)], True),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("expired", BEFORE, "arrive", 50)], True),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("soon", BEFORE, "arrive", 50)], False),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", timedelta(0), "arrive", 50)], False),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", ONE_S, "arrive", 50)], True),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", BEFORE, "arrive", 600)], True),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", 2 * BEFORE, "arrive", 50),
      ("cai", BEFORE, "depart", 50)], True),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50), ("cai", BEFORE, "depart", 50),
      ("cai", -ONE_S, "arrive", 50)], False),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50),
      ("cai", -timedelta(hours=23, minutes=59), "arrive", 50)], False),
    ([("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50),
      ("cai", -timedelta(hours=24, seconds=1), "arrive", 50)], True),
], ids=["three-certified", "two", "third-expired", "third-expiring-soon", "third-arrives-at-start",
        "third-arrives-1s-late", "third-outside-geofence", "third-departed", "third-departed-then-back",
        "third-arrived-23h59m-before", "third-arrived-over-24h-before"])
def test_minimum_crew_exactly_met_or_one_short(ops_world, arrivals, understaffed):
    """LH01 needs 3 certified crew on site when firing begins: exactly 3 passes, one short is `understaffed`."""
    day, fire = staffed(ops_world, arrivals)
    resp = day.report(started=fire)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == ({"understaffed"} if understaffed else set())
    if understaffed:
        reason = flag(resp.json, "understaffed")["reason"]
        assert {"2", "3"} <= set(re.findall(r"\d+", reason)), reason


def test_crew_at_another_point_does_not_staff_lh01(ops_world):
    """Dong checked in at LH02 does not count towards LH01's crew."""
    day, fire = staffed(ops_world, [("ann", BEFORE, "arrive", 50), ("bo", BEFORE, "arrive", 50)])
    ops_world.arrive("dong", "LH02", at=fire + BEFORE)
    resp = day.report(started=fire)
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"understaffed"}


# --- certificates --------------------------------------------------------------------------------

@pytest.mark.parametrize("expires_days, fire_offset, uncertified", [
    (0, timedelta(0), False),                         # expires today, firing at 00:00:00 local
    (0, timedelta(days=1) - ONE_S, False),            # expires today, firing at 23:59:59 local
    (0, timedelta(days=1), True),                     # expires today, firing at 00:00:00 local the next day
    (-1, timedelta(0), True),                         # expired yesterday, firing at 00:00:00 local today
    (-1, -ONE_S, False),                              # expires yesterday, firing at 23:59:59 local yesterday
    (0, timedelta(hours=12), False),                  # expires today, midday
    (-1, timedelta(hours=12), True),                  # expired yesterday, midday
])
def test_certificate_valid_through_its_local_expiry_day(ops_world, expires_days, fire_offset, uncertified):
    """The reporter's certificate is valid through its expiry date in Asia/Shanghai, not UTC."""
    w = ops_world
    local_today = now_utc().astimezone(SHANGHAI).date()
    day = local_today - timedelta(days=3)
    midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI)  # 00:00:00 local on `day`
    activate_at(w, midnight - timedelta(hours=1))
    expires = day + timedelta(days=expires_days)
    member = new_crew(w, "Edge", expires)
    resp = w.report("commander", started=midnight + fire_offset, crew_id=member)
    assert resp.status_code == 201, resp.json
    assert resp.json["crew_id"] == member
    assert ("uncertified" in codes(resp.json)) is uncertified, resp.json["flags"]
    if uncertified:
        assert expires.isoformat() in flag(resp.json, "uncertified")["reason"]


@pytest.mark.parametrize("crew_key, uncertified", [("ann", False), ("soon", False), ("expired", True)])
def test_reporter_certificate(day, crew_key, uncertified):
    """Ann (valid) and Soon (expiring in 10 days) report unflagged; Expired (5 days ago) is `uncertified`."""
    resp = day.report("commander", crew_id=day.w.crew[crew_key])
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == ({"uncertified"} if uncertified else set())


# --- stock and consumption -----------------------------------------------------------------------

def test_firing_exactly_the_stock_is_not_flagged(day):
    """Firing all 20 rockets LH01 holds: no flag, one consumption entry of -20, stock 0."""
    resp = day.report(ammo=[{"type": "RKT-AGI", "fired": 20, "duds": 0}])
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == set()
    [entry] = ledger(day.w, report_id=resp.json["id"])
    assert (entry["kind"], entry["quantity"], entry["ammo_type"], entry["point_code"], entry["report_id"]) == (
        "consumption", -20, "RKT-AGI", "LH01", resp.json["id"])
    assert stock(day.w)["RKT-AGI"] == 0


def test_firing_one_more_than_stock_is_flagged_and_not_clamped(day):
    """Firing 21 of 20: `insufficient_stock` naming the shortfall of 1, ledger -21, stock -1."""
    resp = day.report(ammo=[{"type": "RKT-AGI", "fired": 21, "duds": 0}])
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"insufficient_stock"}
    reason = flag(resp.json, "insufficient_stock")["reason"]
    assert "RKT-AGI" in reason
    assert {"21", "20", "1"} <= set(re.findall(r"\d+", reason)), reason
    [entry] = ledger(day.w, report_id=resp.json["id"])
    assert (entry["kind"], entry["quantity"]) == ("consumption", -21)
    assert stock(day.w)["RKT-AGI"] == -1
    assert sum(e["quantity"] for e in ledger(day.w, point_code="LH01", ammo_type="RKT-AGI")) == -1


def test_stock_is_what_earlier_reports_left(day):
    """After firing 15 of 20, firing 5 is fine and then 1 more is short by 1."""
    first = day.report(ammo=[{"type": "RKT-AGI", "fired": 15, "duds": 1}])
    assert first.status_code == 201 and codes(first.json) == set()
    second = day.report(started=day.fire_at + timedelta(minutes=2), ammo=[{"type": "RKT-AGI", "fired": 5, "duds": 0}])
    assert second.status_code == 201 and codes(second.json) == set()
    assert stock(day.w)["RKT-AGI"] == 0
    third = day.report(started=day.fire_at + timedelta(minutes=4), ammo=[{"type": "RKT-AGI", "fired": 1, "duds": 0}])
    assert third.status_code == 201
    assert codes(third.json) == {"insufficient_stock"}
    assert stock(day.w)["RKT-AGI"] == -1


def test_one_consumption_entry_per_ammo_type(day):
    """A report of two types writes one entry each (quantity -fired, duds included); only the type short is named."""
    resp = day.report(ammo=[{"type": "RKT-AGI", "fired": 3, "duds": 1}, {"type": "SHELL-37", "fired": 2, "duds": 0}])
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"insufficient_stock"}
    reason = flag(resp.json, "insufficient_stock")["reason"]
    assert "SHELL-37" in reason and "RKT-AGI" not in reason
    entries = ledger(day.w, report_id=resp.json["id"])
    assert sorted((e["ammo_type"], e["quantity"], e["kind"], e["report_id"]) for e in entries) == [
        ("RKT-AGI", -3, "consumption", resp.json["id"]), ("SHELL-37", -2, "consumption", resp.json["id"])]
    assert stock(day.w) == {"RKT-AGI": 17, "SHELL-37": -2}
    assert stock(day.w, "LH02") == {"SHELL-37": 100}


def test_consumption_listed_under_the_round(day):
    """The ledger filtered by round shows this round's consumption only."""
    resp = day.report(ammo=[{"type": "RKT-AGI", "fired": 4, "duds": 0}])
    assert resp.status_code == 201
    entries = ledger(day.w, round_id=day.w.round_id)
    assert [(e["report_id"], e["quantity"]) for e in entries] == [(resp.json["id"], -4)]


# --- late, refused and unordered reports ---------------------------------------------------------

def test_report_to_round_that_never_became_active_is_409(ops_world, rows):
    """A planned round takes no reports: 409 with the reason, nothing written."""
    before = rows()
    resp = ops_world.report(started=now_utc() - timedelta(minutes=5))
    assert_problem(resp, 409)
    assert "active" in resp.json["detail"].lower()
    assert rows() == before


def test_firing_before_activation_is_409_and_at_activation_is_accepted(ops_world, rows):
    """A firing one second before the round's activation is refused; at the activation instant it is taken."""
    w = ops_world
    activated = activate_at(w, now_utc() - timedelta(hours=1))
    before = rows()
    resp = w.report(started=activated - ONE_S, ended=activated + timedelta(minutes=1))
    assert_problem(resp, 409)
    assert resp.json["detail"]
    assert rows() == before
    resp = w.report(started=activated)
    assert resp.status_code == 201, resp.json
    assert "late_report" not in codes(resp.json)


def test_late_report_inside_active_period_is_accepted_and_flagged(day):
    """After the round closed, a firing inside its active period is stored (201) and flagged `late_report`."""
    w = day.w
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/close")
    assert resp.status_code == 200, resp.json
    closed = parse(resp.json["closed_at"])
    resp = day.report()
    assert resp.status_code == 201, resp.json
    assert codes(resp.json) == {"late_report"}
    assert flag(resp.json, "late_report")["reason"]
    assert [r["id"] for r in stored_reports(w)] == [resp.json["id"]]
    at_close = day.report(started=closed - timedelta(minutes=1), ended=closed)
    assert at_close.status_code == 201, at_close.json
    assert "late_report" in codes(at_close.json)


def test_late_report_ending_after_close_is_409(day, rows):
    """After the round closed, a firing ending one second after the close is refused (409), nothing written."""
    w = day.w
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/close")
    assert resp.status_code == 200, resp.json
    closed = parse(resp.json["closed_at"])
    before = rows()
    resp = day.report(started=closed - timedelta(minutes=1), ended=closed + ONE_S)
    assert_problem(resp, 409)
    assert resp.json["detail"]
    assert rows() == before


def test_report_for_point_not_ordered_is_flagged_not_ordered(ops_world):
    """A point not ordered in the round may still report (a fact): stored and flagged `not_ordered`."""
    w = ops_world
    r2 = new_round(w, ["LH01"])
    t0 = now_utc()
    activate_at(w, t0 - timedelta(hours=1), r2)
    resp = w.report("commander", point="LH02", started=t0 - timedelta(minutes=30), azimuth=120.0,
                    ammo=[{"type": "SHELL-37", "fired": 1, "duds": 0}], round_id=r2, crew_id=w.crew["dong"])
    assert resp.status_code == 201, resp.json
    assert "not_ordered" in codes(resp.json)
    assert "LH02" in flag(resp.json, "not_ordered")["reason"]
    ordered = w.report(started=t0 - timedelta(minutes=30), round_id=r2)
    assert ordered.status_code == 201, ordered.json
    assert "not_ordered" not in codes(ordered.json)


def test_crew_of_another_point_cannot_report_for_lh01(day, rows):
    """Dong (LH02's crew) reporting LH01's firing is 403 and writes nothing."""
    before = rows()
    resp = day.report("crew2")
    assert_problem(resp, 403)
    assert rows() == before


# --- idempotency ---------------------------------------------------------------------------------

def test_same_report_again_returns_first_answer(day, rows):
    """The same body again: the first status and body, `Idempotent-Replayed: true`, nothing new (no 2nd consumption)."""
    body = report_body(day.fire_at, ammo=[{"type": "RKT-AGI", "fired": 21, "duds": 0}])
    first = post_report(day.w, body)
    assert first.status_code == 201, first.json
    assert first.headers.get("Idempotent-Replayed") is None
    before = rows()
    again = post_report(day.w, body)
    assert again.status_code == first.status_code
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
    assert rows() == before
    assert stock(day.w)["RKT-AGI"] == -1


def test_same_key_with_other_body_is_422(day, rows):
    """An Idempotency-Key reused with a different body is refused (422), nothing written."""
    first = post_report(day.w, report_body(day.fire_at), **{"Idempotency-Key": "phone-1-report-7"})
    assert first.status_code == 201, first.json
    before = rows()
    other = post_report(day.w, report_body(day.fire_at, azimuth_deg=20.0), **{"Idempotency-Key": "phone-1-report-7"})
    assert_problem(other, 422)
    assert rows() == before


def test_same_key_and_body_with_header_is_replayed(day, rows):
    """With an explicit Idempotency-Key the same body is replayed, not stored twice."""
    body = report_body(day.fire_at)
    first = post_report(day.w, body, **{"Idempotency-Key": "k-42"})
    assert first.status_code == 201
    before = rows()
    again = post_report(day.w, body, **{"Idempotency-Key": "k-42"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
    assert rows() == before


def test_same_report_id_under_a_new_key_creates_nothing(day, rows):
    """The same report (same id and content) sent under another key returns it and creates nothing."""
    body = report_body(day.fire_at)
    first = post_report(day.w, body)
    assert first.status_code == 201
    before = rows()
    again = post_report(day.w, body, **{"Idempotency-Key": "another-key"})
    assert again.status_code in (200, 201), again.json
    assert again.json["id"] == first.json["id"] and again.json["flags"] == first.json["flags"]
    assert rows()["firing_reports"] == before["firing_reports"]
    assert rows()["ledger_entries"] == before["ledger_entries"]
    assert stock(day.w)["RKT-AGI"] == 18


def sync(w: OpsWorld, items: list[dict], who: str = "crew1"):
    return w.client.post("/api/v1/sync", json={"items": items}, headers=w.headers(who))


def test_report_through_sync_then_direct_is_replayed(day, rows):
    """A queued report goes through `/sync` (201 with flags); the same report posted directly is a replay."""
    body = report_body(day.fire_at, azimuth_deg=200.0)
    resp = sync(day.w, [{"type": "report", "round_id": day.w.round_id, **body}])
    assert resp.status_code == 200, resp.json
    [item] = resp.json["items"]
    assert item["id"] == body["id"] and item["status"] == 201, item
    assert codes(item["body"]) == {"outside_sector"}
    assert [e["quantity"] for e in ledger(day.w, report_id=body["id"])] == [-2]
    before = rows()
    direct = post_report(day.w, body)
    assert direct.status_code == 201
    assert direct.headers.get("Idempotent-Replayed") == "true"
    assert direct.json == item["body"]
    assert rows() == before


def test_report_direct_then_through_sync_is_replayed(day, rows):
    """A report posted directly and then re-sent from the phone's queue is stored once, same answer."""
    body = report_body(day.fire_at)
    direct = post_report(day.w, body)
    assert direct.status_code == 201
    before = rows()
    resp = sync(day.w, [{"type": "report", "round_id": day.w.round_id, **body},
                        {"type": "report", "round_id": day.w.round_id, **body}])
    assert resp.status_code == 200, resp.json
    for item in resp.json["items"]:
        assert item["status"] == 201 and item["body"] == direct.json
    assert rows() == before


def test_bad_report_in_sync_is_refused_for_that_item(day, rows):
    """A queued report with azimuth 400 answers 422 for that item and writes nothing."""
    before = rows()
    body = report_body(day.fire_at, azimuth_deg=400.0)
    resp = sync(day.w, [{"type": "report", "round_id": day.w.round_id, **body}])
    assert resp.status_code == 200, resp.json
    [item] = resp.json["items"]
    assert item["status"] == 422
    assert "azimuth_deg" in [e["field"] for e in item["problem"]["errors"]]
    assert rows() == before


# --- malformed input -----------------------------------------------------------------------------

def _without(key):
    return lambda b: {k: v for k, v in b.items() if k != key}


@pytest.mark.parametrize("change, field", [
    (lambda b: {**b, "azimuth_deg": 361.0}, "azimuth_deg"),
    (lambda b: {**b, "azimuth_deg": -0.5}, "azimuth_deg"),
    (lambda b: {**b, "elevation_deg": 91.0}, "elevation_deg"),
    (lambda b: {**b, "ammo": [{"type": "RKT-AGI", "fired": -1, "duds": 0}]}, "ammo"),
    (lambda b: {**b, "ammo": [{"type": "RKT-AGI", "fired": 2, "duds": 3}]}, "ammo"),
    (lambda b: {**b, "ammo": [{"type": "NO-SUCH", "fired": 2, "duds": 0}]}, "ammo"),
    (lambda b: {**b, "ammo": [{"type": "RKT-AGI", "fired": 2, "duds": 0},
                              {"type": "NO-SUCH", "fired": 1, "duds": 0}]}, "ammo"),
    (_without("ammo"), "ammo"),
    (lambda b: {**b, "ammo": []}, "ammo"),
    (lambda b: {**b, "ended_at": (parse(b["started_at"]) - ONE_S).isoformat()}, "ended_at"),
    (lambda b: {**b, "point_code": "ZZ99"}, "point_code"),
    (_without("started_at"), "started_at"),
    (_without("id"), "id"),
    (lambda b: {**b, "id": "not-a-uuid"}, "id"),
    (lambda b: {**b, "started_at": "2030-01-01T10:00:00"}, "started_at"),
], ids=["azimuth-361", "azimuth-negative", "elevation-91", "negative-fired", "duds-over-fired", "unknown-ammo",
        "unknown-ammo-second-line", "missing-ammo", "empty-ammo", "ended-before-started", "unknown-point",
        "missing-started", "missing-id", "bad-id", "naive-time"])
def test_malformed_report_is_422_and_writes_nothing(day, rows, change, field):
    """Malformed input is a problem naming the field, and nothing (report, ledger, audit, key) is written."""
    before = rows()
    resp = post_report(day.w, change(report_body(day.fire_at)))
    assert_problem(resp, 422, field)
    assert rows() == before


def test_unknown_ammo_type_is_named(day):
    """The problem for an unknown ammunition type names the type."""
    resp = post_report(day.w, report_body(day.fire_at, ammo=[{"type": "NO-SUCH", "fired": 1, "duds": 0}]))
    assert_problem(resp, 422, "ammo")
    assert "NO-SUCH" in resp.get_data(as_text=True)


def test_report_to_missing_round_is_404(day, rows):
    """A report to a round id that does not exist is 404 and writes nothing."""
    before = rows()
    resp = post_report(day.w, report_body(day.fire_at), round_id=999999)
    assert_problem(resp, 404)
    assert rows() == before


def test_bad_json_is_400(day, rows):
    """A body that is not JSON is 400 and writes nothing."""
    before = rows()
    resp = day.w.client.post(f"/api/v1/rounds/{day.w.round_id}/reports", data="{not json",
                             headers=day.w.headers("crew1", **{"Content-Type": "application/json"}))
    assert_problem(resp, 400)
    assert rows() == before


@pytest.mark.parametrize("who, status", [("auditor", 403), ("admin", 403)])
def test_report_by_other_roles_is_refused(day, rows, who, status):
    """Only crew and commanders report firings."""
    before = rows()
    resp = post_report(day.w, report_body(day.fire_at), who=who)
    assert_problem(resp, status)
    assert rows() == before
