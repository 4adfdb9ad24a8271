"""The application factory, its settings and the `ops` command line."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from opsserver import create_app
from opsserver.demo.seed import load_data
from opsserver.extensions import db


def test_factory_takes_config(db_url):
    """Config passed to create_app wins over the defaults."""
    assert not create_app({"SQLALCHEMY_DATABASE_URI": db_url}).testing
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_TIMEZONE": "UTC"})
    assert app.testing and app.config["OPS_TIMEZONE"] == "UTC"


def test_default_database_is_sqlite_in_instance_folder(monkeypatch, tmp_path):
    """Without DATABASE_URL the app uses an SQLite file under its instance folder, in WAL mode with FKs on."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": None})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/ops.sqlite3")


def test_sqlite_pragmas(app):
    """WAL, FULL synchronous writes and foreign keys are set on every SQLite connection."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas: this run is on PostgreSQL")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_settings_from_environment(monkeypatch, db_url):
    """The documented environment variables reach the config."""
    monkeypatch.setenv("OPS_TOKEN_TTL_MINUTES", "5")
    monkeypatch.setenv("OPS_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("OPS_DEFAULT_GEOFENCE_M", "750")
    import importlib

    import opsserver.config
    importlib.reload(opsserver.config)
    try:
        from opsserver.config import Config
        assert Config.OPS_TOKEN_TTL == timedelta(minutes=5)
        assert Config.OPS_TIMEZONE == "Asia/Urumqi"
        assert Config.OPS_DEFAULT_GEOFENCE_M == 750
    finally:
        monkeypatch.undo()
        importlib.reload(opsserver.config)


def test_init_db_is_repeatable(runner):
    """init-db on a migrated database is a no-op that still succeeds."""
    result = runner.invoke(args=["ops", "init-db"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_seed_demo_loads_luohe(app, runner):
    """seed-demo loads 18 points over five counties, ≥60 crew, each role's account and tonight's shifts."""
    data = load_data()
    assert data["demo"] is True and "DEMO" in data["notice"]
    result = runner.invoke(args=["ops", "seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        q = lambda sql: db.session.execute(text(sql)).all()  # noqa: E731
        assert q("SELECT count(*) FROM points")[0][0] == 18
        counties = {r[0] for r in q("SELECT DISTINCT county FROM points")}
        assert counties == {"Yuanhui", "Yancheng", "Shaoling", "Wuyang", "Linying"}
        assert {r[0] for r in q("SELECT DISTINCT equipment FROM points")} == {"rocket", "gun"}
        assert q("SELECT count(*) FROM crew_members")[0][0] >= 60
        assert {r[0] for r in q("SELECT DISTINCT role FROM accounts")} == {"crew", "commander", "auditor", "admin"}
        shifts = q("SELECT count(*) FROM shifts")[0][0]
        assert shifts == sum(1 for c in data["crew"] if c["certificate_expires_in_days"] >= 1)
    again = runner.invoke(args=["ops", "seed-demo"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM points")).scalar() == 18


def test_seeded_crew_certificates(app, runner, client):
    """The demo has a few certificates expiring within 30 days and one expired."""
    runner.invoke(args=["ops", "seed-demo"])
    token = client.post("/api/v1/auth/token", json={"username": "commander",
                                                    "password": "commander-demo-pass"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    counts = {}
    for status in ("expiring", "expired"):
        counts[status] = len(client.get(f"/api/v1/crew?certificate_status={status}&limit=1000",
                                        headers=headers).json["items"])
    assert 1 <= counts["expiring"] <= 10
    assert counts["expired"] == 1


def test_create_user_reads_password_from_environment(runner, client, monkeypatch):
    """create-user takes OPS_PASSWORD; the new account can log in."""
    monkeypatch.setenv("OPS_PASSWORD", "a-long-password")
    result = runner.invoke(args=["ops", "create-user", "duty-officer", "--role", "commander"])
    assert result.exit_code == 0, result.output
    resp = client.post("/api/v1/auth/token", json={"username": "duty-officer", "password": "a-long-password"})
    assert resp.status_code == 200 and resp.json["role"] == "commander"
    dup = runner.invoke(args=["ops", "create-user", "duty-officer", "--role", "commander"])
    assert dup.exit_code != 0 and "taken" in dup.output


def test_create_user_prompts_without_environment(runner, client, monkeypatch):
    """Without OPS_PASSWORD the password is asked for twice."""
    monkeypatch.delenv("OPS_PASSWORD", raising=False)
    result = runner.invoke(args=["ops", "create-user", "auditor2", "--role", "auditor"],
                           input="another-password\nanother-password\n")
    assert result.exit_code == 0, result.output
    assert client.post("/api/v1/auth/token", json={"username": "auditor2",
                                                   "password": "another-password"}).status_code == 200


def test_verify_audit_command_on_a_good_chain(runner):
    """verify-audit says ok on an untouched chain."""
    runner.invoke(args=["ops", "seed-demo"])
    result = runner.invoke(args=["ops", "verify-audit"])
    assert result.exit_code == 0 and result.output.startswith("ok:")
