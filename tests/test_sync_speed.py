"""A phone's night queue through `/api/v1/sync`: the firing context (round, point, windows, crew,
catalogue, stock) is read once per batch, not once per report, and stays exact while the batch itself
changes it (a report consumes stock, an arrival mans the point) or someone else writes between two items.

Statements are counted at the driver (sqlite3's trace callback, psycopg's cursor), so the count holds
whichever layer runs them. The timing itself is bench/sync_bench.py's job; nothing here is timed.
"""

import re
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
import time_machine
from sqlalchemy import event

from opsserver import idempotency
from opsserver.ammo import services as ammo_services
from opsserver.audit import services as audit
from opsserver.checkins import services as checkin_services
from opsserver.database.utc import now_utc
from opsserver.extensions import db

# Tables of the firing context: read once per batch however many reports it holds.
CONTEXT_TABLES = ("airspace_requests", "round_points", "ammo_types", "ledger_entries")
# A report writes five rows (report, ammunition line, ledger entry, audit event, idempotency key) in its
# own transaction (begin, commit) and reads what is its own: the audit events since the facts were read,
# its round (locked), crew on site when it began and the head its event chains onto. That is 11 on
# SQLite; PostgreSQL adds the stock and chain locks and a second look at the events after them (14).
# One more leaves room for the reporter's shift (a reporter away from their home point).
MAX_STATEMENTS_PER_REPORT = {"sqlite": 12, "postgresql": 15}


@contextmanager
def statements(app):
    """Every SQL statement the app sends to the database meanwhile, as the driver sees it."""
    seen: list[str] = []

    class Recording(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            seen.append(query if isinstance(query, str) else query.as_string(self))
            return super().execute(query, params, **kwargs)

    def on_connect(dbapi_connection, _record):
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(seen.append)
        else:
            dbapi_connection.cursor_factory = Recording

    with app.app_context():
        engine = db.engine
        engine.dispose()  # the pooled connections predate the listener: later requests open new ones
        event.listen(engine, "connect", on_connect)
    try:
        yield seen
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()


def reads_of(seen: list[str], table: str) -> int:
    return sum(1 for sql in seen if sql.lstrip().upper().startswith("SELECT") and re.search(rf"\b{table}\b", sql))


@pytest.fixture
def night(ops_world):
    """The round active since three hours ago, LH01's window approved from 170 to 10 minutes ago; nobody
    on site yet. Answers (world, a time inside the window to start the queue at)."""
    w, t0 = ops_world, now_utc()
    with time_machine.travel(t0 - timedelta(hours=3), tick=True):
        w.activate()
    req = w.request_window("LH01", start=t0 - timedelta(minutes=170), minutes=160)
    assert req.status_code == 201, req.json
    assert w.approve(req.json["id"], t0 - timedelta(minutes=170), t0 - timedelta(minutes=10)).status_code == 200
    return w, t0 - timedelta(minutes=160)


def report_item(w, started, fired: int = 1, **extra) -> dict:
    return {"type": "report", "round_id": w.round_id, "id": str(uuid.uuid4()), "point_code": "LH01",
            "started_at": started.isoformat(), "ended_at": (started + timedelta(seconds=30)).isoformat(),
            "azimuth_deg": 10.0, "elevation_deg": 55.0, "ammo": [{"type": "RKT-AGI", "fired": fired, "duds": 0}],
            **extra}


def arrival_item(w, crew_key: str, at) -> dict:
    return {"type": "checkin", "id": str(uuid.uuid4()), "point_code": "LH01", "kind": "arrive",
            "latitude": 33.5801, "longitude": 114.0201, "accuracy_m": 5.0, "recorded_at": at.isoformat(),
            "crew_id": w.crew[crew_key]}


def sync(w, items, who: str = "crew1") -> list[dict]:
    # the flags' reasons read below in English (the default is the reader's Chinese)
    resp = w.client.post("/api/v1/sync", json={"items": items}, headers=w.headers(who, **{"Accept-Language": "en"}))
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def codes(result: dict) -> set:
    return {f["code"] for f in result["body"]["flags"]}


def flag(result: dict, code: str) -> str:
    return next(f["reason"] for f in result["body"]["flags"] if f["code"] == code)


def stock(w) -> dict:
    return w.get("auditor", "/api/v1/points/LH01/ammo").json["stock"]


# --- the work per item -----------------------------------------------------------------------------

def test_a_batch_reads_its_firing_context_once_not_per_report(app, night):
    """50 reports read the windows, the ordered points, the catalogue and the stock as often as 5 do
    (once), and cost at most MAX_STATEMENTS_PER_REPORT statements each beyond that."""
    w, start = night
    counts = {}
    for n in (5, 50):
        items = [report_item(w, start + timedelta(seconds=n + i)) for i in range(n)]
        with statements(app) as seen:
            out = sync(w, items)
        assert [r["status"] for r in out] == [201] * n
        counts[n] = {"all": len(seen), **{t: reads_of(seen, t) for t in CONTEXT_TABLES}}
    for table in CONTEXT_TABLES:
        assert counts[50][table] == counts[5][table], (table, counts)
    per_report = (counts[50]["all"] - counts[5]["all"]) / 45
    with app.app_context():
        assert per_report <= MAX_STATEMENTS_PER_REPORT[db.engine.dialect.name], counts


# --- the context stays exact as the batch changes it ------------------------------------------------

def test_a_report_that_takes_the_last_rockets_leaves_none_for_the_next_in_the_batch(night):
    """Report 1 fires all 20 rockets LH01 holds (not short); report 2 of the same batch fires 1 and is
    flagged insufficient_stock (held 0, short 1); the ledger ends at -1. (Sent one by one, the same is
    test_reports.test_stock_is_what_earlier_reports_left.)"""
    w, start = night
    first, second = sync(w, [report_item(w, start, fired=20), report_item(w, start + timedelta(minutes=1))])
    assert (first["status"], second["status"]) == (201, 201)
    assert "insufficient_stock" not in codes(first)
    assert "insufficient_stock" in codes(second)
    assert flag(second, "insufficient_stock") == "RKT-AGI: fired 1, the ledger held 0 (short 1)"
    assert stock(w) == {"RKT-AGI": -1}


def test_arrivals_earlier_in_the_batch_man_the_point_for_a_later_report(night):
    """A commander's queue: a report, three arrivals, another report. The first finds nobody on site
    (understaffed, 0 of 3); the second sees the three arrivals queued before it and is not understaffed."""
    w, start = night
    before = report_item(w, start, crew_id=w.crew["ann"])
    arrivals = [arrival_item(w, key, start + timedelta(minutes=1)) for key in ("ann", "bo", "cai")]
    after = report_item(w, start + timedelta(minutes=2), crew_id=w.crew["ann"])
    out = sync(w, [before, *arrivals, after], who="commander")
    assert [r["status"] for r in out] == [201] * 5
    assert "understaffed" in codes(out[0])
    assert flag(out[0], "understaffed").startswith("0 certified crew")
    assert "understaffed" not in codes(out[4])


def test_a_write_by_someone_else_between_two_items_is_seen_by_the_next(night, monkeypatch):
    """A receipt of 5 rockets recorded by the commander while the phone's batch is half-way: the report
    after it is judged against 5 rockets, not against the stock the batch read first."""
    w, start = night
    real = checkin_services.SYNC_HANDLERS["report"]

    def report_then_receipt(who, item, key, device_time):
        answer = real(who, item, key, device_time)
        if item["id"] == first["id"]:
            ammo_services.record_movement("commander", {"point_code": "LH01", "ammo_type": "RKT-AGI",
                                                        "quantity": 5, "kind": "receipt", "reference": "truck"})
        return answer

    monkeypatch.setitem(checkin_services.SYNC_HANDLERS, "report", report_then_receipt)
    first = report_item(w, start, fired=20)
    out = sync(w, [first, report_item(w, start + timedelta(minutes=1), fired=5)])
    assert [r["status"] for r in out] == [201, 201]
    assert "insufficient_stock" not in codes(out[0]) | codes(out[1])
    assert stock(w) == {"RKT-AGI": 0}


def test_another_phones_report_at_the_point_between_two_items_is_seen_by_the_next(app, night, monkeypatch):
    """While crew1's batch is half-way, the commander's own report of 10 rockets at LH01 lands (from
    another thread, as another phone's would): crew1's next report, 10 more, finds the 5 left and is
    short by 5."""
    w, start = night
    real = checkin_services.SYNC_HANDLERS["report"]

    def commander_reports():
        resp = app.test_client().post(f"/api/v1/rounds/{w.round_id}/reports", headers=w.headers("commander"),
                                      json={k: v for k, v in other.items() if k not in ("type", "round_id")})
        assert resp.status_code == 201, resp.json

    def report_then_another(who, item, key, device_time):
        answer = real(who, item, key, device_time)
        if item["id"] == first["id"]:
            thread = threading.Thread(target=commander_reports)
            thread.start()
            thread.join()
        return answer

    monkeypatch.setitem(checkin_services.SYNC_HANDLERS, "report", report_then_another)
    first = report_item(w, start, fired=5)
    other = report_item(w, start + timedelta(minutes=1), fired=10, crew_id=w.crew["bo"])
    out = sync(w, [first, report_item(w, start + timedelta(minutes=2), fired=10)])
    assert [r["status"] for r in out] == [201, 201]
    assert "insufficient_stock" not in codes(out[0])
    assert flag(out[1], "insufficient_stock") == "RKT-AGI: fired 10, the ledger held 5 (short 5)"
    assert stock(w) == {"RKT-AGI": -5}


def test_a_report_that_fails_before_its_audit_event_consumes_nothing_for_the_next(night, monkeypatch):
    """Report 1 (20 rockets) fails at its audit event and is rolled back (500); report 2 (20 rockets)
    still finds the 20 and is not short."""
    w, start = night
    real_append = audit.append
    failed = report_item(w, start, fired=20)

    def append(actor, action, entity, entity_id, *args, **kwargs):
        if entity_id == failed["id"]:
            raise RuntimeError("disk on fire")
        return real_append(actor, action, entity, entity_id, *args, **kwargs)

    monkeypatch.setattr(audit, "append", append)
    out = sync(w, [failed, report_item(w, start + timedelta(minutes=1), fired=20)])
    assert [r["status"] for r in out] == [500, 201]
    assert "insufficient_stock" not in codes(out[1])
    assert stock(w) == {"RKT-AGI": 0}


def test_a_report_rolled_back_after_its_audit_event_consumes_nothing_for_the_next(night, monkeypatch):
    """Report 1 (20 rockets) writes its rows and audit event, then fails while its idempotency key is
    stored, so its transaction is rolled back (500): report 2 (20 rockets) is not short, and the audit
    chain holds no event of report 1."""
    w, start = night
    real = idempotency.canonical_json
    failed = report_item(w, start, fired=20)

    def canonical_json(value):
        if isinstance(value, dict) and value.get("id") == failed["id"] and "flags" in value:
            raise RuntimeError("disk on fire")
        return real(value)

    monkeypatch.setattr(idempotency, "canonical_json", canonical_json)
    out = sync(w, [failed, report_item(w, start + timedelta(minutes=1), fired=20)])
    assert [r["status"] for r in out] == [500, 201]
    assert "insufficient_stock" not in codes(out[1])
    assert stock(w) == {"RKT-AGI": 0}
    events = w.get("auditor", "/api/v1/audit/events?limit=100").json["items"]
    assert failed["id"] not in {e["entity_id"] for e in events}
    assert w.get("auditor", "/api/v1/audit/verify").json["ok"] is True


# --- crew on site at one point ---------------------------------------------------------------------

def test_on_site_at_one_point_reads_as_the_all_points_statement(app, ops_world):
    """The one-point statement a report uses gives the rows the all-points one gives for that point, at
    every instant of a history with departures, moves, the horizon, a fence, a tie and an expired card."""
    w, t = ops_world, now_utc().replace(microsecond=0)
    hour = timedelta(hours=1)
    w.arrive("ann", at=t - 3 * hour)
    w.arrive("ann", at=t - hour, kind="depart")
    w.arrive("bo", at=t - 2 * hour)
    w.arrive("bo", "LH02", at=t - hour / 2)
    w.arrive("cai", at=t - 25 * hour)
    w.arrive("dong", metres=800, at=t - hour)
    w.arrive("soon", at=t - hour)
    w.arrive("soon", at=t - hour)  # two arrivals at one instant
    w.arrive("expired", at=t - hour)
    lh01, lh02 = w.points["LH01"], w.points["LH02"]

    def rows(people):
        return sorted((p["crew_id"], p["arrived_at"], p["certificate_valid"]) for p in people)

    with app.app_context():
        for at in (t, t - hour, t - hour / 2, t - 2 * hour, t - 3 * hour, t - 24 * hour - hour / 2):
            one = checkin_services.on_site_by_point([lh01], at).get(lh01, [])
            every = checkin_services.on_site_by_point([lh01, lh02], at).get(lh01, [])
            assert rows(one) == rows(every), at
        now_on_site = checkin_services.on_site_by_point([lh01], t)[lh01]
    assert {p["crew_id"] for p in now_on_site} == {w.crew["soon"], w.crew["expired"]}
