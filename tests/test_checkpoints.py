"""The audit head is pinned: signed Ed25519 checkpoints in their own append-only table and in a plain file.

A checkpoint (length = the last sequence number, head hash, time, signature) is signed at least every
minute while there are writes (in the writing transaction, read from a per-process cache so that a
check-in between checkpoints costs no query) and with every export. Verification (API, CLI, offline)
checks the chain against the latest checkpoints of the table and of the file; deleting the newest
events behind the app's back is found, and so is a cut, empty or re-chained export file.
"""

import hashlib
import json
import os
import stat
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from opsserver import create_app
from opsserver.audit import checkpoints, signing
from opsserver.audit import services as audit
from opsserver.audit.exports import verify_jsonl
from opsserver.audit.models import AuditCheckpoint
from opsserver.audit.services import canonical_json, event_hash
from opsserver.database.utc import now_utc
from opsserver.database.writelock import begin_write
from opsserver.extensions import db

from .helpers.world import checkin_body, parse

# The world's writes must be signed with this test's own key (the `paths` fixture), not the session's.
pytestmark = pytest.mark.world_built_here


@pytest.fixture(autouse=True)
def paths(app, tmp_path):
    """This test's own signing key and checkpoint file (in a folder that does not exist yet)."""
    app.config["OPS_AUDIT_KEY_FILE"] = str(tmp_path / "keys" / "audit-signing-key.pem")
    app.config["OPS_AUDIT_CHECKPOINT_FILE"] = str(tmp_path / "pinned" / "checkpoints.jsonl")
    return {"key": tmp_path / "keys" / "audit-signing-key.pem", "file": tmp_path / "pinned" / "checkpoints.jsonl"}


def public_key(app):
    with app.app_context():
        return signing.load_public_key(checkpoints.public_key_pem())


def table_rows(app) -> list[dict]:
    with app.app_context():
        return [dict(r._mapping) for r in db.session.execute(text(
            "SELECT id, length, head_hash, at, key_id, signature FROM audit_checkpoints ORDER BY id"))]


def file_lines(paths) -> list[dict]:
    if not paths["file"].exists():
        return []
    return [json.loads(line) for line in paths["file"].read_text(encoding="utf-8").splitlines()]


def event_hash_at(app, seq: int) -> str:
    with app.app_context():
        return db.session.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one()


def head_seq(app) -> int:
    with app.app_context():
        return db.session.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()


def checkin(world, who="crew1"):
    resp = world.client.post("/api/v1/checkins", json=checkin_body(), headers=world.headers(who))
    assert resp.status_code == 201, resp.json
    return resp


def verify(world):
    resp = world.client.get("/api/v1/audit/verify", headers=world.headers("auditor"))
    assert resp.status_code == 200
    return resp.json


def drop_guards(app, tables=("audit_events",)):
    with app.app_context():
        for table in tables:
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text(f"DROP TRIGGER {table}_no_update_delete ON {table}"))
            else:
                db.session.execute(text(f"DROP TRIGGER {table}_no_update"))
                db.session.execute(text(f"DROP TRIGGER {table}_no_delete"))
        db.session.commit()


def delete_newest_events(app, n: int) -> None:
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq > (SELECT max(seq) FROM audit_events) - :n"),
                           {"n": n})
        db.session.commit()


def test_init_db_makes_the_signing_key_once_and_exports_its_public_half(app, runner, paths):
    """`ops init-db` makes the private key (mode 0600) when absent and keeps it after; the public key command
    prints the matching public key."""
    assert not paths["key"].exists()
    result = runner.invoke(args=["ops", "init-db"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(paths["key"].stat().st_mode) == 0o600
    first = paths["key"].read_bytes()
    assert first.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert runner.invoke(args=["ops", "init-db"]).exit_code == 0
    assert paths["key"].read_bytes() == first
    shown = runner.invoke(args=["ops", "audit-public-key"])
    assert shown.exit_code == 0 and shown.output.startswith("-----BEGIN PUBLIC KEY-----")
    private = signing.load_or_create_private_key(str(paths["key"]))[0]
    assert signing.load_public_key(shown.output).public_bytes(Encoding.Raw, PublicFormat.Raw) == \
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_writes_are_checkpointed_at_least_every_minute(app, world, paths):
    """The first write signs a checkpoint; the next ones within the minute do not; a write a minute later
    does, covering the new head. Table and file hold the same signed checkpoints."""
    key = public_key(app)
    rows = table_rows(app)
    assert rows, "the fixture's writes made no checkpoint"
    checkin(world)
    assert len(table_rows(app)) == len(rows)  # within the minute: no new checkpoint
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        checkin(world)
        checkin(world)
    rows = table_rows(app)
    newest = rows[-1]
    assert newest["length"] == head_seq(app) - 1 and newest["head_hash"] == event_hash_at(app, newest["length"])
    assert sum(1 for r in rows if r["length"] >= head_seq(app) - 1) == 1  # the second check-in was not due
    in_file = file_lines(paths)
    assert [(c["length"], c["head_hash"], c["signature"]) for c in in_file] == \
        [(r["length"], r["head_hash"], r["signature"]) for r in rows]
    assert all(signing.verify_checkpoint(key, c) for c in in_file)


def _trace_statements(app):
    """Every SQL statement sent on connections checked out from now on (SQLite's own trace)."""
    statements = []
    with app.app_context():
        engine = db.engine
        engine.dispose()  # pooled connections made before would not be traced

    def on_checkout(dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(statements.append)

    event.listen(engine, "checkout", on_checkout)
    return statements, lambda: event.remove(engine, "checkout", on_checkout)


@pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL") is not None,
                    reason="counts statements with SQLite's trace callback; the code path is the same on PostgreSQL")
def test_a_check_in_between_checkpoints_reads_no_checkpoint(app, world):
    """Between checkpoints a check-in sends no statement about them (the time of the last one is cached)."""
    checkin(world)
    statements, stop = _trace_statements(app)
    try:
        checkin(world)
        between = list(statements)
        with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
            statements.clear()
            checkin(world)
            due = list(statements)
    finally:
        stop()
    assert any("INSERT INTO audit_events" in s for s in between)
    assert not [s for s in between if "audit_checkpoints" in s]
    assert [s for s in due if "INSERT INTO audit_checkpoints" in s]


def test_deleting_the_newest_events_is_found(app, world, runner):
    """Drop the delete trigger, delete the newest 20 events, append new ones: verify (API and CLI) fails, and the
    server signs no checkpoint over the cut chain, even a minute later with more events than were deleted."""
    manifest = world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor"))
    assert manifest.status_code == 200
    pinned = head_seq(app)
    assert manifest.json["checkpoint"]["length"] == pinned
    drop_guards(app)
    delete_newest_events(app, 20)
    for _ in range(3):
        checkin(world)
    result = verify(world)
    assert result["ok"] is False and "checkpoint" in result["reason"] and result["first_bad_seq"] <= pinned
    cli = runner.invoke(args=["ops", "verify-audit"])
    assert cli.exit_code == 1 and "checkpoint" in cli.output
    signed = len(table_rows(app))
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        for _ in range(25):
            checkin(world)
    assert head_seq(app) > pinned
    assert len(table_rows(app)) == signed
    assert verify(world)["ok"] is False


def test_deleting_the_checkpoints_too_is_found_from_the_file(app, world, paths):
    """With the checkpoint rows deleted as well, the plain file still pins the head."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    assert file_lines(paths)[-1]["length"] == head_seq(app)
    drop_guards(app, ("audit_events", "audit_checkpoints"))
    delete_newest_events(app, 20)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_checkpoints"))
        db.session.commit()
    checkin(world)
    result = verify(world)
    assert result["ok"] is False and result["checkpoint"]["source"] == "file"


@pytest.mark.parametrize("statement", ["UPDATE audit_checkpoints SET length = 1",
                                       "DELETE FROM audit_checkpoints"])
def test_database_refuses_to_change_checkpoints(app, world, statement):
    """The checkpoint table is append-only, like the log."""
    assert table_rows(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_a_rolled_back_checkpoint_never_reaches_the_file(app, world, paths):
    """A checkpoint added in a transaction that rolls back is in neither the table nor the file."""
    before_rows, before_file = table_rows(app), file_lines(paths)
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        with app.app_context():
            begin_write(db.session)
            audit.append("test", "test.rolled_back", "test", "1", {})
            inside = db.session.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar_one()
            db.session.rollback()
        assert inside == len(before_rows) + 1
        assert table_rows(app) == before_rows and file_lines(paths) == before_file
        checkin(world)  # the next write is due, since the rolled-back checkpoint never was
    assert len(table_rows(app)) == len(before_rows) + 1
    assert [c["signature"] for c in file_lines(paths)] == [r["signature"] for r in table_rows(app)]


def test_export_and_manifest_agree_across_a_write(app, world):
    """The export is cut at a sequence number (in its header); the manifest of that cut, asked for after
    another write, describes the same file and carries a checkpoint signed over it."""
    resp = world.client.get("/api/v1/audit/export?format=jsonl", headers=world.headers("auditor"))
    upto = int(resp.headers["Audit-Upto-Seq"])
    lines = resp.get_data(as_text=True).splitlines(keepends=True)
    assert json.loads(lines[-1])["seq"] == upto
    checkin(world)
    manifest = world.client.get(f"/api/v1/audit/export/manifest?format=jsonl&upto_seq={upto}",
                                headers=world.headers("auditor")).json
    assert manifest["upto_seq"] == upto and manifest["checkpoint"]["length"] == upto
    assert manifest["checkpoint"]["head_hash"] == json.loads(lines[-1])["hash"]
    result = verify_jsonl(lines, manifest, public_key(app))
    assert result["ok"] and result["complete"], result
    beyond = world.client.get(f"/api/v1/audit/export?upto_seq={head_seq(app) + 1}",
                              headers=world.headers("auditor"))
    assert beyond.status_code == 422 and "upto_seq" in [e["field"] for e in beyond.json["errors"]]


def test_offline_verification_needs_the_manifest_and_the_public_key(app, world, runner, tmp_path):
    """verify-export refuses a file without its manifest or without the public key; with both it passes."""
    out = tmp_path / "log.jsonl"
    assert runner.invoke(args=["ops", "export-audit", "--out", str(out)]).exit_code == 0
    key = tmp_path / "audit.pub.pem"
    assert runner.invoke(args=["ops", "audit-public-key", "--out", str(key)]).exit_code == 0
    no_key = runner.invoke(args=["ops", "verify-export", str(out)])
    assert no_key.exit_code == 1 and "public key" in no_key.output
    (tmp_path / "log.jsonl.manifest.json").rename(tmp_path / "elsewhere.json")
    no_manifest = runner.invoke(args=["ops", "verify-export", str(out), "--public-key", str(key)])
    assert no_manifest.exit_code == 1 and "manifest" in no_manifest.output
    ok = runner.invoke(args=["ops", "verify-export", str(out), "--public-key", str(key),
                             "--manifest", str(tmp_path / "elsewhere.json")])
    assert ok.exit_code == 0 and "complete" in ok.output, ok.output
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert not verify_jsonl(lines, None, public_key(app))["ok"]
    manifest = json.loads((tmp_path / "elsewhere.json").read_text(encoding="utf-8"))
    assert not verify_jsonl(lines, manifest, None)["ok"]


def _rechain(lines: list[str]) -> list[str]:
    """Change the actor of the third event and re-hash it and every later one: a chain that links up,
    made by someone without the key."""
    out, prev = [], None
    for n, line in enumerate(lines):
        ev = json.loads(line)
        if n == 2:
            ev["actor"] = "mallory"
        if prev is not None:
            ev["prev_hash"] = prev
        ev["hash"] = event_hash(ev["seq"], parse(ev["at"]), ev["actor"], ev["action"], ev["entity"],
                                ev["entity_id"], canonical_json(ev["payload"]), ev["prev_hash"])
        prev = ev["hash"]
        out.append(canonical_json(ev) + "\n")
    return out


@pytest.mark.parametrize("damage", ["first line gone", "last line gone", "empty", "re-chained",
                                    "re-chained with its manifest", "another key"])
def test_offline_verification_fails_for_a_damaged_file(app, world, damage):
    """A file missing its first or last events, an empty file and a re-chained file all fail offline."""
    resp = world.client.get("/api/v1/audit/export?format=jsonl", headers=world.headers("auditor"))
    upto = resp.headers["Audit-Upto-Seq"]
    manifest = world.client.get(f"/api/v1/audit/export/manifest?upto_seq={upto}",
                                headers=world.headers("auditor")).json
    lines = resp.get_data(as_text=True).splitlines(keepends=True)
    key = public_key(app)
    assert verify_jsonl(lines, manifest, key)["ok"]
    if damage == "first line gone":
        lines = lines[1:]
    elif damage == "last line gone":
        lines = lines[:-1]
    elif damage == "empty":
        lines = []
    elif damage.startswith("re-chained"):
        lines = _rechain(lines)
        if damage == "re-chained with its manifest":
            manifest = {**manifest, "sha256": hashlib.sha256("".join(lines).encode()).hexdigest(),
                        "chain_head_hash": json.loads(lines[-1])["hash"],
                        "checkpoint": {**manifest["checkpoint"], "head_hash": json.loads(lines[-1])["hash"]}}
    elif damage == "another key":
        key = Ed25519PrivateKey.generate().public_key()
    result = verify_jsonl(lines, manifest, key)
    assert result["ok"] is False and result["reason"], result


def test_checkpoint_lines_name_their_key(app, world, paths):
    """Each checkpoint names the key that signed it, so a verifier knows which public key to ask for."""
    with app.app_context():
        kid = signing.key_id(signing.load_public_key(checkpoints.public_key_pem()))
    assert {c["key_id"] for c in file_lines(paths)} == {kid}
    assert len(kid) == 16 and int(kid, 16) >= 0


def test_a_fresh_process_learns_the_file_and_signs_no_cut_chain(app, world, paths, db_url):
    """With the newest events and every checkpoint row deleted, a process started afterwards (knowing only what
    the database says) still refuses to sign the cut chain, even past its old length: the file told it."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    pinned = head_seq(app)
    drop_guards(app, ("audit_events", "audit_checkpoints"))
    delete_newest_events(app, 20)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_checkpoints"))
        db.session.commit()
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url,
                        "OPS_AUDIT_KEY_FILE": str(paths["key"]), "OPS_AUDIT_CHECKPOINT_FILE": str(paths["file"])})
    client = fresh.test_client()
    with time_machine.travel(now_utc() + timedelta(seconds=61), tick=True):
        for _ in range(25):
            resp = client.post("/api/v1/checkins", json=checkin_body(), headers=world.headers("crew1"))
            assert resp.status_code == 201, resp.json
    assert head_seq(app) > pinned and table_rows(app) == []
    assert verify(world)["ok"] is False
    with fresh.app_context():
        db.engine.dispose()


def test_a_longer_checkpoint_does_not_hide_an_earlier_one(app, world, paths):
    """Even a validly signed longer checkpoint over a cut chain (as a server without the file's knowledge
    would have signed) does not pass verification while an earlier checkpoint in the file contradicts it."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    drop_guards(app)
    delete_newest_events(app, 20)
    for _ in range(25):
        checkin(world)
    with app.app_context():
        length, at = head_seq(app), now_utc()
        forged = signing.sign_checkpoint(checkpoints.private_key(), length, event_hash_at(app, length),
                                         checkpoints.format_time(at))
        db.session.execute(AuditCheckpoint.__table__.insert().values(**{**forged, "at": at}))
        db.session.commit()
        checkpoints.sync_file()
    assert file_lines(paths)[-1]["signature"] == forged["signature"]
    result = verify(world)
    assert result["ok"] is False and "checkpoint" in result["reason"]


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next(app, world, paths):
    """A checkpoint line left half-written (the process died mid-write) is tolerated at the end of the file and
    removed before the next is appended (so no line that is not a checkpoint stays in the file)."""
    with paths["file"].open("a", encoding="utf-8") as f:
        f.write('{"id": 999999, "length": 3, "head_')
    assert verify(world)["ok"] is True
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    assert '"head_\n' not in paths["file"].read_text(encoding="utf-8")
    assert file_lines(paths)[-1]["length"] == head_seq(app)
    assert verify(world)["ok"] is True
