"""The statistics of the cohort figures: a rate with its exact (Clopper-Pearson) 95% interval,
percents rounded once from the exact value, halves up (clinical-rules.md section 4a), and the
exact median.

Pure Python with SciPy's binomial test; no Django.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from scipy.stats import binomtest

#: Rates and confidence limits are reported with four decimals.
PROPORTION_QUANTUM = Decimal("0.0001")
CONFIDENCE_LEVEL = 0.95
#: Report tables show percents with one decimal.
PERCENT_QUANTUM = Decimal("0.1")


@lru_cache(maxsize=4096)
def _exact_interval(successes: int, trials: int) -> tuple[Decimal, Decimal]:
    """Return the exact (Clopper-Pearson) 95% interval of a proportion, unrounded."""
    interval = binomtest(successes, trials).proportion_ci(
        confidence_level=CONFIDENCE_LEVEL, method="exact"
    )
    return Decimal(str(float(interval.low))), Decimal(str(float(interval.high)))


def clopper_pearson(successes: int, trials: int) -> tuple[Decimal, Decimal]:
    """Return the exact (Clopper-Pearson) 95% interval of a proportion, to four decimals."""
    low, high = _exact_interval(successes, trials)
    return rounded(low, PROPORTION_QUANTUM), rounded(high, PROPORTION_QUANTUM)


def percents(successes: int, trials: int, quantum: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Return the rate and its exact 95% interval as percents, each rounded once to ``quantum``
    from the exact value (rounding the four-decimal figures again would turn 55.498% into 56%)."""
    low, high = _exact_interval(successes, trials)
    rate = Decimal(successes) / Decimal(trials)
    return rounded(rate * 100, quantum), rounded(low * 100, quantum), rounded(high * 100, quantum)


WHOLE = Decimal(1)


def whole_percents(successes: int, trials: int) -> tuple[int, int, int]:
    """Return the rate and its exact 95% interval as whole percents, as a sentence gives them."""
    rate, low, high = percents(successes, trials, WHOLE)
    return int(rate), int(low), int(high)


def rounded(value: Decimal, quantum: Decimal) -> Decimal:
    """Round to ``quantum``, halves up (0.125 to two decimals is 0.13)."""
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def rate_and_interval(
    successes: int, trials: int
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """Return the rate and its exact 95% interval to four decimals (None when trials is 0)."""
    if trials == 0:
        return None, None, None
    return (proportion(successes, trials), *clopper_pearson(successes, trials))


def proportion(successes: int, trials: int) -> Decimal:
    """Return successes / trials to four decimals."""
    return rounded(Decimal(successes) / Decimal(trials), PROPORTION_QUANTUM)


def exact_median(values: Iterable[int | Decimal]) -> Decimal:
    """Return the median of whole numbers or decimals as a decimal, exactly: the middle two of
    an even count average to a half (whole SLEDAI-2K totals 1 and 4: 2.5). The values are sorted
    as they are, whole numbers several times quicker than decimals. No values: ValueError."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("The median of no values")
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2
