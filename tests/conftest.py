"""Test fixtures: a real database per test (an SQLite file, or PostgreSQL when TEST_DATABASE_URL is set)."""

import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opsserver import MIGRATIONS_DIR, create_app
from opsserver.database import now_utc
from opsserver.extensions import db

from .helpers.servers import app_server, free_port, http_json, redis_server  # noqa: F401  (re-exported)

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL")
PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}  # e.g. postgresql+psycopg://postgres@127.0.0.1/postgres


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


@contextmanager
def fresh_database(template_db, path):
    """A migrated database copied from the template (a file on SQLite, a database on PostgreSQL)."""
    if template_db["kind"] == "postgresql":
        name = f"ops_t_{uuid.uuid4().hex[:12]}"
        with template_db["admin"].connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db["name"]}"'))
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with template_db["admin"].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        shutil.copy(template_db["path"], path)
        yield f"sqlite:///{path}"


@pytest.fixture
def db_url(template_db, tmp_path):
    """A fresh, migrated database for one test."""
    with fresh_database(template_db, tmp_path / "ops.sqlite3") as url:
        yield url


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
              "idempotency_records", "rounds", "round_points", "airspace_requests", "firing_reports",
              "report_ammo", "ammo_types", "ledger_entries"]

    def snapshot() -> dict:
        return {t: count_rows(app, t) for t in tables}

    return snapshot


@dataclass
class OpsWorld(World):
    """The small world plus an ammunition catalogue, opening stock and one planned round of LH01 and LH02."""

    round_id: int = 0

    def post(self, who: str, url: str, body=None, **headers):
        return self.client.post(url, json=body if body is not None else {}, headers=self.headers(who, **headers))

    def get(self, who: str, url: str, **headers):
        return self.client.get(url, headers=self.headers(who, **headers))

    def arrive(self, crew_key: str, point: str = "LH01", *, metres: float = 50.0, at=None, kind: str = "arrive"):
        """Check a crew member in (recorded by the commander), `metres` from the point."""
        from geopy.distance import geodesic

        lat, lon = {"LH01": (33.58, 114.02), "LH02": (33.70, 114.10)}[point]
        p = geodesic(meters=metres).destination((lat, lon), 90)
        body = {"id": str(uuid.uuid4()), "point_code": point, "kind": kind, "latitude": p.latitude,
                "longitude": p.longitude, "accuracy_m": 5.0, "recorded_at": (at or now_utc()).isoformat(),
                "crew_id": self.crew[crew_key]}
        resp = self.post("commander", "/api/v1/checkins", body)
        assert resp.status_code == 201, resp.json
        return resp.json

    def activate(self, round_id: int | None = None):
        resp = self.post("commander", f"/api/v1/rounds/{round_id or self.round_id}/activate")
        assert resp.status_code == 200, resp.json
        return resp.json

    def request_window(self, point: str = "LH01", who: str = "commander", minutes: int = 30, start=None,
                       round_id: int | None = None):
        body = {"point_code": point, "window_start": (start or now_utc()).isoformat(), "duration_min": minutes}
        return self.post(who, f"/api/v1/rounds/{round_id or self.round_id}/airspace", body)

    def approve(self, request_id: str, start, end, reference: str = "ATC-TEST-1"):
        return self.post("commander", f"/api/v1/airspace/{request_id}/decision",
                         {"decision": "approved", "approved_start": start.isoformat(),
                          "approved_end": end.isoformat(), "reference": reference})

    def ready_to_fire(self):
        """Activate the round, man LH01 (Ann, Bo, Cai) and approve a window there over the next hour."""
        self.activate()
        for key in ("ann", "bo", "cai"):
            self.arrive(key)
        now = now_utc()
        req = self.request_window("LH01", minutes=60, start=now - timedelta(minutes=1))
        assert req.status_code == 201, req.json
        resp = self.approve(req.json["id"], now - timedelta(minutes=1), now + timedelta(hours=1))
        assert resp.status_code == 200, resp.json

    def report(self, who: str = "crew1", *, point: str = "LH01", started=None, ended=None, azimuth: float = 10.0,
               ammo=None, round_id: int | None = None, **extra):
        started = started or now_utc()
        body = {"id": str(uuid.uuid4()), "point_code": point, "started_at": started.isoformat(),
                "ended_at": (ended or started).isoformat(), "azimuth_deg": azimuth, "elevation_deg": 55.0,
                "ammo": ammo or [{"type": "RKT-AGI", "fired": 2, "duds": 0}], **extra}
        return self.post(who, f"/api/v1/rounds/{round_id or self.round_id}/reports", body)


@pytest.fixture
def ops_world(app, client, world) -> OpsWorld:
    """`world` plus RKT-AGI (1.2 g) and SHELL-37 (0.5 g), 20 rockets at LH01 and 100 shells at LH02, and a
    planned round (not yet active) ordering LH01 and LH02."""
    w = OpsWorld(client=client, tokens=world.tokens, crew=world.crew, points=world.points)
    for code, name, grams in [("RKT-AGI", "AgI rocket", 1.2), ("SHELL-37", "37 mm shell", 0.5)]:
        resp = w.post("admin", "/api/v1/ammo/types", {"code": code, "name": name, "agent": "AgI",
                                                      "agent_g_per_unit": grams, "placeholder": True})
        assert resp.status_code == 201, resp.json
    for point, code, qty in [("LH01", "RKT-AGI", 20), ("LH02", "SHELL-37", 100)]:
        resp = w.post("commander", "/api/v1/ammo/movements", {"point_code": point, "ammo_type": code,
                                                               "quantity": qty, "kind": "receipt",
                                                               "reference": "opening stock"})
        assert resp.status_code == 201, resp.json
    start = now_utc()
    resp = w.post("commander", "/api/v1/rounds", {"name": "Test round", "purpose": "rain_enhancement",
                                                   "planned_start": start.isoformat(),
                                                   "planned_end": (start + timedelta(hours=3)).isoformat(),
                                                   "point_codes": ["LH01", "LH02"]})
    assert resp.status_code == 201, resp.json
    w.round_id = resp.json["id"]
    return w


# --- helpers shared by the API tests ---------------------------------------------------------------

def checkin_body(point: str = "LH01") -> dict:
    """A new arrival at LH01, inside its geofence, now."""
    return {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": 33.5801,
            "longitude": 114.0201, "accuracy_m": 6.0, "recorded_at": now_utc().isoformat()}


def report_body(fired: int = 1, point: str = "LH01") -> dict:
    """A new report firing `fired` rockets at LH01 now (inside the active round; flags do not matter)."""
    started = now_utc()
    return {"id": str(uuid.uuid4()), "point_code": point, "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=30)).isoformat(), "azimuth_deg": 10.0, "elevation_deg": 55.0,
            "ammo": [{"type": "RKT-AGI", "fired": fired, "duds": 0}]}


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def parse(value: str) -> datetime:
    """An ISO time from an answer."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_problem(resp, status: int, field: str | None = None, says: str | None = None):
    """An RFC 9457 problem with this status, optionally naming a field and saying something in `detail`."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    assert PROBLEM_KEYS <= set(resp.json)
    assert resp.json["status"] == status
    assert resp.json["detail"]
    if field is not None:
        assert field in [e["field"] for e in resp.json["errors"]], resp.json
    if says is not None:
        assert says.lower() in resp.json["detail"].lower(), resp.json["detail"]


def assert_refused(w, rows, call, status: int, says: str | None = None, field: str | None = None):
    """`call()` is refused with a problem of this status and writes nothing at all."""
    before = rows()
    resp = call()
    assert_problem(resp, status, field, says)
    assert rows() == before
    return resp


# --- real app servers: tests/helpers/servers.py (re-exported for the tests that import them here) ---


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Redis server (Debian's redis-server, which scripts/test.sh installs) on a free port."""
    with redis_server(tmp_path) as url:
        yield url
