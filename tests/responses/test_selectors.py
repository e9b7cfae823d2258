"""Report selectors: stored results, exact intervals, and a fixed number of queries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.scoring.statistics import clopper_pearson
from responses.selectors.cohort import CohortRow, cohort_summary, mitt_summary, not_infused
from responses.selectors.rows import response_rows
from tests.factories import SiteFactory
from trialsite import services
from trialsite.models import Participant, Study, VisitDefinition

ENROLLED = date(2025, 1, 6)
INFUSED = date(2025, 2, 10)
#: After every visit of build_cohort (Month 3 is 2025-05-11).
AS_OF = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("responders", "evaluable", "low", "high"),
    [
        # Published exact (Clopper-Pearson) 95% limits; 0 of n: (0, 1 - 0.025 ** (1/n)).
        (4, 5, "0.2836", "0.9949"),
        (0, 5, "0.0000", "0.5218"),
        (5, 5, "0.4782", "1.0000"),
        (1, 5, "0.0051", "0.7164"),
        (2, 6, "0.0433", "0.7772"),
        (1, 6, "0.0042", "0.6412"),
    ],
    ids=["4-of-5", "0-of-5", "5-of-5", "1-of-5", "2-of-6", "1-of-6"],
)
def test_clopper_pearson_matches_published_limits(responders, evaluable, low, high):
    assert clopper_pearson(responders, evaluable) == (Decimal(low), Decimal(high))


def record_visit(
    participant: Participant, code: str, visit_date: date, present: set[str], pga: str | None
) -> None:
    definition = VisitDefinition.objects.get(study=participant.study, code=code)
    visit = services.visit_create(
        participant=participant,
        visit_definition=definition,
        visit_date=visit_date,
        author=None,
        reason="test",
    )
    services.visit_save_assessments(
        visit=visit,
        sledai={field: field in present for field in SLEDAI_FIELDS},
        pga=Decimal(pga) if pga is not None else None,
        bilag=dict.fromkeys(BILAG_SYSTEMS, "E"),
        author=None,
        reason="test",
    )


def enrol(study: Study, site_code: str, participant_id: str) -> Participant:
    return services.participant_create(
        study=study,
        site=SiteFactory(code=site_code),
        participant_id=participant_id,
        sex="F",
        age_at_enrollment=12,
        enrollment_date=ENROLLED,
        infusion_date=INFUSED,
        author=None,
        reason="test",
    )


def build_cohort(study: Study, size: int) -> None:
    """Each participant: BL (arthritis 4 + rash 2 = 6), M1 (rash, 2) and M3 (nothing, 0).

    Even-numbered participants are at site S01, odd at S02. M1 drops 4: SRI-4 responder.
    """
    for number in range(size):
        participant = enrol(study, f"S0{1 + number % 2}", f"Q-{number:03d}")
        record_visit(participant, "BL", INFUSED - timedelta(days=7), {"arthritis", "rash"}, "1.50")
        record_visit(participant, "M1", INFUSED + timedelta(days=28), {"rash"}, "1.00")
        record_visit(participant, "M3", INFUSED + timedelta(days=90), set(), "0.50")


@pytest.mark.parametrize("size", [3, 30])
def test_response_rows_take_two_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, size)
    with django_assert_max_num_queries(2):
        rows = response_rows(study=study, as_of=AS_OF)
    assert len(rows) == 2 * size
    assert {(row.visit, row.sri4, row.sri6) for row in rows} == {
        ("M1", "responder", "non-responder"),  # 6 -> 2: drop 4
        ("M3", "responder", "responder"),  # 6 -> 0: drop 6
    }


@pytest.mark.parametrize("size", [3, 30])
def test_cohort_summary_takes_two_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, size)
    with django_assert_max_num_queries(2):
        rows = cohort_summary(study=study, endpoint="sri6", as_of=AS_OF)
    m1, m3 = (next(row for row in rows if row.visit == code) for code in ("M1", "M3"))
    assert (m1.reached, m1.evaluable, m1.responders, m1.rate) == (size, size, 0, Decimal("0"))
    assert (m3.reached, m3.evaluable, m3.responders, m3.rate) == (size, size, size, Decimal(1))


def test_selectors_restrict_to_the_participants_given(study):
    build_cohort(study, 5)  # at S01; at S02
    at_s02 = Participant.objects.filter(site__code="S02")
    rows = response_rows(study=study, as_of=AS_OF, participants=at_s02)
    assert [(row.participant_id, row.visit) for row in rows] == [
        ("Q-001", "M1"),
        ("Q-001", "M3"),
        ("Q-003", "M1"),
        ("Q-003", "M3"),
    ]
    m3 = next(row for row in cohort_summary(study=study, endpoint="sri4", as_of=AS_OF,
                                            participants=at_s02)
              if row.visit == "M3")  # fmt: skip
    assert (m3.reached, m3.evaluable, m3.responders) == (2, 2, 2)


def test_participants_without_baseline_still_get_not_evaluable_rows(study):
    participant = enrol(study, "S01", "R-002")
    record_visit(participant, "M1", INFUSED + timedelta(days=28), {"rash"}, "1.00")
    (row,) = response_rows(study=study, as_of=AS_OF)
    assert (row.visit, row.sri4, row.sri4_reason) == ("M1", "not evaluable", "no baseline visit")
    assert (row.sledai2k, row.sledai2k_change, row.pga, row.pga_change) == (
        2,
        None,
        Decimal("1.00"),
        None,
    )
    rows = cohort_summary(study=study, endpoint="sri4", as_of=AS_OF)
    m1 = next(row for row in rows if row.visit == "M1")
    assert (m1.reached, m1.evaluable) == (1, 0)


def test_cohort_summary_refuses_an_unknown_endpoint(study):
    with pytest.raises(ValueError, match="Unknown endpoint"):
        cohort_summary(study=study, endpoint="bicla", as_of=AS_OF)


@pytest.mark.parametrize(
    ("responders", "evaluable", "shown"),
    [
        # Clopper-Pearson by hand: 9 of 10 upper limit 0.975 ** (1/10) = 0.997471 (99.7%, where
        # rounding the four-decimal 0.9975 again gives 99.8%); lower limit 0.554984.
        pytest.param(9, 10, ("90.0", "55.5", "99.7"), id="9-of-10"),
        # 4 of 5: upper 0.975 ** (1/5) = 0.994949; lower 0.283582.
        pytest.param(4, 5, ("80.0", "28.4", "99.5"), id="4-of-5"),
    ],
)
def test_table_percents_are_rounded_once_from_the_exact_value(
    responders: int, evaluable: int, shown: tuple[str, str, str]
) -> None:
    row = CohortRow(
        visit="M3",
        visit_name="Month 3",
        reached=evaluable,
        evaluable=evaluable,
        responders=responders,
        rate=None,
        ci_low=None,
        ci_high=None,
        out_of_window=0,
    )
    assert (row.rate_percent, row.ci_low_percent, row.ci_high_percent) == tuple(
        Decimal(value) for value in shown
    )


@pytest.mark.parametrize("size", [3, 30])
def test_mitt_summary_and_not_infused_take_fixed_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, size)
    for number in range(size):  # as many enrolled and never infused
        services.participant_create(
            study=study,
            site=SiteFactory(code="S01"),
            participant_id=f"N-{number:03d}",
            sex="F",
            age_at_enrollment=12,
            enrollment_date=ENROLLED,
            author=None,
            reason="test",
        )
    with django_assert_max_num_queries(3):
        mitt = mitt_summary(study=study, endpoint="sri4", as_of=AS_OF)
    m3 = next(row for row in mitt.rows if row.visit == "M3")
    assert (m3.denominator, m3.responders) == (size, size)
    with django_assert_max_num_queries(1):
        listed = not_infused(study=study, as_of=AS_OF)
    assert listed.count == size


# Data cut: a visit dated after the cut and a participant enrolled after it do not count.


def test_a_visit_dated_after_the_cut_does_not_count(study):
    build_cohort(study, 2)  # Month 3 on 2025-05-11
    m3_date = INFUSED + timedelta(days=90)

    def month_3(as_of: date) -> tuple[int, int]:
        row = next(r for r in cohort_summary(study=study, endpoint="sri4", as_of=as_of)
                   if r.visit == "M3")  # fmt: skip
        return row.reached, row.responders

    assert month_3(m3_date) == (2, 2)
    assert month_3(m3_date - timedelta(days=1)) == (0, 0)
    assert len(response_rows(study=study, as_of=m3_date - timedelta(days=1))) == 2  # M1 only


def test_a_participant_enrolled_after_the_cut_does_not_count(study):
    build_cohort(study, 1)  # Q-000, enrolled 2025-01-06
    late = services.participant_create(
        study=study,
        site=SiteFactory(code="S01"),
        participant_id="LATE",
        sex="F",
        age_at_enrollment=12,
        enrollment_date=date(2025, 7, 1),
        author=None,
        reason="test",
    )
    assert late.enrollment_date > AS_OF
    assert not_infused(study=study, as_of=AS_OF).count == 0
    assert not_infused(study=study, as_of=date(2025, 7, 1)).participants[0].participant_id == (
        "LATE"
    )
