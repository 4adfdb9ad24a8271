"""Two app servers (gunicorn, separate processes) on one database — PostgreSQL in CI — answer as one would,
and writing at once they store every request once: no idempotency key twice, a balanced ledger, one chain."""

import threading
import uuid
from collections import Counter

from sqlalchemy import text

from opsserver.extensions import db

from .helpers.database import count_rows
from .helpers.servers import app_server, http_json
from .helpers.world import checkin_body, report_body
from .test_ammo import ledger, stock_of


def test_two_servers_give_the_same_answers(app, ops_world, db_url):
    w = ops_world
    w.activate()
    w.arrive("ann")
    token = w.tokens["commander"]
    with app_server(db_url) as (a, _), app_server(db_url) as (b, _):
        for path in ("/api/v1/status.geojson", "/api/v1/alerts", "/api/v1/points/LH01",
                     f"/api/v1/rounds/{w.round_id}"):
            sa, body_a, ha = http_json("GET", a + path, token=token)
            sb, body_b, hb = http_json("GET", b + path, token=token)
            assert sa == sb == 200, (path, body_a)
            if "generated_at" in body_a:  # the build time, not the state
                body_a.pop("generated_at"), body_b.pop("generated_at")
            if "version" in body_a:  # its time bucket may turn between the two asks: compared as the ETag below
                body_a.pop("version"), body_b.pop("version")
            assert body_a == body_b, path
            if ha.get("ETag") != hb.get("ETag"):
                # The status ETag carries a time bucket; the two requests may straddle its boundary.
                ha, hb = (http_json("GET", server + path, token=token)[2] for server in (a, b))
            assert ha.get("ETag") == hb.get("ETag")
        # An ETag from one server is good at the other: nothing of it lives in a process.
        etag = http_json("GET", a + "/api/v1/status.geojson", token=token)[2]["ETag"]
        assert http_json("GET", b + "/api/v1/status.geojson", token=token, **{"If-None-Match": etag})[0] == 304
        # A token issued by one server is refused by the other once revoked there.
        _, login, _ = http_json("POST", a + "/api/v1/auth/token",
                                {"username": "commander", "password": "password-commander"})
        fresh = login["access_token"]
        assert http_json("GET", b + "/api/v1/points/LH01", token=fresh)[0] == 200
        assert http_json("POST", a + "/api/v1/auth/logout", token=fresh)[0] == 204
        assert http_json("GET", b + "/api/v1/points/LH01", token=fresh)[0] == 401


def test_two_servers_writing_at_once_store_everything_once(app, ops_world, db_url):
    w = ops_world
    w.ready_to_fire()
    token = w.tokens["crew1"]
    checkins_before = count_rows(app, "checkins")
    threads_n, checkins_each, reports_each = 6, 6, 3
    twins = [checkin_body() for _ in range(4)]  # each sent to both servers at once, with the same key
    results: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    with app_server(db_url) as (a, _), app_server(db_url) as (b, _):
        servers = [a, b]
        barrier = threading.Barrier(threads_n)

        def sender(n: int):
            base = servers[n % 2]
            barrier.wait(timeout=60)
            out = []
            for twin in twins:
                status, body, _ = http_json("POST", base + "/api/v1/checkins", twin, token,
                                            **{"Idempotency-Key": f"twin-{twin['id']}"})
                out.append(("twin", status, body))
            for _ in range(checkins_each):
                body = checkin_body()
                out.append(("checkin", *http_json("POST", base + "/api/v1/checkins", body, token,
                                                  **{"Idempotency-Key": str(uuid.uuid4())})[:2]))
            for _ in range(reports_each):
                out.append(("report", *http_json("POST", base + f"/api/v1/rounds/{w.round_id}/reports",
                                                 report_body(), token)[:2]))
            with lock:
                results.extend(out)

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)

    assert len(results) == threads_n * (len(twins) + checkins_each + reports_each)
    assert all(status in (200, 201) for _, status, _ in results), [r for r in results if r[1] not in (200, 201)]
    # Every copy of a twin got the same answer, and it was stored once.
    for twin in twins:
        answers = [body for kind, _, body in results if kind == "twin" and body["id"] == twin["id"]]
        assert len(answers) == threads_n and all(a == answers[0] for a in answers)
    assert count_rows(app, "checkins") == checkins_before + len(twins) + threads_n * checkins_each
    with app.app_context():
        doubled = db.session.execute(text(
            "SELECT account_id, key FROM idempotency_records GROUP BY account_id, key HAVING count(*) > 1")).all()
    assert doubled == []
    # The ledger balances: one consumption entry per report, stock = receipts − consumption.
    reports = [body for kind, _, body in results if kind == "report"]
    consumption = ledger(w, kind="consumption")
    assert Counter(e["report_id"] for e in consumption) == Counter({r["id"]: 1 for r in reports})
    receipts = sum(e["quantity"] for e in ledger(w, point_code="LH01", kind="receipt"))
    assert stock_of(w, "LH01") == {"RKT-AGI": receipts - len(reports)}
    verified = w.get("auditor", "/api/v1/audit/verify").json
    assert verified["ok"] is True, verified
    with app.app_context():
        seqs = db.session.execute(text("SELECT seq FROM audit_events ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, len(seqs) + 1))  # no gaps, no forks
