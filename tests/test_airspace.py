"""Airspace windows: requests (`POST /api/v1/rounds/{id}/airspace` and the phone's sync queue), air traffic
control's decisions, early termination and cancellation, who may do each, and how each moves the point's
state in its round.

Every illegal transition is refused with a problem saying why and writes nothing (row counts of every
table compared before and after); every change writes exactly one audit event.
"""

import uuid
from datetime import timedelta

import pytest
import time_machine

from opsserver.database.utc import now_utc as now

from .helpers.problems import PROBLEM_KEYS, assert_refused
from .helpers.world import parse

REASONS = ["airspace_busy", "civil_flight", "military_flight", "other"]


# --- helpers -------------------------------------------------------------------------------------

def point_of(w, code="LH01", round_id=None) -> dict:
    resp = w.get("commander", f"/api/v1/rounds/{round_id or w.round_id}")
    assert resp.status_code == 200, resp.json
    return next(p for p in resp.json["points"] if p["point_code"] == code)


def state(w, code="LH01", round_id=None) -> str:
    return point_of(w, code, round_id)["state"]


def man(w, point="LH01", crew=("ann", "bo", "cai")):
    for key in crew:
        w.arrive(key, point)


def new_round(w, codes=("LH01",), activate=True) -> int:
    start = now()
    resp = w.post("commander", "/api/v1/rounds", {"name": "Second round", "purpose": "hail_suppression",
                                                   "planned_start": start.isoformat(),
                                                   "planned_end": (start + timedelta(hours=2)).isoformat(),
                                                   "point_codes": list(codes)})
    assert resp.status_code == 201, resp.json
    if activate:
        w.activate(resp.json["id"])
    return resp.json["id"]


def ask(w, who="crew1", point="LH01", round_id=None, **fields):
    body = {"point_code": point, "window_start": now().isoformat(), "duration_min": 30}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    return w.post(who, f"/api/v1/rounds/{round_id or w.round_id}/airspace", body)


def requested(w, who="crew1", point="LH01", **kw) -> dict:
    resp = w.request_window(point, who=who, **kw)
    assert resp.status_code == 201, resp.json
    return resp.json


def decide(w, request_id, who="commander", **body):
    return w.post(who, f"/api/v1/airspace/{request_id}/decision", body)


def reject(w, request_id, reason="airspace_busy", who="commander"):
    return decide(w, request_id, who, decision="rejected", reason=reason)


def approve_open(w, request_id, minutes=30, reference="ATC-0707-1") -> dict:
    """Approve a window that opened a few seconds ago and runs `minutes`."""
    start = now() - timedelta(seconds=5)
    resp = w.approve(request_id, start, start + timedelta(minutes=minutes), reference)
    assert resp.status_code == 200, resp.json
    return resp.json


def terminate(w, request_id, who="commander"):
    return w.post(who, f"/api/v1/airspace/{request_id}/terminate")


def cancel(w, request_id, who="crew1"):
    return w.post(who, f"/api/v1/airspace/{request_id}/cancel")


def listing(w, who="auditor", **query) -> list[dict]:
    resp = w.client.get("/api/v1/airspace", query_string=query, headers=w.headers(who))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def listed(w, request_id) -> dict:
    return next(r for r in listing(w, round_id=w.round_id) if r["id"] == request_id)


def events(w, **query) -> list[dict]:
    resp = w.client.get("/api/v1/audit/events", query_string=query, headers=w.headers("auditor"))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def ended_window(w) -> dict:
    """A request approved for a window that opened 40 minutes ago and ended 10 minutes ago."""
    t = now() - timedelta(minutes=40)
    with time_machine.travel(t, tick=True):
        req = requested(w, start=t)
        assert w.approve(req["id"], t, t + timedelta(minutes=30)).status_code == 200
    return req


def sync(w, who, items):
    resp = w.post(who, "/api/v1/sync", {"items": items})
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def sync_item(w, **overrides) -> dict:
    item = {"type": "airspace_request", "round_id": w.round_id, "id": str(uuid.uuid4()), "point_code": "LH01",
            "window_start": now().replace(microsecond=0).isoformat(), "duration_min": 45}
    item.update(overrides)
    return item


# --- requests ------------------------------------------------------------------------------------

def test_crew_on_shift_asks_for_a_window(ops_world, rows):
    """Ann, on shift at LH01, asks for 30 minutes: 201 pending, the end computed, one audit event."""
    w = ops_world
    w.activate()
    before = rows()
    start = now().replace(microsecond=0)
    resp = ask(w, window_start=start.isoformat(), duration_min=30, max_height_m=6000)
    assert resp.status_code == 201, resp.json
    r = resp.json
    assert r["status"] == "pending" and r["decision"] is None
    assert r["round_id"] == w.round_id and r["point_code"] == "LH01" and r["requested_by"] == "crew1"
    assert parse(r["window_start"]) == start
    assert parse(r["window_end"]) == start + timedelta(minutes=30)
    assert r["max_height_m"] == 6000
    assert r["effective_end"] is None and r["approved_start"] is None
    after = rows()
    assert after["airspace_requests"] == before["airspace_requests"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    [ev] = events(w, entity="airspace_request", entity_id=r["id"])
    assert ev["action"] == "airspace.request" and ev["actor"] == "crew1"
    assert listed(w, r["id"])["status"] == "pending"
    assert state(w) == "requested"


def test_request_with_an_explicit_window_end(ops_world):
    """window_end instead of duration_min is taken as given."""
    w = ops_world
    w.activate()
    start = now().replace(microsecond=0)
    resp = ask(w, window_start=start.isoformat(), duration_min=None,
               window_end=(start + timedelta(minutes=50)).isoformat())
    assert resp.status_code == 201, resp.json
    assert parse(resp.json["window_end"]) == start + timedelta(minutes=50)


def test_commander_asks_for_any_point_and_crew2_for_its_own(ops_world):
    """A commander may ask for LH02 and LH01; Dong, on shift at LH02, may ask for LH02."""
    w = ops_world
    w.activate()
    assert ask(w, "commander", "LH02").status_code == 201
    assert ask(w, "commander", "LH01").status_code == 201
    mine = ask(w, "crew2", "LH02")
    assert mine.status_code == 201, mine.json
    assert mine.json["requested_by"] == "crew2"
    assert len(listing(w, round_id=w.round_id, point_code="LH02")) == 2


def test_crew_of_another_point_cannot_ask(ops_world, rows):
    """Dong (on shift at LH02) asking for LH01 is 403; nothing is written."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: ask(w, "crew2", "LH01"), 403)
    assert state(w) == "ordered"


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditor_and_admin_cannot_ask(ops_world, rows, who):
    """Auditors and admins get 403 asking for airspace."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: ask(w, who), 403)


def test_home_point_crew_off_shift_cannot_ask(ops_world, rows):
    """Soon's home point is LH01 but she has no shift now: asking for LH01 is 403 (crew on shift only)."""
    w = ops_world
    resp = w.post("admin", "/api/v1/accounts", {"username": "soon", "password": "password-soon",
                                                "role": "crew", "crew_id": w.crew["soon"]})
    assert resp.status_code == 201, resp.json
    token = w.client.post("/api/v1/auth/token", json={"username": "soon", "password": "password-soon"})
    w.tokens["soon"] = token.json["access_token"]
    w.activate()
    resp = assert_refused(rows, lambda: ask(w, "soon"), 403)
    assert "shift" in resp.json["detail"]


def test_asking_in_a_planned_round_is_409(ops_world, rows):
    """Airspace is not asked in a round that is not active yet (409 saying it is planned)."""
    w = ops_world
    assert_refused(rows, lambda: ask(w, "crew1"), 409, says="planned")
    assert_refused(rows, lambda: ask(w, "commander"), 409, says="planned")


def test_asking_in_a_closed_round_is_409(ops_world, rows):
    """Airspace is not asked in a closed round (409 saying it is closed)."""
    w = ops_world
    w.activate()
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/close").status_code == 200
    assert_refused(rows, lambda: ask(w, "crew1"), 409, says="closed")


def test_asking_for_a_point_not_ordered_is_409(ops_world, rows):
    """A point not ordered in the round cannot ask for airspace in it (409)."""
    w = ops_world
    only_lh01 = new_round(w, ("LH01",))
    assert_refused(rows, lambda: ask(w, "commander", "LH02", round_id=only_lh01), 409, says="not ordered")
    assert_refused(rows, lambda: ask(w, "crew2", "LH02", round_id=only_lh01), 409, says="not ordered")


def test_asking_for_a_declined_point_is_409(ops_world, rows):
    """A point that declined the round cannot ask for airspace in it (409 saying declined)."""
    w = ops_world
    w.activate()
    assert w.post("crew1", f"/api/v1/rounds/{w.round_id}/points/LH01/decline", {"reason": "no power"}).status_code \
        == 200
    assert_refused(rows, lambda: ask(w, "crew1"), 409, says="declined")
    assert_refused(rows, lambda: ask(w, "commander"), 409, says="declined")


def test_asking_for_a_stood_down_point_is_409(ops_world, rows):
    """A point the commander stood down cannot ask for airspace (409 saying stood down)."""
    w = ops_world
    w.activate()
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH01/stand-down",
                  {"reason": "cell passed"}).status_code == 200
    assert_refused(rows, lambda: ask(w, "crew1"), 409, says="stood down")


@pytest.mark.parametrize("minutes", [0, -10])
def test_window_ending_at_or_before_its_start_is_422(ops_world, rows, minutes):
    """window_end at or before window_start is 422 naming window_end; nothing is written."""
    w = ops_world
    w.activate()
    start = now()
    assert_refused(rows, lambda: ask(w, window_start=start.isoformat(), duration_min=None,
                                     window_end=(start + timedelta(minutes=minutes)).isoformat()),
                   422, field="window_end")


def test_window_without_end_or_duration_is_422(ops_world, rows):
    """A request with neither window_end nor duration_min is 422 naming window_end."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: ask(w, duration_min=None), 422, field="window_end")


@pytest.mark.parametrize("fields, bad", [
    ({"duration_min": 0}, "duration_min"), ({"window_start": "tonight"}, "window_start"),
    ({"window_start": "2025-07-07T10:00:00"}, "window_start"), ({"max_height_m": -5}, "max_height_m"),
    ({"point_code": None}, "point_code")])
def test_malformed_request_is_422(ops_world, rows, fields, bad):
    """A zero duration, an unreadable or naive start, a negative height or no point is 422 naming the field."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: ask(w, **fields), 422, field=bad)


def test_request_for_an_unknown_point_is_422(ops_world, rows):
    """An unknown point code is 422 naming point_code."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: ask(w, "commander", "ZZ01"), 422, field="point_code")


def test_request_in_an_unknown_round_is_404(ops_world, rows):
    """Asking in a round that does not exist is 404."""
    assert_refused(rows, lambda: ask(ops_world, "commander", round_id=99999), 404)


# --- decisions -----------------------------------------------------------------------------------

def test_approval_records_the_window_and_reference(ops_world, rows):
    """An approval stores ATC's window and reference, clears the point, and writes one `airspace.approved`."""
    w = ops_world
    w.activate()
    man(w)
    req = requested(w, who="crew1")
    before = rows()
    start = now().replace(microsecond=0) - timedelta(seconds=5)
    resp = decide(w, req["id"], decision="approved", approved_start=start.isoformat(),
                  approved_end=(start + timedelta(minutes=25)).isoformat(), reference="ATC-LY-0707-12",
                  approved_max_height_m=5500)
    assert resp.status_code == 200, resp.json
    r = resp.json
    assert r["status"] == "approved" and r["decision"] == "approved" and r["decided_by"] == "commander"
    assert r["reference"] == "ATC-LY-0707-12" and r["approved_max_height_m"] == 5500
    assert parse(r["approved_start"]) == start and parse(r["approved_end"]) == start + timedelta(minutes=25)
    assert parse(r["effective_end"]) == start + timedelta(minutes=25)
    after = rows()
    assert after["audit_events"] == before["audit_events"] + 1
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}
    [ev] = events(w, action="airspace.approved")
    assert ev["entity"] == "airspace_request" and ev["entity_id"] == req["id"]
    assert listed(w, req["id"])["status"] == "approved"
    assert state(w) == "cleared"


@pytest.mark.parametrize("reason", REASONS)
def test_rejection_with_each_reason_code(ops_world, rows, reason):
    """A rejection with any of the four reason codes is stored, the point `rejected`, one audit event."""
    w = ops_world
    w.activate()
    req = requested(w)
    before = rows()["audit_events"]
    resp = reject(w, req["id"], reason)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "rejected" and resp.json["reason"] == reason
    assert resp.json["approved_start"] is None and resp.json["effective_end"] is None
    assert rows()["audit_events"] == before + 1
    [ev] = events(w, action="airspace.rejected")
    assert ev["entity_id"] == req["id"]
    assert state(w) == "rejected"


@pytest.mark.parametrize("missing", ["reference", "approved_start", "approved_end"])
def test_approval_missing_a_field_is_422(ops_world, rows, missing):
    """An approval without its reference, approved_start or approved_end is 422 naming that field."""
    w = ops_world
    w.activate()
    req = requested(w)
    start = now()
    body = {"decision": "approved", "approved_start": start.isoformat(),
            "approved_end": (start + timedelta(minutes=20)).isoformat(), "reference": "ATC-1"}
    del body[missing]
    assert_refused(rows, lambda: decide(w, req["id"], **body), 422, field=missing)
    assert listed(w, req["id"])["status"] == "pending"


@pytest.mark.parametrize("minutes", [0, -15])
def test_approved_window_ending_before_it_starts_is_422(ops_world, rows, minutes):
    """approved_end at or before approved_start is 422 naming approved_end."""
    w = ops_world
    w.activate()
    req = requested(w)
    start = now()
    assert_refused(rows, lambda: w.approve(req["id"], start, start + timedelta(minutes=minutes)), 422,
                   field="approved_end")


@pytest.mark.parametrize("reason", [None, "weather", ""])
def test_rejection_without_a_valid_reason_is_422(ops_world, rows, reason):
    """A rejection with no reason or an unknown reason code is 422 naming reason."""
    w = ops_world
    w.activate()
    req = requested(w)
    body = {"decision": "rejected", **({"reason": reason} if reason is not None else {})}
    assert_refused(rows, lambda: decide(w, req["id"], **body), 422, field="reason")


def test_unknown_decision_is_422(ops_world, rows):
    """A decision other than approved/rejected is 422 naming decision."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert_refused(rows, lambda: decide(w, req["id"], decision="maybe"), 422, field="decision")


def test_decision_on_a_request_that_does_not_exist_is_404(ops_world, rows):
    """Deciding an unknown request id is 404 and writes nothing."""
    w = ops_world
    w.activate()
    assert_refused(rows, lambda: reject(w, str(uuid.uuid4())), 404)
    assert_refused(rows, lambda: w.approve(str(uuid.uuid4()), now(), now() + timedelta(minutes=5)), 404)


def test_deciding_an_approved_request_again_is_409(ops_world, rows):
    """An approved request can be neither approved again nor rejected (409 saying it is approved)."""
    w = ops_world
    w.activate()
    req = requested(w)
    first = approve_open(w, req["id"], reference="ATC-A")
    assert_refused(rows, lambda: reject(w, req["id"]), 409, says="approved")
    assert_refused(rows, lambda: w.approve(req["id"], now(), now() + timedelta(hours=1), "ATC-B"), 409,
                   says="approved")
    assert listed(w, req["id"])["reference"] == first["reference"] == "ATC-A"


def test_approving_a_rejected_request_is_409(ops_world, rows):
    """A rejected request stays rejected: approving it (or rejecting again) is 409."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert reject(w, req["id"], "civil_flight").status_code == 200
    assert_refused(rows, lambda: w.approve(req["id"], now(), now() + timedelta(minutes=20)), 409,
                   says="rejected")
    assert_refused(rows, lambda: reject(w, req["id"], "other"), 409, says="rejected")
    assert listed(w, req["id"])["reason"] == "civil_flight"
    assert state(w) == "rejected"


def test_deciding_a_cancelled_request_is_409(ops_world, rows):
    """A withdrawn request cannot be approved (409 saying it is cancelled)."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert cancel(w, req["id"]).status_code == 200
    assert_refused(rows, lambda: w.approve(req["id"], now(), now() + timedelta(minutes=20)), 409,
                   says="cancelled")


@pytest.mark.parametrize("who", ["crew1", "auditor", "admin"])
def test_only_commanders_decide(ops_world, rows, who):
    """Crew (of the point), auditors and admins get 403 recording a decision."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert_refused(rows, lambda: decide(w, req["id"], who, decision="rejected", reason="other"), 403)


# --- early termination ---------------------------------------------------------------------------

def test_terminating_an_open_window(ops_world, rows):
    """Terminate ends the window now: status `terminated`, effective_end = terminated_at, point no longer cleared."""
    w = ops_world
    w.activate()
    man(w)
    req = requested(w)
    approved = approve_open(w, req["id"], minutes=30)
    assert state(w) == "cleared"
    before, sent = rows(), now()
    resp = terminate(w, req["id"])
    assert resp.status_code == 200, resp.json
    r = resp.json
    assert r["status"] == "terminated"
    assert r["terminated_at"] and sent <= parse(r["terminated_at"]) <= now()
    assert parse(r["effective_end"]) == parse(r["terminated_at"]) < parse(approved["approved_end"])
    assert r["approved_end"] == approved["approved_end"]
    after = rows()
    assert after["audit_events"] == before["audit_events"] + 1
    [ev] = events(w, action="airspace.terminate")
    assert ev["entity_id"] == req["id"]
    [item] = listing(w, "crew2", round_id=w.round_id)
    assert item["status"] == "terminated"
    assert parse(item["effective_end"]) == parse(r["terminated_at"])
    p = point_of(w)
    assert p["state"] != "cleared" and p["state"] == "manned"
    assert p["open_window"] is None


def test_firing_after_termination_is_flagged_outside_window(ops_world):
    """A firing reported after the window was terminated is stored and flagged `outside_window`."""
    w = ops_world
    t = now() - timedelta(minutes=20)
    with time_machine.travel(t, tick=True):
        w.activate()
        req = requested(w, start=t, minutes=60)
        assert w.approve(req["id"], t, t + timedelta(minutes=60)).status_code == 200
    assert terminate(w, req["id"]).status_code == 200
    resp = w.report("crew1", started=now() + timedelta(seconds=1), ended=now() + timedelta(seconds=30))
    assert resp.status_code == 201, resp.json
    flags = {f["code"]: f["reason"] for f in resp.json["flags"]}
    assert "outside_window" in flags and "提前终止" in flags["outside_window"]  # Chinese: no Accept-Language


def test_window_terminated_before_it_opened_leaves_nothing_requested(ops_world):
    """A future window terminated before it opened is `terminated`: the point is no longer `requested`."""
    w = ops_world
    w.activate()
    man(w)
    start = now() + timedelta(minutes=20)
    req = requested(w, start=start)
    assert w.approve(req["id"], start, start + timedelta(minutes=30)).status_code == 200
    assert state(w) == "requested"
    resp = terminate(w, req["id"])
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "terminated"
    assert listed(w, req["id"])["status"] == "terminated"
    p = point_of(w)
    assert p["state"] == "manned", p
    assert p["colour"] == "blue"


def test_terminating_a_pending_request_is_409(ops_world, rows):
    """Only an approved window can be terminated: a pending request gives 409 saying it is pending."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert_refused(rows, lambda: terminate(w, req["id"]), 409, says="pending")


def test_terminating_a_rejected_request_is_409(ops_world, rows):
    """A rejected request has no window to terminate (409)."""
    w = ops_world
    w.activate()
    req = requested(w)
    reject(w, req["id"])
    assert_refused(rows, lambda: terminate(w, req["id"]), 409, says="rejected")


def test_terminating_twice_is_409(ops_world, rows):
    """A window already terminated cannot be terminated again; the first termination time stands."""
    w = ops_world
    w.activate()
    req = requested(w)
    approve_open(w, req["id"])
    first = terminate(w, req["id"]).json
    assert_refused(rows, lambda: terminate(w, req["id"]), 409, says="terminated")
    assert listed(w, req["id"])["terminated_at"] == first["terminated_at"]


def test_terminating_an_ended_window_is_409(ops_world, rows):
    """A window that already ended cannot be terminated (409 saying it ended)."""
    w = ops_world
    w.activate()
    t = now() - timedelta(minutes=40)
    with time_machine.travel(t, tick=True):
        req = requested(w, start=t)
    assert w.approve(req["id"], t, t + timedelta(minutes=30)).status_code == 200
    assert_refused(rows, lambda: terminate(w, req["id"]), 409, says="ended")
    assert listed(w, req["id"])["status"] == "approved"


def test_terminating_an_unknown_request_is_404(ops_world, rows):
    """Terminating a request that does not exist is 404."""
    assert_refused(rows, lambda: terminate(ops_world, str(uuid.uuid4())), 404)


@pytest.mark.parametrize("who", ["crew1", "auditor", "admin"])
def test_only_commanders_terminate(ops_world, rows, who):
    """Crew, auditors and admins get 403 terminating a window; it stays open."""
    w = ops_world
    w.activate()
    req = requested(w)
    approve_open(w, req["id"])
    assert_refused(rows, lambda: terminate(w, req["id"], who), 403)
    assert listed(w, req["id"])["status"] == "approved"


# --- cancellation --------------------------------------------------------------------------------

def test_cancelling_a_pending_request_returns_the_point_to_manned(ops_world, rows):
    """The crew withdraws a pending request: status `cancelled`, one audit event, the point `manned` again."""
    w = ops_world
    w.activate()
    man(w)
    req = requested(w)
    assert state(w) == "requested"
    before = rows()
    resp = cancel(w, req["id"])
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "cancelled" and resp.json["cancelled_at"]
    assert rows()["audit_events"] == before["audit_events"] + 1
    [ev] = events(w, action="airspace.cancel")
    assert ev["entity_id"] == req["id"] and ev["actor"] == "crew1"
    assert listed(w, req["id"])["status"] == "cancelled"
    assert state(w) == "manned"


def test_cancelling_returns_an_unmanned_point_to_ordered(ops_world):
    """A commander withdraws the only request of an unmanned point: it is `ordered` again."""
    w = ops_world
    w.activate()
    req = requested(w, who="commander", point="LH02")
    assert state(w, "LH02") == "requested"
    assert cancel(w, req["id"], "commander").status_code == 200
    assert state(w, "LH02") == "ordered"


def test_cancelling_an_approved_window_not_yet_open(ops_world):
    """An approved window that has not opened may still be withdrawn; the point leaves `requested`."""
    w = ops_world
    w.activate()
    start = now() + timedelta(minutes=30)
    req = requested(w, start=start)
    assert w.approve(req["id"], start, start + timedelta(minutes=30)).status_code == 200
    assert state(w) == "requested"
    resp = cancel(w, req["id"])
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "cancelled" and resp.json["effective_end"] is None
    assert state(w) == "ordered"


def test_cancelling_a_terminated_window_is_409(ops_world, rows):
    """A terminated window cannot be cancelled (409)."""
    w = ops_world
    w.activate()
    req = requested(w)
    approve_open(w, req["id"])
    terminate(w, req["id"])
    assert_refused(rows, lambda: cancel(w, req["id"]), 409)
    assert listed(w, req["id"])["status"] == "terminated"


def test_cancelling_an_ended_window_is_409(ops_world, rows):
    """A window that has ended cannot be cancelled (409)."""
    w = ops_world
    w.activate()
    req = ended_window(w)
    assert_refused(rows, lambda: cancel(w, req["id"]), 409)
    assert listed(w, req["id"])["status"] == "approved"


def test_cancelling_an_open_window_is_409_terminate_instead(ops_world, rows):
    """An open window is not cancelled but terminated: cancelling it is 409 saying so."""
    w = ops_world
    w.activate()
    req = requested(w)
    approve_open(w, req["id"])
    assert_refused(rows, lambda: cancel(w, req["id"]), 409, says="terminate")


def test_cancelling_a_rejected_or_cancelled_request_is_409(ops_world, rows):
    """A rejected request, or one already withdrawn, cannot be cancelled (409)."""
    w = ops_world
    w.activate()
    rejected = requested(w)
    reject(w, rejected["id"])
    assert_refused(rows, lambda: cancel(w, rejected["id"]), 409, says="rejected")
    withdrawn = requested(w)
    assert cancel(w, withdrawn["id"]).status_code == 200
    assert_refused(rows, lambda: cancel(w, withdrawn["id"]), 409, says="cancelled")


@pytest.mark.parametrize("who", ["crew2", "auditor", "admin"])
def test_others_cannot_cancel(ops_world, rows, who):
    """Crew of another point, auditors and admins get 403 cancelling LH01's request."""
    w = ops_world
    w.activate()
    req = requested(w)
    assert_refused(rows, lambda: cancel(w, req["id"], who), 403)
    assert listed(w, req["id"])["status"] == "pending"


def test_cancelling_an_unknown_request_is_404(ops_world, rows):
    """Cancelling a request that does not exist is 404."""
    assert_refused(rows, lambda: cancel(ops_world, str(uuid.uuid4()), "commander"), 404)


# --- listing -------------------------------------------------------------------------------------

def test_listing_filters_by_round_and_point(ops_world):
    """GET /api/v1/airspace filters by round_id and point_code; every role may read it."""
    w = ops_world
    w.activate()
    a = requested(w, who="crew1")
    b = requested(w, who="commander", point="LH02")
    other = new_round(w, ("LH01",))
    c = requested(w, who="crew1", round_id=other)
    assert {r["id"] for r in listing(w, round_id=w.round_id)} == {a["id"], b["id"]}
    assert [r["id"] for r in listing(w, "crew2", round_id=w.round_id, point_code="LH02")] == [b["id"]]
    assert [r["id"] for r in listing(w, "admin", round_id=other)] == [c["id"]]
    assert {r["id"] for r in listing(w, "commander", point_code="LH01")} == {a["id"], c["id"]}


# --- the phone's queue ---------------------------------------------------------------------------

def test_airspace_request_through_sync(ops_world, rows):
    """A queued airspace_request item is recorded with the phone's id (201) and the point is `requested`."""
    w = ops_world
    w.activate()
    item = sync_item(w)
    before = rows()
    [result] = sync(w, "crew1", [item])
    assert result["status"] == 201, result
    assert result["id"] == item["id"]
    body = result["body"]
    assert body["id"] == item["id"] and body["status"] == "pending" and body["round_id"] == w.round_id
    assert parse(body["window_end"]) == parse(item["window_start"]) + timedelta(minutes=45)
    after = rows()
    assert after["airspace_requests"] == before["airspace_requests"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert listed(w, item["id"])["requested_by"] == "crew1"
    assert state(w) == "requested"


def test_same_queued_request_twice_is_recorded_once(ops_world, rows):
    """The same airspace item twice in a queue, and the queue sent again, leave one request and one event."""
    w = ops_world
    w.activate()
    item = sync_item(w)
    before = rows()
    first, second = sync(w, "crew1", [item, dict(item)])
    assert first["status"] == 201, first
    assert second["status"] in (200, 201), second
    assert second["body"] == first["body"]
    mid = rows()
    assert mid["airspace_requests"] == before["airspace_requests"] + 1
    assert mid["audit_events"] == before["audit_events"] + 1
    [again] = sync(w, "crew1", [dict(item)])
    assert again["status"] in (200, 201) and again["body"] == first["body"]
    assert rows() == mid
    assert [r["id"] for r in listing(w, round_id=w.round_id)] == [item["id"]]


def test_queued_request_reusing_an_id_with_other_content_is_refused(ops_world, rows):
    """Reusing a stored request's id for another window is refused for that item (409 under a new key, 409 or
    422 under the id's own key) and writes nothing."""
    w = ops_world
    w.activate()
    item = sync_item(w, idempotency_key="phone-3-a")
    assert sync(w, "crew1", [item])[0]["status"] == 201
    before = rows()
    later = (now() + timedelta(hours=1)).replace(microsecond=0).isoformat()
    [out] = sync(w, "crew1", [dict(item, window_start=later, idempotency_key="phone-3-b")])
    assert out["status"] == 409, out
    assert PROBLEM_KEYS <= set(out["problem"])
    no_key = {k: v for k, v in item.items() if k != "idempotency_key"}
    [out] = sync(w, "crew1", [dict(no_key, window_start=later)])
    assert out["status"] in (409, 422), out
    assert rows() == before
    assert parse(listed(w, item["id"])["window_start"]) == parse(item["window_start"])


def test_queued_request_same_id_and_start_but_other_window_is_409(ops_world, rows):
    """Reusing a stored request's id for the same start but a longer window, under a new key, is 409: the
    phone is not silently answered with the old, shorter window."""
    w = ops_world
    w.activate()
    item = sync_item(w, idempotency_key="phone-4-a", duration_min=30)
    assert sync(w, "crew1", [item])[0]["status"] == 201
    before = rows()
    [out] = sync(w, "crew1", [dict(item, duration_min=90, idempotency_key="phone-4-b")])
    assert out["status"] == 409, out
    assert rows() == before


def test_queued_request_follows_the_same_rules(ops_world, rows):
    """Through the queue, Dong asking for LH01 is 403 and asking in a planned round is 409, per item."""
    w = ops_world
    before = rows()
    planned, = sync(w, "crew1", [sync_item(w)])
    assert planned["status"] == 409 and "planned" in planned["problem"]["detail"]
    w.activate()
    mid = rows()
    foreign, good = sync(w, "crew2", [sync_item(w), sync_item(w, point_code="LH02")])
    assert foreign["status"] == 403
    assert good["status"] == 201
    assert rows()["airspace_requests"] == mid["airspace_requests"] + 1 == before["airspace_requests"] + 1


@pytest.mark.parametrize("drop, field", [("round_id", "round_id"), ("id", "id"), ("window_start", "window_start")])
def test_queued_request_missing_a_field_is_422(ops_world, rows, drop, field):
    """A queued airspace item without its round_id, id or window_start is 422 for that item naming the field."""
    w = ops_world
    w.activate()
    item = sync_item(w)
    del item[drop]
    before = rows()
    [out] = sync(w, "crew1", [item])
    assert out["status"] == 422, out
    assert field in [e["field"] for e in out["problem"]["errors"]]
    assert rows() == before
