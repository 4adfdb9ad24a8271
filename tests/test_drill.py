"""The drill plays a whole round through the services; the migrations match the models."""

from sqlalchemy import text

from opsserver.extensions import db


def test_drill_plays_a_round(app, runner, client):
    """After seed-demo and drill: every kind of state, flagged and clean reports, one consumption per line."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ops", "drill"])
    assert result.exit_code == 0, result.output
    token = client.post("/api/v1/auth/token", json={"username": "auditor",
                                                    "password": "auditor-demo-pass"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    detail = client.get("/api/v1/rounds/1", headers=headers).json
    states = {p["point_code"]: p["state"] for p in detail["points"]}
    assert detail["status"] == "active" and len(states) == 18
    assert {"done", "cleared", "requested", "rejected", "manned", "declined", "stood_down"} <= set(states.values())
    reports = client.get("/api/v1/rounds/1/reports", headers=headers).json["items"]
    codes = {f["code"] for r in reports for f in r["flags"]}
    assert {"outside_sector", "over_height", "insufficient_stock", "outside_window", "understaffed"} <= codes
    assert any(not r["flags"] for r in reports)
    consumption = client.get("/api/v1/ammo/ledger?round_id=1&limit=1000", headers=headers).json["items"]
    assert len(consumption) == sum(len(r["ammo"]) for r in reports)
    assert sum(-e["quantity"] for e in consumption) == sum(line["fired"] for r in reports for line in r["ammo"])
    assert client.get("/api/v1/audit/verify", headers=headers).json["ok"] is True
    alerts = client.get("/api/v1/alerts", headers=headers).json["items"]
    assert {"flagged_report", "checkin_outside_geofence", "certificate_expiring"} <= {a["type"] for a in alerts}


def test_drill_can_close_its_round(app, runner, client):
    """`drill --close` leaves the round closed."""
    runner.invoke(args=["ops", "seed-demo"])
    result = runner.invoke(args=["ops", "drill", "--close"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(text("SELECT closed_at IS NOT NULL FROM rounds")).scalar()


def test_migrations_match_the_models(app):
    """Alembic finds nothing to generate: the migrations create exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
