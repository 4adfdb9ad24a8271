"""What every feature's routes share: the Idempotency-Key and X-Device-Time headers (read, checked and
documented) and JSON answers written byte for byte the same on a replay."""

from datetime import datetime

import orjson
from flask import current_app, request

from .errors import field_error

# A header value: no control characters but tab (RFC 9110 field values).
HEADER_TEXT = r"^[^\x00-\x08\x0a-\x1f\x7f]+$"
HEADERS_DOC = {"parameters": [
    {"in": "header", "name": "Idempotency-Key", "required": False,
     "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": HEADER_TEXT},
     "description": "The same key and body again returns the first answer; another body is refused (422). "
                    "1–200 characters, no control characters (else 400)."},
    {"in": "header", "name": "X-Device-Time", "required": False,
     "schema": {"type": "string", "format": "date-time", "pattern": HEADER_TEXT},
     "description": "The phone's clock when sending, an ISO 8601 time with its offset (else 400); gives the "
                    "clock offset."},
]}


def device_time() -> datetime | None:
    """The phone's clock at sending, from `X-Device-Time`, for the clock-offset check."""
    raw = request.headers.get("X-Device-Time")
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise field_error("X-Device-Time", "Not an ISO 8601 time with an offset.", status=400, location="headers")
    return value


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key`, if it sent one (1–200 characters, else 400)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise field_error("Idempotency-Key", "Must be 1–200 characters.", status=400, location="headers")
    return key


def json_answer(body: dict, status: int, headers: dict | None = None):
    """A service's JSON-ready answer (maybe replayed from storage), written with sorted keys so that a
    replay is byte for byte the first answer (stored answers are canonical JSON)."""
    resp = current_app.response_class(orjson.dumps(body, option=orjson.OPT_SORT_KEYS), status=status,
                                      mimetype="application/json")
    resp.headers.update(headers or {})
    return resp


def idempotent_answer(body: dict, status: int, replayed: bool):
    """The answer of a command run once per idempotency key, marked `Idempotent-Replayed` on a replay."""
    return json_answer(body, status, {"Idempotent-Replayed": "true"} if replayed else {})


def json_body():
    """The request's JSON, read as the other endpoints' webargs reads it: no JSON content type or an empty
    body reads as {} (so the schema names the missing fields), malformed JSON is a 400 naming the body."""
    raw = request.get_data(cache=True)
    if not request.is_json or not raw:
        return {}
    try:
        return current_app.json.loads(raw)
    except ValueError:
        raise field_error("(body)", "Invalid JSON body.", status=400) from None
