"""Write the CSV files the site hands out: every cell is neutralised (``neutralise_formula``).

Cells that a spreadsheet would run as a formula are neutralised with a leading apostrophe
(OWASP "CSV injection"); numbers, including negative ones, are written as they are. The reports
(responses.exports) and the audit trail (trialsite.audit_export) both write through here.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import chain
from typing import TextIO

#: A cell starting with one of these is run as a formula by spreadsheets (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: A cell of a written line starting with one of FORMULA_PREFIXES, the line searched with a comma
#: before it: then every cell, quoted or not, follows a comma (a pattern starting with a fixed
#: character is searched for much faster than one starting "at the start or after a comma").
CELL_STARTING_FORMULA = re.compile(f',"?[{re.escape("".join(FORMULA_PREFIXES))}]')

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


#: The end of each line, as the CSV writer writes it (its dialect, excel, ends lines so).
LINE_END = csv.excel.lineterminator


class _Line:
    """A file that hands back what the CSV writer writes to it: one line per row."""

    def write(self, text: str) -> str:
        return text


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """Yield a header and rows as lines of CSV, every cell neutralised against formula
    injection; rows are read one at a time, so a download can stream them."""
    return text_csv_lines(columns, ([format_cell(value) for value in row] for row in rows))


def text_csv_lines(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """Yield a header and rows of text cells as lines of CSV, as ``csv_lines`` does. Each line
    is written, then searched once for a cell starting with a formula prefix; only a line with
    such a cell (a formula, or a negative number) is written again, its cells neutralised."""
    writer = csv.writer(_Line())
    for cells in chain((columns,), rows):
        line = writer.writerow(cells)
        # Not the line's end: "\r\n" after an empty last cell would look like a "\r" cell.
        if CELL_STARTING_FORMULA.search("," + line, 0, len(line) + 1 - len(LINE_END)):
            line = writer.writerow([neutralise_formula(cell) for cell in cells])
        yield line


def write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write a header and rows as CSV, every cell neutralised against formula injection."""
    out.writelines(csv_lines(columns, rows))
