"""The phone sync queue (`POST /api/v1/sync`): one result per item, in order, each as if sent alone;
re-sent queues and duplicate items create nothing new; per-item idempotency keys are honoured.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from geopy.distance import geodesic

from .helpers.database import count_rows
from .helpers.problems import PROBLEM_KEYS, assert_problem

LH01 = (33.58, 114.02)  # world's LH01, geofence 500 m


# --- helpers -------------------------------------------------------------------------------------

def at_distance(metres: float, bearing: float, origin=LH01) -> tuple[float, float]:
    """A position `metres` from `origin` on a geodesic at `bearing` degrees."""
    dest = geodesic(meters=metres).destination(origin, bearing)
    return dest.latitude, dest.longitude


def item_for(position=LH01, minutes_ago=5, kind="arrive", point_code="LH01", **extra) -> dict:
    """A queued check-in item with a fresh UUID."""
    lat, lon = position
    item = {"type": "checkin", "id": str(uuid.uuid4()), "point_code": point_code, "kind": kind,
            "latitude": lat, "longitude": lon, "accuracy_m": 12.0,
            "recorded_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()}
    item.update(extra)
    return item


def sync(world, who, items, **headers):
    return world.client.post("/api/v1/sync", json={"items": items}, headers=world.headers(who, **headers))


def results(resp) -> list[dict]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json["items"]


def stored_ids(world) -> list[str]:
    items, cursor = [], None
    while True:
        q = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        resp = world.client.get("/api/v1/checkins", query_string=q, headers=world.headers("auditor"))
        assert resp.status_code == 200
        items += [i["id"] for i in resp.json["items"]]
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def fields(problem: dict) -> list[str]:
    return [e["field"] for e in problem["errors"]]


# --- a queue with good and bad items ---------------------------------------------------------------

@pytest.fixture
def queue():
    """Three good check-ins (one outside the fence), one malformed check-in and one unknown type."""
    return [
        item_for(at_distance(100, 0), minutes_ago=30),
        item_for(at_distance(800, 120), minutes_ago=20),   # outside: stored and flagged
        item_for(at_distance(50, 240), minutes_ago=40, kind="depart"),  # older than the others: out of order
        item_for(latitude=91),
        {"type": "weather_balloon", "id": str(uuid.uuid4()), "altitude_m": 3000},
    ]


def test_queue_answers_one_result_per_item_in_order(world, rows, queue):
    """Five items give five results in order: 201, 201, 201, 422 (naming latitude), 422 (naming type)."""
    start = rows()
    out = results(sync(world, "crew1", queue))
    assert [r["status"] for r in out] == [201, 201, 201, 422, 422]
    assert [r["id"] for r in out] == [i["id"] for i in queue]
    for item, result in zip(queue[:3], out[:3]):
        body = result["body"]
        assert body["id"] == item["id"]
        assert body["crew_id"] == world.crew["ann"]
        assert body["distance_m"] == pytest.approx(geodesic((item["latitude"], item["longitude"]), LH01).meters,
                                                   abs=0.01)
        assert "problem" not in result
    assert out[1]["body"]["within_geofence"] is False
    assert "outside_geofence" in {f["code"] for f in out[1]["body"]["flags"]}
    for result, field in ((out[3], "latitude"), (out[4], "type")):
        assert "body" not in result
        assert PROBLEM_KEYS <= set(result["problem"])
        assert result["problem"]["status"] == 422
        assert field in fields(result["problem"])
    end = rows()
    assert end["checkins"] == start["checkins"] + 3
    assert end["audit_events"] == start["audit_events"] + 3
    assert sorted(stored_ids(world)) == sorted(i["id"] for i in queue[:3])


def test_resending_the_queue_creates_nothing(world, app, rows, queue):
    """Sending the same queue again answers the first results for the good items and writes nothing."""
    first = results(sync(world, "crew1", queue))
    before = rows()
    again = results(sync(world, "crew1", queue))
    assert rows() == before
    assert [r["id"] for r in again] == [i["id"] for i in queue]
    assert [r["status"] for r in again][3:] == [422, 422]
    for old, new in zip(first[:3], again[:3]):
        assert new["status"] in (200, 201)
        assert new["body"] == old["body"]
    assert count_rows(app, "checkins") == 3


def test_same_item_twice_in_one_queue_is_stored_once(world, rows):
    """A queue carrying the same check-in twice stores it once and answers the same body twice."""
    item = item_for()
    start = rows()
    out = results(sync(world, "crew1", [item, dict(item)]))
    assert [r["status"] for r in out][0] == 201
    assert out[1]["status"] in (200, 201)
    assert out[0]["body"] == out[1]["body"]
    end = rows()
    assert end["checkins"] == start["checkins"] + 1
    assert end["audit_events"] == start["audit_events"] + 1


def test_item_idempotency_key_is_honoured(world, rows):
    """An item's idempotency_key replays the same item and refuses (422) a different one under it."""
    item = item_for(idempotency_key="phone-7-q-1")
    first = results(sync(world, "crew1", [item]))
    assert first[0]["status"] == 201
    before = rows()
    replay = results(sync(world, "crew1", [dict(item)]))
    assert replay[0]["status"] in (200, 201)
    assert replay[0]["body"] == first[0]["body"]
    other = item_for(position=at_distance(200, 10), idempotency_key="phone-7-q-1")
    reused = results(sync(world, "crew1", [other]))
    assert reused[0]["status"] == 422
    assert reused[0]["id"] == other["id"]
    assert PROBLEM_KEYS <= set(reused[0]["problem"])
    assert rows() == before
    assert other["id"] not in stored_ids(world)


def test_same_id_under_new_key_with_other_content_is_409(world, rows):
    """A queued item reusing a stored id with other content under another key answers 409 for that item."""
    item = item_for(idempotency_key="a")
    assert results(sync(world, "crew1", [item]))[0]["status"] == 201
    before = rows()
    changed = dict(item, idempotency_key="b", kind="depart")
    out = results(sync(world, "crew1", [changed]))
    assert out[0]["status"] == 409
    assert "id" in fields(out[0]["problem"])
    assert rows() == before


def test_sync_and_direct_post_share_idempotency(world, rows):
    """A check-in first posted directly and then synced from the queue is not stored twice."""
    item = item_for()
    payload = {k: v for k, v in item.items() if k != "type"}
    direct = world.client.post("/api/v1/checkins", json=payload, headers=world.headers("crew1"))
    assert direct.status_code == 201
    before = rows()
    out = results(sync(world, "crew1", [item]))
    assert out[0]["status"] in (200, 201)
    assert out[0]["body"] == direct.json
    assert rows() == before


def test_one_bad_item_does_not_undo_the_others(world, app):
    """Items are applied one by one: a refused item between two good ones leaves both stored."""
    good1, good2 = item_for(minutes_ago=10), item_for(minutes_ago=9)
    bad = item_for(point_code="LH99")
    out = results(sync(world, "crew1", [good1, bad, good2]))
    assert [r["status"] for r in out] == [201, 422, 201]
    assert "point_code" in fields(out[1]["problem"])
    assert sorted(stored_ids(world)) == sorted([good1["id"], good2["id"]])
    assert count_rows(app, "checkins") == 2


def test_item_for_another_crew_member_is_403_for_that_item(world, app):
    """A crew account's queued item for someone else is a 403 result; the rest of the queue is applied."""
    other = item_for(crew_id=world.crew["bo"])
    mine = item_for()
    out = results(sync(world, "crew1", [other, mine]))
    assert [r["status"] for r in out] == [403, 201]
    assert PROBLEM_KEYS <= set(out[0]["problem"])
    assert stored_ids(world) == [mine["id"]]


def test_commander_sync_item_must_name_crew_id(world):
    """A commander's queued check-in without crew_id is a 422 naming crew_id; with it, it is stored."""
    out = results(sync(world, "commander", [item_for(), item_for(crew_id=world.crew["cai"])]))
    assert [r["status"] for r in out] == [422, 201]
    assert "crew_id" in fields(out[0]["problem"])
    assert out[1]["body"]["crew_id"] == world.crew["cai"]


def test_device_time_header_applies_to_queued_items(world):
    """The X-Device-Time of the sync request gives each stored item its clock offset."""
    device = datetime.now(UTC) + timedelta(minutes=15)
    out = results(sync(world, "crew1", [item_for(), item_for()], **{"X-Device-Time": device.isoformat()}))
    for result in out:
        assert result["status"] == 201
        assert result["body"]["clock_offset_s"] == pytest.approx(900, abs=10)
        assert "clock_skew" in {f["code"] for f in result["body"]["flags"]}


def test_bad_device_time_header_on_sync_is_400(world, rows):
    """An unreadable X-Device-Time refuses the whole sync request (400 naming the header), writing nothing."""
    before = rows()
    resp = sync(world, "crew1", [item_for()], **{"X-Device-Time": "soon"})
    assert_problem(resp, 400, "X-Device-Time")
    assert rows() == before


@pytest.mark.parametrize("key", ["k" * 201, {"not": "a string"}], ids=["overlong", "object"])
def test_bad_item_idempotency_key_is_422_for_that_item(world, rows, key):
    """A malformed item idempotency_key is a 422 for that item (naming it); the rest of the queue is applied."""
    good = item_for()
    before = rows()
    out = results(sync(world, "crew1", [good, item_for(idempotency_key=key)]))
    assert [r["status"] for r in out] == [201, 422]
    assert "idempotency_key" in fields(out[1]["problem"])
    assert stored_ids(world) == [good["id"]]
    assert rows()["checkins"] == before["checkins"] + 1


@pytest.mark.parametrize("payload, field", [
    ({"items": []}, "items"),
    ({}, "items"),
    ({"items": "checkin"}, "items"),
])
def test_empty_or_missing_items_is_422(world, rows, payload, field):
    """A sync request without a list of at least one item is a 422 problem naming items."""
    before = rows()
    resp = world.client.post("/api/v1/sync", json=payload, headers=world.headers("crew1"))
    assert_problem(resp, 422, field)
    assert rows() == before


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_sync_by_auditor_or_admin_is_403(world, rows, who):
    """Only crew and commanders may sync; auditor and admin get 403 and nothing is written."""
    before = rows()
    resp = sync(world, who, [item_for(crew_id=world.crew["ann"])])
    assert_problem(resp, 403)
    assert rows() == before


def test_sync_without_token_is_401(world, rows):
    """A sync without a bearer token is 401."""
    before = rows()
    resp = world.client.post("/api/v1/sync", json={"items": [item_for()]})
    assert_problem(resp, 401)
    assert rows() == before


def test_an_item_that_fails_after_its_insert_leaves_nothing_for_the_next_item_to_commit(world, monkeypatch):
    """Items of one queue share the request's connection: a check-in whose audit event fails after its
    row was inserted is rolled back there and then, so the next item's commit cannot carry it along."""
    from opsserver.audit import services as audit

    real_append, calls = audit.append, []

    def append_failing_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return real_append(*args, **kwargs)

    monkeypatch.setattr(audit, "append", append_failing_once)
    events_before = count_rows(world.client.application, "audit_events")
    failed, good = item_for(), item_for()
    out = results(sync(world, "crew1", [failed, good]))
    assert [r["status"] for r in out] == [500, 201]
    monkeypatch.undo()
    ids = stored_ids(world)
    assert good["id"] in ids and failed["id"] not in ids
    assert count_rows(world.client.application, "audit_events") == events_before + 1
