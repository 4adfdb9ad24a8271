"""Half-open time intervals [start, end): whether two overlap, in Python and in SQL.

The SQL twin uses only the operators SQLAlchemy's column expressions carry (`<`, `&`), so this package
imports no database library: maps/ imports it and stays free of one.
"""

from datetime import datetime


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals [start, end) overlap; a shift ending at 06:00 and one starting then do not."""
    return a_start < b_end and b_start < a_end


def overlaps_sql(start, end, other_start, other_end):
    """`overlaps` as an SQL condition: the row's interval (columns `start`, `end`) meets [other_start, other_end)."""
    return (start < other_end) & (end > other_start)
