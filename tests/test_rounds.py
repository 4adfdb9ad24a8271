"""Operation rounds (`/api/v1/rounds`): planning, the planned → active → closed lifecycle, declining and
standing down, and every state of a point in a round (ordered, manned, requested, cleared, firing, done,
declined, stood_down, rejected) reached through the API, with its colour.

Every illegal transition is refused with a 409 problem saying why and writes nothing (row counts of every
table compared before and after); every change writes exactly one audit event.
"""

from datetime import datetime, timedelta

import pytest
import time_machine

from opsserver.database.utc import now_utc as now

from .helpers.problems import assert_problem, assert_refused
from .helpers.world import parse

ALL_ROLES = ["admin", "commander", "auditor", "crew1", "crew2"]
STATE_COLOURS = {"ordered": "grey", "manned": "blue", "requested": "amber", "cleared": "green", "firing": "red",
                 "done": "black", "declined": "grey", "stood_down": "grey", "rejected": "grey"}


# --- helpers -------------------------------------------------------------------------------------

def round_body(codes=("LH01", "LH02"), start=None, **overrides) -> dict:
    start = start or now()
    body = {"name": "Dry spell, 7 July", "purpose": "rain_enhancement", "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(hours=3)).isoformat(), "point_codes": list(codes)}
    body.update(overrides)
    return body


def new_round(w, codes=("LH01",), activate=False) -> int:
    resp = w.post("commander", "/api/v1/rounds", round_body(codes))
    assert resp.status_code == 201, resp.json
    if activate:
        w.activate(resp.json["id"])
    return resp.json["id"]


def detail(w, round_id=None, who="commander") -> dict:
    resp = w.get(who, f"/api/v1/rounds/{round_id or w.round_id}")
    assert resp.status_code == 200, resp.json
    return resp.json


def point_of(w, code="LH01", round_id=None) -> dict:
    return next(p for p in detail(w, round_id)["points"] if p["point_code"] == code)


def state(w, code="LH01", round_id=None) -> str:
    return point_of(w, code, round_id)["state"]


def assert_state(w, expected: str, code="LH01", round_id=None, colour: str | None = None) -> dict:
    p = point_of(w, code, round_id)
    assert p["state"] == expected, p
    assert p["colour"] == (colour or STATE_COLOURS[expected]), p
    return p


def man(w, point="LH01", crew=("ann", "bo", "cai"), at=None):
    for key in crew:
        w.arrive(key, point, at=at)


def events(w, **query) -> list[dict]:
    resp = w.client.get("/api/v1/audit/events", query_string=query, headers=w.headers("auditor"))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def round_actions(w, round_id=None) -> list[str]:
    return [e["action"] for e in events(w, entity="round", entity_id=str(round_id or w.round_id))]


def decline(w, who="crew1", code="LH01", reason="Launcher fault", round_id=None):
    return w.post(who, f"/api/v1/rounds/{round_id or w.round_id}/points/{code}/decline", {"reason": reason})


def stand_down(w, who="commander", code="LH01", reason="Cloud has passed", round_id=None):
    return w.post(who, f"/api/v1/rounds/{round_id or w.round_id}/points/{code}/stand-down", {"reason": reason})


def close(w, who="commander", round_id=None):
    return w.post(who, f"/api/v1/rounds/{round_id or w.round_id}/close")


def activated_in_past(w, minutes: int = 30) -> datetime:
    """Activate the fixture's round `minutes` ago; answers the activation time."""
    with time_machine.travel(now() - timedelta(minutes=minutes), tick=True):
        body = w.activate()
    return parse(body["activated_at"])


def approved_window_in_past(w, minutes: int = 30, window_min: int = 60, point="LH01", who="crew1"):
    """Activate `minutes` ago and, then, request and approve a window from then for `window_min` minutes."""
    t = now() - timedelta(minutes=minutes)
    with time_machine.travel(t, tick=True):
        w.activate()
        req = w.request_window(point, who=who, minutes=window_min, start=t)
        assert req.status_code == 201, req.json
        ok = w.approve(req.json["id"], t, t + timedelta(minutes=window_min))
        assert ok.status_code == 200, ok.json
    return req.json["id"], t


# --- planning ------------------------------------------------------------------------------------

def test_commander_plans_a_round_with_its_points_ordered(ops_world, rows):
    """A new round is planned (201) with each point ordered, grey, its minimum crew shown, and one audit event."""
    w = ops_world
    before = rows()
    resp = w.post("commander", "/api/v1/rounds", round_body(notes="front from the west"))
    assert resp.status_code == 201, resp.json
    r = resp.json
    assert r["status"] == "planned" and r["activated_at"] is None and r["closed_at"] is None
    assert r["created_by"] == "commander" and r["purpose"] == "rain_enhancement"
    assert r["notes"] == "front from the west"
    points = {p["point_code"]: p for p in r["points"]}
    assert set(points) == {"LH01", "LH02"}
    assert {p["state"] for p in points.values()} == {"ordered"}
    assert {p["colour"] for p in points.values()} == {"grey"}
    assert points["LH01"]["min_crew"] == 3 and points["LH02"]["min_crew"] == 4
    assert points["LH01"]["crew_on_site"] == 0 and points["LH01"]["reports"] == 0
    after = rows()
    assert after["rounds"] == before["rounds"] + 1
    assert after["round_points"] == before["round_points"] + 2
    assert after["audit_events"] == before["audit_events"] + 1
    [ev] = events(w, entity="round", entity_id=str(r["id"]))
    assert ev["action"] == "round.create" and ev["actor"] == "commander"
    assert detail(w, r["id"], who="auditor")["points"] == r["points"]


def test_round_with_unknown_point_codes_is_422_naming_them(ops_world, rows):
    """Ordering a point that does not exist is 422 naming point_codes and the unknown code; nothing is written."""
    resp = assert_refused(rows, lambda: ops_world.post(
        "commander", "/api/v1/rounds", round_body(("LH01", "XX99"))), 422, field="point_codes")
    assert "XX99" in resp.json["detail"]


@pytest.mark.parametrize("hours", [0, -1])
def test_round_ending_before_it_starts_is_422(ops_world, rows, hours):
    """planned_end at or before planned_start is 422 naming planned_end; nothing is written."""
    start = now()
    body = round_body(planned_start=start.isoformat(), planned_end=(start + timedelta(hours=hours)).isoformat())
    assert_refused(rows, lambda: ops_world.post("commander", "/api/v1/rounds", body), 422,
                   field="planned_end")


def test_round_with_duplicate_point_codes_is_422(ops_world, rows):
    """A point ordered twice in one round is 422 naming point_codes."""
    assert_refused(rows, lambda: ops_world.post(
        "commander", "/api/v1/rounds", round_body(("LH01", "LH02", "LH01"))), 422, field="point_codes")


@pytest.mark.parametrize("field, value", [("purpose", "fog_dispersal"), ("point_codes", []), ("name", "")])
def test_round_with_bad_field_is_422(ops_world, rows, field, value):
    """An unknown purpose, no points or an empty name is 422 naming the field."""
    assert_refused(rows, lambda: ops_world.post("commander", "/api/v1/rounds",
                                                round_body(**{field: value})), 422, field=field)


@pytest.mark.parametrize("who", ["crew1", "auditor", "admin"])
def test_only_commanders_plan_rounds(ops_world, rows, who):
    """Crew, auditors and admins get 403 planning a round; nothing is written."""
    assert_refused(rows, lambda: ops_world.post(who, "/api/v1/rounds", round_body()), 403)


@pytest.mark.parametrize("who", ALL_ROLES)
def test_rounds_are_readable_by_every_role(ops_world, who):
    """Every role reads the round list and the round with its points' states."""
    w = ops_world
    resp = w.get(who, "/api/v1/rounds")
    assert resp.status_code == 200, resp.json
    assert [r["id"] for r in resp.json["items"]] == [w.round_id]
    assert "next_cursor" in resp.json
    assert {p["point_code"] for p in resp.json["items"][0]["points"]} == {"LH01", "LH02"}
    one = detail(w, who=who)
    assert one["id"] == w.round_id and one["status"] == "planned"


def test_rounds_list_filters_by_status(ops_world):
    """?status=planned|active|closed lists only the rounds in that status."""
    w = ops_world
    active = new_round(w, activate=True)
    closed = new_round(w, activate=True)
    assert close(w, round_id=closed).status_code == 200

    def ids(status):
        resp = w.get("auditor", f"/api/v1/rounds?status={status}")
        assert resp.status_code == 200, resp.json
        return [r["id"] for r in resp.json["items"]]

    assert ids("planned") == [w.round_id]
    assert ids("active") == [active]
    assert ids("closed") == [closed]
    assert_problem(w.get("auditor", "/api/v1/rounds?status=finished"), 422)


@pytest.mark.parametrize("method, path", [
    ("get", ""), ("post", "/activate"), ("post", "/close"), ("post", "/points/LH01/decline"),
    ("post", "/points/LH01/stand-down")])
def test_unknown_round_is_404(ops_world, rows, method, path):
    """Reading or changing a round that does not exist is a 404 problem and writes nothing."""
    w = ops_world
    url = f"/api/v1/rounds/99999{path}"
    body = {"without_announcement_reason": "x"} if path == "/activate" else {"reason": "x"}  # each a valid body
    call = (lambda: w.get("commander", url)) if method == "get" else (lambda: w.post("commander", url, body))
    assert_refused(rows, call, 404)


# --- lifecycle -----------------------------------------------------------------------------------

def test_activate_then_close(ops_world, rows):
    """planned → active → closed through the API, each step with its time and exactly one audit event."""
    w = ops_world
    before, sent = rows(), now()
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/activate")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "active"
    assert sent <= parse(resp.json["activated_at"]) <= now()
    mid = rows()
    assert mid["audit_events"] == before["audit_events"] + 1
    resp = close(w)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "closed" and resp.json["closed_at"]
    assert parse(resp.json["closed_at"]) >= parse(resp.json["activated_at"])
    assert rows()["audit_events"] == mid["audit_events"] + 1
    assert round_actions(w) == ["round.create", "round.activate", "round.close"]
    assert detail(w, who="crew2")["status"] == "closed"


def test_activating_an_active_round_is_409(ops_world, rows):
    """Activating a round twice is 409 saying it is active; nothing is written."""
    w = ops_world
    first = w.activate()
    assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{w.round_id}/activate"), 409, says="active")
    assert detail(w)["activated_at"] == first["activated_at"]


def test_activating_a_closed_round_is_409(ops_world, rows):
    """A closed round cannot be activated again (409 saying it is closed)."""
    w = ops_world
    w.activate()
    assert close(w).status_code == 200
    assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{w.round_id}/activate"), 409, says="closed")
    assert detail(w)["status"] == "closed"


def test_closing_a_planned_round_is_409(ops_world, rows):
    """A round that never became active cannot be closed (409 saying it is planned)."""
    w = ops_world
    assert_refused(rows, lambda: close(w), 409, says="planned")
    assert detail(w)["status"] == "planned"


def test_closing_a_closed_round_is_409(ops_world, rows):
    """Closing twice is 409; the first closing time stands."""
    w = ops_world
    w.activate()
    first = close(w).json
    assert_refused(rows, lambda: close(w), 409, says="closed")
    assert detail(w)["closed_at"] == first["closed_at"]


@pytest.mark.parametrize("who", ["crew1", "auditor", "admin"])
def test_only_commanders_activate_and_close(ops_world, rows, who):
    """Crew, auditors and admins get 403 activating or closing a round; nothing is written."""
    w = ops_world
    assert_refused(rows, lambda: w.post(who, f"/api/v1/rounds/{w.round_id}/activate"), 403)
    w.activate()
    assert_refused(rows, lambda: close(w, who=who), 403)
    assert detail(w)["status"] == "active"


def test_report_to_a_round_that_never_became_active_is_409(ops_world, rows):
    """A firing reported to a planned round is refused (409) saying it never became active; nothing is written."""
    w = ops_world
    assert_refused(rows, lambda: w.report("crew1"), 409, says="never became active")
    assert_refused(rows, lambda: w.report("commander", crew_id=w.crew["ann"]), 409, says="never became active")


def test_report_of_firing_before_activation_is_409(ops_world, rows):
    """A firing that started before the round was activated lies outside its active period: 409."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: w.report("crew1", started=now() - timedelta(minutes=10)), 409, says="outside")


# --- declining and standing down -----------------------------------------------------------------

def test_crew_declines_its_point(ops_world, rows):
    """The point's crew declines: the point is `declined` with the reason and one audit event; others unchanged."""
    w = ops_world
    w.activate()
    before = rows()
    resp = decline(w, "crew1", reason="Launcher 2 misfires")
    assert resp.status_code == 200, resp.json
    p = next(p for p in resp.json["points"] if p["point_code"] == "LH01")
    assert p["state"] == "declined" and p["declined_reason"] == "Launcher 2 misfires" and p["declined_at"]
    assert_state(w, "declined")
    assert_state(w, "ordered", "LH02")
    after = rows()
    assert after["audit_events"] == before["audit_events"] + 1
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}
    [ev] = events(w, action="round.point_declined")
    assert ev["actor"] == "crew1" and ev["entity_id"] == str(w.round_id)
    assert ev["payload"]["point_code"] == "LH01"


def test_commander_declines_for_a_point_in_a_planned_round(ops_world):
    """A commander may record a point's decline, also before the round starts."""
    w = ops_world
    resp = decline(w, "commander", "LH02", reason="Crew stuck in traffic")
    assert resp.status_code == 200, resp.json
    assert_state(w, "declined", "LH02")
    assert point_of(w, "LH02")["declined_reason"] == "Crew stuck in traffic"


def test_declining_twice_is_409(ops_world, rows):
    """A point that declined cannot decline again (409 saying so); the first reason stands."""
    w = ops_world
    w.activate()
    assert decline(w, reason="first").status_code == 200
    assert_refused(rows, lambda: decline(w, reason="second"), 409, says="declined")
    assert point_of(w)["declined_reason"] == "first"


def test_crew_of_another_point_cannot_decline(ops_world, rows):
    """Dong (crew of LH02) declining for LH01 is 403; nothing is written."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: decline(w, "crew2", "LH01"), 403)
    assert_state(w, "ordered")
    assert decline(w, "crew2", "LH02").status_code == 200


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditor_and_admin_cannot_decline(ops_world, rows, who):
    """Declining is for the point's crew or a commander: auditors and admins get 403."""
    assert_refused(rows, lambda: decline(ops_world, who), 403)


def test_declining_in_a_closed_round_is_409(ops_world, rows):
    """Nothing can be declined in a closed round (409 saying it is closed)."""
    w = ops_world
    w.activate()
    close(w)
    assert_refused(rows, lambda: decline(w, "crew1"), 409, says="closed")
    assert_refused(rows, lambda: decline(w, "commander"), 409, says="closed")


def test_declining_a_point_not_ordered_is_409(ops_world, rows):
    """A point that is not ordered in the round cannot decline it (409)."""
    w = ops_world
    only_lh01 = new_round(w, ("LH01",), activate=True)
    assert_refused(rows, lambda: decline(w, "crew2", "LH02", round_id=only_lh01), 409, says="not ordered")


def test_decline_needs_a_reason(ops_world, rows):
    """A decline without a reason is 422 naming reason."""
    w = ops_world
    assert_refused(rows, lambda: w.post("crew1", f"/api/v1/rounds/{w.round_id}/points/LH01/decline", {}),
                   422, field="reason")


@pytest.mark.parametrize("action", ["decline", "stand-down"])
def test_unknown_point_in_a_round_is_404(ops_world, rows, action):
    """Declining or standing down a point code that does not exist is 404."""
    w = ops_world
    assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{w.round_id}/points/ZZ99/{action}",
                                        {"reason": "x"}), 404)


def test_commander_stands_a_point_down(ops_world, rows):
    """The commander releases a point: `stood_down` with the reason and exactly one audit event."""
    w = ops_world
    w.activate()
    man(w)
    assert_state(w, "manned")
    before = rows()
    resp = stand_down(w, reason="Cell moved east")
    assert resp.status_code == 200, resp.json
    p = assert_state(w, "stood_down")
    assert p["stood_down_reason"] == "Cell moved east" and p["stood_down_at"]
    assert rows()["audit_events"] == before["audit_events"] + 1
    [ev] = events(w, action="round.point_stood_down")
    assert ev["entity_id"] == str(w.round_id) and ev["payload"]["point_code"] == "LH01"


@pytest.mark.parametrize("who", ["crew1", "auditor", "admin"])
def test_only_commanders_stand_down(ops_world, rows, who):
    """Crew (even of the point), auditors and admins get 403 standing a point down."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: stand_down(w, who), 403)
    assert_state(w, "ordered")


def test_standing_down_a_declined_point_is_409(ops_world, rows):
    """A point that declined cannot be stood down (409 saying it declined)."""
    w = ops_world
    w.activate()
    decline(w)
    assert_refused(rows, lambda: stand_down(w), 409, says="declined")
    assert_state(w, "declined")


def test_stood_down_point_cannot_decline_or_be_stood_down_again(ops_world, rows):
    """After a stand-down, neither a decline nor a second stand-down is taken (409)."""
    w = ops_world
    w.activate()
    assert stand_down(w).status_code == 200
    assert_refused(rows, lambda: decline(w), 409, says="stood down")
    assert_refused(rows, lambda: stand_down(w, reason="again"), 409, says="stood down")
    assert_state(w, "stood_down")


def test_standing_down_in_a_closed_round_is_409(ops_world, rows):
    """A closed round's points cannot be stood down (409)."""
    w = ops_world
    w.activate()
    close(w)
    assert_refused(rows, lambda: stand_down(w), 409, says="closed")


# --- states of a point -----------------------------------------------------------------------------

def test_ordered_until_the_minimum_certified_crew_is_on_site(ops_world):
    """LH01 (minimum 3) stays `ordered` with two crew on site and becomes `manned` (blue) with the third."""
    w = ops_world
    w.activate()
    man(w, crew=("ann", "bo"))
    p = assert_state(w, "ordered")
    assert p["crew_on_site"] == 2
    man(w, crew=("cai",))
    p = assert_state(w, "manned")
    assert p["crew_on_site"] == 3
    assert_state(w, "ordered", "LH02")


def test_expired_certificate_does_not_man_a_point(ops_world):
    """A crew member whose certificate expired does not count: two certified + one expired stays `ordered`."""
    w = ops_world
    w.activate()
    man(w, crew=("ann", "bo", "expired"))
    p = assert_state(w, "ordered")
    assert p["crew_on_site"] == 2


def test_crew_outside_geofence_does_not_man_a_point(ops_world):
    """An arrival 800 m away (geofence 500 m) is not on site: the point stays `ordered`."""
    w = ops_world
    w.activate()
    man(w, crew=("ann", "bo"))
    w.arrive("cai", metres=800)
    assert_state(w, "ordered")


def test_departure_takes_a_manned_point_back_to_ordered(ops_world):
    """When one of three crew departs, LH01 falls from `manned` back to `ordered`."""
    w = ops_world
    w.activate()
    man(w, at=now() - timedelta(minutes=5))
    assert_state(w, "manned")
    w.arrive("bo", kind="depart")
    assert_state(w, "ordered")


def test_requested_when_airspace_is_asked(ops_world):
    """A pending airspace request turns the point `requested` (amber), whether manned or not."""
    w = ops_world
    w.activate()
    resp = w.request_window("LH01", who="crew1")
    assert resp.status_code == 201, resp.json
    assert_state(w, "requested")
    man(w)
    assert_state(w, "requested")


def test_approved_window_not_yet_open_is_still_requested(ops_world):
    """A window approved from 20 minutes ahead leaves the point `requested`, with no open window."""
    w = ops_world
    w.activate()
    man(w)
    start = now() + timedelta(minutes=20)
    req = w.request_window("LH01", who="crew1", start=start).json
    assert w.approve(req["id"], start, start + timedelta(minutes=30)).status_code == 200
    p = assert_state(w, "requested")
    assert p["open_window"] is None


def test_cleared_while_the_approved_window_is_open(ops_world):
    """An approved window that is open makes the point `cleared` (green) with the window shown."""
    w = ops_world
    w.activate()
    man(w)
    start = now() - timedelta(seconds=5)
    req = w.request_window("LH01", who="crew1", start=start).json
    assert w.approve(req["id"], start, start + timedelta(minutes=30), reference="ATC-0707-3").status_code == 200
    p = assert_state(w, "cleared")
    assert p["open_window"]["request_id"] == req["id"]
    assert p["open_window"]["reference"] == "ATC-0707-3"
    assert parse(p["open_window"]["end"]) == start + timedelta(minutes=30)
    assert 0 < p["open_window"]["ends_in_s"] <= 30 * 60


def test_rejected_when_airspace_is_refused(ops_world):
    """A rejected request makes the point `rejected`; a new request makes it `requested` again."""
    w = ops_world
    w.activate()
    man(w)
    req = w.request_window("LH01", who="crew1").json
    resp = w.post("commander", f"/api/v1/airspace/{req['id']}/decision",
                  {"decision": "rejected", "reason": "military_flight"})
    assert resp.status_code == 200, resp.json
    assert_state(w, "rejected")
    assert w.request_window("LH01", who="crew1").status_code == 201
    assert_state(w, "requested")


def test_pending_request_keeps_the_point_requested_after_a_later_one_is_rejected(ops_world):
    """Two windows asked, ATC rejects the later one first: the earlier is still pending, so `requested`."""
    w = ops_world
    w.activate()
    man(w)
    first = w.request_window("LH01", who="crew1", start=now() + timedelta(minutes=10)).json
    later = w.request_window("LH01", who="crew1", start=now() + timedelta(minutes=60)).json
    resp = w.post("commander", f"/api/v1/airspace/{later['id']}/decision",
                  {"decision": "rejected", "reason": "civil_flight"})
    assert resp.status_code == 200, resp.json
    pending = w.get("commander", f"/api/v1/airspace?round_id={w.round_id}").json["items"]
    assert {r["id"]: r["status"] for r in pending} == {first["id"]: "pending", later["id"]: "rejected"}
    assert_state(w, "requested")


def test_firing_while_a_report_is_in_progress(ops_world):
    """A report whose firing started after activation and ends in the future makes the point `firing` (red)."""
    w = ops_world
    req_id, t = approved_window_in_past(w)
    man(w, at=t + timedelta(minutes=1))
    resp = w.report("crew1", started=t + timedelta(minutes=10), ended=now() + timedelta(minutes=10))
    assert resp.status_code == 201, resp.json
    assert resp.json["flags"] == []
    p = assert_state(w, "firing")
    assert p["reports"] == 1 and p["flags"] == []


def test_done_after_the_report(ops_world):
    """After a clean report of a finished firing the point is `done` (black), even while its window is open."""
    w = ops_world
    req_id, t = approved_window_in_past(w)
    man(w, at=t + timedelta(minutes=1))
    resp = w.report("crew1", started=t + timedelta(minutes=10), ended=t + timedelta(minutes=15))
    assert resp.status_code == 201, resp.json
    assert resp.json["flags"] == []
    p = assert_state(w, "done")
    assert p["reports"] == 1


def test_flagged_report_turns_the_point_purple(ops_world):
    """A report with flags (no airspace, understaffed) leaves the point `done` but coloured purple, flags listed."""
    w = ops_world
    t = activated_in_past(w)
    resp = w.report("crew1", started=t + timedelta(minutes=5), ended=t + timedelta(minutes=6))
    assert resp.status_code == 201, resp.json
    assert {"no_airspace", "understaffed"} <= {f["code"] for f in resp.json["flags"]}
    p = assert_state(w, "done", colour="purple")
    assert {"no_airspace", "understaffed"} <= {f["code"] for f in p["flags"]}
    assert_state(w, "ordered", "LH02")


def test_new_request_after_a_report_moves_the_point_on_again(ops_world):
    """After `done` (its window over), a new request makes the point `requested`, its approval `cleared` again."""
    w = ops_world
    req_id, t = approved_window_in_past(w, minutes=30, window_min=20)
    man(w, at=t + timedelta(minutes=1))
    assert w.report("crew1", started=t + timedelta(minutes=5), ended=t + timedelta(minutes=8)).status_code == 201
    assert_state(w, "done")
    again = w.request_window("LH01", who="crew1")
    assert again.status_code == 201, again.json
    assert_state(w, "requested")
    start = now() - timedelta(seconds=5)
    assert w.approve(again.json["id"], start, start + timedelta(minutes=20), "ATC-2").status_code == 200
    p = assert_state(w, "cleared")
    assert p["open_window"]["request_id"] == again.json["id"]


def test_every_state_walked_through_in_order(ops_world):
    """One point walks ordered → manned → requested → cleared → firing → done through the API."""
    w = ops_world
    t0 = now()
    with time_machine.travel(t0 - timedelta(minutes=30), tick=True):
        w.activate()
        assert_state(w, "ordered")
        man(w)
        assert_state(w, "manned")
        req = w.request_window("LH01", who="crew1", minutes=120)
        assert req.status_code == 201, req.json
        assert_state(w, "requested")
        start = now()
        assert w.approve(req.json["id"], start, start + timedelta(minutes=120)).status_code == 200
        assert_state(w, "cleared")
        # Reported while it lasts: it may end a few minutes after the server has it (the phone clock's tolerance;
        # further out it would be flagged implausible_time and drive no state).
        firing = w.report("crew1", started=now(), ended=now() + timedelta(minutes=5))
        assert firing.status_code == 201, firing.json
        assert firing.json["flags"] == []
        assert_state(w, "firing")
    assert_state(w, "done")


def test_done_point_stays_done_after_the_round_closes(ops_world):
    """A point that reported stays `done` once the round is closed, readable by the auditor."""
    w = ops_world
    req_id, t = approved_window_in_past(w)
    man(w, at=t + timedelta(minutes=1))
    assert w.report("crew1", started=t + timedelta(minutes=5), ended=t + timedelta(minutes=8)).status_code == 201
    assert close(w).status_code == 200
    assert_state(w, "done")
    assert detail(w, who="auditor")["status"] == "closed"


def test_declined_and_stood_down_override_other_facts(ops_world):
    """A manned point that declines is `declined`; a cleared point stood down is `stood_down`."""
    w = ops_world
    w.activate()
    man(w)
    assert_state(w, "manned")
    decline(w)
    assert_state(w, "declined")
    other = new_round(w, ("LH01",), activate=True)
    start = now() - timedelta(seconds=5)
    req = w.request_window("LH01", who="crew1", start=start, round_id=other).json
    assert w.approve(req["id"], start, start + timedelta(minutes=30)).status_code == 200
    assert_state(w, "cleared", round_id=other)
    assert stand_down(w, round_id=other).status_code == 200
    assert_state(w, "stood_down", round_id=other)


def test_each_change_to_a_round_writes_exactly_one_audit_event(ops_world, rows):
    """create, activate, decline, stand-down and close each add one event, listed for the round in order."""
    w = ops_world
    rid = new_round(w, ("LH01", "LH02"))
    steps = [lambda: w.post("commander", f"/api/v1/rounds/{rid}/activate"),
             lambda: decline(w, "crew2", "LH02", round_id=rid),
             lambda: stand_down(w, "commander", "LH01", round_id=rid),
             lambda: close(w, round_id=rid)]
    for step in steps:
        before = rows()["audit_events"]
        resp = step()
        assert resp.status_code == 200, resp.json
        assert rows()["audit_events"] == before + 1
    assert round_actions(w, rid) == ["round.create", "round.activate", "round.point_declined",
                                     "round.point_stood_down", "round.close"]
    verify = w.get("auditor", "/api/v1/audit/verify").json
    assert verify["ok"] is True
