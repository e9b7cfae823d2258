"""The cells of every CSV download: formulas neutralised, numbers kept, empty for None."""

import csv
from datetime import date
from io import StringIO

import pytest

from trialsite.csvfiles import csv_lines, neutralise_formula, text_csv_lines, write_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-", "'-"),
        ("\t=1", "'\t=1"),
        ("-12", "-12"),
        ("-0.50", "-0.50"),
        ("+4", "+4"),
        ("-1e5", "-1e5"),
        ("0.30", "0.30"),
        ("S01-001", "S01-001"),
        ("SLEDAI-2K fell by 3", "SLEDAI-2K fell by 3"),
        ("", ""),
    ],
    ids=repr,
)
def test_formula_cells_are_neutralised_and_numbers_kept(cell, written):
    assert neutralise_formula(cell) == written


def test_lines_and_file_hold_the_same_csv():
    rows = [("=1+1", None, True, date(2026, 11, 29)), ("two\nlines", -3, False, "")]
    out = StringIO()
    write_csv(out, ("a", "b", "c", "d"), rows)
    assert out.getvalue() == "".join(csv_lines(("a", "b", "c", "d"), rows))
    assert out.getvalue() == 'a,b,c,d\r\n\'=1+1,,1,2026-11-29\r\n"two\nlines",-3,0,\r\n'


#: Cells that start a formula, or look as if they might, in every way the CSV writer may write
#: them: plain, quoted (a comma, a quote, a line break inside), empty, and after an empty cell.
TRICKY_CELLS = (
    "=1+2",
    "=SUM(A1,A2)",
    '=HYPERLINK("x")',
    "@cmd\nnext line",
    "\r=1",
    "\t=1",
    "-12",
    "-",
    '"=1"',
    "a,=b",
    "a\n=b",
    "",
    "S01-001",
)


@pytest.mark.parametrize("first", TRICKY_CELLS, ids=repr)
def test_lines_neutralise_every_cell_wherever_it_stands(first):
    """Each line is searched for a cell starting a formula rather than neutralised cell by
    cell: the file must be the same as if every cell were."""
    rows = [(first, second, third) for second in TRICKY_CELLS for third in TRICKY_CELLS]
    expected = csv.writer(io := StringIO())
    for row in [("a", "b", "c"), *rows]:
        expected.writerow([neutralise_formula(cell) for cell in row])
    assert "".join(text_csv_lines(("a", "b", "c"), rows)) == io.getvalue()
    assert "".join(csv_lines(("a", "b", "c"), rows)) == io.getvalue()


def test_header_cells_are_neutralised_too():
    assert "".join(text_csv_lines(("=a", "b"), [])) == "'=a,b\r\n"
