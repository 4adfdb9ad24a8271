"""The fixtures every test can ask for, wired from tests/helpers (import helpers from there, not from here):
a real database per test (helpers/database.py), the app and its clients, the worlds (helpers/world.py)."""

import pytest

from opsserver import create_app
from opsserver.audit import timer
from opsserver.extensions import db

from .helpers.database import fresh_database, row_counts, template_database
from .helpers.live import NO_CHROMIUM
from .helpers.servers import redis_server
from .helpers.world import OpsWorld, World, make_ops_world, make_world
from .helpers.worlds import BuiltWorld, WorldTemplates, checkpoint_file


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, worker_id):
    """A database migrated once per test session; each test gets a copy of it."""
    with template_database(tmp_path_factory.mktemp("template"), worker_id) as template:
        yield template


@pytest.fixture(scope="session")
def world_templates(template_db, tmp_path_factory):
    """The worlds, each built once per session when first asked for (helpers/worlds.py)."""
    with WorldTemplates(template_db, tmp_path_factory.mktemp("worlds")) as templates:
        yield templates


# The built world each test's database was copied from, by the database's URL.
_WORLD_OF: dict[str, BuiltWorld] = {}


@pytest.fixture
def db_url(request, template_db, tmp_path):
    """A fresh, migrated database for one test: a copy of the built world when the test asks for one."""
    names = request.fixturenames
    kind = "ops" if "ops_world" in names else "world" if "world" in names else None
    if request.node.get_closest_marker("world_built_here"):
        kind = None
    built = request.getfixturevalue("world_templates").get(kind) if kind else None
    with fresh_database(built.template if built else template_db, tmp_path / "ops.sqlite3") as url:
        if built is not None:
            built.copy_checkpoints(url, tmp_path)
            _WORLD_OF[url] = built
        try:
            yield url
        finally:
            _WORLD_OF.pop(url, None)


@pytest.fixture
def app(db_url, tmp_path):
    """The app on this test's own database."""
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url}
    if not db_url.startswith("sqlite"):
        # Off SQLite the default checkpoint file is named after the database in the repo's instance/
        # folder: one stray file per test database. SQLite's default (beside its file) is tmp_path already.
        config["OPS_AUDIT_CHECKPOINT_FILE"] = str(checkpoint_file(db_url, tmp_path))
    app = create_app(config)
    yield app
    timer.stop(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Flask's test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Flask's CLI runner of the app (the `ops` commands)."""
    return app.test_cli_runner()


@pytest.fixture
def world(app, client, db_url) -> World:
    """Two points, six crew members, an account of every role (tokens logged in) and shifts now (copied with
    the test's database from the session's built world; built here when the database was not)."""
    built = _WORLD_OF.get(db_url)
    return built.world(client) if built is not None else make_world(app, client)


@pytest.fixture
def ops_world(world) -> OpsWorld:
    """`world` plus an ammunition catalogue, opening stock and a planned round ordering LH01 and LH02."""
    return world if isinstance(world, OpsWorld) else make_ops_world(world)


@pytest.fixture
def rows(app):
    """Row counts of every table: compare before and after to prove a refused request wrote nothing."""
    return lambda: row_counts(app)


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Redis server (Debian's redis-server, which scripts/test.sh installs) on a free port."""
    with redis_server(tmp_path) as url:
        yield url



def pytest_collection_modifyitems(config, items):
    """A test that drives Debian's Chromium (it takes the `browser` fixture, or is marked needs_chromium) is
    marked `browser`, so a run can pick them: .ci/run drives the browser once, on SQLite."""
    for item in items:
        needs = any(m.kwargs.get("reason") == NO_CHROMIUM for m in item.iter_markers("skipif"))
        if needs or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
