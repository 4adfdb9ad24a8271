"""The marshmallow field types every request schema uses: what the OpenAPI document says a value is, the server
reads, and nothing else; well-formed but absurd input is refused (422), never a 500.

- Text refuses control characters (C0 and DEL): a NUL cannot be stored by PostgreSQL and slipped past Python's
  ISO parser, and an escape sequence in a name reaches terminals and logs. Free text (`Note`) keeps tab, line
  feed and carriage return. Patterns are matched against the whole value (`$` also matches before a final
  newline, so "LH01\\n" passed a code's pattern).
- JSON values must have the type the document gives them (`true` is not a count, `1` is not a boolean, "2" is
  not a number); query values are read as the document writes them (`true`/`false`, ASCII digits).
- Times are RFC 3339 date-times in the years the system can be in use, and the document says so.
"""

import math
import re
from datetime import date

import marshmallow as ma

MAX_ID = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100
# The years FIRST_YEAR..LAST_YEAR at the start of a date or date-time, for the document (and its generators).
YEAR_PATTERN = r"^(20[0-9]{2}|2100)-"
YEARS = f"between the years {FIRST_YEAR} and {LAST_YEAR}"

# C0 controls and DEL; free text may keep tab, line feed and carriage return. Also the two noncharacters
# U+FFFE and U+FFFF, which no XML document may hold (a published announcement's CAP alert carries the text).
_CONTROL = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")
_CONTROL_IN_NOTE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
CONTROL_MESSAGE = "Must not contain control characters."
# The same rules for the document (ECMA-262 patterns, as JSON Schema reads them).
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f\ufffe\uffff]*$"
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]*$"
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def has_control(value: str, *, multiline: bool = False) -> bool:
    """Whether text holds a control character that no value of this kind may hold."""
    return bool((_CONTROL_IN_NOTE if multiline else _CONTROL).search(value))


class QuerySchema(ma.Schema):
    """A schema read from a query string: its fields read text as the document writes values in a URL."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The document half of blueprint.refuse_control_characters: every text parameter says it holds none
        # (fields declared as Text say so themselves).
        for field in self.fields.values():
            if isinstance(field, ma.fields.String):
                document_no_control(field)


def _from_query(field: ma.fields.Field) -> bool:
    return isinstance(field.root, QuerySchema)


def _bounded_years_doc(kwargs: dict, what: str) -> dict:
    """The field's keyword arguments with the year bounds in its document: as a pattern and in words."""
    metadata = dict(kwargs.get("metadata", {}))
    metadata["description"] = f"{metadata.get('description', what)}; {YEARS}"
    metadata["pattern"] = YEAR_PATTERN
    return {**kwargs, "metadata": metadata}


def _document_exclusive_bounds(field: ma.fields.Field) -> None:
    # apispec writes `minimum` for Range(min_inclusive=False) and drops the exclusion (OpenAPI 3.0 says it so).
    for validator in field.validators:
        if isinstance(validator, ma.validate.Range):
            if validator.min is not None and not validator.min_inclusive:
                field.metadata.setdefault("exclusiveMinimum", True)
            if validator.max is not None and not validator.max_inclusive:
                field.metadata.setdefault("exclusiveMaximum", True)


def document_no_control(field: ma.fields.String, pattern: str = NO_CONTROL_PATTERN) -> None:
    """Say in the document that this text field holds no control characters, unless a pattern or a list of
    values of its own says more already."""
    if "pattern" not in field.metadata and not any(
            isinstance(v, ma.validate.Regexp | ma.validate.OneOf) for v in field.validators):
        field.metadata["pattern"] = pattern


class Text(ma.fields.String):
    """One line of text: no control characters."""

    multiline = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        document_no_control(self, NOTE_PATTERN if self.multiline else NO_CONTROL_PATTERN)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if has_control(result, multiline=self.multiline):
            raise ma.ValidationError(CONTROL_MESSAGE)
        return result


class Note(Text):
    """Free text typed by people: may keep tabs and line breaks, no other control characters."""

    multiline = True


class Flag(ma.fields.Boolean):
    """A boolean: JSON `true`/`false`; in a query, the words `true` and `false`."""

    def _deserialize(self, value, attr, data, **kwargs):
        if _from_query(self) and value in ("true", "false"):
            return value == "true"
        if not _from_query(self) and isinstance(value, bool):
            return value
        raise self.make_error("invalid")


class Count(ma.fields.Integer):
    """An integer: a JSON integer (not a boolean, not a string); in a query, ASCII digits."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        _document_exclusive_bounds(self)

    def _deserialize(self, value, attr, data, **kwargs):
        if _from_query(self):
            if not isinstance(value, str) or not _INTEGER.fullmatch(value):
                raise self.make_error("invalid")
        elif isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(Count):
    """A row id: a positive integer the databases can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class Number(ma.fields.Float):
    """A finite number: a JSON number (not a boolean, not a string); in a query, a decimal with optional exponent."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_nan", False)
        super().__init__(**kwargs)
        _document_exclusive_bounds(self)

    def _deserialize(self, value, attr, data, **kwargs):
        if _from_query(self):
            if not isinstance(value, str) or not _NUMBER.fullmatch(value):
                raise self.make_error("invalid")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if not math.isfinite(result):
            raise self.make_error("special")
        return result


def _year_message() -> str:
    return f"Must be {YEARS}."


class When(ma.fields.AwareDateTime):
    """An RFC 3339 date-time with its offset, within the years the system can be in use (UTC conversions cannot
    overflow)."""

    def __init__(self, **kwargs):
        super().__init__(**_bounded_years_doc(kwargs, "RFC 3339 date-time with its offset"))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        if has_control(value):
            raise ma.ValidationError(CONTROL_MESSAGE)
        if not _RFC3339.fullmatch(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        result = super()._deserialize(value.upper(), attr, data, **kwargs)
        if not FIRST_YEAR <= result.year <= LAST_YEAR:
            raise ma.ValidationError(_year_message())
        return result


class Day(ma.fields.Date):
    """A calendar date (YYYY-MM-DD) within the years the system can be in use."""

    def __init__(self, **kwargs):
        super().__init__(**_bounded_years_doc(kwargs, "calendar date"))

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if has_control(value):
            raise ma.ValidationError(CONTROL_MESSAGE)
        if not _DATE.fullmatch(value):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_YEAR <= result.year <= LAST_YEAR:
            raise ma.ValidationError(_year_message())
        return result

