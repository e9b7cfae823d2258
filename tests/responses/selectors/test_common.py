"""What the selectors share (responses.selectors.common): rates shown as percents, the data
cut (a visit dated after the cut and a participant enrolled after it do not count), and the
study day the database reads."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.selectors.cohort import CohortRow, cohort_summary, not_infused
from responses.selectors.common import out_of_window
from responses.selectors.rows import response_rows
from tests.factories import ParticipantRow, VisitRow, build_cohort
from tests.responses.cohorts import AS_OF, INFUSED, responders_cohort, selectors_participant
from trialsite.day_numbers import visit_study_day
from trialsite.models import Visit, VisitDefinition


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


# The study day read by the database (visit_study_day), which the reports group and window
# visits by.


@pytest.mark.parametrize(
    ("infused", "m1_date", "study_day"),
    [
        # Month 1's window is study days 21 to 35 (the default schedule).
        pytest.param(date(2025, 2, 10), date(2025, 3, 3), 21, id="first-day-of-window"),
        pytest.param(date(2025, 2, 10), date(2025, 3, 2), 20, id="day-before-window"),
        pytest.param(date(2025, 2, 10), date(2025, 3, 17), 35, id="last-day-of-window"),
        pytest.param(date(2025, 2, 10), date(2025, 3, 18), 36, id="day-after-window"),
        # 2024 is a leap year: 2024-02-10 to 2024-03-11 is 19 + 11 days.
        pytest.param(date(2024, 2, 10), date(2024, 3, 11), 30, id="across-29-february"),
        pytest.param(None, date(2025, 3, 3), None, id="infusion-date-unknown"),
    ],
)
def test_the_database_counts_study_days_and_windows_as_the_schedule_does(
    study, infused, m1_date, study_day
):
    enrolled = date(2024, 1, 2)
    baseline_date = (infused or m1_date) - timedelta(days=7)
    people = build_cohort(
        study,
        {
            "W-1": ParticipantRow(
                "S01", "F", 12, None, enrolled=enrolled, infused=infused,
                visits={"BL": VisitRow(baseline_date, {"arthritis"}),
                        "M1": VisitRow(m1_date, {"arthritis"})},
            )
        },
    )  # fmt: skip
    days = dict(
        Visit.objects.filter(participant=people["W-1"])
        .annotate(day_of_study=visit_study_day())
        .values_list("visit_definition__code", "day_of_study")
    )
    assert days == {"BL": -7 if infused else None, "M1": study_day}
    # Read as the database's integer, never converted (a float would compare equal).
    assert {type(day) for day in days.values()} == {int if infused else type(None)}
    m1 = VisitDefinition.objects.get(study=study, code="M1")
    outside = study_day is not None and not 21 <= study_day <= 35
    assert out_of_window(m1, days["M1"]) is outside
    # The observed set counts the same visits out of window as the window rule does.
    row = next(row for row in cohort_summary(study=study, endpoint="sri4", as_of=AS_OF)
               if row.visit == "M1")  # fmt: skip
    assert row.out_of_window == int(outside)
