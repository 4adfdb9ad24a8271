"""Regression tests for faults found in review: most failed before their fix, the rest pin what surrounds it."""

import threading
import uuid
from datetime import date, timedelta

import pytest

from opsserver.database.utc import now_utc

from .helpers.database import count_rows


def _checkin(point="LH01", **extra):
    return {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": 33.58, "longitude": 114.02,
            "accuracy_m": 5.0, "recorded_at": now_utc().isoformat(), **extra}


def test_far_future_certificate_is_refused_and_a_long_one_keeps_the_feed_up(world):
    """Year 9999 overflowed the certificate rule and took the status feed down; it is now a 422."""
    body = {"name": "Forever", "phone": "13900000009", "certificate_no": "CERT-forever", "home_point": "LH01"}
    resp = world.client.post("/api/v1/crew", json={**body, "certificate_expires": "9999-12-31"},
                             headers=world.headers("commander"))
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "certificate_expires"
    resp = world.client.post("/api/v1/crew", json={**body, "certificate_expires": "2100-12-31"},
                             headers=world.headers("commander"))
    assert resp.status_code == 201
    crew_id = resp.json["id"]
    assert world.client.post("/api/v1/checkins", json=_checkin(crew_id=crew_id),
                             headers=world.headers("commander")).status_code == 201
    for url in ("/api/v1/status", "/api/v1/points", "/api/v1/points/LH01/clearance?azimuth=10"):
        assert world.client.get(url, headers=world.headers("commander")).status_code == 200, url


def test_report_id_reused_with_other_content_is_409(ops_world, app):
    """A corrected report under the same id is refused, not answered with the old report."""
    start = now_utc()
    import time_machine

    with time_machine.travel(start - timedelta(minutes=10), tick=True):
        ops_world.activate()
    first = ops_world.report(started=start - timedelta(minutes=5))
    assert first.status_code == 201
    body = {"id": first.json["id"], "point_code": "LH01", "started_at": first.json["started_at"],
            "ended_at": first.json["ended_at"], "azimuth_deg": 200.0, "elevation_deg": 55.0,
            "ammo": [{"type": "RKT-AGI", "fired": 6, "duds": 0}]}
    again = ops_world.post("crew1", f"/api/v1/rounds/{ops_world.round_id}/reports", body,
                           **{"Idempotency-Key": "a-new-key"})
    assert again.status_code == 409
    assert count_rows(app, "firing_reports") == 1


def test_parallel_wrong_passwords_cannot_pass_the_lockout(world, app):
    """Guesses sent at once are counted under the write lock: at most ten are tried, then 429."""
    statuses = []

    def guess():
        client = app.test_client()
        statuses.append(client.post("/api/v1/auth/token", json={"username": "auditor",
                                                                "password": "wrong-password"}).status_code)

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(401) <= 10 and statuses.count(401) + statuses.count(429) == 16
    right = world.client.post("/api/v1/auth/token", json={"username": "auditor", "password": "password-auditor"})
    assert right.status_code == 429


@pytest.mark.parametrize("method,url,body", [
    ("get", "/api/v1/rounds/99999999999999999999", None),
    ("post", "/api/v1/ammo/movements", {"point_code": "LH01", "ammo_type": "X", "quantity": 10**20,
                                        "kind": "receipt"}),
    ("post", "/api/v1/checkins", _checkin(crew_id=10**20)),
    ("post", "/api/v1/checkins", {**_checkin(crew_id=1), "recorded_at": "0001-01-01T00:00:00+08:00"}),
    ("get", "/api/v1/points/LH01/clearance?azimuth=10&at=9999-12-31T23:59:59-14:00", None),
    ("get", "/api/v1/checkins?since=0001-01-01T00:00:00%2B08:00", None),
])
def test_absurd_but_well_formed_input_is_a_4xx(world, method, url, body):
    """Huge integers and out-of-range years are refused with problem+json, never a 500."""
    resp = getattr(world.client, method)(url, json=body, headers=world.headers("commander")) if body is not None \
        else world.client.get(url, headers=world.headers("commander"))
    assert 400 <= resp.status_code < 500, resp.json
    assert resp.content_type == "application/problem+json"


def test_a_bad_sync_item_does_not_cost_the_others_their_answers(world, app):
    """An item with an absurd round id gets its own 4xx; the item before it keeps its 201."""
    items = [{"type": "checkin", **_checkin()}, {"type": "report", "round_id": 10**20, "id": str(uuid.uuid4())}]
    resp = world.client.post("/api/v1/sync", json={"items": items}, headers=world.headers("crew1"))
    assert resp.status_code == 200
    assert [i["status"] for i in resp.json["items"]] == [201, 422]
    assert count_rows(app, "checkins") == 1


def test_certificate_valid_through_its_last_local_day():
    """The date rule: valid all of the expiry day in local time, not a microsecond after."""
    from datetime import UTC, datetime

    import rules
    expires = date(2026, 12, 1)
    assert rules.certificate_problem(expires, datetime(2026, 12, 1, 4, tzinfo=UTC),
                                     datetime(2026, 12, 1, 16, tzinfo=UTC), "Asia/Shanghai") is None
    assert rules.certificate_problem(expires, datetime(2026, 12, 1, 4, tzinfo=UTC),
                                     datetime(2026, 12, 1, 16, 0, 0, 1, tzinfo=UTC), "Asia/Shanghai")
