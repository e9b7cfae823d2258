"""The cells of every CSV download: formulas neutralised, numbers kept, empty for None."""

from datetime import date
from io import StringIO

import pytest

from trialsite.csvfiles import csv_lines, neutralise_formula, write_csv


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
