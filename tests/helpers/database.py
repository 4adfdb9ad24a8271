"""The test databases: one migrated template per session, a copy of it per test (an SQLite file, or a
PostgreSQL database when TEST_DATABASE_URL is set, e.g. postgresql+psycopg://postgres@127.0.0.1/postgres)."""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opsserver import MIGRATIONS_DIR, create_app
from opsserver.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL")

# Every table a request can write: a refused request leaves all of their counts as they were.
TABLES = ["audit_events", "points", "crew_members", "shifts", "accounts", "tokens", "checkins",
          "idempotency_records", "rounds", "round_points", "airspace_requests", "firing_reports",
          "report_ammo", "ammo_types", "ledger_entries", "no_fire_zones", "orders", "announcements",
          "announcement_points", "alert_acks"]


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest migration."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        db.engine.dispose()


def _pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def template_database(directory: Path, worker_id: str) -> Iterator[dict]:
    """A database migrated once, to copy for each test; dropped afterwards (PostgreSQL)."""
    if PG_ADMIN_URL:
        # Unique per session: two test runs at once on one server (-n 0 makes both "master") must not drop
        # each other's template.
        name = f"ops_tpl_{worker_id}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            migrate(_pg_url(name))
            yield {"kind": "postgresql", "name": name, "admin": admin}
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        path = directory / "template.sqlite3"
        migrate(f"sqlite:///{path}")
        yield {"kind": "sqlite", "path": path}


@contextmanager
def fresh_database(template_db: dict, path: Path) -> Iterator[str]:
    """A migrated database copied from the template (a file at `path` on SQLite, a database on PostgreSQL);
    yields its URL."""
    if template_db["kind"] == "postgresql":
        name = f"ops_t_{uuid.uuid4().hex[:12]}"
        with template_db["admin"].connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db["name"]}"'))
        try:
            yield _pg_url(name)
        finally:
            with template_db["admin"].connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        shutil.copy(template_db["path"], path)
        yield f"sqlite:///{path}"


def count_rows(app, table: str) -> int:
    """Rows in a table, read straight from the database."""
    with app.app_context():
        return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def row_counts(app) -> dict[str, int]:
    """The row count of every table in TABLES."""
    return {t: count_rows(app, t) for t in TABLES}
