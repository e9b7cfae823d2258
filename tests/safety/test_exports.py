"""safety.csv and safety_summary.csv (interchange.md): the contract's columns in order, exact
bytes for a small cohort counted by hand, the data cut, --out and a bad --as-of."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from safety.exports import SAFETY_COLUMNS, SAFETY_SUMMARY_COLUMNS
from tests.safety.test_selectors import participant, record_crs, record_icans


def test_the_export_columns_are_those_of_the_interchange_contract():
    # /work/shared/spec/interchange.md, "safety.csv and safety_summary.csv (export)".
    assert SAFETY_COLUMNS == (
        "participant_id", "site", "kind", "onset_date", "onset_day", "resolution_date",
        "duration_days", "grade",
    )  # fmt: skip
    assert SAFETY_SUMMARY_COLUMNS == ("kind", "max_grade", "participants", "infused", "percent")


@pytest.fixture
def small_cohort(study):
    """Two infused children at two sites, one not infused; the cut is 2025-03-31.

    S01-001, infused 2025-03-03: CRS 03-04 to 03-06 grade 2 (day 1, 3 days); ICANS 03-08 to
    04-02 grade 1 (day 5; resolved after the cut, so ongoing); CRS 04-10 grade 4 (after the cut).
    S02-001, infused 2025-03-10: CRS 03-10 to 03-10 grade 1 (day 0, 1 day).
    S01-002: not infused, outside the denominator.
    """
    first = participant(study, "S01-001")
    record_crs(first, date(2025, 3, 4), 2, date(2025, 3, 6))
    record_icans(first, date(2025, 3, 8), 1, date(2025, 4, 2))
    record_crs(first, date(2025, 4, 10), 4)
    second = participant(study, "S02-001", site="S02", infused=date(2025, 3, 10))
    record_crs(second, date(2025, 3, 10), 1, date(2025, 3, 10))
    participant(study, "S01-002", infused=None)


def export(*args: str) -> str:
    stdout = StringIO()
    call_command(*args, stdout=stdout)
    return stdout.getvalue()


SAFETY_AS_OF_2025_03_31 = (
    "participant_id,site,kind,onset_date,onset_day,resolution_date,duration_days,grade\r\n"
    "S01-001,S01,crs,2025-03-04,1,2025-03-06,3,2\r\n"
    "S01-001,S01,icans,2025-03-08,5,,,1\r\n"
    "S02-001,S02,crs,2025-03-10,0,2025-03-10,1,1\r\n"
)

# Two infused: CRS worst 2 (S01-001) and 1 (S02-001), 1 of 2 each = 50.0%; ICANS worst 1
# (S01-001) and 0 (S02-001).
SAFETY_SUMMARY_AS_OF_2025_03_31 = (
    "kind,max_grade,participants,infused,percent\r\n"
    "crs,0,0,2,0.0\r\n"
    "crs,1,1,2,50.0\r\n"
    "crs,2,1,2,50.0\r\n"
    "crs,3,0,2,0.0\r\n"
    "crs,4,0,2,0.0\r\n"
    "crs,5,0,2,0.0\r\n"
    "icans,0,1,2,50.0\r\n"
    "icans,1,1,2,50.0\r\n"
    "icans,2,0,2,0.0\r\n"
    "icans,3,0,2,0.0\r\n"
    "icans,4,0,2,0.0\r\n"
    "icans,5,0,2,0.0\r\n"
)


def test_export_safety_as_of_the_cut_matches_the_hand_count(small_cohort):
    assert export("export_safety", "--as-of", "2025-03-31") == SAFETY_AS_OF_2025_03_31


def test_export_safety_summary_as_of_the_cut_matches_the_hand_count(small_cohort):
    written = export("export_safety_summary", "--as-of", "2025-03-31")
    assert written == SAFETY_SUMMARY_AS_OF_2025_03_31


def test_without_a_data_cut_the_exports_count_up_to_today(small_cohort):
    assert export("export_safety") == (
        "participant_id,site,kind,onset_date,onset_day,resolution_date,duration_days,grade\r\n"
        "S01-001,S01,crs,2025-03-04,1,2025-03-06,3,2\r\n"
        # Day 38 (28 days to the end of March, 10 in April), ongoing.
        "S01-001,S01,crs,2025-04-10,38,,,4\r\n"
        # 03-08 to 04-02: 25 days apart, both counted.
        "S01-001,S01,icans,2025-03-08,5,2025-04-02,26,1\r\n"
        "S02-001,S02,crs,2025-03-10,0,2025-03-10,1,1\r\n"
    )
    summary = export("export_safety_summary").splitlines()
    # S01-001's worst CRS is now 4.
    assert summary[1:7] == [
        "crs,0,0,2,0.0",
        "crs,1,1,2,50.0",
        "crs,2,0,2,0.0",
        "crs,3,0,2,0.0",
        "crs,4,1,2,50.0",
        "crs,5,0,2,0.0",
    ]


def test_a_cut_before_any_infusion_leaves_empty_percents(small_cohort):
    assert export("export_safety", "--as-of", "2025-03-02") == (
        "participant_id,site,kind,onset_date,onset_day,resolution_date,duration_days,grade\r\n"
    )
    summary = export("export_safety_summary", "--as-of", "2025-03-02").splitlines()
    assert summary[1:] == [
        f"{kind},{grade},0,0," for kind in ("crs", "icans") for grade in range(6)
    ]


def test_the_exports_write_to_a_file(small_cohort, tmp_path):
    for command, expected, rows in [
        ("export_safety", SAFETY_AS_OF_2025_03_31, 3),
        ("export_safety_summary", SAFETY_SUMMARY_AS_OF_2025_03_31, 12),
    ]:
        out = tmp_path / f"{command}.csv"
        message = export(command, "--as-of", "2025-03-31", "--out", str(out))
        assert f"Wrote {rows} rows to {out}." in message
        assert out.read_bytes() == expected.encode()


def test_a_formula_in_a_participant_id_is_neutralised(study):
    record_crs(participant(study, "=1+2"), date(2025, 3, 4), 1, date(2025, 3, 4))
    assert export("export_safety", "--as-of", "2025-03-31").splitlines()[1] == (
        "'=1+2,S01,crs,2025-03-04,1,2025-03-04,1,1"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-02-30", 'The data cut "2025-02-30" is not a date'),
        ("31/03/2025", 'The data cut "31/03/2025" is not a date: write it YYYY-MM-DD'),
        ("", 'The data cut "" is not a date'),
        ("2999-01-01", "The data cut 2999-01-01 is after today"),
        ("1899-12-31", "The data cut 1899-12-31 is before 1900-01-01."),
    ],
)
@pytest.mark.parametrize("command", ["export_safety", "export_safety_summary"])
def test_a_bad_data_cut_is_refused_with_a_message(study, command, value, message):
    with pytest.raises(CommandError, match=message):
        call_command(command, "--as-of", value, stdout=StringIO())
