"""The reviewer's holes in the signed checkpoints (issue 14 item 4): nothing is signed over broken links, a
quiet head is pinned by a timer, old-cut manifests do not hold off the head's checkpoints, the whole file is
read (junk in it is a failure), and a second server does not silently make a key of its own.

Kept beside tests/test_checkpoints.py (whose fixtures and helpers it uses) so no module passes 400 lines.
"""

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from opsserver.audit import checkpoints, timer
from opsserver.audit.services import event_hash
from opsserver.database.utc import now_utc
from opsserver.extensions import db

from . import test_checkpoints
from .test_checkpoints import checkin, delete_newest_events, drop_guards, head_seq, table_rows, verify

paths = test_checkpoints.paths  # the autouse fixture: this test's own signing key and checkpoint file
pytestmark = pytest.mark.world_built_here  # the world's writes signed with that key


def _tamper_one_event(app, seq: int) -> None:
    """Change event `seq`'s payload and recompute its own hash only: its link to the next one breaks."""
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq}).mappings().one()
        payload = json.dumps({**json.loads(row["payload"]), "tampered": True})
        at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"])
        h = event_hash(row["seq"], at, row["actor"], row["action"], row["entity"], row["entity_id"], payload,
                       row["prev_hash"])
        db.session.execute(text("UPDATE audit_events SET payload = :p, hash = :h WHERE seq = :s"),
                           {"p": payload, "h": h, "s": seq})
        db.session.commit()


def _lh01_event_mid_chain(app) -> int:
    with app.app_context():
        return db.session.execute(text(
            "SELECT max(seq) FROM audit_events WHERE payload LIKE '%\"point_code\":\"LH01\"%' "
            "AND seq < (SELECT max(seq) FROM audit_events)")).scalar_one()


def test_nothing_is_signed_over_a_chain_whose_links_are_broken(app, world):
    """A mid-chain LH01 event changed (its own hash recomputed): verification says broken, and neither the
    filtered export nor its manifest is signed over it (409); a write due for a checkpoint still succeeds
    but signs none."""
    for _ in range(3):
        checkin(world)
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    for _ in range(3):
        checkin(world)
    drop_guards(app)
    _tamper_one_event(app, _lh01_event_mid_chain(app))
    assert verify(world)["ok"] is False
    auditor = world.headers("auditor")
    exp = world.client.get("/api/v1/audit/export?format=jsonl&point_code=LH01", headers=auditor)
    assert exp.status_code == 409, exp.status_code
    assert exp.headers["Content-Type"].startswith("application/problem+json")
    head = head_seq(app)
    man = world.client.get(f"/api/v1/audit/export/manifest?format=jsonl&point_code=LH01&upto_seq={head}",
                           headers=auditor)
    assert man.status_code == 409, man.status_code
    before = table_rows(app)
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        checkin(world)
    assert table_rows(app) == before  # the write stood; nothing was signed over the broken links


def test_a_write_due_for_a_checkpoint_checks_the_links_since_the_last_mark(app, world):
    """The links are checked incrementally in the writing transaction too: an event written after the last
    checkpoint, then changed, stops the next checkpoint."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    checkin(world)
    checkin(world)
    drop_guards(app)
    _tamper_one_event(app, head_seq(app) - 1)
    before = table_rows(app)
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        checkin(world)
    assert table_rows(app) == before


def test_a_quiet_head_is_pinned_by_the_timer(app, world):
    """The last events before a quiet period get their checkpoint without a later write."""
    app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"] = 1
    checkin(world)
    checkin(world)
    head = head_seq(app)
    deadline = time.monotonic() + 60  # a generous bound: the timer signs within about two intervals
    while max((r["length"] for r in table_rows(app)), default=0) < head and time.monotonic() < deadline:
        time.sleep(0.2)
    assert max(r["length"] for r in table_rows(app)) == head
    assert verify(world)["ok"] is True


def test_old_cut_manifests_do_not_hold_off_the_head_checkpoints(app, world):
    """An auditor's script asking every minute for the manifest of an old cut inserts short checkpoints; the
    writes still pin the head every minute (due is reckoned from the longest checkpoint)."""
    base = now_utc()
    for minute in range(1, 6):
        with time_machine.travel(base + timedelta(seconds=61 * minute), tick=True):
            r = world.client.get("/api/v1/audit/export/manifest?upto_seq=1", headers=world.headers("auditor"))
            assert r.status_code == 200
            checkin(world)
    assert max(r["length"] for r in table_rows(app)) == head_seq(app)


def test_junk_in_the_checkpoint_file_is_a_failure_naming_its_line(app, world, paths):
    """Lines that are not JSON cannot blind the file: verification fails and names the first one."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    lines = len(paths["file"].read_text(encoding="utf-8").splitlines())
    with paths["file"].open("a", encoding="utf-8") as f:
        f.write("x\n" * 40000)
    checkpoints._states.clear()  # as a restarted process
    result = verify(world)
    assert result["ok"] is False and f"line {lines + 1}" in result["reason"], result


def test_the_longest_checkpoint_counts_wherever_it_is_in_the_file(app, world, paths):
    """The longest checkpoint far from the end of a big file (64 KiB of genuine short ones after it) still
    pins the chain: deleting the events it covers is found."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    short = paths["file"].read_text(encoding="utf-8").splitlines()[0]
    drop_guards(app, ("audit_events", "audit_checkpoints"))
    delete_newest_events(app, 5)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_checkpoints"))
        db.session.commit()
    with paths["file"].open("a", encoding="utf-8") as f:
        f.write((short + "\n") * (70 * 1024 // len(short) + 1))
    checkpoints._states.clear()
    result = verify(world)
    assert result["ok"] is False and "missing" in result["reason"], result


def test_init_db_refuses_a_new_key_beside_another_key_s_checkpoints(app, world, runner, paths, tmp_path):
    """A second server whose key file is absent does not make a key of its own when the table holds
    checkpoints of another key: it says to copy the first server's key file."""
    assert table_rows(app)
    other = tmp_path / "second-server" / "audit-signing-key.pem"
    app.config["OPS_AUDIT_KEY_FILE"] = str(other)
    checkpoints._states.clear()
    result = runner.invoke(args=["ops", "init-db"])
    assert result.exit_code != 0
    assert "OPS_AUDIT_KEY_FILE" in result.output and "copy" in result.output, result.output
    assert not other.exists()
    app.config["OPS_AUDIT_KEY_FILE"] = str(paths["key"])
    checkpoints._states.clear()
    assert runner.invoke(args=["ops", "init-db"]).exit_code == 0


def test_stopping_the_timer_ends_its_thread(app, world):
    """The app fixture stops the timer before it drops the database: a timer left running would fail to
    connect and log it from its own thread (Python 3.11's traceback then parses source while a test may)."""
    checkin(world)  # a request starts the timer
    running = [t for t in threading.enumerate() if t.name == "audit-checkpoint-timer" and t.app() is app]
    assert len(running) == 1
    timer.stop(app)
    assert not running[0].is_alive()
