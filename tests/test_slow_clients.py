"""Phones on a weak signal against the served configuration (nginx front, gunicorn sync workers).

Fifty clients trickle their request bodies (logins and check-ins, a byte at a time) or stall half-way;
meanwhile /healthz and a healthy phone's check-in answer at once, every trickled request is served
whole, and every stalled one is cut off by the front after its body timeout (15 s) with nothing stored
(nginx sends no answer to a peer that has timed out: the phone's queue sends it again later, with the
same Idempotency-Key). Against gunicorn alone (no
front) the two sync workers are held by the first two slow clients and the healthy requests time out.
"""

import json
import uuid

from sqlalchemy import text

from opsserver.database.utc import now_utc
from opsserver.extensions import db

from .helpers.servers import http_json, served
from .helpers.slow import SlowClient, start_slow_clients

HEALTHY_TIMEOUT_S = 5  # a liveness bound, far above the 1 s target the benchmark measures (bench/slow_clients.py)


def checkin_bytes(token_id: str) -> bytes:
    body = {"id": token_id, "point_code": "LH01", "kind": "arrive", "latitude": 33.5801, "longitude": 114.0201,
            "recorded_at": now_utc().isoformat()}
    return json.dumps(body, separators=(",", ":")).encode()


def stored(app, ids: list[str]) -> set[str]:
    with app.app_context():
        found = db.session.execute(text("SELECT id FROM checkins")).scalars()
        return set(found) & set(ids)


def test_fifty_slow_clients_do_not_stop_the_server(app, world, db_url):
    crew = world.tokens["crew1"]
    auth = {"Authorization": f"Bearer {crew}"}
    with served(db_url) as s:
        logins = [SlowClient(s.port, "/api/v1/auth/token",
                             json.dumps({"username": "commander", "password": "password-commander"}).encode(),
                             interval=0.3) for _ in range(20)]
        trickled_ids = [str(uuid.uuid4()) for _ in range(20)]
        checkins = [SlowClient(s.port, "/api/v1/checkins", checkin_bytes(i), interval=0.08,
                               headers={**auth, "Idempotency-Key": f"slow-{i}"}) for i in trickled_ids]
        stalled_ids = [str(uuid.uuid4()) for _ in range(10)]
        stalled = [SlowClient(s.port, "/api/v1/checkins", checkin_bytes(i), stall_after=20, interval=0.1,
                              headers={**auth, "Idempotency-Key": f"stalled-{i}"}) for i in stalled_ids]
        slow = logins + checkins + stalled
        start_slow_clients(slow)
        assert all(c.is_alive() for c in slow), "every slow client is still sending"

        # While all fifty are connected: liveness, and a check-in from a phone with a good signal.
        for _ in range(3):
            status, answer, _ = http_json("GET", s.base + "/healthz", timeout=HEALTHY_TIMEOUT_S)
            assert (status, answer) == (200, {"status": "ok"})
        healthy_id = str(uuid.uuid4())
        status, answer, _ = http_json("POST", s.base + "/api/v1/checkins", json.loads(checkin_bytes(healthy_id)),
                                      crew, timeout=HEALTHY_TIMEOUT_S, **{"Idempotency-Key": f"ok-{healthy_id}"})
        assert status == 201, answer
        assert any(c.is_alive() for c in slow), "the healthy requests were answered while slow clients were on"

        for c in slow:
            c.join(timeout=120)
        # Trickled requests are served whole; stalled ones are closed by the front, not held forever.
        assert [c.status for c in logins] == [200] * 20, [c.error for c in logins]
        assert [c.status for c in checkins] == [201] * 20, [c.error for c in checkins]
        assert all(not c.is_alive() and c.status is None for c in stalled), [c.answer[:200] for c in stalled]
    # Nothing half-stored: every trickled check-in once, no stalled one.
    assert stored(app, trickled_ids + [healthy_id]) == set(trickled_ids + [healthy_id])
    assert stored(app, stalled_ids) == set()
