"""Response rows (responses.selectors.rows): one per follow-up visit, in three queries."""

from datetime import date
from decimal import Decimal

import pytest

from responses.selectors.cohort import cohort_summary
from responses.selectors.rows import response_rows
from tests.factories import VisitRow, build_cohort
from tests.responses.cohorts import AS_OF, responders_cohort, selectors_participant
from trialsite.models import Participant


@pytest.mark.parametrize("size", [3, 30])
def test_response_rows_take_three_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, responders_cohort(size))
    with django_assert_max_num_queries(3):
        rows = response_rows(study=study, as_of=AS_OF)
    assert len(rows) == 2 * size
    # Every BILAG-2004 system E at baseline: BICLA not evaluable. Month 1 (rash, 2, present at
    # baseline; PGA 1.00) is in LLDAS and, with rash present, not in DORIS remission; Month 3
    # (nothing present, PGA 0.50) in LLDAS, not in remission (PGA not below 0.50). Both on
    # their target day (28 and 90), inside the window.
    assert {
        (row.visit, row.sri4, row.sri6, row.bicla, row.lldas, row.doris, row.in_window)
        for row in rows
    } == {
        ("M1", "responder", "non-responder", "not evaluable", "responder", "non-responder", True),
        ("M3", "responder", "responder", "not evaluable", "responder", "non-responder", True),
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


def test_a_visit_is_in_window_unless_it_is_known_to_be_outside_it(study):
    # R-001, infused 2025-02-10: Month 1 on study day 40 (window 21..35) is outside; an
    # unscheduled visit on day 50 is inside (its window is any day). R-002 has no infusion
    # date: its study days are unknown, so its Month 1 is not counted out of window.
    outside = {"BL": VisitRow(-7, {"arthritis", "rash"}, "1.50"),
               "M1": VisitRow(40, {"rash"}, "1.00"),
               "UNS": VisitRow(50, {"rash"}, "1.00")}  # fmt: skip
    unknown = {"BL": VisitRow(date(2025, 2, 3), {"arthritis", "rash"}, "1.50"),
               "M1": VisitRow(date(2025, 3, 30), {"rash"}, "1.00")}  # fmt: skip
    build_cohort(
        study,
        {
            "R-001": selectors_participant("S01", visits=outside),
            "R-002": selectors_participant("S01", infused=None, visits=unknown),
        },
    )
    rows = response_rows(study=study, as_of=AS_OF)
    assert [(row.participant_id, row.visit, row.study_day, row.in_window) for row in rows] == [
        ("R-001", "M1", 40, False),
        ("R-001", "UNS", 50, True),
        ("R-002", "M1", None, True),
    ]
