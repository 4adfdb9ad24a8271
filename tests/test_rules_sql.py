"""Each rule's SQL expression selects exactly the rows its Python predicate accepts (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): on shift, overlapping, on site, within the on-site horizon, a flagged check-in, a
flagged report, a certificate's status.

The rows are written to a temporary table of plain columns, as the twins take their columns as arguments.
"""

import itertools
import json
import os
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, create_engine,
                        insert, select)

import rules

T0 = datetime(2026, 12, 1, 6, 0)
SHIFT_END = datetime(2026, 12, 1, 14, 0)
TIMES = [T0 - timedelta(seconds=1), T0, T0 + timedelta(hours=4), SHIFT_END - timedelta(seconds=1), SHIFT_END,
         SHIFT_END + timedelta(hours=1)]


def backends():
    yield "sqlite://"
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]


@pytest.fixture(params=list(backends()), ids=lambda url: url.split(":")[0].split("+")[0])
def connection(request):
    engine = create_engine(request.param)
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()
    engine.dispose()


def rows_where(conn, columns: dict, rows: list[dict], condition_of) -> set[int]:
    """Write `rows` (each with an `id`) to a temporary table of `columns` (name: type) and answer the ids the
    condition selects."""
    table = Table("rule_rows", MetaData(), Column("id", Integer, primary_key=True),
                  *(Column(name, type_) for name, type_ in columns.items()), prefixes=["TEMPORARY"])
    table.create(conn)
    conn.execute(insert(table), rows)
    chosen = {r.id for r in conn.execute(select(table.c.id).where(condition_of(table.c)))}
    table.drop(conn)
    return chosen


def test_on_shift(connection):
    rows = [{"id": i, "starts_at": a, "ends_at": b} for i, (a, b) in enumerate(itertools.combinations(TIMES, 2))]
    for at in TIMES:
        chosen = rows_where(connection, {"starts_at": DateTime, "ends_at": DateTime}, rows,
                            lambda c, at=at: rules.on_shift_sql(c.starts_at, c.ends_at, at))
        assert chosen == {r["id"] for r in rows if rules.on_shift(r["starts_at"], r["ends_at"], at)}
    assert [rules.on_shift(T0, SHIFT_END, at) for at in TIMES] == [False, True, True, True, False, False]


def test_overlaps(connection):
    rows = [{"id": i, "starts_at": a, "ends_at": b} for i, (a, b) in enumerate(itertools.combinations(TIMES, 2))]
    for other_start, other_end in [(T0, SHIFT_END), (SHIFT_END, SHIFT_END + timedelta(hours=2)),
                                   (T0 - timedelta(hours=3), T0)]:
        chosen = rows_where(connection, {"starts_at": DateTime, "ends_at": DateTime}, rows,
                            lambda c, s=other_start, e=other_end: rules.overlaps_sql(c.starts_at, c.ends_at, s, e))
        assert chosen == {r["id"] for r in rows if rules.overlaps(r["starts_at"], r["ends_at"], other_start, other_end)}
    assert not rules.overlaps(T0, SHIFT_END, SHIFT_END, SHIFT_END + timedelta(hours=8))  # one ends as the next starts


def test_on_site_and_its_horizon(connection):
    at = T0
    since = rules.on_site_since(at)
    assert since == at - rules.ON_SITE_HORIZON
    recorded = [since - timedelta(seconds=1), since, since + timedelta(seconds=1), at, at + timedelta(seconds=1)]
    rows = [{"id": i, "kind": kind, "within_geofence": inside, "recorded_at": when}
            for i, (kind, inside, when) in enumerate(itertools.product(("arrive", "depart"), (True, False), recorded))]
    columns = {"kind": String(10), "within_geofence": Boolean, "recorded_at": DateTime}
    assert rows_where(connection, columns, rows, lambda c: rules.on_site_sql(c.kind, c.within_geofence)) == {
        r["id"] for r in rows if rules.on_site(r["kind"], r["within_geofence"])}
    assert rows_where(connection, columns, rows,
                      lambda c: rules.within_on_site_horizon_sql(c.recorded_at, since, at)) == {
        r["id"] for r in rows if rules.within_on_site_horizon(r["recorded_at"], since, at)}


def test_flagged_checkin(connection):
    offsets = [None, 0.0, 600.0, 600.5, -600.0, -601.0]
    rows = [{"id": i, "within_geofence": inside, "on_shift": shift, "clock_offset_s": offset}
            for i, (inside, shift, offset) in enumerate(itertools.product((True, False), (True, False), offsets))]
    columns = {"within_geofence": Boolean, "on_shift": Boolean, "clock_offset_s": Float}
    chosen = rows_where(connection, columns, rows,
                        lambda c: rules.checkin_flagged_sql(c.within_geofence, c.on_shift, c.clock_offset_s))
    python = {r["id"] for r in rows if rules.checkin_flagged(
        within_geofence=r["within_geofence"], on_shift=r["on_shift"], clock_offset_s=r["clock_offset_s"])}
    # ... and the predicate is "has at least one of checkin_flags' flags" (the stored verdict matching the distance).
    served = {r["id"] for r in rows if rules.checkin_flags(
        kind="arrive", distance=10 if r["within_geofence"] else 501, geofence_m=500, on_shift=r["on_shift"],
        clock_offset_s=r["clock_offset_s"])}
    assert chosen == python == served
    # Negated (the unflagged list), it selects the rest, the check-ins with no clock offset among them.
    unflagged = rows_where(connection, columns, rows,
                           lambda c: ~rules.checkin_flagged_sql(c.within_geofence, c.on_shift, c.clock_offset_s))
    assert unflagged == {r["id"] for r in rows} - python
    assert any(rows[i]["clock_offset_s"] is None for i in unflagged)


def test_flagged_report(connection):
    stored = [[], [rules.Flag("late_report", "x").as_dict()],
              [rules.Flag("outside_sector", "a").as_dict(), rules.Flag("understaffed", "b").as_dict()]]
    rows = [{"id": i, "flags": json.dumps(flags, ensure_ascii=False)} for i, flags in enumerate(stored)]
    flagged = {r["id"] for r in rows if rules.report_flagged(json.loads(r["flags"]))}
    column = {"flags": String(500)}
    assert rows_where(connection, column, rows, lambda c: rules.report_flagged_sql(c.flags)) == flagged == {1, 2}
    assert rows_where(connection, column, rows, lambda c: ~rules.report_flagged_sql(c.flags)) == {0}


def test_certificate_status(connection):
    today = date(2026, 12, 1)
    expiries = [today - timedelta(days=1), today, today + timedelta(days=29), today + timedelta(days=30),
                today + timedelta(days=31), today + timedelta(days=400)]
    rows = [{"id": i, "expires": e} for i, e in enumerate(expiries)]
    for status in ("expired", "expiring", "valid"):
        chosen = rows_where(connection, {"expires": Date}, rows,
                            lambda c, s=status: rules.certificate_status_sql(c.expires, s, today))
        assert chosen == {r["id"] for r in rows if rules.certificate_status(r["expires"], today) == status}, status
