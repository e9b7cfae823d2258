"""Response rows (responses.selectors.rows): one per follow-up visit, in two queries."""

from decimal import Decimal

import pytest

from responses.selectors.cohort import cohort_summary
from responses.selectors.rows import response_rows
from tests.factories import VisitRow, build_cohort
from tests.responses.cohorts import AS_OF, responders_cohort, selectors_participant
from trialsite.models import Participant


@pytest.mark.parametrize("size", [3, 30])
def test_response_rows_take_two_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, responders_cohort(size))
    with django_assert_max_num_queries(2):
        rows = response_rows(study=study, as_of=AS_OF)
    assert len(rows) == 2 * size
    assert {(row.visit, row.sri4, row.sri6) for row in rows} == {
        ("M1", "responder", "non-responder"),  # 6 -> 2: drop 4
        ("M3", "responder", "responder"),  # 6 -> 0: drop 6
    }


def test_selectors_restrict_to_the_participants_given(study):
    build_cohort(study, responders_cohort(5))  # at S01; at S02
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
    build_cohort(
        study,
        {"R-002": selectors_participant("S01", visits={"M1": VisitRow(28, {"rash"}, "1.00")})},
    )
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
