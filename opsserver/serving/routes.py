"""Health and readiness for load balancers and process managers (no token: they carry none)."""

import functools

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..config import MIGRATIONS_DIR
from ..errors import problem_dict, problem_response
from ..extensions import db

bp = Blueprint("serving", __name__)


@functools.cache
def schema_head() -> str:
    """The migration this code expects the database to be at (read once, on the first readiness probe)."""
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


@bp.get("/healthz")
def healthz():
    """The process is up and answering; touches nothing else, so a slow database does not restart it."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers and its schema is at this code's migration head."""
    head = schema_head()
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as err:  # any database failure means "not ready", never a 500
        db.session.rollback()
        current_app.logger.warning("readiness: database check failed: %s", type(err).__name__)
        return problem_response(problem_dict(503, "The database does not answer.", type_="not-ready"),
                                {"Retry-After": "5"})
    if current != head:
        return problem_response(problem_dict(
            503, f"The database schema is at {current!r}, this code needs {head!r}: run `ops init-db`.",
            type_="not-ready"), {"Retry-After": "30"})
    return jsonify(status="ready", database=db.engine.dialect.name, schema=current)
