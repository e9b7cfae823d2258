"""Prednisolone-equivalent glucocorticoid dose (clinical-rules.md section 6b).

Results are exact :class:`fractions.Fraction` values in mg/day, so that the LLDAS (<= 7.5) and
DORIS (<= 5) thresholds are compared without rounding: dexamethasone 0.7501 mg is 5.000666... mg,
which is over 5, though it would show as 5.00. Doses come in as Decimal (never float) and are
converted to Fraction exactly. Round only to show or store a value, with
:func:`prednisolone_mg_for_display` (0.01 mg, half up).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

#: mg of prednisolone equivalent to 1 mg of each glucocorticoid, exact (spec section 6b):
#: methylprednisolone 4 mg, hydrocortisone 20 mg, dexamethasone 0.75 mg, betamethasone 0.6 mg
#: and deflazacort 6 mg are each 5 mg of prednisolone.
PREDNISOLONE_EQUIVALENCE: dict[str, Fraction] = {
    "prednisolone": Fraction(1),
    "prednisone": Fraction(1),
    "methylprednisolone": Fraction(5, 4),
    "hydrocortisone": Fraction(1, 4),
    "dexamethasone": Fraction(20, 3),
    "betamethasone": Fraction(25, 3),
    "deflazacort": Fraction(5, 6),
}
#: Shown and stored doses have two decimals.
PREDNISOLONE_DISPLAY_QUANTUM = Decimal("0.01")
PREDNISOLONE_DISPLAY_QUANTUM_FRACTION = Fraction(PREDNISOLONE_DISPLAY_QUANTUM)


class Route(StrEnum):
    """Name the route of a medication course."""

    ORAL = "oral"
    #: Written "iv", as medications.csv writes it (interchange.md).
    INTRAVENOUS = "iv"
    #: Topical, inhaled, intra-articular: never counted in the systemic dose.
    OTHER = "other"


#: Routes whose glucocorticoid courses count in the prednisolone-equivalent dose.
SYSTEMIC_ROUTES: frozenset[Route] = frozenset({Route.ORAL, Route.INTRAVENOUS})


@dataclass(frozen=True)
class MedicationCourse:
    """Hold one medication course: drug (generic name), daily dose in mg, route and dates.

    ``stop_date`` is None for a course that is still going on; both dates are inclusive.
    """

    drug: str
    daily_dose_mg: Decimal
    route: Route
    start_date: date
    stop_date: date | None


def _drug_key(drug: str) -> str:
    """Return the generic name as the equivalence table spells it (lower case, trimmed)."""
    return drug.strip().lower()


def is_glucocorticoid(drug: str) -> bool:
    """Return True if ``drug`` (a generic name) is one of the converted glucocorticoids."""
    return _drug_key(drug) in PREDNISOLONE_EQUIVALENCE


def _exact_dose(dose_mg: Decimal) -> Fraction:
    """Return a dose as an exact Fraction; raise TypeError for float, ValueError if invalid."""
    if not isinstance(dose_mg, Decimal):
        raise TypeError(f"A dose must be a Decimal, not {type(dose_mg).__name__} {dose_mg!r}")
    if not dose_mg.is_finite() or dose_mg < 0:
        raise ValueError(f"A dose must be a number of mg, zero or more, not {dose_mg}")
    return Fraction(dose_mg)


def prednisolone_equivalent(drug: str, dose_mg: Decimal) -> Fraction:
    """Return the exact prednisolone-equivalent mg of one glucocorticoid dose.

    Raise ValueError if ``drug`` is not one of the glucocorticoids in section 6b.
    """
    key = _drug_key(drug)
    if key not in PREDNISOLONE_EQUIVALENCE:
        raise ValueError(
            f"{drug!r} is not a glucocorticoid with a prednisolone equivalent; expected one of "
            + ", ".join(PREDNISOLONE_EQUIVALENCE)
        )
    return _exact_dose(dose_mg) * PREDNISOLONE_EQUIVALENCE[key]


def course_active_on(course: MedicationCourse, day: date) -> bool:
    """Return True if the course runs on ``day`` (start <= day <= stop, or no stop).

    Raise ValueError for a course that stops before it starts.
    """
    if course.stop_date is not None and course.stop_date < course.start_date:
        raise ValueError(
            f"The {course.drug} course stops ({course.stop_date.isoformat()}) before it starts "
            f"({course.start_date.isoformat()})"
        )
    return course.start_date <= day and (course.stop_date is None or day <= course.stop_date)


def prednisolone_equivalent_on(courses: Iterable[MedicationCourse], day: date) -> Fraction:
    """Return the exact prednisolone-equivalent mg/day on ``day``, summed over the courses.

    Only oral and intravenous glucocorticoid courses active that day count, so an intravenous
    pulse counts on each of its days; route "other" courses and non-glucocorticoids add nothing.
    """
    total = Fraction(0)
    for course in courses:
        if not course_active_on(course, day):
            continue
        if Route(course.route) not in SYSTEMIC_ROUTES or not is_glucocorticoid(course.drug):
            continue
        total += prednisolone_equivalent(course.drug, course.daily_dose_mg)
    return total


def prednisolone_mg_for_display(value: Fraction) -> Decimal:
    """Return ``value`` rounded half up to 0.01 mg, to show or store; never compare with it.

    The rounding is done on the exact fraction, so no intermediate Decimal division can round
    first.
    """
    hundredths = math.floor(abs(value) / PREDNISOLONE_DISPLAY_QUANTUM_FRACTION + Fraction(1, 2))
    rounded = Decimal(hundredths).scaleb(-2)
    return -rounded if value < 0 else rounded
