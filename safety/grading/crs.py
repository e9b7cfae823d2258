"""Cytokine release syndrome, ASTCT 2019 consensus grade (clinical-rules.md section 6; Lee 2019).

One episode is graded from its entries. The result names the domain or domains that drove the
grade so that the form can show why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

#: Fever is a temperature of at least 38.0 °C (spec section 6; Lee 2019).
CRS_FEVER_THRESHOLD_C = Decimal("38.0")
#: The grade when the participant died of CRS (entered, never derived).
CRS_DEATH_GRADE = 5


class Hypotension(StrEnum):
    """Name the hypotension level of a CRS episode (vasopressin is not counted as a second)."""

    NONE = "none"
    NO_VASOPRESSOR = "no_vasopressor"
    ONE_VASOPRESSOR = "one_vasopressor"
    MULTIPLE_VASOPRESSORS = "multiple_vasopressors"


class Oxygen(StrEnum):
    """Name the oxygen support of a CRS episode."""

    NONE = "none"
    #: Low-flow nasal cannula <= 6 L/min or blow-by.
    LOW_FLOW = "low_flow"
    #: High-flow nasal cannula > 6 L/min, face mask, non-rebreather or Venturi mask.
    HIGH_FLOW = "high_flow"
    #: CPAP, BiPAP, intubation and mechanical ventilation.
    POSITIVE_PRESSURE = "positive_pressure"


class CrsDomain(StrEnum):
    """Name a domain that can drive the CRS grade."""

    FEVER = "fever"
    HYPOTENSION = "hypotension"
    OXYGEN = "oxygen"
    DEATH = "death"


#: Grade given by each hypotension level once there is (possibly masked) fever (spec section 6).
HYPOTENSION_GRADE: dict[Hypotension, int] = {
    Hypotension.NONE: 1,
    Hypotension.NO_VASOPRESSOR: 2,
    Hypotension.ONE_VASOPRESSOR: 3,
    Hypotension.MULTIPLE_VASOPRESSORS: 4,
}
#: Grade given by each oxygen level once there is (possibly masked) fever (spec section 6).
OXYGEN_GRADE: dict[Oxygen, int] = {
    Oxygen.NONE: 1,
    Oxygen.LOW_FLOW: 2,
    Oxygen.HIGH_FLOW: 3,
    Oxygen.POSITIVE_PRESSURE: 4,
}


@dataclass(frozen=True)
class CrsEntries:
    """Hold the entries of one CRS episode that its grade depends on.

    The highest temperature is always recorded: without it, "no fever" could not be told from
    "not measured". A masked fever (an antipyretic or anti-cytokine therapy given before the
    fever could show) counts as fever whatever the temperature.
    """

    highest_temperature_c: Decimal
    fever_masked: bool
    hypotension: Hypotension
    oxygen: Oxygen
    died_of_crs: bool


@dataclass(frozen=True)
class CrsGrade:
    """Hold the CRS grade (0..5) and the domains that drove it (empty for grade 0)."""

    grade: int
    drivers: tuple[CrsDomain, ...]


def has_fever(highest_temperature_c: Decimal, *, fever_masked: bool) -> bool:
    """Return True if the episode had fever: >= 38.0 °C, or masked by treatment.

    Raise TypeError for a temperature that is not a Decimal (None: not recorded; a float: binary
    floating point cannot hold 37.9 exactly) and ValueError for one that is not a finite number.
    """
    if not isinstance(highest_temperature_c, Decimal):
        raise TypeError(
            "The highest temperature must be a Decimal, not "
            f"{type(highest_temperature_c).__name__} {highest_temperature_c!r}"
        )
    if not highest_temperature_c.is_finite():
        raise ValueError(f"The highest temperature must be a number, not {highest_temperature_c}")
    return highest_temperature_c >= CRS_FEVER_THRESHOLD_C or fever_masked


def grade_crs(entries: CrsEntries) -> CrsGrade:
    """Return the ASTCT 2019 grade of one CRS episode and the domains that drove it.

    Death of CRS is entered, not derived, and gives grade 5 whatever else was entered. Otherwise
    there is no CRS (grade 0) without fever, even with hypotension or hypoxia (ASTCT requires
    fever); with fever the grade is the worse of hypotension and oxygen, and fever alone is
    grade 1. When both domains reach the grade, both are named.
    """
    if entries.died_of_crs:
        return CrsGrade(grade=CRS_DEATH_GRADE, drivers=(CrsDomain.DEATH,))
    if not has_fever(entries.highest_temperature_c, fever_masked=entries.fever_masked):
        return CrsGrade(grade=0, drivers=())
    by_domain = {
        CrsDomain.HYPOTENSION: HYPOTENSION_GRADE[Hypotension(entries.hypotension)],
        CrsDomain.OXYGEN: OXYGEN_GRADE[Oxygen(entries.oxygen)],
    }
    grade = max(by_domain.values())
    if grade == 1:
        return CrsGrade(grade=1, drivers=(CrsDomain.FEVER,))
    drivers = tuple(domain for domain, domain_grade in by_domain.items() if domain_grade == grade)
    return CrsGrade(grade=grade, drivers=drivers)
