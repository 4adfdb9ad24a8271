"""The worlds built once per test session and copied for each test that asks for one.

Building a world through the API (points, crew, five accounts and their logins, shifts, the catalogue, stock,
an announcement, a round) costs a second or more, and two thirds of the tests ask for one: built once per
worker into a database of its own, the world is then copied with the test's fresh database (a file copy on
SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL), its signed checkpoint file with it. Each test still has
its own database and app; only the facts the world holds (ids, tokens) are shared, as plain values.
"""

import copy
import dataclasses
import shutil
import sqlite3
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from opsserver import create_app
from opsserver.audit import timer
from opsserver.extensions import db

from .database import fresh_database
from .world import OpsWorld, World, make_ops_world, make_world

KINDS = {"world": World, "ops": OpsWorld}


def checkpoint_file(db_url: str, directory: Path) -> Path:
    """Where a test app's signed checkpoints go: beside its SQLite file, else the file the app fixture names."""
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///") + ".checkpoints.jsonl")
    return directory / "checkpoints.jsonl"


@dataclass
class BuiltWorld:
    """A world's database, to copy, with its checkpoint file and the world's values (ids, tokens)."""

    kind: str
    template: dict  # as tests.helpers.database.fresh_database takes it
    checkpoints: Path
    values: dict

    def copy_checkpoints(self, db_url: str, directory: Path) -> None:
        """Give the test's database the checkpoints its copied table holds."""
        if self.checkpoints.exists():
            shutil.copy(self.checkpoints, checkpoint_file(db_url, directory))

    def world(self, client) -> World:
        """The world, on the test's own client (its values copied: a test may change its own)."""
        return KINDS[self.kind](client=client, **copy.deepcopy(self.values))


class WorldTemplates:
    """The session's built worlds by kind, each made when first asked for."""

    def __init__(self, base: dict, directory: Path):
        self.base, self.directory, self.built = base, directory, {}
        self._stack = ExitStack()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def get(self, kind: str) -> BuiltWorld:
        if kind not in self.built:
            self.built[kind] = self._build(kind)
        return self.built[kind]

    def _build(self, kind: str) -> BuiltWorld:
        path = self.directory / f"{kind}.sqlite3"
        url = self._stack.enter_context(fresh_database(self.base, path))
        checkpoints = self.directory / f"{kind}.checkpoints.jsonl"
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "OPS_AUDIT_CHECKPOINT_FILE": str(checkpoints)})
        try:
            w = make_world(app, app.test_client())
            if kind == "ops":
                w = make_ops_world(w)
        finally:
            timer.stop(app)
            with app.app_context():
                db.engine.dispose()
        if self.base["kind"] == "sqlite":
            # Every connection is closed, so the WAL is merged; make sure before the file is copied alone.
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            template = {"kind": "sqlite", "path": path}
        else:
            template = {**self.base, "name": url.rsplit("/", 1)[1]}
        values = {f.name: getattr(w, f.name) for f in dataclasses.fields(w) if f.name != "client"}
        return BuiltWorld(kind, template, checkpoints, values)
