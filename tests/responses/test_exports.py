"""CSV writing: exact columns, two-decimal PGA, empty cells for None, no formula injection."""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from responses.exports import (
    COHORT_COLUMNS,
    RESPONSES_COLUMNS,
    format_two_decimals,
    neutralise_formula,
    write_cohort_csv,
)
from responses.scoring import BILAG_SYSTEMS, SLEDAI_FIELDS
from responses.selectors import CohortRow
from tests.factories import SiteFactory
from trialsite import services
from trialsite.models import VisitDefinition


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


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("-0.5"), "-0.50"),
        (Decimal("0.3"), "0.30"),
        (Decimal("2"), "2.00"),
        (Decimal("-0.00"), "0.00"),
        # A median of 1.20 and 1.53 is 1.365: halves round up, not to even.
        (Decimal("1.365"), "1.37"),
        (Decimal("1.375"), "1.38"),
        (None, ""),
    ],
)
def test_pga_is_written_with_exactly_two_decimals(value, written):
    assert format_two_decimals(value) == written


def test_cohort_csv_writes_empty_cells_for_a_visit_nobody_evaluable_reached():
    out = StringIO()
    rows = [
        CohortRow("M1", "Month 1", 2, 0, 0, None, None, None),
        CohortRow(
            "M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949")
        ),
    ]
    write_cohort_csv(out, rows)
    assert list(csv.reader(StringIO(out.getvalue()))) == [
        list(COHORT_COLUMNS),
        ["M1", "2", "0", "0", "", "", ""],
        ["M3", "5", "5", "4", "0.8000", "0.2836", "0.9949"],
    ]


def test_export_responses_neutralises_a_formula_in_a_participant_id(study, tmp_path):
    site = SiteFactory(code="@S9", name="Site with an odd code")
    participant = services.participant_create(
        study=study,
        site=site,
        participant_id="=1+2",
        sex="F",
        age_at_enrollment=10,
        enrollment_date=date(2025, 1, 6),
        infusion_date=date(2025, 2, 10),
        author=None,
        reason="test",
    )
    definitions = {d.code: d for d in VisitDefinition.objects.filter(study=study)}
    # Baseline arthritis (4) + rash (2) = 6 and PGA 1.50; Month 1 rash only = 2, PGA 1.00.
    for code, visit_date, present, pga in (
        ("BL", date(2025, 2, 3), {"arthritis", "rash"}, "1.50"),
        ("M1", date(2025, 3, 10), {"rash"}, "1.00"),
    ):
        visit = services.visit_create(
            participant=participant,
            visit_definition=definitions[code],
            visit_date=visit_date,
            author=None,
            reason="test",
        )
        services.visit_save_assessments(
            visit=visit,
            sledai={field: field in present for field in SLEDAI_FIELDS},
            pga=Decimal(pga),
            bilag=dict.fromkeys(BILAG_SYSTEMS, "E"),
            author=None,
            reason="test",
        )
    out = tmp_path / "responses.csv"
    stdout = StringIO()
    call_command("export_responses", "--out", str(out), stdout=stdout)
    assert f"Wrote 1 rows to {out}." in stdout.getvalue()
    header, row = list(csv.reader(StringIO(out.read_text(encoding="utf-8"))))
    assert header == list(RESPONSES_COLUMNS)
    cells = dict(zip(header, row, strict=True))
    assert (cells["participant_id"], cells["site"]) == ("'=1+2", "'@S9")
    # 2 - 6 = -4 (a drop of 4: SRI-4 responder); PGA 1.00 - 1.50 = -0.50.
    assert (cells["sledai2k"], cells["sledai2k_change"]) == ("2", "-4")
    assert (cells["pga"], cells["pga_change"]) == ("1.00", "-0.50")
    assert (cells["treatment_failure"], cells["sri4"], cells["sri5"]) == (
        "0",
        "responder",
        "non-responder",
    )


def test_export_cohort_writes_to_stdout_by_default(study):
    stdout = StringIO()
    call_command("export_cohort", "--endpoint", "sri5", stdout=stdout)
    rows = list(csv.reader(StringIO(stdout.getvalue())))
    assert rows[0] == list(COHORT_COLUMNS)
    assert [row[0] for row in rows[1:]] == ["D0", "D7", "D14", "M1", "M2", "M3", "M6", "M9", "M12"]
    assert all(row[1:] == ["0", "0", "0", "", "", ""] for row in rows[1:])
