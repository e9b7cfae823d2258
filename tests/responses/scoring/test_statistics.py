"""Exact (Clopper-Pearson) intervals and the percents shown from them
(responses.scoring.statistics), against published tables."""

from decimal import Decimal

import pytest

from responses.scoring.statistics import clopper_pearson, exact_median, whole_percents


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


@pytest.mark.parametrize(
    ("successes", "trials", "percents"),
    [
        # Clopper-Pearson 95%: 4/5 0.2836-0.9949; 9/10 0.554984-0.997471, whose lower limit
        # is 55% (55.498%), not the 56% that rounding 0.5550 again would give.
        (4, 5, (80, 28, 99)),
        (9, 10, (90, 55, 100)),
        (0, 5, (0, 0, 52)),
    ],
)
def test_sentence_percents_are_rounded_once_from_the_exact_values(successes, trials, percents):
    assert whole_percents(successes, trials) == percents


@pytest.mark.parametrize(
    ("values", "median"),
    [
        ([9, 1, 2], Decimal(2)),  # sorted 1, 2, 9: the middle one
        ([5, 1, 2, 9], Decimal("3.5")),  # sorted 1, 2, 5, 9: (2 + 5) / 2
        ([4, 1], Decimal("2.5")),  # whole totals may fall halfway
        ([7], Decimal(7)),
        ([0, 0], Decimal(0)),
        ([Decimal("1.00"), Decimal("0.25")], Decimal("0.625")),  # exact, not rounded
        ([Decimal("1.50"), Decimal("0.25"), Decimal("0.50")], Decimal("0.50")),
    ],
)
def test_the_exact_median_sorts_first_and_is_a_decimal(values, median):
    result = exact_median(values)

    assert result == median
    assert type(result) is Decimal


def test_the_median_of_no_values_is_refused():
    with pytest.raises(ValueError, match="no values"):
        exact_median([])
