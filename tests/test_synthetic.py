"""`ops seed-synthetic`: a SYNTHETIC national data set, clearly named, consistent, with a valid audit chain."""

from sqlalchemy import text

from opsserver.extensions import db


def scalar(app, sql: str):
    with app.app_context():
        return db.session.execute(text(sql)).scalar()


def test_seed_synthetic_makes_a_named_consistent_data_set(app, runner):
    result = runner.invoke(args=["ops", "seed-synthetic", "--points", "120", "--crew", "400", "--rounds", "3",
                                 "--reports-per-round", "20", "--audit-events", "2500"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC data: 120 points, 400 crew" in result.output
    assert scalar(app, "SELECT count(*) FROM points WHERE code LIKE 'SYN%' AND name LIKE 'SYNTHETIC %'") == 120
    assert scalar(app, "SELECT count(*) FROM points WHERE code NOT LIKE 'SYN%'") == 0
    assert scalar(app, "SELECT count(*) FROM crew_members WHERE name NOT LIKE 'SYNTHETIC %'") == 0
    assert scalar(app, "SELECT count(*) FROM ammo_types WHERE code = 'SYN-RKT' AND placeholder") == 1
    assert scalar(app, "SELECT count(*) FROM rounds WHERE name LIKE 'SYNTHETIC round %'") == 3
    reports = scalar(app, "SELECT count(*) FROM firing_reports")
    assert reports == 60
    # One consumption entry per report, equal to what the report fired: the ledger balances.
    assert scalar(app, "SELECT count(*) FROM ledger_entries WHERE kind = 'consumption'") == reports
    assert scalar(app, "SELECT count(*) FROM ledger_entries l JOIN report_ammo a ON a.report_id = l.report_id "
                       "WHERE l.quantity <> -a.fired") == 0
    assert scalar(app, "SELECT min(s) FROM (SELECT sum(quantity) AS s FROM ledger_entries GROUP BY point_id) t") >= 0
    # The audit chain: the load's own events plus the filler, one gapless chain that verifies.
    assert scalar(app, "SELECT count(*) FROM audit_events WHERE action = 'synthetic.filler'") == 2500
    last = scalar(app, "SELECT max(seq) FROM audit_events")
    assert scalar(app, "SELECT count(*) FROM audit_events") == last
    verify = runner.invoke(args=["ops", "verify-audit"])
    assert verify.exit_code == 0 and verify.output.startswith("ok"), verify.output
    # A second load changes nothing.
    again = runner.invoke(args=["ops", "seed-synthetic", "--points", "120"])
    assert "nothing to do" in again.output
    assert scalar(app, "SELECT count(*) FROM points") == 120


def test_synthetic_crew_can_log_in_and_check_in(app, runner, client):
    assert runner.invoke(args=["ops", "seed-synthetic", "--points", "5", "--crew", "10", "--rounds", "1",
                               "--reports-per-round", "2", "--active-round"]).exit_code == 0
    resp = client.post("/api/v1/auth/token", json={"username": "syn-crew-00003", "password": "synthetic-pass"})
    assert resp.status_code == 200, resp.json
    token = resp.json["access_token"]
    point = client.get("/api/v1/points/SYN00003", headers={"Authorization": f"Bearer {token}"}).json
    body = {"id": "00000000-0000-4000-8000-000000000003", "point_code": "SYN00003", "kind": "arrive",
            "latitude": point["latitude"], "longitude": point["longitude"], "accuracy_m": 5.0,
            "recorded_at": "2026-11-29T10:00:00+00:00"}
    resp = client.post("/api/v1/checkins", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201 and resp.json["within_geofence"] is True
    # The active round orders every point, so the live feed shows each in it.
    status = client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).json["points"]
    assert len(status) == 5 and all(p["round"]["name"] == "SYNTHETIC round tonight" for p in status)


def test_seed_synthetic_refuses_a_database_with_data(app, runner):
    """Its accounts share a published password, so it never loads beside real points or accounts."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ops", "seed-synthetic", "--points", "5", "--crew", "5"])
    assert "only into an empty database" in result.output
    assert scalar(app, "SELECT count(*) FROM points WHERE code LIKE 'SYN%'") == 0
    assert scalar(app, "SELECT count(*) FROM accounts WHERE username LIKE 'syn-%'") == 0
    bad = runner.invoke(args=["ops", "seed-synthetic", "--points", "0"])
    assert bad.exit_code != 0 and "--points" in bad.output
