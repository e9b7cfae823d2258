"""What the selectors share (responses.selectors.common): rates shown as percents, and the data
cut: a visit dated after the cut and a participant enrolled after it do not count."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.selectors.cohort import CohortRow, cohort_summary, not_infused
from responses.selectors.rows import response_rows
from tests.factories import build_cohort
from tests.responses.cohorts import AS_OF, INFUSED, responders_cohort, selectors_participant


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


# Data cut: a visit dated after the cut and a participant enrolled after it do not count.


def test_a_visit_dated_after_the_cut_does_not_count(study):
    build_cohort(study, responders_cohort(2))  # Month 3 on 2025-05-11
    m3_date = INFUSED + timedelta(days=90)

    def month_3(as_of: date) -> tuple[int, int]:
        row = next(r for r in cohort_summary(study=study, endpoint="sri4", as_of=as_of)
                   if r.visit == "M3")  # fmt: skip
        return row.reached, row.responders

    assert month_3(m3_date) == (2, 2)
    assert month_3(m3_date - timedelta(days=1)) == (0, 0)
    assert len(response_rows(study=study, as_of=m3_date - timedelta(days=1))) == 2  # M1 only


def test_a_participant_enrolled_after_the_cut_does_not_count(study):
    build_cohort(study, responders_cohort(1))  # Q-000, enrolled 2025-01-06
    late = build_cohort(
        study, {"LATE": selectors_participant("S01", enrolled=date(2025, 7, 1), infused=None)}
    )["LATE"]
    assert late.enrollment_date > AS_OF
    assert not_infused(study=study, as_of=AS_OF).count == 0
    assert not_infused(study=study, as_of=date(2025, 7, 1)).participants[0].participant_id == (
        "LATE"
    )
