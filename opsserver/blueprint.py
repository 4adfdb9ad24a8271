"""The API's Blueprint: flask-smorest's, with a stricter argument parser.

- Unknown query parameters are refused: webargs drops them by default, so `?pont_code=LH01` (a typo)
  would quietly answer for every point; an operator must be told which one was not understood (422).
- JSON bodies are read by the app's JSON provider, which caps their nesting (serving.security): webargs'
  own reading hit Python's recursion limit on a body of ten thousand `[`, a 500.
"""

import marshmallow as ma
import flask_smorest
from flask import current_app
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


class ApiParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return current_app.json.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint with the stricter parser."""

    ARGUMENTS_PARSER = ApiParser()
