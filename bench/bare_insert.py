"""A second reference for the check-in benchmark: the bare endpoint the issue sizes the target by.

It validates the same body with marshmallow and inserts one row through the ORM session, on its own
SQLite file in WAL mode with synchronous=FULL, and does nothing else: no token, no point or shift
lookup, no geofence, no idempotency record, no audit event. Served by gunicorn like the other two.
"""

import os
from datetime import datetime

import marshmallow as ma
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):
    __tablename__ = "bare_rows"

    id: Mapped[str] = mapped_column(primary_key=True)
    point_code: Mapped[str]
    kind: Mapped[str]
    latitude: Mapped[float]
    longitude: Mapped[float]
    accuracy_m: Mapped[float | None]
    recorded_at: Mapped[datetime]


class RowSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    point_code = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    latitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    longitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))
    accuracy_m = ma.fields.Float(load_default=None, allow_none=True)
    recorded_at = ma.fields.AwareDateTime(required=True)


schema = RowSchema()
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_BARE_DATABASE_URL"]
db.init_app(app)

with app.app_context():
    @event.listens_for(db.engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=FULL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")


def create_table() -> None:
    """Make the table (once, before the workers start)."""
    with app.app_context():
        db.create_all()


@app.post("/api/v1/checkins")
def insert():
    data = schema.load(request.get_json())
    data["id"] = str(data["id"])
    db.session.add(Row(**data))
    db.session.commit()
    return {"id": data["id"]}, 201
