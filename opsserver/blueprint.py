"""The API's Blueprint: flask-smorest's, with a stricter argument parser.

- Unknown query parameters are refused: webargs drops them by default, so `?pont_code=LH01` (a typo)
  would quietly answer for every point; an operator must be told which one was not understood (422).
- JSON bodies are read by the app's JSON provider, which caps their nesting (serving.security): webargs'
  own reading hit Python's recursion limit on a body of ten thousand `[`, a 500.
- A body the document requires is required, as JSON: without one (or with one of another type, or bytes that
  are not UTF-8), a schema whose fields are all optional (a PATCH) read it as `{}` and answered 200.
- Control characters (C0 and DEL) in a query parameter, a path parameter or a header are refused before the
  view runs, naming where they were: no value this API reads there may hold one, PostgreSQL cannot hold a NUL
  at all, and bodies are checked by the field types (fields.Text).
"""

from functools import wraps

import marshmallow as ma
import flask_smorest
from flask import current_app, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from .errors import ProblemError, field_error
from .fields import CONTROL_MESSAGE, has_control


class ApiParser(FlaskParser):
    """webargs' Flask parser: unknown query parameters refused, JSON read by the app's provider."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        if not raw:
            return core.missing
        try:
            return current_app.json.loads(raw)
        except ValueError as exc:
            # webargs reads a decode error without a document as "no body": orjson reports bytes that are not
            # UTF-8 so, and a PATCH of random bytes answered 200.
            return self._handle_invalid_json_error(exc, req)


def _control_problem(status: int, errors: list[dict]) -> ProblemError:
    names = ", ".join(e["field"] for e in errors)
    return ProblemError(status, f"Control characters are not allowed in: {names}.", type_="validation-error",
                        errors=errors)


def refuse_control_characters() -> None:
    """Refuse a request whose path parameters (404: no resource has such a name), query (422) or headers (400)
    hold a control character; a header may hold a tab (RFC 9110 field values)."""
    path = [{"field": name, "location": "path", "detail": CONTROL_MESSAGE}
            for name, value in (request.view_args or {}).items() if isinstance(value, str) and has_control(value)]
    if path:
        raise _control_problem(404, path)
    query = [{"field": name, "location": "query", "detail": CONTROL_MESSAGE}
             for name in request.args if has_control(name) or any(has_control(v) for v in request.args.getlist(name))]
    if query:
        raise _control_problem(422, query)
    headers = [{"field": name, "location": "headers", "detail": CONTROL_MESSAGE}
               for name, value in request.headers.items() if has_control(value.replace("\t", ""))]
    if headers:
        raise _control_problem(400, headers)


def _require_body(view):
    """Refuse a request without a JSON body where the document requires one (after webargs, so that a schema
    with required fields still names each of them)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not request.get_data(cache=True):
            raise field_error("(body)", "A JSON body is required.", location="json")
        if not is_json_request(request):
            raise field_error("(body)", "Send the body as application/json.", status=415, location="json")
        return view(*args, **kwargs)

    return wrapper


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint with the stricter parser and input checks."""

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before_request(refuse_control_characters)

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        """flask-smorest's `arguments`; a required JSON body must be sent."""
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorator
        return lambda view: decorator(_require_body(view))
