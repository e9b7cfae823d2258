"""CRS grade (safety.grading.crs), ASTCT 2019 as clinical-rules.md section 6 states it.

Expected grades are typed from the spec's rules, not taken from the code.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from safety.grading.crs import CrsDomain, CrsEntries, Hypotension, Oxygen, grade_crs

D = Decimal


def _entries(
    temperature: str = "38.5",
    *,
    masked: bool = False,
    hypotension: Hypotension = Hypotension.NONE,
    oxygen: Oxygen = Oxygen.NONE,
    died: bool = False,
) -> CrsEntries:
    return CrsEntries(
        highest_temperature_c=D(temperature),
        fever_masked=masked,
        hypotension=hypotension,
        oxygen=oxygen,
        died_of_crs=died,
    )


# --------------------------------------------------------------------------------------------
# Fever: 38.0 °C, or masked
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "masked", "grade", "drivers"),
    [
        ("37.9", False, 0, ()),
        ("37.99", False, 0, ()),
        ("38.0", False, 1, (CrsDomain.FEVER,)),
        ("38.00", False, 1, (CrsDomain.FEVER,)),
        ("40.2", False, 1, (CrsDomain.FEVER,)),
        ("37.9", True, 1, (CrsDomain.FEVER,)),
        ("36.5", True, 1, (CrsDomain.FEVER,)),
    ],
    ids=[
        "37.9-no-crs",
        "37.99-no-crs",
        "38.0-fever",
        "38.00-fever",
        "40.2-fever",
        "37.9-masked",
        "36.5-masked",
    ],
)
def test_fever_alone_is_grade_1_and_below_38_unmasked_is_no_crs(
    temperature, masked, grade, drivers
) -> None:
    result = grade_crs(_entries(temperature, masked=masked))
    assert (result.grade, result.drivers) == (grade, drivers)


@pytest.mark.parametrize(
    ("hypotension", "oxygen"),
    [
        (Hypotension.MULTIPLE_VASOPRESSORS, Oxygen.NONE),
        (Hypotension.NONE, Oxygen.POSITIVE_PRESSURE),
        (Hypotension.ONE_VASOPRESSOR, Oxygen.HIGH_FLOW),
    ],
    ids=["several-vasopressors", "positive-pressure", "both"],
)
def test_hypotension_or_hypoxia_without_fever_is_no_crs(hypotension, oxygen) -> None:
    result = grade_crs(_entries("37.9", hypotension=hypotension, oxygen=oxygen))
    assert (result.grade, result.drivers) == (0, ())


# --------------------------------------------------------------------------------------------
# Hypotension and oxygen, each alone, then the worse of the two
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hypotension", "grade"),
    [
        (Hypotension.NO_VASOPRESSOR, 2),
        (Hypotension.ONE_VASOPRESSOR, 3),
        (Hypotension.MULTIPLE_VASOPRESSORS, 4),
    ],
    ids=lambda value: str(value),
)
def test_each_hypotension_level_drives_its_grade(hypotension, grade) -> None:
    result = grade_crs(_entries(hypotension=hypotension))
    assert (result.grade, result.drivers) == (grade, (CrsDomain.HYPOTENSION,))


@pytest.mark.parametrize(
    ("oxygen", "grade"),
    [
        (Oxygen.LOW_FLOW, 2),
        (Oxygen.HIGH_FLOW, 3),
        (Oxygen.POSITIVE_PRESSURE, 4),
    ],
    ids=lambda value: str(value),
)
def test_each_oxygen_level_drives_its_grade(oxygen, grade) -> None:
    result = grade_crs(_entries(oxygen=oxygen))
    assert (result.grade, result.drivers) == (grade, (CrsDomain.OXYGEN,))


@pytest.mark.parametrize(
    ("hypotension", "oxygen", "grade", "drivers"),
    [
        (
            Hypotension.NO_VASOPRESSOR,
            Oxygen.HIGH_FLOW,
            3,
            (CrsDomain.OXYGEN,),
        ),
        (
            Hypotension.MULTIPLE_VASOPRESSORS,
            Oxygen.LOW_FLOW,
            4,
            (CrsDomain.HYPOTENSION,),
        ),
        (
            Hypotension.ONE_VASOPRESSOR,
            Oxygen.LOW_FLOW,
            3,
            (CrsDomain.HYPOTENSION,),
        ),
        (
            Hypotension.NO_VASOPRESSOR,
            Oxygen.LOW_FLOW,
            2,
            (CrsDomain.HYPOTENSION, CrsDomain.OXYGEN),
        ),
        (
            Hypotension.ONE_VASOPRESSOR,
            Oxygen.HIGH_FLOW,
            3,
            (CrsDomain.HYPOTENSION, CrsDomain.OXYGEN),
        ),
        (
            Hypotension.ONE_VASOPRESSOR,
            Oxygen.POSITIVE_PRESSURE,
            4,
            (CrsDomain.OXYGEN,),
        ),
        (
            Hypotension.MULTIPLE_VASOPRESSORS,
            Oxygen.POSITIVE_PRESSURE,
            4,
            (CrsDomain.HYPOTENSION, CrsDomain.OXYGEN),
        ),
    ],
    ids=[
        "no-pressor-2-vs-mask-3",
        "several-4-vs-low-flow-2",
        "one-3-vs-low-flow-2",
        "tie-at-2",
        "tie-at-3",
        "one-3-vs-positive-pressure-4",
        "tie-at-4",
    ],
)
def test_the_worse_of_hypotension_and_oxygen_is_the_grade(
    hypotension, oxygen, grade, drivers
) -> None:
    result = grade_crs(_entries(hypotension=hypotension, oxygen=oxygen))
    assert (result.grade, result.drivers) == (grade, drivers)


def test_masked_fever_below_38_with_hypotension_is_graded_by_hypotension() -> None:
    result = grade_crs(_entries("37.2", masked=True, hypotension=Hypotension.ONE_VASOPRESSOR))
    assert (result.grade, result.drivers) == (3, (CrsDomain.HYPOTENSION,))


# --------------------------------------------------------------------------------------------
# Death of CRS (entered)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        _entries(
            hypotension=Hypotension.MULTIPLE_VASOPRESSORS,
            oxygen=Oxygen.POSITIVE_PRESSURE,
            died=True,
        ),
        _entries(died=True),
        _entries("37.0", masked=True, died=True),
    ],
    ids=["after-grade-4", "fever-only", "masked-fever"],
)
def test_death_of_crs_is_grade_5(entries) -> None:
    result = grade_crs(entries)
    assert (result.grade, result.drivers) == (5, (CrsDomain.DEATH,))


def test_grade_4_without_death_stays_4() -> None:
    result = grade_crs(
        _entries(hypotension=Hypotension.MULTIPLE_VASOPRESSORS, oxygen=Oxygen.POSITIVE_PRESSURE)
    )
    assert result.grade == 4


# --------------------------------------------------------------------------------------------
# Invalid entries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_a_temperature_not_recorded_is_refused(masked) -> None:
    # Without the temperature "no fever" cannot be told from "not measured": never grade 0.
    entries = CrsEntries(
        highest_temperature_c=None,  # type: ignore[arg-type]
        fever_masked=masked,
        hypotension=Hypotension.MULTIPLE_VASOPRESSORS,
        oxygen=Oxygen.POSITIVE_PRESSURE,
        died_of_crs=False,
    )
    with pytest.raises(TypeError, match="Decimal, not NoneType"):
        grade_crs(entries)


def test_temperature_as_float_is_refused() -> None:
    entries = CrsEntries(
        highest_temperature_c=38.0,  # type: ignore[arg-type]
        fever_masked=False,
        hypotension=Hypotension.NONE,
        oxygen=Oxygen.NONE,
        died_of_crs=False,
    )
    with pytest.raises(TypeError, match="Decimal"):
        grade_crs(entries)


@pytest.mark.parametrize("temperature", ["NaN", "Infinity"], ids=lambda value: value)
def test_temperature_that_is_not_a_number_is_refused(temperature) -> None:
    with pytest.raises(ValueError, match="must be a number"):
        grade_crs(_entries(temperature))


def test_unknown_hypotension_level_is_refused() -> None:
    entries = _entries(hypotension="a lot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a lot"):
        grade_crs(entries)


def test_result_is_frozen() -> None:
    result = grade_crs(_entries())
    with pytest.raises(AttributeError):
        result.grade = 2  # type: ignore[misc]
