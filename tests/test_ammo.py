"""Ammunition: the catalogue (`/api/v1/ammo/types`), movements (`POST /api/v1/ammo/movements`), stock
(`GET /api/v1/points/{code}/ammo`) and the append-only ledger (`GET /api/v1/ammo/ledger`).

Stock is checked against sums of ledger entries computed here, and against running totals this module
keeps itself; the concurrency tests race threads and processes at one point's stock.
"""

import multiprocessing
import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsserver import create_app
from opsserver.database.utc import now_utc
from opsserver.extensions import db

from .helpers.database import count_rows
from .helpers.problems import assert_problem
from .helpers.world import report_body



# --- helpers -------------------------------------------------------------------------------------

def move(w, body: dict, who: str = "commander"):
    return w.post(who, "/api/v1/ammo/movements", body)


def movement(point="LH01", ammo_type="RKT-AGI", quantity=5, kind="receipt", **extra) -> dict:
    return {"point_code": point, "ammo_type": ammo_type, "quantity": quantity, "kind": kind, **extra}


def stock_of(w, point: str) -> dict:
    resp = w.get("auditor", f"/api/v1/points/{point}/ammo")
    assert resp.status_code == 200, resp.json
    assert resp.json["point_code"] == point
    return resp.json["stock"]


def ledger(w, limit: int = 1000, **params) -> list[dict]:
    """Every ledger entry matching the filters, following the cursor across pages."""
    items, cursor = [], None
    while True:
        query = "&".join([f"limit={limit}"] + [f"{k}={v}" for k, v in params.items()]
                         + ([f"cursor={cursor}"] if cursor else []))
        resp = w.get("auditor", f"/api/v1/ammo/ledger?{query}")
        assert resp.status_code == 200, resp.json
        items.extend(resp.json["items"])
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def ledger_sum(w, point: str) -> dict:
    """A point's stock computed here from its ledger entries (types whose entries cancel out show 0)."""
    total: Counter = Counter()
    for entry in ledger(w, point_code=point, limit=3):
        assert entry["point_code"] == point
        total[entry["ammo_type"]] += entry["quantity"]
    return dict(total)


def nonzero(stock: dict) -> dict:
    return {k: v for k, v in stock.items() if v != 0}


def assert_stock_is_ledger(w, point: str) -> dict:
    """The served stock equals the sum of the point's ledger entries; returns it."""
    served = stock_of(w, point)
    assert nonzero(served) == nonzero(ledger_sum(w, point))
    return served


def audit_actions(app, action: str) -> list:
    with app.app_context():
        return db.session.execute(text("SELECT entity_id, payload FROM audit_events WHERE action = :a ORDER BY seq"),
                                  {"a": action}).all()


# --- the catalogue -------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "commander", "auditor", "crew1"])
def test_every_role_reads_the_catalogue(ops_world, who):
    """Every role lists the catalogue: codes in order, with agent and grams per unit."""
    resp = ops_world.get(who, "/api/v1/ammo/types")
    assert resp.status_code == 200
    items = resp.json["items"]
    assert [(t["code"], t["name"], t["agent"], t["agent_g_per_unit"]) for t in items] == [
        ("RKT-AGI", "AgI rocket", "AgI", 1.2), ("SHELL-37", "37 mm shell", "AgI", 0.5)]
    assert all(t["placeholder"] is True for t in items)
    assert resp.json["next_cursor"] is None


def test_catalogue_needs_a_token(ops_world):
    """Without a bearer token the catalogue is 401."""
    assert ops_world.client.get("/api/v1/ammo/types").status_code == 401


def test_admin_adds_a_type_and_it_is_audited(app, ops_world):
    """An admin's new type is served back, listed and written to the audit log once."""
    body = {"code": "RKT-NACL", "name": "Salt rocket", "agent": "NaCl", "agent_g_per_unit": 250.0}
    resp = ops_world.post("admin", "/api/v1/ammo/types", body)
    assert resp.status_code == 201, resp.json
    assert {k: resp.json[k] for k in body} == body
    assert resp.json["placeholder"] is False
    codes = [t["code"] for t in ops_world.get("crew1", "/api/v1/ammo/types").json["items"]]
    assert codes == ["RKT-AGI", "RKT-NACL", "SHELL-37"]
    events = audit_actions(app, "ammo_type.create")
    assert [e.entity_id for e in events] == ["RKT-AGI", "SHELL-37", "RKT-NACL"]


@pytest.mark.parametrize("who", ["commander", "auditor", "crew1"])
def test_only_an_admin_adds_types(ops_world, rows, who):
    """Other roles get 403 and nothing is written."""
    before = rows()
    resp = ops_world.post(who, "/api/v1/ammo/types", {"code": "X1", "name": "x", "agent": "AgI",
                                                       "agent_g_per_unit": 1.0})
    assert_problem(resp, 403)
    assert rows() == before


def test_duplicate_type_code_is_a_conflict(ops_world, rows):
    """Adding a code that exists is 409 naming `code`, and writes nothing."""
    before = rows()
    resp = ops_world.post("admin", "/api/v1/ammo/types", {"code": "RKT-AGI", "name": "again", "agent": "AgI",
                                                          "agent_g_per_unit": 3.0})
    assert_problem(resp, 409, "code")
    assert rows() == before
    rocket = [t for t in ops_world.get("admin", "/api/v1/ammo/types").json["items"] if t["code"] == "RKT-AGI"]
    assert rocket[0]["agent_g_per_unit"] == 1.2


@pytest.mark.parametrize("change, fields", [
    ({"agent_g_per_unit": -0.5}, {"agent_g_per_unit"}),
    ({"code": "rkt agi"}, {"code"}),
    ({"code": ""}, {"code"}),
    ({"code": "A" * 21}, {"code"}),
    ({"name": ""}, {"name"}),
    ({"agent_g_per_unit": "lots"}, {"agent_g_per_unit"}),
    ({"code": "bad code", "agent_g_per_unit": -1}, {"code", "agent_g_per_unit"}),
])
def test_invalid_type_is_refused_naming_fields(ops_world, rows, change, fields):
    """Bad codes, negative or non-numeric grams and empty names are 422 naming each bad field; nothing written."""
    body = {"code": "NEW-1", "name": "New type", "agent": "AgI", "agent_g_per_unit": 1.0, **change}
    before = rows()
    resp = ops_world.post("admin", "/api/v1/ammo/types", body)
    assert_problem(resp, 422)
    assert {e["field"] for e in resp.json["errors"]} == fields
    assert rows() == before


def test_missing_type_fields_are_named(ops_world, rows):
    """An empty body names every required field of a type."""
    before = rows()
    resp = ops_world.post("admin", "/api/v1/ammo/types", {})
    assert_problem(resp, 422)
    assert {"code", "name", "agent", "agent_g_per_unit"} <= {e["field"] for e in resp.json["errors"]}
    assert rows() == before


# --- movements -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["crew1", "auditor"])
def test_only_a_commander_moves_ammunition(ops_world, rows, who):
    """Crew and auditors get 403 for a movement; nothing is written."""
    before = rows()
    assert_problem(move(ops_world, movement(), who), 403)
    assert rows() == before
    assert stock_of(ops_world, "LH01") == {"RKT-AGI": 20}


def test_fixture_stock_is_its_receipts(ops_world):
    """The opening receipts are the only entries; stock at both points is their sum."""
    entries = ledger(ops_world)
    assert [(e["point_code"], e["ammo_type"], e["kind"], e["quantity"]) for e in entries] == [
        ("LH01", "RKT-AGI", "receipt", 20), ("LH02", "SHELL-37", "receipt", 100)]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 20}
    assert assert_stock_is_ledger(ops_world, "LH02") == {"SHELL-37": 100}


def test_receipt_adds_stock(app, ops_world):
    """A receipt is one positive entry with its reference; stock grows by it; one audit event."""
    resp = move(ops_world, movement(quantity=7, reference="depot note 42"))
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["kind"] == "receipt" and body["quantity"] == 7 and body["point_code"] == "LH01"
    assert body["stock"] == {"RKT-AGI": 27}
    entries = [e for e in ledger(ops_world) if e["movement_id"] == body["movement_id"]]
    assert [(e["point_code"], e["kind"], e["quantity"], e["reference"], e["actor"]) for e in entries] == [
        ("LH01", "receipt", 7, "depot note 42", "commander")]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 27}
    events = audit_actions(app, "ammo.receipt")
    assert body["movement_id"] in [e.entity_id for e in events]


def test_receipt_of_a_new_type_at_a_point(ops_world):
    """A point can hold several types; each is summed separately."""
    assert move(ops_world, movement(ammo_type="SHELL-37", quantity=12)).status_code == 201
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 20, "SHELL-37": 12}
    assert stock_of(ops_world, "LH02") == {"SHELL-37": 100}


def test_transfer_is_one_movement_with_two_entries(app, ops_world):
    """LH01 → LH02: transfer_out −n at LH01 and transfer_in +n at LH02 with the same movement id."""
    before = count_rows(app, "ledger_entries")
    resp = move(ops_world, movement(quantity=8, kind="transfer", to_point_code="LH02", reference="T-1"))
    assert resp.status_code == 201, resp.json
    movement_id = resp.json["movement_id"]
    assert resp.json["to_point_code"] == "LH02"
    assert count_rows(app, "ledger_entries") == before + 2
    entries = [e for e in ledger(ops_world) if e["movement_id"] == movement_id]
    assert sorted((e["point_code"], e["ammo_type"], e["kind"], e["quantity"]) for e in entries) == [
        ("LH01", "RKT-AGI", "transfer_out", -8), ("LH02", "RKT-AGI", "transfer_in", 8)]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 12}
    assert assert_stock_is_ledger(ops_world, "LH02") == {"RKT-AGI": 8, "SHELL-37": 100}
    events = audit_actions(app, "ammo.transfer")
    assert [e.entity_id for e in events] == [movement_id]


def test_transfer_of_everything_held(ops_world):
    """Transferring exactly what is held leaves zero, not an error."""
    assert move(ops_world, movement(quantity=20, kind="transfer", to_point_code="LH02")).status_code == 201
    assert nonzero(assert_stock_is_ledger(ops_world, "LH01")) == {}
    assert assert_stock_is_ledger(ops_world, "LH02") == {"RKT-AGI": 20, "SHELL-37": 100}


def test_return_reduces_stock(ops_world):
    """A return is one negative entry at the point."""
    resp = move(ops_world, movement(quantity=6, kind="return", reference="back to depot"))
    assert resp.status_code == 201, resp.json
    assert resp.json["stock"] == {"RKT-AGI": 14}
    entries = [e for e in ledger(ops_world, kind="return")]
    assert [(e["point_code"], e["quantity"]) for e in entries] == [("LH01", -6)]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 14}


def test_recovered_dud_adds_stock(ops_world):
    """A recovered dud comes back into the point's custody: a positive entry."""
    resp = move(ops_world, movement(quantity=2, kind="recovered_dud"))
    assert resp.status_code == 201, resp.json
    assert [(e["point_code"], e["quantity"]) for e in ledger(ops_world, kind="recovered_dud")] == [("LH01", 2)]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 22}


def test_adjustment_needs_a_reason(ops_world, rows):
    """Without a reason an adjustment is 422 naming `reason`; with one it may be negative."""
    before = rows()
    assert_problem(move(ops_world, movement(quantity=-3, kind="adjustment")), 422, "reason")
    assert_problem(move(ops_world, movement(quantity=-3, kind="adjustment", reason="")), 422, "reason")
    assert rows() == before
    resp = move(ops_world, movement(quantity=-3, kind="adjustment", reason="stocktake found 3 fewer"))
    assert resp.status_code == 201, resp.json
    entries = ledger(ops_world, kind="adjustment")
    assert [(e["quantity"], e["reason"]) for e in entries] == [(-3, "stocktake found 3 fewer")]
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 17}
    resp = move(ops_world, movement(quantity=4, kind="adjustment", reason="found in the store"))
    assert resp.status_code == 201
    assert assert_stock_is_ledger(ops_world, "LH01") == {"RKT-AGI": 21}


def test_zero_adjustment_is_refused(ops_world, rows):
    """An adjustment of zero changes nothing and is refused naming `quantity`."""
    before = rows()
    assert_problem(move(ops_world, movement(quantity=0, kind="adjustment", reason="nothing")), 422, "quantity")
    assert rows() == before


@pytest.mark.parametrize("body, field", [
    (movement(quantity=0), "quantity"),
    (movement(quantity=-4), "quantity"),
    (movement(quantity=0, kind="recovered_dud"), "quantity"),
    (movement(quantity=-1, kind="return"), "quantity"),
    (movement(quantity=-1, kind="transfer", to_point_code="LH02"), "quantity"),
    (movement(quantity="5"), "quantity"),
    (movement(quantity=2.5), "quantity"),
    (movement(kind="transfer"), "to_point_code"),
    (movement(kind="transfer", to_point_code="LH01"), "to_point_code"),
    (movement(kind="transfer", to_point_code="LH99"), "to_point_code"),
    (movement(kind="receipt", to_point_code="LH02"), "to_point_code"),
    (movement(ammo_type="NOPE-1"), "ammo_type"),
    (movement(ammo_type="not a code"), "ammo_type"),
    (movement(point="LH99"), "point_code"),
    (movement(kind="theft"), "kind"),
    ({"point_code": "LH01", "ammo_type": "RKT-AGI", "kind": "receipt"}, "quantity"),
])
def test_invalid_movement_is_refused_naming_the_field(ops_world, rows, body, field):
    """Each malformed movement is 422 naming its field and writes nothing; stock is unchanged."""
    before = rows()
    assert_problem(move(ops_world, body), 422, field)
    assert rows() == before
    assert stock_of(ops_world, "LH01") == {"RKT-AGI": 20}
    assert stock_of(ops_world, "LH02") == {"SHELL-37": 100}


@pytest.mark.parametrize("body", [
    movement(quantity=21, kind="transfer", to_point_code="LH02"),
    movement(quantity=21, kind="return"),
    movement(ammo_type="SHELL-37", quantity=1, kind="return"),
    movement(ammo_type="SHELL-37", quantity=1, kind="transfer", to_point_code="LH02"),
])
def test_moving_out_more_than_held_is_a_conflict(ops_world, rows, body):
    """A transfer or return above the stock is 409 saying what is held; nothing written."""
    before = rows()
    resp = move(ops_world, body)
    assert_problem(resp, 409)
    held = 20 if body["ammo_type"] == "RKT-AGI" else 0
    assert f"{held}" in resp.json["detail"] and "LH01" in resp.json["detail"]
    assert rows() == before
    assert stock_of(ops_world, "LH01") == {"RKT-AGI": 20}
    assert stock_of(ops_world, "LH02") == {"SHELL-37": 100}


def test_stock_is_always_the_ledger_sum(ops_world):
    """After a mix of movements and a firing, each point's stock is its ledger sum and the expected total."""
    w = ops_world
    expected = {"LH01": Counter({"RKT-AGI": 20}), "LH02": Counter({"SHELL-37": 100})}
    steps = [
        (movement(quantity=5), {"LH01": {"RKT-AGI": 5}}),
        (movement(quantity=9, kind="transfer", to_point_code="LH02"), {"LH01": {"RKT-AGI": -9},
                                                                       "LH02": {"RKT-AGI": 9}}),
        (movement(point="LH02", ammo_type="SHELL-37", quantity=30, kind="transfer", to_point_code="LH01"),
         {"LH02": {"SHELL-37": -30}, "LH01": {"SHELL-37": 30}}),
        (movement(point="LH02", ammo_type="RKT-AGI", quantity=4, kind="return"), {"LH02": {"RKT-AGI": -4}}),
        (movement(quantity=1, kind="recovered_dud"), {"LH01": {"RKT-AGI": 1}}),
        (movement(ammo_type="SHELL-37", quantity=-2, kind="adjustment", reason="damaged"),
         {"LH01": {"SHELL-37": -2}}),
    ]
    for body, change in steps:
        resp = move(w, body)
        assert resp.status_code == 201, resp.json
        for point, delta in change.items():
            expected[point].update(delta)
        for point in ("LH01", "LH02"):
            assert nonzero(assert_stock_is_ledger(w, point)) == nonzero(dict(expected[point]))
    w.activate()
    resp = w.report(ammo=[{"type": "RKT-AGI", "fired": 3, "duds": 1}, {"type": "SHELL-37", "fired": 0, "duds": 0}])
    assert resp.status_code == 201, resp.json
    expected["LH01"].update({"RKT-AGI": -3})
    consumption = ledger(w, kind="consumption")
    assert [(e["point_code"], e["ammo_type"], e["quantity"], e["report_id"]) for e in consumption] == [
        ("LH01", "RKT-AGI", -3, resp.json["id"])]
    assert stock_of(w, "LH01") == {"RKT-AGI": 14, "SHELL-37": 28}
    for point in ("LH01", "LH02"):
        assert nonzero(assert_stock_is_ledger(w, point)) == nonzero(dict(expected[point]))


@pytest.mark.parametrize("kind, extra, quantity", [
    ("receipt", {}, 3), ("transfer", {"to_point_code": "LH02"}, 3), ("return", {}, 3),
    ("recovered_dud", {}, 3), ("adjustment", {"reason": "recount"}, -3),
])
def test_every_movement_writes_one_audit_event(app, ops_world, kind, extra, quantity):
    """One event `ammo.<kind>` per movement, naming its movement id, and the chain still verifies."""
    before = count_rows(app, "audit_events")
    resp = move(ops_world, movement(kind=kind, quantity=quantity, **extra))
    assert resp.status_code == 201, resp.json
    assert count_rows(app, "audit_events") == before + 1
    events = audit_actions(app, f"ammo.{kind}")
    assert [e.entity_id for e in events][-1] == resp.json["movement_id"]
    if kind != "receipt":  # the fixture's opening receipts are events of their own
        assert len(events) == 1
    verify = ops_world.get("auditor", "/api/v1/audit/verify").json
    assert verify["ok"] is True and verify["count"] == before + 1


def test_ledger_filters(ops_world):
    """The ledger filters by point, type and kind, and every entry carries its fields."""
    w = ops_world
    move(w, movement(quantity=3, kind="transfer", to_point_code="LH02"))
    at_lh02 = ledger(w, point_code="LH02")
    assert sorted((e["kind"], e["ammo_type"], e["quantity"]) for e in at_lh02) == [
        ("receipt", "SHELL-37", 100), ("transfer_in", "RKT-AGI", 3)]
    assert [e["point_code"] for e in ledger(w, ammo_type="RKT-AGI")] == ["LH01", "LH01", "LH02"]
    assert [e["quantity"] for e in ledger(w, kind="transfer_out")] == [-3]
    ids = [e["id"] for e in ledger(w, limit=1)]
    assert ids == sorted(ids) and len(ids) == 4
    assert {"id", "movement_id", "point_code", "ammo_type", "kind", "quantity", "report_id", "reference",
            "reason", "actor", "created_at"} <= set(at_lh02[0])


# --- the ledger in the database ------------------------------------------------------------------

@pytest.mark.parametrize("statement", ["UPDATE ledger_entries SET quantity = 1000",
                                       "UPDATE ledger_entries SET kind = 'receipt' WHERE quantity < 0",
                                       "DELETE FROM ledger_entries",
                                       "DELETE FROM ledger_entries WHERE quantity > 50"])
def test_database_refuses_to_change_ledger_rows(app, ops_world, statement):
    """UPDATE and DELETE on ledger entries raise 'append-only' even from raw SQL; stock is unchanged."""
    move(ops_world, movement(quantity=4, kind="return"))
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert count_rows(app, "ledger_entries") == 3
    assert stock_of(ops_world, "LH01") == {"RKT-AGI": 16}
    assert stock_of(ops_world, "LH02") == {"SHELL-37": 100}


def test_ledger_still_takes_inserts(app, ops_world):
    """The guard refuses changes, not appends: a raw INSERT (as the app does) still works."""
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO ledger_entries (movement_id, point_id, ammo_type_id, kind, quantity, actor, created_at) "
            "SELECT :m, p.id, t.id, 'receipt', 1, 'sql', CURRENT_TIMESTAMP FROM points p, ammo_types t "
            "WHERE p.code = 'LH01' AND t.code = 'RKT-AGI'"), {"m": str(uuid.uuid4())})
        db.session.commit()
    assert stock_of(ops_world, "LH01") == {"RKT-AGI": 21}


# --- concurrency ---------------------------------------------------------------------------------

def _check_race_outcome(app, w, posted: int, statuses: list[int], reports: list[dict]):
    """One report row and one consumption entry per post; stock = receipts − consumption, not clamped."""
    assert statuses == [201] * posted
    assert count_rows(app, "firing_reports") == posted
    consumption = ledger(w, kind="consumption")
    assert len(consumption) == posted
    assert Counter(e["report_id"] for e in consumption) == Counter({r["id"]: 1 for r in reports})
    assert all(e["quantity"] == -1 and e["point_code"] == "LH01" for e in consumption)
    receipts = sum(e["quantity"] for e in ledger(w, point_code="LH01", kind="receipt"))
    assert receipts == 20
    assert stock_of(w, "LH01") == {"RKT-AGI": receipts - posted}
    assert assert_stock_is_ledger(w, "LH01") == {"RKT-AGI": receipts - posted}
    # Serialised stock decisions: exactly the reports beyond the opening 20 found the ledger empty.
    short = [r for r in reports if any(f["code"] == "insufficient_stock" for f in r["flags"])]
    assert len(short) == max(0, posted - receipts)
    verify = w.get("auditor", "/api/v1/audit/verify").json
    assert verify["ok"] is True
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM audit_events WHERE action = 'report.create'")
                                  ).scalar_one() == posted


def test_concurrent_reports_from_threads_consume_exactly_once(app, ops_world):
    """8 threads × 5 reports at LH01 at once: 40 rows, 40 consumption entries, stock 20 − 40, chain intact."""
    w = ops_world
    w.ready_to_fire()
    threads_n, per_thread = 8, 5
    barrier = threading.Barrier(threads_n)
    results: list = []
    errors: list = []
    lock = threading.Lock()

    def worker():
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            for _ in range(per_thread):
                resp = client.post(f"/api/v1/rounds/{w.round_id}/reports", json=report_body(),
                                   headers=w.headers("crew1"))
                with lock:
                    results.append((resp.status_code, resp.json))
        except Exception as exc:  # surfaced below: an exception in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    posted = threads_n * per_thread
    _check_race_outcome(app, w, posted, [s for s, _ in results], [body for _, body in results])


def _process_reporter(db_url: str, token: str, round_id: int, count: int, start, queue) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})
    client = app.test_client()
    out = []
    start.wait(timeout=60)
    for _ in range(count):
        started = now_utc()
        body = {"id": str(uuid.uuid4()), "point_code": "LH01", "started_at": started.isoformat(),
                "ended_at": (started + timedelta(seconds=30)).isoformat(), "azimuth_deg": 10.0,
                "elevation_deg": 55.0, "ammo": [{"type": "RKT-AGI", "fired": 1, "duds": 0}]}
        resp = client.post(f"/api/v1/rounds/{round_id}/reports", json=body,
                           headers={"Authorization": f"Bearer {token}"})
        out.append((resp.status_code, resp.get_json()))
    with app.app_context():
        db.engine.dispose()
    queue.put(out)


def test_concurrent_reports_from_processes_consume_exactly_once(app, ops_world, db_url):
    """4 processes × 8 reports (separate connections; on PostgreSQL a real race): one entry per report."""
    w = ops_world
    w.ready_to_fire()
    ctx = multiprocessing.get_context("fork")
    queue, start = ctx.Queue(), ctx.Event()
    procs_n, per_proc = 4, 8
    procs = [ctx.Process(target=_process_reporter, args=(db_url, w.tokens["crew1"], w.round_id, per_proc, start,
                                                         queue)) for _ in range(procs_n)]
    for p in procs:
        p.start()
    start.set()
    results = [r for _ in procs for r in queue.get(timeout=180)]
    for p in procs:
        p.join(timeout=60)
    _check_race_outcome(app, w, procs_n * per_proc, [s for s, _ in results], [body for _, body in results])


def _race(app, w, senders: list[tuple[str, dict, dict]]) -> list[tuple[int, str | None, dict]]:
    """Post (who, body, extra headers) from one thread each, released together; (status, replayed, body)."""
    barrier = threading.Barrier(len(senders))
    results, errors = [], []
    lock = threading.Lock()

    def worker(who, body, extra):
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            resp = client.post(f"/api/v1/rounds/{w.round_id}/reports", json=body, headers=w.headers(who, **extra))
            with lock:
                results.append((resp.status_code, resp.headers.get("Idempotent-Replayed"), resp.get_json()))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=sender) for sender in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(results) == len(senders)
    return results


def _assert_stored_once(app, w, report_id: str, fired: int):
    assert count_rows(app, "firing_reports") == 1
    consumption = ledger(w, kind="consumption")
    assert [(e["report_id"], e["quantity"]) for e in consumption] == [(report_id, -fired)]
    assert stock_of(w, "LH01") == {"RKT-AGI": 20 - fired}
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM audit_events WHERE action = 'report.create'")
                                  ).scalar_one() == 1
    assert w.get("auditor", "/api/v1/audit/verify").json["ok"] is True


def test_same_report_posted_concurrently_is_stored_once(app, ops_world):
    """Six threads send one report (same id, same account) at once: one row, one consumption entry, one event."""
    w = ops_world
    w.activate()
    body = report_body(fired=2)
    results = _race(app, w, [("crew1", body, {})] * 6)
    # One answer created the report; the others are that answer replayed (201 + Idempotent-Replayed).
    created = [r for s, replayed, r in results if s == 201 and replayed is None]
    assert len(created) == 1, [(s, replayed) for s, replayed, _ in results]
    assert sorted((s, replayed or "") for s, replayed, _ in results) == [(201, "")] + [(201, "true")] * 5
    assert all(r == created[0] for _, _, r in results)
    assert created[0]["id"] == body["id"] and created[0]["ammo"] == [{"type": "RKT-AGI", "fired": 2, "duds": 0}]
    _assert_stored_once(app, w, body["id"], 2)


def test_stored_report_resent_concurrently_under_a_new_key(app, ops_world):
    """A stored report resent by 12 threads at once under a new key: all 200 with it, no error, nothing written."""
    w = ops_world
    w.activate()
    body = report_body(fired=3)
    first = w.post("crew1", f"/api/v1/rounds/{w.round_id}/reports", body)
    assert first.status_code == 201, first.json
    results = _race(app, w, [("crew1", body, {"Idempotency-Key": "resend-after-reconnect"})] * 12)
    assert sorted(s for s, _, _ in results) == [200] * 12, [(s, r.get("detail")) for s, _, r in results]
    assert all(r["id"] == body["id"] and r["received_at"] == first.json["received_at"] for _, _, r in results)
    _assert_stored_once(app, w, body["id"], 3)


def test_same_report_from_crew_and_commander_concurrently(app, ops_world):
    """The crew member's phone and the commander (for that crew member) send one report at once: one row."""
    w = ops_world
    w.activate()
    body = report_body(fired=1)
    senders = [("crew1", body, {}), ("commander", {**body, "crew_id": w.crew["ann"]}, {})] * 3
    results = _race(app, w, senders)
    assert all(s in (200, 201) for s, _, _ in results), [(s, r.get("detail")) for s, _, r in results]
    assert len([1 for s, replayed, _ in results if s == 201 and replayed is None]) == 1
    assert {r["id"] for _, _, r in results} == {body["id"]}
    _assert_stored_once(app, w, body["id"], 1)
