"""The demo cohort's B cells: normal before lymphodepletion, aplasia from Day 7, three children
reconstituted by Month 3, immunoglobulins falling mildly; the disease-activity figures are
test_demo.py's."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from safety.b_cells import b_cell_report
from safety.grading.b_cells import BCellStatus
from trialsite.demo import load_demo
from trialsite.models import LabResult, Participant, Study

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo_cohort(django_db_setup, django_db_blocker):
    """Load the demo once for this module; each test still runs in its own rolled-back block."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(today=TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_cohort, db):
    return None


def test_demo_counts_are_normal_before_lymphodepletion_and_0_from_day_7(demo):
    labs = LabResult.objects.select_related("visit__visit_definition", "visit__participant")
    by_code: dict[str, list[Decimal]] = {}
    for row in labs:
        by_code.setdefault(row.visit.visit_definition.code, []).append(row.cd19_per_ul)
    assert "D0" not in by_code  # none counted on the infusion day
    for code in ("SCR", "BL"):
        assert all(Decimal(200) <= count <= Decimal(600) for count in by_code[code]), code
    for code in ("D7", "D14", "M1"):
        assert set(by_code[code]) == {Decimal(0)}, code
    assert sorted(by_code["M2"]) == [Decimal(0)] * 6 + [Decimal(4)]
    assert sorted(by_code["M3"]) == [Decimal(0), Decimal(0), Decimal(9), Decimal(18), Decimal(46)]


def test_demo_has_aplasia_in_all_and_three_reconstituted_by_month_3(demo):
    report = b_cell_report(
        participants=Participant.objects.all(),
        as_of=TODAY,
        threshold_per_ul=Study.objects.get().b_cell_aplasia_threshold_per_ul,
    )

    assert (report.counted, report.aplasia, report.reconstituted) == (11, 11, 3)
    reconstituted = {
        row.participant_id: row.course.reconstitution_day
        for row in report.rows
        if row.course.status == BCellStatus.RECONSTITUTED
    }
    # Month 3 (day 90) on target for S01-001 and S02-004; S02-003 at Month 2 (day 56 - 1).
    # S03-005, given rituximab on days 64 and 78, is still in aplasia at Month 3.
    assert reconstituted == {"S01-001": 90, "S02-003": 55, "S02-004": 90}
    assert {row.course.first_aplasia_day for row in report.rows} <= {6, 7, 8}


def test_demo_immunoglobulins_fall_mildly(demo):
    for participant in Participant.objects.all():
        labs = {
            row.visit.visit_definition.code: row
            for row in LabResult.objects.filter(visit__participant=participant).select_related(
                "visit__visit_definition"
            )
        }
        last = labs[max(labs, key=lambda code: labs[code].visit.visit_definition.order)]
        baseline = labs["BL"]
        for field in ("igg_g_l", "iga_g_l", "igm_g_l"):
            start, end = getattr(baseline, field), getattr(last, field)
            assert Decimal("0.8") * start <= end < start, (participant, field)
