"""Flask extensions, created unbound and initialised in `create_app`."""

import logging

from flask import g
from flask_babel import Babel
from flask_compress import Compress
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from .database.unitofwork import ConnectionWork, SessionWork
from .errors import PROBLEM_MIMETYPE, ProblemSchema, problem_from_http_exception


class Base(DeclarativeBase):
    """Declarative base for every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()


class TextCompress(Compress):
    """Flask-Compress, except for partial answers: a 206 carries a byte range of the uncompressed file, which
    compressing would leave pointing at the wrong bytes."""

    def after_request(self, response):
        if response.status_code == 206:
            return response
        return super().after_request(response)


# Text answers compressed (zstd, brotli or gzip, as the client accepts); which types and when: config.py.
compress = TextCompress()
# The ORM session's transaction as a unit of work (db.session is scoped: this follows the app context's).
session_work = SessionWork(db.session)


def unit_of_work() -> ConnectionWork:
    """This app context's own Core connection and its transaction (the busiest endpoints' way past the ORM
    session), opened on first use."""
    work = g.get("_ops_work")
    if work is None:
        work = g._ops_work = ConnectionWork(db.engine)
    return work


def close_unit_of_work(_exc=None) -> None:
    """Roll back what the app context's unit of work left open and give its connection back to the pool
    (registered as an app-context teardown).

    A connection that fails here is dropped and logged, not raised: the teardowns after this one (the
    session's among them) must still run.
    """
    work = g.pop("_ops_work", None)
    if work is not None:
        try:
            work.close()
        except Exception:
            logging.getLogger(__name__).exception("a database connection failed at teardown; dropped")


_DOCUMENTS: dict[tuple, object] = {}  # OpenAPI documents built in this process, by blueprints and settings


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

    def register_blueprints(self, blueprints) -> None:
        """Register the API's blueprints and document them. The document depends only on the code and the
        OpenAPI settings, and building it is most of an app's start (flask-smorest copies each view's doc): an
        app of this process with the same blueprints and settings built it already, so its document is reused
        (a test session creates an app per test) and only the routes are registered."""
        key = (tuple(blp.name for blp in blueprints), tuple(sorted(
            (k, repr(v)) for k, v in self._app.config.items() if k.startswith(("API_", "OPENAPI_")))),
            repr(self._spec_kwargs))
        built = _DOCUMENTS.get(key)
        if built is None:
            for blp in blueprints:
                self.register_blueprint(blp)
            _DOCUMENTS[key] = self.spec
            return
        for blp in blueprints:
            self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
            self._app.register_blueprint(blp)
        self.spec = built  # read-only from here on: served by /api/openapi.json

    def handle_http_exception(self, error):
        return problem_from_http_exception(error)
