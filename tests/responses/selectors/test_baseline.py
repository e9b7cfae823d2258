"""Baseline characteristics (responses.selectors.baseline) of the report cohort, by hand."""

from decimal import Decimal

from responses.selectors.baseline import baseline_characteristics
from tests.responses.cohorts import AFTER_M3
from trialsite import services
from trialsite.models import Participant


def test_baseline_characteristics_by_dose_and_overall(study, report_cohort):
    table = baseline_characteristics(
        study=study, as_of=AFTER_M3, participants=Participant.objects.all()
    )
    low, high, overall = table.groups
    assert table.doses == (30_000, 100_000)
    # 30000: H-001 (8 y, F), H-004 (10 y, F), H-006 (5 y, M); SLEDAI 8, 12, 8; PGA 2.00 1.00 1.80.
    assert (low.n, low.female, low.male) == (3, 2, 1)
    assert (low.age.median, low.age.low, low.age.high) == (8, 5, 10)
    assert (low.sledai.median, low.sledai.low, low.sledai.high) == (8, 8, 12)
    assert (low.pga.median, low.pga.low, low.pga.high) == (
        Decimal("1.80"),
        Decimal("1.00"),
        Decimal("2.00"),
    )
    assert (low.bilag_a_systems, low.bilag_b_systems) == (0, 3)
    # 100000: H-002 14, H-003 15, H-005 16, H-007 12 -> median (14 + 15) / 2 = 14.5.
    # PGA 1.50, 2.10, 2.20, 2.50 -> median (2.10 + 2.20) / 2 = 2.15, exactly.
    assert (high.n, high.female, high.male) == (4, 3, 1)
    assert high.age.median == Decimal("14.5")
    assert high.pga.median == Decimal("2.15")
    assert (high.bilag_a_systems, high.bilag_b_systems) == (1, 4)  # H-002 renal A
    # Overall: ages 5 8 10 12 14 15 16 -> 12; PGA 1.00 .. 2.50, middle 2.00.
    assert (overall.n, overall.age.median, overall.age.low, overall.age.high) == (7, 12, 5, 16)
    assert (overall.pga.median, overall.pga.low, overall.pga.high) == (
        Decimal("2.00"),
        Decimal("1.00"),
        Decimal("2.50"),
    )
    assert overall.dose_counts == ((30_000, 3), (100_000, 4))
    assert (overall.bilag_a_systems, overall.bilag_b_systems, overall.baseline_missing) == (1, 7, 0)


def test_a_baseline_still_in_progress_is_left_out_of_the_baseline_table(study, report_cohort):
    h007 = Participant.objects.get(participant_id="H-007")
    baseline = h007.visits.get(visit_definition=study.baseline_visit)
    services.visit_save_assessments(
        visit=baseline,
        sledai=baseline.sledai.answers(),
        pga=baseline.pga.score,
        bilag=baseline.bilag.grades(),
        complete=False,
        author=None,
        reason="Awaiting source verification",
    )
    table = baseline_characteristics(
        study=study, as_of=AFTER_M3, participants=Participant.objects.all()
    )
    overall = table.groups[-1]
    # H-007 (12 y, PGA 2.10) still counts in n and age, but no longer in SLEDAI-2K, PGA, BILAG:
    # PGA 1.00 1.50 1.80 2.00 2.20 2.50 -> median (1.80 + 2.00) / 2 = 1.90.
    assert (overall.n, overall.baseline_missing) == (7, 1)
    assert overall.pga.median == Decimal("1.90")
    assert overall.bilag_b_systems == 6
