"""Prednisolone-equivalent dose (safety.grading.steroids), clinical-rules.md section 6b.

Expected doses are the spec's equivalences (4 mg methylprednisolone = 5 mg prednisolone, ...)
or hand calculations, not the code's output.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from safety.grading.steroids import (
    MedicationCourse,
    Route,
    is_glucocorticoid,
    prednisolone_equivalent,
    prednisolone_equivalent_on,
    prednisolone_mg_for_display,
)

D = Decimal
F = Fraction


def _course(
    drug: str = "prednisolone",
    dose: str = "10",
    route: Route = Route.ORAL,
    start: date = date(2025, 1, 10),
    stop: date | None = date(2025, 1, 20),
) -> MedicationCourse:
    return MedicationCourse(
        drug=drug, daily_dose_mg=D(dose), route=route, start_date=start, stop_date=stop
    )


# --------------------------------------------------------------------------------------------
# One dose
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "dose", "prednisolone"),
    [
        ("prednisolone", "5", F(5)),
        ("prednisone", "5", F(5)),
        ("methylprednisolone", "4", F(5)),
        ("hydrocortisone", "20", F(5)),
        ("dexamethasone", "0.75", F(5)),
        ("betamethasone", "0.6", F(5)),
        ("deflazacort", "6", F(5)),
        ("prednisolone", "7.5", F(15, 2)),
        ("methylprednisolone", "1000", F(1250)),
        ("dexamethasone", "1", F(20, 3)),
        ("dexamethasone", "0.7501", F(15002, 3000)),  # 0.7501 x 20 = 15.002, / 3
        ("hydrocortisone", "10", F(5, 2)),
        ("deflazacort", "1", F(5, 6)),
        ("betamethasone", "0", F(0)),
    ],
    ids=[
        "prednisolone-5",
        "prednisone-5",
        "methylprednisolone-4",
        "hydrocortisone-20",
        "dexamethasone-0.75",
        "betamethasone-0.6",
        "deflazacort-6",
        "prednisolone-7.5",
        "methylprednisolone-pulse-1000",
        "dexamethasone-1-is-20/3",
        "dexamethasone-0.7501-just-over-5",
        "hydrocortisone-10",
        "deflazacort-1-is-5/6",
        "zero",
    ],
)
def test_one_dose_converts_exactly(drug, dose, prednisolone) -> None:
    result = prednisolone_equivalent(drug, D(dose))
    assert isinstance(result, Fraction)
    assert result == prednisolone


def test_dexamethasone_just_over_0_75_is_over_5_though_it_shows_as_5_00() -> None:
    result = prednisolone_equivalent("dexamethasone", D("0.7501"))
    assert result > 5
    assert str(prednisolone_mg_for_display(result)) == "5.00"


def test_drug_name_is_matched_without_case_or_surrounding_spaces() -> None:
    assert prednisolone_equivalent(" Methylprednisolone ", D("4")) == 5


def test_non_glucocorticoid_single_dose_is_refused() -> None:
    assert not is_glucocorticoid("mycophenolate")
    with pytest.raises(ValueError, match="not a glucocorticoid"):
        prednisolone_equivalent("mycophenolate", D("500"))


@pytest.mark.parametrize("dose", ["-1", "NaN", "Infinity"], ids=lambda value: value)
def test_invalid_dose_is_refused(dose) -> None:
    with pytest.raises(ValueError, match="zero or more"):
        prednisolone_equivalent("prednisolone", D(dose))


def test_float_dose_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        prednisolone_equivalent("prednisolone", 5.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (F(5), "5.00"),
        (F(20, 3), "6.67"),
        (F(5, 6), "0.83"),
        (F(25, 3), "8.33"),
        (F(1, 200), "0.01"),
        (F(1, 201), "0.00"),
        (F(0), "0.00"),
        (F(1250), "1250.00"),
    ],
    ids=["5", "20/3", "5/6", "25/3", "half-up-0.005", "below-half", "zero", "pulse"],
)
def test_display_rounds_half_up_to_0_01_mg(value, shown) -> None:
    assert str(prednisolone_mg_for_display(value)) == shown


# --------------------------------------------------------------------------------------------
# The dose on a date, summed over courses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "dose"),
    [
        (date(2025, 1, 9), F(0)),
        (date(2025, 1, 10), F(10)),
        (date(2025, 1, 15), F(10)),
        (date(2025, 1, 20), F(10)),
        (date(2025, 1, 21), F(0)),
    ],
    ids=["day-before-start", "start", "middle", "stop", "day-after-stop"],
)
def test_course_counts_from_start_to_stop_inclusive(day, dose) -> None:
    assert prednisolone_equivalent_on([_course()], day) == dose


@pytest.mark.parametrize(
    ("day", "dose"),
    [(date(2025, 1, 9), F(0)), (date(2025, 1, 10), F(10)), (date(2030, 6, 1), F(10))],
    ids=["day-before-start", "start", "years-later"],
)
def test_open_ended_course_counts_from_start_on(day, dose) -> None:
    assert prednisolone_equivalent_on([_course(stop=None)], day) == dose


def test_one_day_course_counts_on_its_day_only() -> None:
    course = _course(start=date(2025, 1, 10), stop=date(2025, 1, 10))
    assert prednisolone_equivalent_on([course], date(2025, 1, 10)) == 10
    assert prednisolone_equivalent_on([course], date(2025, 1, 11)) == 0


@pytest.mark.parametrize(
    ("day", "dose"),
    [
        (date(2025, 2, 2), F(10)),
        (date(2025, 2, 3), F(635)),
        (date(2025, 2, 5), F(635)),
        (date(2025, 2, 6), F(10)),
    ],
    ids=["before-pulse", "first-pulse-day", "last-pulse-day", "after-pulse"],
)
def test_intravenous_pulse_counts_on_its_days_on_top_of_oral(day, dose) -> None:
    # Oral prednisolone 10 mg throughout; IV methylprednisolone 500 mg x 3 days = 625 mg a day.
    courses = [
        _course(start=date(2025, 1, 1), stop=None),
        _course("methylprednisolone", "500", Route.INTRAVENOUS, date(2025, 2, 3), date(2025, 2, 5)),
    ]
    assert prednisolone_equivalent_on(courses, day) == dose


def test_route_other_is_ignored() -> None:
    courses = [
        _course("betamethasone", "0.6", Route.OTHER),
        _course("hydrocortisone", "20", Route.OTHER, stop=None),
    ]
    assert prednisolone_equivalent_on(courses, date(2025, 1, 15)) == 0


def test_non_glucocorticoids_contribute_nothing() -> None:
    courses = [
        _course("hydroxychloroquine", "200"),
        _course("mycophenolate", "1000"),
        _course("tocilizumab", "8", Route.INTRAVENOUS),
    ]
    assert prednisolone_equivalent_on(courses, date(2025, 1, 15)) == 0


def test_mixed_courses_sum_exactly() -> None:
    # 0.75 mg dexamethasone (5) + 4 mg methylprednisolone IV (5) + 6 mg deflazacort (5)
    # + 20 mg hydrocortisone (5) + 0.6 mg betamethasone (5), with topical hydrocortisone and
    # hydroxychloroquine adding nothing: 25 mg exactly, no 24.99 from rounded factors.
    courses = [
        _course("dexamethasone", "0.75"),
        _course("methylprednisolone", "4", Route.INTRAVENOUS),
        _course("deflazacort", "6"),
        _course("hydrocortisone", "20"),
        _course("betamethasone", "0.6"),
        _course("hydrocortisone", "100", Route.OTHER),
        _course("hydroxychloroquine", "200"),
    ]
    assert prednisolone_equivalent_on(courses, date(2025, 1, 15)) == 25


def test_thirds_add_up_exactly() -> None:
    # Three courses of 0.25 mg dexamethasone: 3 x 5/3 = 5 exactly (not 4.99 or 5.01).
    courses = [_course("dexamethasone", "0.25") for _ in range(3)]
    assert prednisolone_equivalent_on(courses, date(2025, 1, 15)) == 5


def test_no_courses_is_zero() -> None:
    assert prednisolone_equivalent_on([], date(2025, 1, 15)) == 0


def test_course_that_stops_before_it_starts_is_refused() -> None:
    course = _course(start=date(2025, 1, 10), stop=date(2025, 1, 9))
    with pytest.raises(ValueError, match="before it starts"):
        prednisolone_equivalent_on([course], date(2025, 1, 15))
