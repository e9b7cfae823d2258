"""Write the CSV files the site hands out: every cell goes through ``neutralise_formula``.

Cells that a spreadsheet would run as a formula are neutralised with a leading apostrophe
(OWASP "CSV injection"); numbers, including negative ones, are written as they are. The reports
(responses.exports) and the audit trail (trialsite.audit_export) both write through here.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import TextIO

#: A cell starting with one of these is run as a formula by spreadsheets (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

Cell = str | int | bool | Decimal | date | None


def neutralise_formula(cell: str) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula (not to numbers)."""
    if cell.startswith(FORMULA_PREFIXES) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def format_cell(value: Cell) -> str:
    """Write None as an empty cell, booleans as 1/0 and dates in ISO format."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Line:
    """A file that hands back what the CSV writer writes to it: one line per row."""

    def write(self, text: str) -> str:
        return text


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """Yield a header and rows as lines of CSV, every cell neutralised against formula
    injection; rows are read one at a time, so a download can stream them."""
    writer = csv.writer(_Line())
    yield writer.writerow([neutralise_formula(column) for column in columns])
    for row in rows:
        yield writer.writerow([neutralise_formula(format_cell(value)) for value in row])


def write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write a header and rows as CSV, every cell neutralised against formula injection."""
    out.writelines(csv_lines(columns, rows))
