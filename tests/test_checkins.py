"""Check-ins from phones (`POST/GET /api/v1/checkins`): geofence, shift, clock offset, idempotency,
roles, audit, validation, listing filters and pagination, and who is on site at a point.

Expected distances are computed here with geopy, independently of the app.
"""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from geopy.distance import geodesic

from .helpers.database import count_rows
from .helpers.problems import assert_problem

LH01 = (33.58, 114.02)  # world's LH01, geofence 500 m
LH02 = (33.70, 114.10)
CST = timezone(timedelta(hours=8))  # Asia/Shanghai offset, as a phone would send it


# --- helpers -------------------------------------------------------------------------------------

def at_distance(metres: float, bearing: float, origin=LH01) -> tuple[float, float]:
    """A position `metres` from `origin` on a geodesic at `bearing` degrees."""
    dest = geodesic(meters=metres).destination(origin, bearing)
    return dest.latitude, dest.longitude


def body_for(point_code="LH01", kind="arrive", position=LH01, recorded_at=None, **extra) -> dict:
    """A valid check-in body with a fresh UUID; the phone's time defaults to a minute ago."""
    lat, lon = position
    recorded_at = recorded_at or datetime.now(UTC) - timedelta(minutes=1)
    body = {"id": str(uuid.uuid4()), "point_code": point_code, "kind": kind, "latitude": lat, "longitude": lon,
            "accuracy_m": 8.0, "recorded_at": recorded_at.isoformat()}
    body.update(extra)
    return body


def post(world, who, body, **headers):
    return world.client.post("/api/v1/checkins", json=body, headers=world.headers(who, **headers))


def codes(answer: dict) -> set:
    return {f["code"] for f in answer["flags"]}


def flag(answer: dict, code: str) -> dict:
    return next(f for f in answer["flags"] if f["code"] == code)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def listing(world, who="auditor", **query) -> list[dict]:
    """Every check-in matching the query, following cursors."""
    items, cursor = [], None
    while True:
        q = dict(query, **({"cursor": cursor} if cursor else {}))
        resp = world.client.get("/api/v1/checkins", query_string=q, headers=world.headers(who))
        assert resp.status_code == 200, resp.json
        items += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def audit_events(world, **query) -> list[dict]:
    resp = world.client.get("/api/v1/audit/events", query_string={"action": "checkin.create", **query},
                            headers=world.headers("auditor"))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def point(world, code="LH01") -> dict:
    resp = world.client.get(f"/api/v1/points/{code}", headers=world.headers("crew1"))
    assert resp.status_code == 200, resp.json
    return resp.json


# --- geofence ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bearing", [0.0, 137.0, 271.5])
def test_499_m_away_is_inside_geofence(world, app, bearing):
    """A phone 499 m from the point (500 m geofence) is inside, with geopy's geodesic distance."""
    pos = at_distance(499, bearing)
    resp = post(world, "crew1", body_for(position=pos))
    assert resp.status_code == 201, resp.json
    expected = geodesic(pos, LH01).meters
    assert resp.json["distance_m"] == pytest.approx(expected, abs=0.01)
    assert resp.json["distance_m"] == pytest.approx(499, abs=0.05)
    assert resp.json["geofence_m"] == 500
    assert resp.json["within_geofence"] is True
    assert "outside_geofence" not in codes(resp.json)
    assert count_rows(app, "checkins") == 1


@pytest.mark.parametrize("bearing", [45.0, 200.0])
def test_501_m_away_is_stored_and_flagged_outside_geofence(world, app, bearing):
    """A phone 501 m away is outside: stored (201), flagged `outside_geofence` with a reason."""
    pos = at_distance(501, bearing)
    body = body_for(position=pos)
    resp = post(world, "crew1", body)
    assert resp.status_code == 201, resp.json
    assert resp.json["distance_m"] == pytest.approx(geodesic(pos, LH01).meters, abs=0.01)
    assert resp.json["within_geofence"] is False
    reason = flag(resp.json, "outside_geofence")["reason"]
    assert isinstance(reason, str) and "501" in reason
    assert count_rows(app, "checkins") == 1
    [stored] = listing(world)
    assert stored["id"] == body["id"] and stored["within_geofence"] is False
    assert "outside_geofence" in codes(stored)


def test_far_away_checkin_distance_matches_geopy(world):
    """A check-in kilometres away reports the geodesic distance geopy gives, not a flat-earth one."""
    pos = (33.9, 114.5)
    resp = post(world, "crew1", body_for(position=pos))
    assert resp.status_code == 201
    assert resp.json["distance_m"] == pytest.approx(geodesic(pos, LH01).meters, abs=0.01)
    assert resp.json["within_geofence"] is False


# --- shifts --------------------------------------------------------------------------------------

def test_crew_on_shift_at_own_point(world):
    """Ann at LH01 during her shift: on_shift true, shift_id is her LH01 shift, no off_shift flag."""
    resp = post(world, "crew1", body_for())
    assert resp.status_code == 201, resp.json
    shifts = world.client.get("/api/v1/shifts", query_string={"crew_id": world.crew["ann"]},
                              headers=world.headers("auditor")).json["items"]
    [shift] = [s for s in shifts if s["point_code"] == "LH01"]
    assert resp.json["crew_id"] == world.crew["ann"]
    assert resp.json["on_shift"] is True
    assert resp.json["shift_id"] == shift["id"]
    assert codes(resp.json) == set()


def test_crew_at_other_point_is_stored_off_shift(world, app):
    """Dong (shift at LH02) checking in at LH01 is stored with on_shift false and flag `off_shift`."""
    resp = post(world, "crew2", body_for(position=at_distance(50, 90)))
    assert resp.status_code == 201, resp.json
    assert resp.json["crew_id"] == world.crew["dong"]
    assert resp.json["on_shift"] is False
    assert resp.json["shift_id"] is None
    assert resp.json["within_geofence"] is True
    assert codes(resp.json) == {"off_shift"}
    # a reason with no values is in the reader's language too (Chinese by default), the code stays
    assert flag(resp.json, "off_shift")["reason"] == "该作业点没有覆盖此次签到时间的班次"
    listed = world.client.get("/api/v1/checkins", headers=world.headers("crew2", **{"Accept-Language": "en"})).json["items"]
    assert [f["reason"] for f in listed[0]["flags"]] == ["no shift at this point covers the time of this check-in"]
    assert count_rows(app, "checkins") == 1


def test_checkin_recorded_before_shift_is_off_shift(world):
    """A phone time before the shift started (it began 2 h ago) is judged at that time: off shift."""
    resp = post(world, "crew1", body_for(recorded_at=datetime.now(UTC) - timedelta(hours=3)))
    assert resp.status_code == 201
    assert resp.json["on_shift"] is False and resp.json["shift_id"] is None
    assert "off_shift" in codes(resp.json)


# --- clock offset --------------------------------------------------------------------------------

@pytest.mark.parametrize("ahead_s, skewed", [(900, True), (120, False), (-900, True)])
def test_clock_offset_from_device_time_header(world, ahead_s, skewed):
    """X-Device-Time gives the phone's clock offset; more than 10 minutes either way flags `clock_skew`."""
    device = datetime.now(UTC) + timedelta(seconds=ahead_s)
    resp = post(world, "crew1", body_for(), **{"X-Device-Time": device.isoformat().replace("+00:00", "Z")})
    assert resp.status_code == 201, resp.json
    assert resp.json["clock_offset_s"] == pytest.approx(ahead_s, abs=10)
    assert ("clock_skew" in codes(resp.json)) is skewed
    if skewed:
        assert flag(resp.json, "clock_skew")["reason"]


def test_clock_offset_with_shanghai_offset_header(world):
    """A device time written in +08:00 is the same instant: a phone on time has offset ≈ 0."""
    device = datetime.now(CST)
    resp = post(world, "crew1", body_for(), **{"X-Device-Time": device.isoformat()})
    assert resp.status_code == 201
    assert resp.json["clock_offset_s"] == pytest.approx(0, abs=10)
    assert "clock_skew" not in codes(resp.json)


def test_no_device_time_header_means_no_offset(world):
    """Without X-Device-Time the offset is unknown (null), not zero, and not flagged."""
    resp = post(world, "crew1", body_for())
    assert resp.status_code == 201
    assert resp.json["clock_offset_s"] is None
    assert "clock_skew" not in codes(resp.json)


@pytest.mark.parametrize("value", ["yesterday at noon", "2024-06-01T10:00:00", "12345"])
def test_bad_device_time_header_is_400(world, rows, value):
    """An unreadable or naive X-Device-Time is a 400 problem naming the header; nothing is written."""
    before = rows()
    resp = post(world, "crew1", body_for(), **{"X-Device-Time": value})
    assert_problem(resp, 400, "X-Device-Time")
    assert rows() == before


# --- times ---------------------------------------------------------------------------------------

def test_recorded_at_kept_and_received_at_is_server_time(world):
    """The phone's time (hours ago, +08:00) is kept as sent; received_at is the server's receipt time."""
    phone_time = (datetime.now(CST) - timedelta(hours=5)).replace(microsecond=250000)
    body = body_for(recorded_at=phone_time)
    before = datetime.now(UTC)
    resp = post(world, "crew1", body)
    after = datetime.now(UTC)
    assert resp.status_code == 201
    assert parse(resp.json["recorded_at"]) == phone_time
    received = parse(resp.json["received_at"])
    assert received.tzinfo is not None
    assert before <= received <= after
    [stored] = listing(world)
    assert parse(stored["recorded_at"]) == phone_time
    assert parse(stored["received_at"]) == received


def test_skewed_phone_clock_does_not_change_recorded_at(world):
    """A phone 15 minutes fast has its offset recorded, but its recorded_at is not 'corrected'."""
    phone_time = datetime.now(UTC).replace(microsecond=0)
    resp = post(world, "crew1", body_for(recorded_at=phone_time),
                **{"X-Device-Time": (datetime.now(UTC) + timedelta(minutes=15)).isoformat()})
    assert resp.status_code == 201
    assert parse(resp.json["recorded_at"]) == phone_time


# --- idempotency ---------------------------------------------------------------------------------

def test_same_checkin_twice_with_key_is_stored_once(world, app, rows):
    """The same check-in with the same Idempotency-Key: one row, same body, second marked replayed."""
    body = body_for()
    key = str(uuid.uuid4())
    start = rows()
    first = post(world, "crew1", body, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    second = post(world, "crew1", body, **{"Idempotency-Key": key})
    assert second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.data == first.data  # byte for byte, not only the same JSON
    end = rows()
    assert end["checkins"] == start["checkins"] + 1
    assert count_rows(app, "checkins") == 1
    assert end["audit_events"] == start["audit_events"] + 1


def test_without_key_the_id_acts_as_key(world, app):
    """Without an Idempotency-Key header, the check-in's id makes the resend a replay."""
    body = body_for()
    first = post(world, "crew1", body)
    second = post(world, "crew1", body)
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json == first.json
    assert count_rows(app, "checkins") == 1


def test_same_key_different_body_is_422(world, rows):
    """The same Idempotency-Key with a different body is refused (422 problem) and writes nothing."""
    key = str(uuid.uuid4())
    first = post(world, "crew1", body_for(), **{"Idempotency-Key": key})
    assert first.status_code == 201
    before = rows()
    other = body_for(position=at_distance(100, 10))
    resp = post(world, "crew1", other, **{"Idempotency-Key": key})
    assert_problem(resp, 422, "Idempotency-Key")
    assert rows() == before
    assert other["id"] not in {c["id"] for c in listing(world)}


def test_same_id_different_content_new_key_is_409(world, rows):
    """A reused check-in id with different content under a new key is a 409 conflict; nothing changes."""
    body = body_for()
    assert post(world, "crew1", body, **{"Idempotency-Key": "k-1"}).status_code == 201
    before = rows()
    changed = dict(body, latitude=body["latitude"] + 0.001)
    resp = post(world, "crew1", changed, **{"Idempotency-Key": "k-2"})
    assert_problem(resp, 409, "id")
    assert rows() == before
    [stored] = listing(world)
    assert stored["latitude"] == body["latitude"]


def test_same_id_same_content_new_key_returns_first_checkin(world, app):
    """The same check-in under a new key answers the stored check-in (200) and creates nothing."""
    body = body_for()
    first = post(world, "crew1", body, **{"Idempotency-Key": "k-1"})
    again = post(world, "crew1", body, **{"Idempotency-Key": "k-2"})
    assert again.status_code == 200, again.json
    assert again.json["id"] == first.json["id"]
    assert again.json["distance_m"] == first.json["distance_m"]
    assert parse(again.json["received_at"]) == parse(first.json["received_at"])
    assert count_rows(app, "checkins") == 1
    assert len(audit_events(world)) == 1


def test_refused_request_does_not_burn_its_key(world, app):
    """A key whose request was refused (unknown point) can be reused for the corrected request."""
    body = body_for(point_code="LH99")
    assert post(world, "crew1", body, **{"Idempotency-Key": "fix-me"}).status_code == 422
    resp = post(world, "crew1", dict(body, point_code="LH01"), **{"Idempotency-Key": "fix-me"})
    assert resp.status_code == 201, resp.json
    assert count_rows(app, "checkins") == 1


def test_overlong_idempotency_key_is_400(world, rows):
    """An Idempotency-Key over 200 characters is refused with a problem naming the header."""
    before = rows()
    resp = post(world, "crew1", body_for(), **{"Idempotency-Key": "k" * 201})
    assert_problem(resp, 400, "Idempotency-Key")
    assert rows() == before


# --- who may check in ----------------------------------------------------------------------------

def test_crew_cannot_check_in_for_someone_else(world, rows):
    """A crew account naming another crew member's crew_id gets 403 and nothing is written."""
    before = rows()
    resp = post(world, "crew1", body_for(crew_id=world.crew["bo"]))
    assert_problem(resp, 403)
    assert rows() == before


def test_crew_may_name_its_own_crew_id(world):
    """A crew account naming its own crew_id is fine."""
    resp = post(world, "crew1", body_for(crew_id=world.crew["ann"]))
    assert resp.status_code == 201, resp.json
    assert resp.json["crew_id"] == world.crew["ann"]


def test_commander_must_name_crew_id(world, rows):
    """A commander's check-in without crew_id is a 422 naming crew_id; nothing is written."""
    before = rows()
    resp = post(world, "commander", body_for())
    assert_problem(resp, 422, "crew_id")
    assert rows() == before


def test_commander_unknown_crew_id_is_422(world, rows):
    """A commander naming a crew member who does not exist gets a 422 naming crew_id."""
    before = rows()
    resp = post(world, "commander", body_for(crew_id=99999))
    assert_problem(resp, 422, "crew_id")
    assert rows() == before


def test_commander_records_for_crew_member(world):
    """A commander can record a check-in for a named crew member, judged against that member's shift."""
    resp = post(world, "commander", body_for(crew_id=world.crew["bo"]))
    assert resp.status_code == 201, resp.json
    assert resp.json["crew_id"] == world.crew["bo"]
    assert resp.json["on_shift"] is True
    [event] = audit_events(world)
    assert event["actor"] == "commander"
    assert event["entity_id"] == resp.json["id"]


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditor_and_admin_cannot_check_in(world, rows, who):
    """Auditor and admin accounts may not write check-ins (403)."""
    before = rows()
    resp = post(world, who, body_for(crew_id=world.crew["ann"]))
    assert_problem(resp, 403)
    assert rows() == before


def test_no_token_is_401(world, rows):
    """Without a bearer token a check-in is 401 with a WWW-Authenticate challenge."""
    before = rows()
    resp = world.client.post("/api/v1/checkins", json=body_for())
    assert_problem(resp, 401)
    assert "Bearer" in resp.headers.get("WWW-Authenticate", "")
    assert rows() == before


# --- audit ---------------------------------------------------------------------------------------

def test_each_write_makes_exactly_one_audit_event(world, rows):
    """Two new check-ins make two `checkin.create` events; a replay and refused requests make none."""
    start = rows()
    a, b = body_for(), body_for(position=at_distance(800, 30))
    ra = post(world, "crew1", a, **{"Idempotency-Key": "a"})
    rb = post(world, "crew1", b)
    assert ra.status_code == rb.status_code == 201
    assert post(world, "crew1", a, **{"Idempotency-Key": "a"}).status_code == 201  # replay
    assert post(world, "crew1", body_for(point_code="LH99")).status_code == 422
    assert post(world, "crew1", dict(a, kind="depart"), **{"Idempotency-Key": "a2"}).status_code == 409
    events = audit_events(world)
    assert sorted(e["entity_id"] for e in events) == sorted([a["id"], b["id"]])
    assert {e["entity"] for e in events} == {"checkin"}
    assert {e["actor"] for e in events} == {"crew1"}
    assert rows()["audit_events"] == start["audit_events"] + 2
    by_id = {e["entity_id"]: e for e in events}
    assert by_id[b["id"]]["payload"]["within_geofence"] is False
    assert by_id[a["id"]]["payload"]["point_code"] == "LH01"


def test_a_check_in_that_fails_after_its_insert_leaves_nothing_and_frees_the_write(world, rows, monkeypatch):
    """The check-in is written in the request's own unit of work, not the session: when its audit
    event cannot be added, the row already inserted is rolled back with it, and the next write
    goes through (on SQLite the write lock was given back)."""
    from opsserver.audit import services as audit

    def broken_append(*args, **kwargs):
        raise RuntimeError("disk on fire")

    start = rows()
    monkeypatch.setattr(audit, "append", broken_append)
    failed = body_for()
    resp = post(world, "crew1", failed, **{"Idempotency-Key": "k1"})
    assert resp.status_code == 500
    assert rows() == start
    monkeypatch.undo()
    assert post(world, "crew1", body_for()).status_code == 201
    again = post(world, "crew1", failed, **{"Idempotency-Key": "k1"})  # the key was not remembered
    assert again.status_code == 201 and again.json["id"] == failed["id"]
    assert rows()["checkins"] == start["checkins"] + 2


# --- validation ----------------------------------------------------------------------------------

def _without(key):
    def change(body):
        body.pop(key)
        return body
    return change


def _with(**values):
    def change(body):
        body.update(values)
        return body
    return change


@pytest.mark.parametrize("change, field", [
    (_with(point_code="LH99"), "point_code"),
    (_with(latitude=91), "latitude"),
    (_with(longitude=-180.5), "longitude"),
    (_without("recorded_at"), "recorded_at"),
    (_with(recorded_at="2025-07-01T10:00:00"), "recorded_at"),
    (_with(recorded_at="last tuesday"), "recorded_at"),
    (_with(kind="teleport"), "kind"),
    (_with(id="not-a-uuid"), "id"),
    (_without("id"), "id"),
    (_with(accuracy_m=-5), "accuracy_m"),
], ids=["unknown-point", "latitude-91", "longitude-out", "missing-recorded_at", "naive-recorded_at",
        "garbage-recorded_at", "kind-teleport", "non-uuid-id", "missing-id", "negative-accuracy"])
def test_invalid_checkin_is_422_problem_and_writes_nothing(world, rows, change, field):
    """Malformed check-ins are refused with a 422 problem naming the field, and nothing is written."""
    before = rows()
    resp = post(world, "crew1", change(body_for()))
    assert_problem(resp, 422, field)
    assert resp.json["detail"]
    assert rows() == before


def test_invalid_json_is_400_problem(world, rows):
    """A body that is not JSON is a 400 problem and writes nothing."""
    before = rows()
    resp = world.client.post("/api/v1/checkins", data="{not json", content_type="application/json",
                             headers=world.headers("crew1"))
    assert_problem(resp, 400)
    assert rows() == before


# --- listing -------------------------------------------------------------------------------------

@pytest.fixture
def five_checkins(world):
    """Five check-ins with known outcomes, recorded 60, 50, 40, 30 and 20 minutes ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    specs = {
        "c1": ("crew1", body_for("LH01", "arrive", at_distance(20, 0), now - timedelta(minutes=60))),
        "c2": ("crew1", body_for("LH01", "arrive", at_distance(800, 90), now - timedelta(minutes=50))),
        "c3": ("crew2", body_for("LH02", "arrive", at_distance(30, 180, LH02), now - timedelta(minutes=40))),
        "c4": ("crew2", body_for("LH01", "arrive", at_distance(40, 270), now - timedelta(minutes=30))),
        "c5": ("crew1", body_for("LH01", "depart", at_distance(10, 45), now - timedelta(minutes=20))),
    }
    out = {}
    for name, (who, body) in specs.items():
        resp = post(world, who, body)
        assert resp.status_code == 201, resp.json
        out[name] = resp.json
    # what this test expects, independently of the app: c2 outside the fence, c4 off shift
    assert codes(out["c2"]) == {"outside_geofence"} and codes(out["c4"]) == {"off_shift"}
    assert all(not codes(out[n]) for n in ("c1", "c3", "c5"))
    return out


def _names(items, checkins) -> set:
    by_id = {c["id"]: n for n, c in checkins.items()}
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "an item was listed twice"
    return {by_id[i] for i in ids}


def test_list_filters(world, five_checkins):
    """GET filters by point_code, crew_id, since/until (inclusive/exclusive) and flagged."""
    c = five_checkins
    assert _names(listing(world), c) == {"c1", "c2", "c3", "c4", "c5"}
    assert _names(listing(world, point_code="LH01"), c) == {"c1", "c2", "c4", "c5"}
    assert _names(listing(world, point_code="LH02"), c) == {"c3"}
    assert _names(listing(world, crew_id=world.crew["dong"]), c) == {"c3", "c4"}
    assert _names(listing(world, crew_id=world.crew["ann"]), c) == {"c1", "c2", "c5"}
    assert _names(listing(world, since=c["c3"]["recorded_at"], until=c["c5"]["recorded_at"]), c) == {"c3", "c4"}
    assert _names(listing(world, since=c["c4"]["recorded_at"]), c) == {"c4", "c5"}
    assert _names(listing(world, until=c["c2"]["recorded_at"]), c) == {"c1"}
    assert _names(listing(world, flagged="true"), c) == {"c2", "c4"}
    assert _names(listing(world, flagged="false"), c) == {"c1", "c3", "c5"}
    assert _names(listing(world, point_code="LH01", flagged="true", crew_id=world.crew["ann"]), c) == {"c2"}


def test_list_readable_by_every_role(world, five_checkins):
    """Every role can read check-ins; without a token it is 401."""
    for who in ("crew1", "crew2", "commander", "auditor", "admin"):
        assert len(listing(world, who=who)) == 5
    assert world.client.get("/api/v1/checkins").status_code == 401


def test_list_newest_first_and_paginated_with_limit_2(world, five_checkins):
    """limit=2 gives pages of 2, 2, 1 that together list every check-in once, newest received first."""
    pages, cursor = [], None
    while True:
        q = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = world.client.get("/api/v1/checkins", query_string=q, headers=world.headers("commander"))
        assert resp.status_code == 200
        pages.append([i["id"] for i in resp.json["items"]])
        cursor = resp.json["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10, "pagination does not end"
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [i for p in pages for i in p]
    posted = [c["id"] for c in five_checkins.values()]
    assert sorted(ids) == sorted(posted)
    assert ids == list(reversed(posted))  # posted in order, so newest received is the last posted


def test_pagination_with_a_filter(world, five_checkins):
    """Pagination keeps the filter: LH01's four check-ins with limit=2 come in exactly two full pages."""
    pages, cursor = [], None
    for _ in range(5):
        q = {"point_code": "LH01", "limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = world.client.get("/api/v1/checkins", query_string=q, headers=world.headers("crew2"))
        assert resp.status_code == 200
        pages.append(resp.json["items"])
        cursor = resp.json["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2], "no empty trailing page, no missing page"
    assert _names(pages[0] + pages[1], five_checkins) == {"c1", "c2", "c4", "c5"}


def test_bad_cursor_is_400(world):
    """A cursor the API did not issue is a 400 problem naming cursor."""
    resp = world.client.get("/api/v1/checkins", query_string={"cursor": "garbage!"}, headers=world.headers("crew1"))
    assert_problem(resp, 400, "cursor")


def test_flagged_filter_matches_flags_list(world):
    """`flagged=true` lists exactly the check-ins whose `flags` are not empty, clock skew included."""
    clean = post(world, "crew1", body_for())
    skewed = post(world, "crew1", body_for(),
                  **{"X-Device-Time": (datetime.now(UTC) + timedelta(minutes=15)).isoformat()})
    assert codes(clean.json) == set()
    assert codes(skewed.json) == {"clock_skew"}
    flagged = {i["id"] for i in listing(world, flagged="true")}
    unflagged = {i["id"] for i in listing(world, flagged="false")}
    assert flagged == {skewed.json["id"]}
    assert unflagged == {clean.json["id"]}


# --- crew on site --------------------------------------------------------------------------------

def test_crew_on_site_after_arrival_and_departure(world):
    """Ann arriving inside the geofence puts her on site at LH01; her departure takes her off."""
    assert point(world)["crew_on_site"] == 0
    now = datetime.now(UTC)
    arrive = post(world, "crew1", body_for(kind="arrive", position=at_distance(120, 300),
                                           recorded_at=now - timedelta(minutes=10)))
    assert arrive.status_code == 201
    lh01 = point(world)
    assert lh01["crew_on_site"] == 1
    assert [p["crew_id"] for p in lh01["on_site"]] == [world.crew["ann"]]
    assert point(world, "LH02")["crew_on_site"] == 0
    depart = post(world, "crew1", body_for(kind="depart", position=at_distance(120, 300),
                                           recorded_at=now - timedelta(minutes=5)))
    assert depart.status_code == 201
    lh01 = point(world)
    assert lh01["crew_on_site"] == 0
    assert lh01["on_site"] == []


def test_arrival_outside_geofence_does_not_count_on_site(world):
    """An arrival 501 m away is stored but does not count as crew on site."""
    resp = post(world, "crew1", body_for(kind="arrive", position=at_distance(501, 10)))
    assert resp.status_code == 201
    lh01 = point(world)
    assert lh01["crew_on_site"] == 0
    assert lh01["on_site"] == []


def test_on_site_follows_phone_time_not_arrival_order(world):
    """A late-synced older arrival does not undo a newer departure: on site follows recorded_at."""
    now = datetime.now(UTC)
    assert post(world, "crew1", body_for(kind="depart", recorded_at=now - timedelta(minutes=5))).status_code == 201
    assert post(world, "crew1", body_for(kind="arrive", recorded_at=now - timedelta(minutes=30))).status_code == 201
    assert point(world)["crew_on_site"] == 0


def test_two_crew_on_site(world):
    """Ann and Bo (recorded by the commander) both arriving inside count as two on site."""
    assert post(world, "crew1", body_for()).status_code == 201
    body = body_for(crew_id=world.crew["bo"], position=at_distance(300, 60))
    assert post(world, "commander", body).status_code == 201
    lh01 = point(world)
    assert lh01["crew_on_site"] == 2
    assert {p["crew_id"] for p in lh01["on_site"]} == {world.crew["ann"], world.crew["bo"]}
