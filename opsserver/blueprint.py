"""The API's Blueprint: flask-smorest's, refusing query parameters it does not know.

webargs drops unknown query parameters by default, so `?pont_code=LH01` (a typo) would quietly answer
for every point; an operator must instead be told which parameter was not understood (422, naming it).
"""

import marshmallow as ma
import flask_smorest
from webargs.flaskparser import FlaskParser


class StrictQueryParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint with the strict query parser."""

    ARGUMENTS_PARSER = StrictQueryParser()
