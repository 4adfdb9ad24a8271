"""The one CSV writer of the system: a cell a spreadsheet would run as a formula is written as text.

OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading single quote, which spreadsheets take as "this is text" and do not show. Only text is
changed: an int or a float the system itself writes (a ledger quantity of -3) stays a number, since no
one typed it and a spreadsheet reads "-3" as the number it is. Text that merely looks like a number
("-3" typed into a reason) is quoted like any other text. Every CSV export (the audit log, round reports,
activity logs, daily logs and season summaries) writes through `writer`.
"""

import csv
from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as it may go into a CSV cell: text starting like a formula is prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer's writerow and writerows, every cell passed through safe_cell first."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row of cells."""
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write several rows."""
        for row in rows:
            self.writerow(row)


def writer(out, **options) -> SafeWriter:
    """A CSV writer on the text stream `out` (options as for csv.writer) that neutralises formulas."""
    return SafeWriter(out, **options)
