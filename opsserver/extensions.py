"""Flask extensions, created unbound and initialised in `create_app`."""

import logging

from flask import g
from flask_babel import Babel
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from .errors import PROBLEM_MIMETYPE, ProblemSchema, problem_from_http_exception


class Base(DeclarativeBase):
    """Declarative base for every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()


def direct_connection():
    """This app context's DirectConnection (the hot paths' way past the ORM session), opened on first use."""
    from .database import DirectConnection

    conn = g.get("_ops_direct")
    if conn is None:
        conn = g._ops_direct = DirectConnection(db.engine)
    return conn


def close_direct_connection(_exc=None) -> None:
    """Give the app context's direct connection back to the pool (registered as an app-context teardown).

    A connection that fails here is dropped and logged, not raised: the teardowns after this one (the
    session's among them) must still run.
    """
    conn = g.pop("_ops_direct", None)
    if conn is not None:
        try:
            conn.close()
        except Exception:
            logging.getLogger(__name__).exception("a direct database connection failed at teardown; dropped")


class ProblemApi(Api):
    """flask-smorest's Api whose errors are RFC 9457 problem documents (see errors.py).

    Unlike the other extensions it is made per application (in `create_app`): an Api keeps one
    OpenAPI spec and one app, so a shared instance would mix the apps that tests create.
    """

    def __init__(self, *args, **kwargs):
        self.ERROR_SCHEMA = ProblemSchema
        super().__init__(*args, **kwargs)

    def _register_responses(self):
        # The error responses every operation refers to are problem documents, so documented as such.
        success_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MIMETYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = success_type

    def handle_http_exception(self, error):
        return problem_from_http_exception(error)
