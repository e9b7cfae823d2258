"""B-cell aplasia and reconstitution (safety.grading.b_cells; clinical-rules.md section 6): one
table per rule, boundary rows on both sides of the threshold; every expected day is read off the
counts by hand."""

from decimal import Decimal

import pytest

from safety.grading.b_cells import (
    DEFAULT_APLASIA_THRESHOLD_PER_UL,
    BCellCount,
    BCellStatus,
    aplasia_at,
    b_cell_course,
    b_cell_status,
)

D = Decimal
ONE = DEFAULT_APLASIA_THRESHOLD_PER_UL


def counts(*pairs: tuple[int, str | None]) -> list[BCellCount]:
    """(study day, count) pairs; None is a count not done."""
    return [BCellCount(day, D(count) if count is not None else None) for day, count in pairs]


def test_the_default_threshold_is_1_cell_per_microlitre():
    assert D("1") == DEFAULT_APLASIA_THRESHOLD_PER_UL


@pytest.mark.parametrize(
    ("count", "threshold", "aplasia"),
    [
        pytest.param("0", "1", True, id="0-below-1"),
        pytest.param("0.99", "1", True, id="0.99-below-1"),
        pytest.param("1.00", "1", False, id="1.00-at-1-is-not-aplasia"),
        pytest.param("1.01", "1", False, id="1.01-above-1"),
        pytest.param("4.99", "5", True, id="4.99-below-a-threshold-of-5"),
        pytest.param("5", "5", False, id="5-at-a-threshold-of-5"),
        pytest.param("250", "1", False, id="normal-count"),
    ],
)
def test_aplasia_is_a_count_strictly_below_the_threshold(count, threshold, aplasia):
    assert aplasia_at(D(count), D(threshold)) is aplasia


@pytest.mark.parametrize(
    ("pairs", "threshold", "first_aplasia", "reconstitution", "status"),
    [
        pytest.param(
            [(-7, "400"), (7, "0"), (28, "0"), (56, "0.5"), (90, "12")],
            "1",
            7,
            90,
            BCellStatus.RECONSTITUTED,
            id="aplasia-from-day-7-reconstituted-day-90",
        ),
        pytest.param(
            [(7, "0.99"), (28, "1.00")],
            "1",
            7,
            28,
            BCellStatus.RECONSTITUTED,
            id="0.99-is-aplasia-then-1.00-is-reconstitution",
        ),
        pytest.param(
            [(7, "0"), (28, "0.99"), (56, "0")],
            "1",
            7,
            None,
            BCellStatus.APLASIA,
            id="still-in-aplasia-not-yet-reconstituted",
        ),
        pytest.param(
            [(3, "150"), (7, "0"), (14, "80")],
            "1",
            7,
            14,
            BCellStatus.RECONSTITUTED,
            id="count-above-before-aplasia-is-no-reconstitution",
        ),
        pytest.param(
            [(7, "35"), (28, "60")],
            "1",
            None,
            None,
            BCellStatus.NO_APLASIA,
            id="never-in-aplasia-no-aplasia-recorded",
        ),
        pytest.param(
            [(-30, "0"), (0, "0"), (28, "300")],
            "1",
            None,
            None,
            BCellStatus.NO_APLASIA,
            id="zero-before-or-on-the-infusion-day-is-not-aplasia",
        ),
        pytest.param(
            [(0, "0.5"), (1, "0.5"), (7, "2")],
            "1",
            1,
            7,
            BCellStatus.RECONSTITUTED,
            id="day-1-is-the-first-day-after-infusion",
        ),
        pytest.param(
            [(-7, "400"), (0, None)],
            "1",
            None,
            None,
            BCellStatus.NO_COUNT,
            id="no-count-after-infusion",
        ),
        pytest.param([], "1", None, None, BCellStatus.NO_COUNT, id="no-count-at-all"),
        pytest.param(
            [(7, "0"), (28, None), (56, "0"), (90, None)],
            "1",
            7,
            None,
            BCellStatus.APLASIA,
            id="counts-not-done-are-skipped",
        ),
        pytest.param(
            [(7, None), (14, "0"), (28, None), (56, "3")],
            "1",
            14,
            56,
            BCellStatus.RECONSTITUTED,
            id="first-count-not-done-then-aplasia-then-reconstitution",
        ),
        pytest.param(
            [(7, "0"), (56, "2"), (90, "0")],
            "1",
            7,
            56,
            BCellStatus.RECONSTITUTED,
            id="aplasia-again-keeps-the-first-reconstitution-day",
        ),
        pytest.param(
            [(7, "3"), (28, "4.99"), (56, "5.00")],
            "5",
            7,
            56,
            BCellStatus.RECONSTITUTED,
            id="a-study-threshold-of-5",
        ),
        pytest.param(
            [(7, "5"), (7, "0")],
            "1",
            7,
            None,
            BCellStatus.APLASIA,
            id="two-counts-on-one-day-are-read-in-the-order-given",
        ),
        pytest.param(
            [(56, "12"), (7, "0"), (28, "0")],
            "1",
            7,
            56,
            BCellStatus.RECONSTITUTED,
            id="counts-in-any-order-are-read-by-study-day",
        ),
    ],
)
def test_first_aplasia_and_reconstitution_days(
    pairs, threshold, first_aplasia, reconstitution, status
):
    course = b_cell_course(counts(*pairs), D(threshold))

    assert course.first_aplasia_day == first_aplasia
    assert course.reconstitution_day == reconstitution
    assert course.status == status
    assert course.aplasia_recorded is (first_aplasia is not None)
    # The status alone, from the counts done (a count not done is skipped either way).
    done = [(day, D(count)) for day, count in pairs if count is not None]
    assert b_cell_status(done, D(threshold)) == status


def test_each_visit_is_read_against_the_threshold_in_study_day_order():
    course = b_cell_course(counts((28, "1.00"), (-7, "400"), (7, "0.99"), (56, None)), ONE)

    assert [(v.study_day, v.cd19_per_ul, v.aplasia) for v in course.visits] == [
        (-7, D("400"), None),
        (7, D("0.99"), True),
        (28, D("1.00"), False),
        (56, None, None),
    ]
    assert course.threshold_per_ul == ONE


@pytest.mark.parametrize(
    ("pairs", "latest"),
    [
        pytest.param([(-7, "400"), (7, "0"), (28, None)], (7, D("0")), id="skips-not-done"),
        pytest.param([(-7, "400")], (-7, D("400")), id="baseline-only"),
        pytest.param([(7, None)], None, id="none-counted"),
    ],
)
def test_latest_is_the_last_visit_with_a_count(pairs, latest):
    visit = b_cell_course(counts(*pairs), ONE).latest

    assert (None if visit is None else (visit.study_day, visit.cd19_per_ul)) == latest


@pytest.mark.parametrize(
    ("make", "error"),
    [
        pytest.param(lambda: BCellCount(7, 0.5), TypeError, id="float-count"),
        pytest.param(lambda: BCellCount(7, 1), TypeError, id="int-count"),
        pytest.param(lambda: BCellCount(7, D("-0.01")), ValueError, id="negative-count"),
        pytest.param(lambda: BCellCount(7, D("NaN")), ValueError, id="nan-count"),
        pytest.param(lambda: BCellCount(7.0, D("1")), TypeError, id="float-day"),
        pytest.param(lambda: BCellCount(True, D("1")), TypeError, id="bool-day"),
        pytest.param(lambda: b_cell_course([], 1.0), TypeError, id="float-threshold"),
        pytest.param(lambda: b_cell_course([], D("0")), ValueError, id="zero-threshold"),
        pytest.param(lambda: b_cell_course([], D("-1")), ValueError, id="negative-threshold"),
        pytest.param(lambda: b_cell_course([], D("Infinity")), ValueError, id="inf-threshold"),
        pytest.param(lambda: b_cell_status([(7, 0.5)], ONE), TypeError, id="status-float-count"),
        pytest.param(lambda: b_cell_status([(7, None)], ONE), TypeError, id="status-no-count"),
        # Checked before the infusion too, though only the counts after it are read.
        pytest.param(
            lambda: b_cell_status([(-7, None)], ONE), TypeError, id="status-no-count-before"
        ),
        pytest.param(
            lambda: b_cell_status([(0, D("-1"))], ONE),
            ValueError,
            id="status-negative-count-on-day-0",
        ),
        pytest.param(
            lambda: b_cell_status([(7, D("-1"))], ONE), ValueError, id="status-negative-count"
        ),
        pytest.param(lambda: b_cell_status([(7.0, ONE)], ONE), TypeError, id="status-float-day"),
        pytest.param(lambda: b_cell_status([(True, ONE)], ONE), TypeError, id="status-bool-day"),
        pytest.param(lambda: b_cell_status([], 1.0), TypeError, id="status-float-threshold"),
        pytest.param(lambda: b_cell_status([], D("0")), ValueError, id="status-zero-threshold"),
    ],
)
def test_only_decimal_counts_and_a_positive_decimal_threshold_are_taken(make, error):
    with pytest.raises(error):
        make()
