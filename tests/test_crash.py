"""Crash durability: kill the app server with SIGKILL while phones write, restart it, and prove that every
request that got a 2xx is stored whole, that nothing half-written shows, that the audit chain verifies,
and that sending every request again stores nothing twice.

It runs through the served configuration: phones talk to the nginx front, which stays up while gunicorn
behind it is killed (requests in flight then get the front's 503 problem, never a 2xx).

Runs on the suite's database: an SQLite file, or PostgreSQL when TEST_DATABASE_URL is set (in CI).
"""

import http.client
import os
import signal
import threading
import time

from sqlalchemy import text

from opsserver.extensions import db

from .helpers.world import checkin_body, report_body
from .helpers.servers import http_json, served

SENDERS = 6


def checkin() -> tuple[str, dict, dict]:
    body = checkin_body()
    return "/api/v1/checkins", body, {"Idempotency-Key": f"crash-checkin-{body['id']}"}


def report(round_id: int) -> tuple[str, dict, dict]:
    body = report_body()
    return f"/api/v1/rounds/{round_id}/reports", body, {"Idempotency-Key": f"crash-report-{body['id']}"}


def query(app, sql: str, **params):
    with app.app_context():
        return db.session.execute(text(sql), params).all()


def test_sigkill_loses_no_acknowledged_write_and_replay_stores_nothing_twice(app, ops_world, db_url):
    w = ops_world
    w.ready_to_fire()
    token = w.tokens["crew1"]
    sent: list[tuple[str, dict, dict]] = []  # every request tried, acknowledged or not
    acked: list[tuple[str, dict, dict, int, dict]] = []
    lock = threading.Lock()
    stop = threading.Event()

    with served(db_url) as front:
        base = front.base

        def sender(n: int):
            i = 0
            while not stop.is_set():
                i += 1
                path, body, headers = report(w.round_id) if i % 3 == 0 else checkin()
                with lock:
                    sent.append((path, body, headers))
                try:
                    status, answer, _ = http_json("POST", base + path, body, token, **headers)
                except (OSError, http.client.HTTPException):
                    continue  # the server died under this request, maybe mid-answer: no whole answer, no promise
                if 200 <= status < 300:
                    with lock:
                        acked.append((path, body, headers, status, answer))

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(front.app.pid, signal.SIGKILL)  # gunicorn's master and workers, mid-write
        front.app.wait()
        # The front stays up and says so: a 503 problem, never a 2xx, while no app server answers.
        status, answer, headers = http_json("POST", base + "/api/v1/checkins", checkin_body(), token)
        assert status == 503 and answer["status"] == 503, answer
        assert headers["Content-Type"] == "application/problem+json" and headers["Retry-After"] == "5"
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert len(acked) >= 60, "the server was killed before enough writes were acknowledged"

    with served(db_url) as front:
        base = front.base
        # 1. Every acknowledged write is there, whole: its row, its audit event, its idempotency record,
        #    and for a report its ammunition and ledger entry.
        stored_checkins = {r[0] for r in query(app, "SELECT id FROM checkins")}
        stored_reports = {r[0] for r in query(app, "SELECT id FROM firing_reports")}
        audited = {(r[0], r[1]) for r in query(app, "SELECT entity, entity_id FROM audit_events "
                                                    "WHERE entity IN ('checkin', 'firing_report')")}
        keys = {r[0] for r in query(app, "SELECT key FROM idempotency_records")}
        for path, body, headers, status, answer in acked:
            assert answer["id"] == body["id"]
            assert headers["Idempotency-Key"] in keys
            if path.endswith("/checkins"):
                assert body["id"] in stored_checkins and ("checkin", body["id"]) in audited
            else:
                assert body["id"] in stored_reports and ("firing_report", body["id"]) in audited
        # 2. Nothing half-written: every stored row has its audit event, every report its ledger entry.
        assert {("checkin", i) for i in stored_checkins} <= audited
        assert {("firing_report", i) for i in stored_reports} <= audited
        consumption = query(app, "SELECT report_id, count(*) FROM ledger_entries WHERE kind = 'consumption' "
                                 "GROUP BY report_id")
        assert {r[0]: r[1] for r in consumption} == {i: 1 for i in stored_reports}
        # 3. The chain verifies and has no gaps.
        status, verified, _ = http_json("GET", base + "/api/v1/audit/verify", token=w.tokens["auditor"])
        assert status == 200 and verified["ok"] is True, verified
        seqs = [r[0] for r in query(app, "SELECT seq FROM audit_events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))

        # 4. Every request again, acknowledged or not: the acknowledged ones answer as before, and
        #    nothing is stored twice.
        before = stored_checkins | stored_reports
        replies = {}
        for path, body, headers in sent:
            status, answer, reply_headers = http_json("POST", base + path, body, token, **headers)
            assert status in (200, 201), (status, answer)
            replayed = status == 200 or reply_headers.get("Idempotent-Replayed") == "true"
            replies[body["id"]] = (replayed, answer)
        for path, body, headers, status, answer in acked:
            assert replies[body["id"]] == (True, answer)  # a replay, with the first answer
        assert all(replayed for i, (replayed, _) in replies.items() if i in before)
        checkins_after = [r[0] for r in query(app, "SELECT id FROM checkins")]
        reports_after = [r[0] for r in query(app, "SELECT id FROM firing_reports")]
        assert set(checkins_after) | set(reports_after) == before | set(replies)
        consumption = query(app, "SELECT report_id, count(*) FROM ledger_entries WHERE kind = 'consumption' "
                                 "GROUP BY report_id")
        assert {r[0]: r[1] for r in consumption} == {i: 1 for i in reports_after}
        status, verified, _ = http_json("GET", base + "/api/v1/audit/verify", token=w.tokens["auditor"])
        assert verified["ok"] is True
