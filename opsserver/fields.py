"""Bounded marshmallow fields shared by the schemas: well-formed but absurd input is refused (422), never a 500."""

import marshmallow as ma

MAX_ID = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100


class Id(ma.fields.Integer):
    """A row id: a positive integer the databases can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class When(ma.fields.AwareDateTime):
    """An aware time within the years the system can be in use (UTC conversions cannot overflow)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_YEAR <= result.year <= LAST_YEAR:
            raise ma.ValidationError(f"Must be between the years {FIRST_YEAR} and {LAST_YEAR}.")
        return result
