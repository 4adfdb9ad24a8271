"""Keyset pagination: every list answers `{items, next_cursor}`."""

import base64
import json
import re

from datetime import datetime

import marshmallow as ma
from sqlalchemy import Select, literal, tuple_

from .database.utc import UTCDateTime
from .errors import field_error
from .extensions import db
from .fields import Count, QuerySchema, Text

CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
CURSOR_MAX = 512
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,%d}" % CURSOR_MAX)


class PageQuerySchema(QuerySchema):
    """`limit` and the opaque `cursor` from the previous page."""

    limit = Count(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    # The form is checked where the cursor is read, so that every cursor this API did not issue is one 400.
    cursor = Text(load_default=None, metadata={
        "pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX,
        "description": "the previous page's `next_cursor` (base64url; empty or absent: the first page); one this API "
                       "did not issue is refused (400)"})


def list_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A `{items: [...], next_cursor}` schema around an item schema."""
    return ma.Schema.from_dict(
        {"items": ma.fields.List(ma.fields.Nested(item_schema)),
         "next_cursor": ma.fields.String(allow_none=True)},
        name=name,
    )


def _decode(cursor: str, columns) -> list:
    try:
        if not _CURSOR.fullmatch(cursor):  # base64 decoding would skip other characters
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))["k"]
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        decoded = [datetime.fromisoformat(v) if isinstance(col.type, UTCDateTime) else v
                   for v, col in zip(values, columns)]
        if any(isinstance(v, int) and not -2**62 < v < 2**62 for v in decoded) or any(
                isinstance(v, datetime) and (v.tzinfo is None or not 1900 < v.year < 2200) for v in decoded):
            raise ValueError
        return decoded
    except (ValueError, KeyError, TypeError, AttributeError):
        raise field_error("cursor", "Not a cursor returned by this API.", status=400, location="query") from None


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps({"k": plain}).encode()).decode().rstrip("=")


def keyset_page(stmt: Select, key_columns, limit: int, cursor: str | None, *, scalars: bool = True,
                descending: bool = False) -> dict:
    """Run `stmt` ordered by key columns that together are unique, from after the cursor.

    One extra row tells whether more remain; the cursor holds the last row's key values.
    """
    columns = list(key_columns) if isinstance(key_columns, (list, tuple)) else [key_columns]
    key = tuple_(*columns) if len(columns) > 1 else columns[0]
    if cursor:
        last = _decode(cursor, columns)
        bound = tuple_(*[literal(v, c.type) for v, c in zip(last, columns)]) if len(columns) > 1 else literal(
            last[0], columns[0].type)
        stmt = stmt.where(key < bound if descending else key > bound)
    stmt = stmt.order_by(*[c.desc() if descending else c for c in columns]).limit(limit + 1)
    result = db.session.execute(stmt)
    rows = list(result.scalars() if scalars else result)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last_row = rows[-1]
        source = last_row if scalars or hasattr(last_row, columns[0].key) else last_row[0]
        next_cursor = _encode([getattr(source, c.key) for c in columns])
    return {"items": rows, "next_cursor": next_cursor}
