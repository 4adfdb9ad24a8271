"""Clearance (`GET /api/v1/points/{code}/clearance?azimuth=&elevation=&at=`): may a point fire now, at this
azimuth? Yes with no reasons, or no with every reason that applies, judged at `at` to the second.

The facts (an active round, check-ins, an approved window, stock) are set up in the past with time-machine;
the expected reasons are worked out here from LH01's limits (sector 300 → 40, min crew 3, 20 RKT-AGI).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import time_machine

from opsserver.database.utc import now_utc

from .helpers.problems import assert_problem
from .helpers.world import OpsWorld

ONE_S = timedelta(seconds=1)


# --- helpers -------------------------------------------------------------------------------------

def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def clearance(w: OpsWorld, code: str = "LH01", who: str = "crew1", **query):
    return w.client.get(f"/api/v1/points/{code}/clearance", query_string=query, headers=w.headers(who))


def ask(w: OpsWorld, at: datetime | None = None, azimuth: float = 10.0, code: str = "LH01", **query) -> dict:
    """A clearance answer that must be 200; `at` is sent with its offset."""
    if at is not None:
        query["at"] = at.isoformat()
    resp = clearance(w, code, azimuth=azimuth, **query)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.json
    assert isinstance(body["cleared"], bool)
    for r in body["reasons"]:
        assert set(r) >= {"code", "reason"} and isinstance(r["reason"], str) and r["reason"].strip(), r
    assert body["cleared"] is (body["reasons"] == [])
    return body


def reason_codes(answer: dict) -> set:
    return {r["code"] for r in answer["reasons"]}


def activate_at(w: OpsWorld, when: datetime, round_id: int | None = None) -> datetime:
    with time_machine.travel(when, tick=True):
        return parse(w.activate(round_id)["activated_at"])


def approved_window(w: OpsWorld, start: datetime, end: datetime, point: str = "LH01") -> dict:
    resp = w.request_window(point, start=start)
    assert resp.status_code == 201, resp.json
    resp = w.approve(resp.json["id"], start, end)
    assert resp.status_code == 200, resp.json
    return resp.json


def empty_stock(w: OpsWorld, code: str = "LH01", ammo: str = "RKT-AGI", quantity: int = 20):
    resp = w.post("commander", "/api/v1/ammo/movements", {"point_code": code, "ammo_type": ammo, "quantity": quantity,
                                                           "kind": "return", "reference": "back to depot"})
    assert resp.status_code == 201, resp.json
    return resp.json["stock"]


@dataclass
class Ready:
    """LH01 in an active round, staffed since t0 - 100 min, with a window [ws, we] open now."""

    w: OpsWorld
    t0: datetime
    ws: datetime
    we: datetime
    window: dict


def make_ready(w: OpsWorld, crew=("ann", "bo", "cai"), window: bool = True) -> Ready:
    t0 = now_utc().replace(microsecond=654321)
    activate_at(w, t0 - timedelta(hours=2))
    for key in crew:
        w.arrive(key, at=t0 - timedelta(minutes=100))
    ws, we = t0 - timedelta(minutes=90), t0 + timedelta(minutes=60)
    win = approved_window(w, ws, we) if window else None
    return Ready(w, t0, ws, we, win)


@pytest.fixture
def ready(ops_world) -> Ready:
    return make_ready(ops_world)


# --- cleared -------------------------------------------------------------------------------------

def test_everything_fine_is_cleared(ready):
    """Active round, window open, three certified crew, stock, azimuth in sector: cleared with no reasons."""
    answer = ask(ready.w, ready.ws + timedelta(minutes=30), azimuth=10.0, elevation=55.0)
    assert answer["cleared"] is True
    assert answer["reasons"] == []
    assert answer["point_code"] == "LH01"
    assert answer["round_id"] == ready.w.round_id


def test_without_at_the_answer_is_for_now(ready):
    """Without `at` the question is about now: the window is open now, so cleared."""
    sent = now_utc()
    answer = ask(ready.w)
    assert answer["cleared"] is True, answer["reasons"]
    assert sent <= parse(answer["at"]) <= now_utc()


def test_cleared_at_window_start_second_not_one_second_before(ready):
    """At the window's start instant it is cleared; one second before only `outside_window` holds it back."""
    at_start = ask(ready.w, ready.ws)
    assert at_start["cleared"] is True, at_start["reasons"]
    before = ask(ready.w, ready.ws - ONE_S)
    assert before["cleared"] is False
    assert reason_codes(before) == {"outside_window"}


def test_not_cleared_once_window_ended(ready):
    """One second after the approved end, the window is over: not cleared, `outside_window`."""
    answer = ask(ready.w, ready.we + ONE_S)
    assert answer["cleared"] is False
    assert reason_codes(answer) == {"outside_window"}


def test_cleared_one_second_before_window_end(ready):
    """One second before the approved end the window is still open."""
    answer = ask(ready.w, ready.we - ONE_S)
    assert answer["cleared"] is True, answer["reasons"]


@pytest.mark.parametrize("terminated", [False, True], ids=["approved-end", "termination"])
def test_not_cleared_at_window_end_instant(ready, terminated):
    """At the window's (effective) end instant it is closed, start included and end excluded: not cleared."""
    end = ready.we
    if terminated:
        with time_machine.travel(ready.t0 - timedelta(minutes=10), tick=True):
            resp = ready.w.post("commander", f"/api/v1/airspace/{ready.window['id']}/terminate")
        assert resp.status_code == 200, resp.json
        end = parse(resp.json["terminated_at"])
    answer = ask(ready.w, end)
    assert answer["window"] is None
    assert answer["cleared"] is False, answer
    assert reason_codes(answer) == {"outside_window"}


def test_terminated_window_stops_clearance(ready):
    """After "stop firing now" the point is not cleared, though the approved end is still ahead."""
    w = ready.w
    stop_at = ready.t0 - timedelta(minutes=10)
    with time_machine.travel(stop_at, tick=True):
        resp = w.post("commander", f"/api/v1/airspace/{ready.window['id']}/terminate")
    assert resp.status_code == 200, resp.json
    stop = parse(resp.json["terminated_at"])
    assert ask(w, stop - ONE_S)["cleared"] is True
    after = ask(w, stop + ONE_S)
    assert after["cleared"] is False
    assert reason_codes(after) == {"outside_window"}
    now = ask(w)
    assert now["cleared"] is False and reason_codes(now) == {"outside_window"}


# --- sector --------------------------------------------------------------------------------------

@pytest.mark.parametrize("azimuth, cleared", [(300.0, True), (0.0, True), (360.0, True), (40.0, True),
                                              (299.9, False), (40.1, False), (170.0, False)])
def test_sector_across_north(ready, azimuth, cleared):
    """LH01 (300 → 40 across north): edges, 0 and 360 are cleared; 299.9 and 40.1 only `outside_sector`."""
    answer = ask(ready.w, ready.ws + timedelta(minutes=10), azimuth=azimuth)
    assert answer["cleared"] is cleared
    assert reason_codes(answer) == (set() if cleared else {"outside_sector"})


@pytest.mark.parametrize("azimuth, inside", [(90.0, True), (180.0, True), (89.9, False), (180.1, False),
                                             (0.0, False)])
def test_plain_sector_on_lh02(ops_world, azimuth, inside):
    """LH02 (90 → 180): only azimuths between its edges avoid `outside_sector`."""
    ops_world.activate()
    answer = ask(ops_world, code="LH02", azimuth=azimuth)
    assert ("outside_sector" in reason_codes(answer)) is not inside


# --- crew and stock ------------------------------------------------------------------------------

@pytest.mark.parametrize("crew, cleared", [(("ann", "bo", "cai"), True), (("ann", "bo"), False),
                                           (("ann", "bo", "expired"), False), (("ann", "bo", "soon"), True)])
def test_minimum_crew(ops_world, crew, cleared):
    """Three certified crew on site clear LH01; two, or two and an expired certificate, are `understaffed`."""
    r = make_ready(ops_world, crew=crew)
    answer = ask(r.w, r.ws + timedelta(minutes=10))
    assert answer["cleared"] is cleared
    assert reason_codes(answer) == (set() if cleared else {"understaffed"})


def test_crew_counted_at_the_asked_time(ops_world):
    """The third crew member arriving at T counts from T, not one second before."""
    r = make_ready(ops_world, crew=("ann", "bo"))
    arrival = r.ws + timedelta(minutes=10)
    ops_world.arrive("cai", at=arrival)
    assert reason_codes(ask(ops_world, arrival - ONE_S)) == {"understaffed"}
    assert ask(ops_world, arrival)["cleared"] is True


def test_no_stock_is_not_cleared_one_round_is(ready):
    """With the ledger at 0 the point is not cleared (`insufficient_stock`); one rocket back clears it."""
    assert empty_stock(ready.w) == {"RKT-AGI": 0}
    at = ready.ws + timedelta(minutes=10)
    assert reason_codes(ask(ready.w, at)) == {"insufficient_stock"}
    resp = ready.w.post("commander", "/api/v1/ammo/movements", {"point_code": "LH01", "ammo_type": "RKT-AGI",
                                                                 "quantity": 1, "kind": "receipt"})
    assert resp.status_code == 201, resp.json
    assert ask(ready.w, at)["cleared"] is True


# --- every reason at once ------------------------------------------------------------------------

def test_every_failing_rule_is_listed(ops_world):
    """Outside the sector, no window, one crew member, no stock: not cleared, with all four reasons."""
    r = make_ready(ops_world, crew=("ann",), window=False)
    empty_stock(ops_world)
    answer = ask(ops_world, r.t0 - timedelta(minutes=30), azimuth=200.0)
    assert answer["cleared"] is False
    assert reason_codes(answer) == {"outside_sector", "no_airspace", "understaffed", "insufficient_stock"}
    assert len(answer["reasons"]) == 4


def test_pending_request_is_not_a_window(ops_world):
    """A requested but undecided window does not clear: `no_airspace`."""
    r = make_ready(ops_world, window=False)
    resp = ops_world.request_window("LH01", start=r.t0 - timedelta(minutes=60))
    assert resp.status_code == 201
    answer = ask(ops_world, r.t0 - timedelta(minutes=30))
    assert reason_codes(answer) == {"no_airspace"}


# --- rounds --------------------------------------------------------------------------------------

def test_no_active_round_when_round_only_planned(ops_world):
    """The only round is planned, not active: not cleared, `no_active_round` among the reasons."""
    for key in ("ann", "bo", "cai"):
        ops_world.arrive(key, at=now_utc() - timedelta(minutes=5))
    answer = ask(ops_world)
    assert answer["cleared"] is False
    assert "no_active_round" in reason_codes(answer)
    assert answer["round_id"] is None


def test_no_active_round_after_close(ready):
    """After the round closed, the point is not cleared even inside its old window: `no_active_round`."""
    w = ready.w
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/close")
    assert resp.status_code == 200, resp.json
    closed = parse(resp.json["closed_at"])
    answer = ask(w, closed + ONE_S)
    assert answer["cleared"] is False
    assert "no_active_round" in reason_codes(answer)
    assert ask(w, closed - ONE_S)["cleared"] is True


def test_no_active_round_before_activation(ready):
    """Before the round was activated, there was no active round for LH01."""
    answer = ask(ready.w, ready.t0 - timedelta(hours=3))
    assert "no_active_round" in reason_codes(answer)
    assert answer["cleared"] is False


def test_point_not_ordered_in_active_round(ops_world):
    """A point not ordered in the only active round has `no_active_round`."""
    start = now_utc()
    resp = ops_world.post("commander", "/api/v1/rounds", {"name": "LH01 only", "purpose": "rain_enhancement",
                                                           "planned_start": start.isoformat(),
                                                           "planned_end": (start + timedelta(hours=2)).isoformat(),
                                                           "point_codes": ["LH01"]})
    assert resp.status_code == 201
    ops_world.activate(resp.json["id"])
    answer = ask(ops_world, code="LH02", azimuth=120.0)
    assert "no_active_round" in reason_codes(answer)


def test_stood_down_point_is_not_cleared(ready):
    """A point the commander stood down is not cleared, with the reason."""
    w = ready.w
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH01/stand-down", {"reason": "storm passed"})
    assert resp.status_code == 200, resp.json
    answer = ask(w)
    assert answer["cleared"] is False
    assert "stood_down" in reason_codes(answer)


# --- input and roles -----------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [({"azimuth": 361}, "azimuth"), ({"azimuth": -1}, "azimuth"),
                                          ({}, "azimuth"), ({"azimuth": "north"}, "azimuth"),
                                          ({"azimuth": 10, "elevation": 95}, "elevation"),
                                          ({"azimuth": 10, "at": "2030-01-01T10:00:00"}, "at"),
                                          ({"azimuth": 10, "at": "yesterday"}, "at")])
def test_bad_query_is_422(ops_world, rows, query, field):
    """A bad azimuth, elevation or time is a problem naming the parameter; nothing is written."""
    before = rows()
    resp = clearance(ops_world, **query)
    assert_problem(resp, 422, field)
    assert rows() == before


def test_unknown_point_is_404(ops_world):
    """Clearance for a point that does not exist is 404."""
    resp = clearance(ops_world, "ZZ99", azimuth=10)
    assert_problem(resp, 404)


@pytest.mark.parametrize("who", ["crew1", "commander", "auditor", "admin"])
def test_every_role_may_ask(ready, who):
    """All roles may ask for clearance and get the same answer."""
    resp = clearance(ready.w, who=who, azimuth=10, at=(ready.ws + timedelta(minutes=5)).isoformat())
    assert resp.status_code == 200
    assert resp.json["cleared"] is True


def test_without_token_is_401(ops_world):
    """Clearance needs a token."""
    resp = ops_world.client.get("/api/v1/points/LH01/clearance", query_string={"azimuth": 10})
    assert resp.status_code == 401
