"""Every error as an RFC 9457 problem document (`application/problem+json`), including the app's own 414 and 431
for a request larger than any front passes on."""

import logging
from urllib.parse import quote

import marshmallow as ma
from flask import Flask, current_app, has_request_context, json, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestHeaderFieldsTooLarge, RequestURITooLarge
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_MIMETYPE = "application/problem+json"
LOCATIONS = ("json", "query", "headers", "path")
log = logging.getLogger(__name__)

# The app's own limits sit under gunicorn's (limit_request_line 4094 by default, 8190 in gunicorn.conf.py;
# limit_request_field_size 8190), whose answers are HTML the app cannot change: a request between the two is
# answered here, as a problem document. A front (nginx) must refuse anything longer before gunicorn sees it.
MAX_TARGET_BYTES = 4000
MAX_HEADER_FIELD_BYTES = 8000
MAX_HEADER_BYTES = 16384


class ProblemErrorSchema(ma.Schema):
    """One bad field."""

    field = ma.fields.String(metadata={"description": "Dotted path of the field, e.g. `ammo.0.fired`"})
    location = ma.fields.String(metadata={"description": "where the request carried it", "enum": list(LOCATIONS)})
    detail = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of this API is answered."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(ProblemErrorSchema))
    # Extension members (RFC 9457 §3.2), each listed here so that the document says every member an answer has.
    conflicting_shift_id = ma.fields.Integer(metadata={"description": "shift-overlap: the shift this one overlaps"})
    reasons = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "not-cleared: every reason the point may not fire now, as its clearance gives them"})
    uncovered_points = ma.fields.List(ma.fields.String(), metadata={
        "description": "not-announced: the round's points no published announcement covers"})


class ProblemError(Exception):
    """Raised by services and views to answer a problem; it carries everything the answer needs."""

    def __init__(self, status: int, detail: str, *, type_: str | None = None, title: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_
        self.title = title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    def to_dict(self) -> dict:
        """The problem document as a dict (also used for per-item answers of the sync endpoint)."""
        return problem_dict(self.status, self.detail, type_=self.type, title=self.title,
                            errors=_located(self.errors), extra=self.extra)


def field_error(field: str, detail: str, status: int = 422, location: str | None = None) -> ProblemError:
    """A problem naming one bad field, e.g. an unknown point code; without a location, the field is placed
    where the request carried it (path, query, a header, else the JSON body)."""
    return ProblemError(status, detail, type_="validation-error",
                        errors=[{"field": field, "location": location, "detail": detail}])


def where_sent(field: str) -> str:
    """Where this request carried a field: its path, its query, a header (names with a hyphen), or its body."""
    if not has_request_context():
        return "json"
    name = field.split(".", 1)[0]
    if name in (request.view_args or {}):
        return "path"
    if name in request.args:
        return "query"
    if "-" in name and name in request.headers:
        return "headers"
    return "json"


def _located(errors: list[dict]) -> list[dict]:
    return [entry if entry.get("location") else {**entry, "location": where_sent(entry["field"])} for entry in errors]


def _title(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")


def problem_dict(status: int, detail: str, *, type_: str | None = None, title: str | None = None,
                 errors: list[dict] | None = None, extra: dict | None = None) -> dict:
    """Build a problem document; `type_` is a short slug turned into a relative URI."""
    body = {
        "type": f"/problems/{type_}" if type_ else "about:blank",
        "title": title or _title(status),
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    if extra:
        body.update(extra)
    return body


def problem_response(body: dict, headers: dict | None = None):
    """A Flask response carrying a problem document."""
    resp = current_app.response_class(json.dumps(body), status=body["status"], mimetype=PROBLEM_MIMETYPE)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def flatten_messages(messages, location: str | None = None, prefix: str = "") -> list[dict]:
    """Turn marshmallow/webargs nested error messages into one entry per bad field."""
    out: list[dict] = []
    if isinstance(messages, dict):
        leaf = [v for v in messages.values() if not isinstance(v, (dict, list))]
        if leaf and len(leaf) == len(messages):
            # a dict of plain strings at the leaf: keyed messages for one field
            out.append({"field": prefix or "(body)", "location": location, "detail": "; ".join(map(str, leaf))})
            return out
        for key, value in messages.items():
            key = str(key)
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else key)
            out.extend(flatten_messages(value, location, name))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.append({"field": prefix or "(body)", "location": location, "detail": "; ".join(messages)})
        else:
            for m in messages:
                out.extend(flatten_messages(m, location, prefix))
    else:
        out.append({"field": prefix or "(body)", "location": location, "detail": str(messages)})
    return out


def validation_errors(messages: dict, default_location: str = "json") -> list[dict]:
    """webargs messages are keyed by location first (`{"json": {...}}`); marshmallow's are not."""
    names = {"querystring": "query", "view_args": "path", "json_or_form": "json"}
    locations = {"json", "query", "headers", "path", "form", "files", "cookies", *names}
    if isinstance(messages, dict) and messages and set(messages) <= locations:
        out = []
        for loc, inner in messages.items():
            out.extend(flatten_messages(inner, names.get(loc, loc)))
        return out
    return flatten_messages(messages, default_location)


def problem_from_http_exception(error: HTTPException):
    """Convert any werkzeug/webargs HTTP exception into a problem response."""
    data = getattr(error, "data", None) or {}
    status = error.code or 500
    errors: list[dict] = []
    type_ = None
    detail = error.description or _title(status)
    if "messages" in data:
        errors = validation_errors(data["messages"])
        type_ = "validation-error"
        detail = "The request has invalid fields: " + ", ".join(e["field"] for e in errors)
        if status == 422 and any(e["detail"] == "Invalid JSON body." for e in errors):
            status = 400
    if "message" in data:
        detail = data["message"]
    if status == 500:
        detail = "An unexpected error occurred; it has been logged."
    body = problem_dict(status, detail, type_=type_, errors=errors)
    headers = dict(data.get("headers") or {})
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(body, headers)


def _request_target_bytes() -> int:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        raw = quote(environ.get("PATH_INFO", ""), safe="/") + (
            f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    return len(raw)


def refuse_oversized_requests() -> None:
    """414 for a request target over MAX_TARGET_BYTES, 431 for a header over MAX_HEADER_FIELD_BYTES or all of
    them over MAX_HEADER_BYTES (a before-request hook of the whole app: pages too)."""
    if _request_target_bytes() > MAX_TARGET_BYTES:
        raise RequestURITooLarge(f"The request target is longer than {MAX_TARGET_BYTES} bytes.")
    sizes = [len(name) + len(value) + 2 for name, value in request.headers.items()]
    if any(size > MAX_HEADER_FIELD_BYTES for size in sizes) or sum(sizes) > MAX_HEADER_BYTES:
        raise RequestHeaderFieldsTooLarge(f"A header is longer than {MAX_HEADER_FIELD_BYTES} bytes, or all of "
                                          f"them together longer than {MAX_HEADER_BYTES}.")


def _or_page(resp):
    """The HTML error page the pages registered (app.extensions["ops_page_errors"]: status, headers → an answer,
    or None for a script's path) in place of the problem document; plumbing imports no pages."""
    page_error = current_app.extensions.get("ops_page_errors")
    page = page_error(resp.status_code, dict(resp.headers)) if page_error else None
    return resp if page is None else page


def register_errorhandlers(app: Flask) -> None:
    """Answer every error, raised or unexpected, as problem+json; the app's own size limits run first."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_requests)

    @app.errorhandler(ProblemError)
    def _problem(err: ProblemError):
        return _or_page(problem_response(err.to_dict(), err.headers))

    @app.errorhandler(ma.ValidationError)
    def _validation(err: ma.ValidationError):
        errors = validation_errors(err.messages)
        detail = "The request has invalid fields: " + ", ".join(e["field"] for e in errors)
        return _or_page(problem_response(problem_dict(422, detail, type_="validation-error", errors=errors)))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        return _or_page(problem_from_http_exception(err))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error", exc_info=err)
        return _or_page(problem_from_http_exception(InternalServerError()))
