"""Test fixtures: a real database per test (an SQLite file, or PostgreSQL when TEST_DATABASE_URL is set)."""

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opsserver import MIGRATIONS_DIR, create_app
from opsserver.database import now_utc
from opsserver.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1/postgres


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, worker_id):
    """A database migrated once per test session; each test gets a copy of it."""
    if PG_ADMIN_URL:
        name = f"ops_tpl_{worker_id}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        _migrate(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
        yield {"kind": "postgresql", "name": name, "admin": admin}
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _migrate(f"sqlite:///{path}")
        yield {"kind": "sqlite", "path": path}


@pytest.fixture
def db_url(template_db, tmp_path):
    """A fresh, migrated database for one test."""
    if template_db["kind"] == "postgresql":
        name = f"ops_t_{uuid.uuid4().hex[:12]}"
        with template_db["admin"].connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db["name"]}"'))
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with template_db["admin"].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "ops.sqlite3"
        shutil.copy(template_db["path"], path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app(db_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def point_data(code="LH01", **overrides) -> dict:
    """A valid rocket point near Luohe's centre, with a sector crossing north."""
    data = {"code": code, "name": f"Test point {code}", "county": "Yancheng", "latitude": 33.58,
            "longitude": 114.02, "elevation_m": 60.0, "equipment": "rocket", "launchers": 2,
            "sector_start_deg": 300.0, "sector_end_deg": 40.0, "max_range_km": 7.0, "max_height_m": 7000.0,
            "geofence_m": 500.0}
    data.update(overrides)
    return data


@dataclass
class World:
    """A small deployment made through the services: points, crew, accounts of every role, shifts now."""

    client: object
    tokens: dict = field(default_factory=dict)
    crew: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)

    def headers(self, who: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}


@pytest.fixture
def world(app, client) -> World:
    from opsserver.accounts.services import create_account
    from opsserver.registry.services import create_crew, create_point, create_shift

    today = date.today()
    with app.app_context():
        p1 = create_point("test", point_data("LH01"))
        p2 = create_point("test", point_data("LH02", equipment="gun", latitude=33.70, longitude=114.10,
                                             sector_start_deg=90.0, sector_end_deg=180.0))
        crew = {}
        for key, days, home in [("ann", 400, "LH01"), ("bo", 400, "LH01"), ("cai", 400, "LH01"),
                                ("dong", 400, "LH02"), ("soon", 10, "LH01"), ("expired", -5, "LH01")]:
            member = create_crew("test", {"name": key.title(), "phone": "13900000000",
                                          "certificate_no": f"CERT-{key}",
                                          "certificate_expires": today + timedelta(days=days),
                                          "home_point": home})
            crew[key] = member.id
        for username, role, crew_key in [("admin", "admin", None), ("commander", "commander", None),
                                         ("auditor", "auditor", None), ("crew1", "crew", "ann"),
                                         ("crew2", "crew", "dong")]:
            create_account("test", username, "password-" + username, role,
                           crew[crew_key] if crew_key else None)
        start = now_utc() - timedelta(hours=2)
        for key in ("ann", "bo", "cai"):
            create_shift("test", "LH01", crew[key], start, start + timedelta(hours=12), "operator")
        create_shift("test", "LH02", crew["dong"], start, start + timedelta(hours=12), "leader")
        points = {"LH01": p1.id, "LH02": p2.id}
    w = World(client=client, crew=crew, points=points)
    for username in ("admin", "commander", "auditor", "crew1", "crew2"):
        resp = client.post("/api/v1/auth/token", json={"username": username, "password": "password-" + username})
        assert resp.status_code == 200, resp.json
        w.tokens[username] = resp.json["access_token"]
    return w


def count_rows(app, table: str) -> int:
    """Rows in a table, read straight from the database."""
    with app.app_context():
        return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.fixture
def rows(app):
    """Row counts of every table: compare before and after to prove a refused request wrote nothing."""
    tables = ["audit_events", "points", "crew_members", "shifts", "accounts", "tokens", "checkins",
              "idempotency_records"]

    def snapshot() -> dict:
        return {t: count_rows(app, t) for t in tables}

    return snapshot
