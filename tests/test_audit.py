"""The audit log: one event per write, a chain that verifies, guards in the database, tampering found."""

import multiprocessing
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsserver import create_app
from opsserver.audit.services import GENESIS_HASH, event_hash
from opsserver.extensions import db

from .helpers.database import count_rows


def _checkin(point="LH01", lat=33.58, lon=114.02):
    return {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": lat, "longitude": lon,
            "accuracy_m": 8.0, "recorded_at": datetime.now(UTC).isoformat()}


def _verify(world):
    resp = world.client.get("/api/v1/audit/verify", headers=world.headers("auditor"))
    assert resp.status_code == 200
    return resp.json


def test_every_write_of_the_fixture_is_chained(app, world):
    """The fixture's writes and logins are events; recomputing each hash by hand matches the stored chain."""
    with app.app_context():
        events = db.session.execute(text("SELECT seq, at, actor, action, entity, entity_id, payload, prev_hash, "
                                         "hash FROM audit_events ORDER BY seq")).all()
    actions = [e.action for e in events]
    assert actions.count("point.create") == 2
    assert actions.count("crew.create") == 6
    assert actions.count("account.create") == 5
    assert actions.count("shift.create") == 4
    assert actions.count("auth.login") == 5
    prev = GENESIS_HASH
    from opsserver.database.utc import as_utc
    for n, e in enumerate(events, start=1):
        assert e.seq == n
        assert e.prev_hash == prev
        at = e.at if isinstance(e.at, datetime) else datetime.fromisoformat(e.at)
        assert e.hash == event_hash(e.seq, as_utc(at), e.actor, e.action, e.entity, e.entity_id, e.payload,
                                    e.prev_hash)
        prev = e.hash
    result = _verify(world)
    pin = result.pop("checkpoint")  # issue 14: the chain is held to its latest signed checkpoint
    assert result == {"ok": True, "count": len(events), "head_hash": prev, "first_bad_seq": None, "reason": None}
    assert pin["source"] in ("table", "file") and 1 <= pin["length"] <= len(events)


def test_events_endpoint_pages_in_order_and_is_for_auditors(world):
    """Events come in sequence order across pages; crew and commanders may not read them."""
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit/events?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = world.client.get(url, headers=world.headers("auditor")).json
        seen.extend(e["seq"] for e in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) == _verify(world)["count"]
    for role in ("crew1", "commander"):
        assert world.client.get("/api/v1/audit/events", headers=world.headers(role)).status_code == 403
    assert world.client.get("/api/v1/audit/verify").status_code == 401


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
                                       "DELETE FROM audit_events WHERE seq = 1"])
def test_database_refuses_to_change_audit_rows(app, world, statement):
    """The triggers refuse UPDATE and DELETE even from raw SQL."""
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert _verify(world)["ok"] is True


def _drop_guards(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))
        else:
            db.session.execute(text("DROP TRIGGER audit_events_no_update"))
            db.session.execute(text("DROP TRIGGER audit_events_no_delete"))
        db.session.commit()


def test_verify_finds_a_row_changed_behind_the_apps_back(app, world, runner):
    """With the trigger dropped, an edited payload is named by verify (API and CLI)."""
    _drop_guards(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET payload = '{\"name\":\"forged\"}' WHERE seq = 3"))
        db.session.commit()
    result = _verify(world)
    assert result["ok"] is False and result["first_bad_seq"] == 3
    assert "hash" in result["reason"]
    cli = runner.invoke(args=["ops", "verify-audit"])
    assert cli.exit_code == 1 and "seq 3" in cli.output


def test_verify_finds_a_deleted_row(app, world):
    """A missing event is a gap in the sequence, named at the event after it."""
    _drop_guards(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 5"))
        db.session.commit()
    result = _verify(world)
    assert result["ok"] is False and result["first_bad_seq"] == 6


def test_verify_finds_a_rehashed_row(app, world):
    """Rewriting an event and its own hash still breaks the link from the next event."""
    _drop_guards(app)
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM audit_events WHERE seq = 4")).one()
        from opsserver.database.utc import as_utc
        at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)
        forged = event_hash(4, as_utc(at), "mallory", row.action, row.entity, row.entity_id, row.payload,
                            row.prev_hash)
        db.session.execute(text("UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 4"), {"h": forged})
        db.session.commit()
    result = _verify(world)
    assert result["ok"] is False and result["first_bad_seq"] == 5


def _writer(db_url: str, token: str, count: int, queue) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})
    client = app.test_client()
    statuses = [client.post("/api/v1/checkins", json=_checkin(),
                            headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(count)]
    with app.app_context():
        db.engine.dispose()
    queue.put(statuses)


def test_chain_stays_single_with_several_processes_writing(app, world, db_url):
    """Four processes posting check-ins at once leave one gapless chain with one event per check-in."""
    before = count_rows(app, "audit_events")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(db_url, world.tokens["crew1"], 15, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    statuses = [s for _ in procs for s in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
    assert statuses == [201] * 60
    assert count_rows(app, "checkins") == 60
    assert count_rows(app, "audit_events") == before + 60
    result = _verify(world)
    assert result["ok"] is True and result["count"] == before + 60


def test_deleting_the_newest_events_behind_the_apps_back_is_found(app, world):
    """Issue 14: with the delete trigger dropped, the newest 20 events deleted and new ones chained onto the cut
    head, verification still fails: an export signed a checkpoint of the head before the cut."""
    assert world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).status_code == 200
    _drop_guards(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq > (SELECT max(seq) FROM audit_events) - 20"))
        db.session.commit()
    for _ in range(3):
        resp = world.client.post("/api/v1/checkins", json=_checkin(), headers=world.headers("crew1"))
        assert resp.status_code == 201
    result = _verify(world)
    assert result["ok"] is False and "checkpoint" in result["reason"]
