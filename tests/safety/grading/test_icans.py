"""ICANS grade (safety.grading.icans), ASTCT 2019 as clinical-rules.md section 6 states it.

Expected grades are typed from the spec's rules, not taken from the code.
"""

from __future__ import annotations

from datetime import date

import pytest

from safety.grading.icans import (
    UNABLE_TO_PERFORM,
    Consciousness,
    EncephalopathyTool,
    IcansDomain,
    IcansEntries,
    Motor,
    RaisedIntracranialPressure,
    Seizure,
    UnableToPerform,
    age_at_onset,
    encephalopathy_grade,
    grade_icans,
    tool_for_age,
)

ICE = EncephalopathyTool.ICE
CAPD = EncephalopathyTool.CAPD
ADOLESCENT = 15
CHILD = 9


def _entries(
    *,
    age: int = ADOLESCENT,
    tool: EncephalopathyTool | None = None,
    score: int | UnableToPerform | None = None,
    consciousness: Consciousness = Consciousness.ALERT,
    seizure: Seizure = Seizure.NONE,
    motor: Motor = Motor.NONE,
    icp: RaisedIntracranialPressure = RaisedIntracranialPressure.NONE,
    died: bool = False,
) -> IcansEntries:
    """Return entries with a normal assessment (ICE 10 or CAPD 0) unless told otherwise."""
    tool = tool or (ICE if age > 12 else CAPD)
    if score is None:
        score = 10 if tool == ICE else 0
    return IcansEntries(
        age_at_onset=age,
        encephalopathy_tool=tool,
        encephalopathy_score=score,
        consciousness=consciousness,
        seizure=seizure,
        motor=motor,
        raised_intracranial_pressure=icp,
        died_of_icans=died,
    )


def _graded(entries: IcansEntries) -> tuple[int, tuple[IcansDomain, ...]]:
    result = grade_icans(entries)
    return result.grade, result.drivers


# --------------------------------------------------------------------------------------------
# Age at onset and the tool it asks for
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "tool"),
    [(0, CAPD), (3, CAPD), (11, CAPD), (12, CAPD), (13, ICE), (17, ICE), (25, ICE)],
    ids=lambda value: str(value),
)
def test_ice_is_for_over_12_and_capd_for_12_or_under(age, tool) -> None:
    assert tool_for_age(age) == tool


@pytest.mark.parametrize(
    ("age_at_enrolment", "enrolment", "onset", "age"),
    [
        (12, date(2024, 3, 10), date(2024, 3, 10), 12),
        (12, date(2024, 3, 10), date(2025, 3, 9), 12),
        (12, date(2024, 3, 10), date(2025, 3, 10), 13),
        (12, date(2024, 3, 10), date(2025, 3, 11), 13),
        (12, date(2024, 12, 31), date(2025, 1, 1), 12),
        (10, date(2023, 6, 1), date(2026, 5, 31), 12),
        (10, date(2023, 6, 1), date(2026, 6, 1), 13),
        (12, date(2024, 2, 29), date(2025, 2, 28), 12),
        (12, date(2024, 2, 29), date(2025, 3, 1), 13),
        (12, date(2024, 2, 29), date(2028, 2, 28), 15),
        (12, date(2024, 2, 29), date(2028, 2, 29), 16),
        (12, date(2023, 2, 28), date(2024, 2, 28), 13),
        (12, date(2023, 3, 1), date(2024, 2, 29), 12),
    ],
    ids=[
        "same-day",
        "day-before-anniversary",
        "on-anniversary",
        "day-after-anniversary",
        "new-year-is-not-a-year",
        "three-years-less-a-day",
        "three-years",
        "leap-enrolment-28-feb-short",
        "leap-enrolment-1-mar-whole",
        "leap-enrolment-four-years-less-a-day",
        "leap-enrolment-four-years-on-29-feb",
        "28-feb-to-28-feb-of-leap-year",
        "1-mar-to-29-feb-short",
    ],
)
def test_age_at_onset_adds_whole_calendar_years_since_enrolment(
    age_at_enrolment, enrolment, onset, age
) -> None:
    assert age_at_onset(age_at_enrolment, enrolment, onset) == age


def test_crossing_the_enrolment_anniversary_switches_capd_to_ice() -> None:
    enrolment = date(2024, 3, 10)
    assert tool_for_age(age_at_onset(12, enrolment, date(2025, 3, 9))) == CAPD
    assert tool_for_age(age_at_onset(12, enrolment, date(2025, 3, 10))) == ICE


def test_onset_before_enrolment_is_refused() -> None:
    with pytest.raises(ValueError, match="before the enrolment date"):
        age_at_onset(12, date(2024, 3, 10), date(2024, 3, 9))


@pytest.mark.parametrize("age", [-1, True, 12.5], ids=["negative", "bool", "fraction"])
def test_age_that_is_not_whole_years_is_refused(age) -> None:
    with pytest.raises(ValueError, match="age at onset"):
        tool_for_age(age)


# --------------------------------------------------------------------------------------------
# Encephalopathy: ICE and CAPD
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (10, 0),
        (9, 1),
        (8, 1),
        (7, 1),
        (6, 2),
        (3, 2),
        (2, 3),
        (0, 3),
        (UNABLE_TO_PERFORM, 4),
    ],
    ids=lambda value: str(value),
)
def test_ice_score_grades(score, grade) -> None:
    drivers = (IcansDomain.ENCEPHALOPATHY,) if grade else ()
    assert _graded(_entries(age=ADOLESCENT, tool=ICE, score=score)) == (grade, drivers)


@pytest.mark.parametrize(
    ("score", "grade"),
    [(0, 0), (1, 1), (8, 1), (9, 3), (32, 3), (UNABLE_TO_PERFORM, 4)],
    ids=lambda value: str(value),
)
def test_capd_score_grades_with_no_grade_2(score, grade) -> None:
    drivers = (IcansDomain.ENCEPHALOPATHY,) if grade else ()
    assert _graded(_entries(age=CHILD, tool=CAPD, score=score)) == (grade, drivers)


@pytest.mark.parametrize(
    ("age", "tool", "score", "grade"),
    [(12, CAPD, 9, 3), (13, ICE, 9, 1)],
    ids=["12-capd", "13-ice"],
)
def test_the_age_12_switch(age, tool, score, grade) -> None:
    assert encephalopathy_grade(age, tool, score) == grade


@pytest.mark.parametrize(
    ("age", "tool", "expected"),
    [
        (12, ICE, "Enter the CAPD score"),
        (CHILD, ICE, "Enter the CAPD score"),
        (13, CAPD, "Enter the ICE score"),
        (ADOLESCENT, CAPD, "Enter the ICE score"),
    ],
    ids=["ice-at-12", "ice-at-9", "capd-at-13", "capd-at-15"],
)
def test_the_wrong_tool_for_the_age_is_refused(age, tool, expected) -> None:
    with pytest.raises(ValueError, match=expected):
        grade_icans(_entries(age=age, tool=tool, score=5))


def test_the_wrong_tool_is_refused_even_when_unable_to_perform() -> None:
    with pytest.raises(ValueError, match="CAPD"):
        grade_icans(_entries(age=CHILD, tool=ICE, score=UNABLE_TO_PERFORM))


@pytest.mark.parametrize(
    ("age", "tool", "score", "message"),
    [
        (ADOLESCENT, ICE, 11, "outside 0-10"),
        (ADOLESCENT, ICE, -1, "outside 0-10"),
        (CHILD, CAPD, 33, "outside 0-32"),
        (CHILD, CAPD, -1, "outside 0-32"),
        (ADOLESCENT, ICE, 7.5, "whole number 0-10"),
        (CHILD, CAPD, True, "whole number 0-32"),
        (CHILD, CAPD, "unable", "whole number 0-32"),
    ],
    ids=["ice-11", "ice-minus-1", "capd-33", "capd-minus-1", "ice-7.5", "capd-bool", "text"],
)
def test_out_of_range_score_is_refused(age, tool, score, message) -> None:
    with pytest.raises(ValueError, match=message):
        grade_icans(_entries(age=age, tool=tool, score=score))


# --------------------------------------------------------------------------------------------
# Each neurological domain driving the grade
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consciousness", "grade"),
    [
        (Consciousness.ALERT, 0),
        (Consciousness.AWAKENS_SPONTANEOUSLY, 1),
        (Consciousness.AWAKENS_TO_VOICE, 2),
        (Consciousness.AWAKENS_TO_TOUCH, 3),
        (Consciousness.UNAROUSABLE, 4),
    ],
    ids=lambda value: str(value),
)
def test_consciousness_grades(consciousness, grade) -> None:
    drivers = (IcansDomain.CONSCIOUSNESS,) if grade else ()
    assert _graded(_entries(consciousness=consciousness)) == (grade, drivers)


@pytest.mark.parametrize(
    ("seizure", "grade"),
    [(Seizure.NONE, 0), (Seizure.RESOLVED, 3), (Seizure.LIFE_THREATENING, 4)],
    ids=lambda value: str(value),
)
def test_seizure_grades(seizure, grade) -> None:
    drivers = (IcansDomain.SEIZURE,) if grade else ()
    assert _graded(_entries(age=CHILD, seizure=seizure)) == (grade, drivers)


def test_deep_focal_weakness_is_grade_4() -> None:
    assert _graded(_entries(motor=Motor.DEEP_FOCAL_WEAKNESS)) == (4, (IcansDomain.MOTOR,))


@pytest.mark.parametrize(
    ("icp", "grade"),
    [
        (RaisedIntracranialPressure.NONE, 0),
        (RaisedIntracranialPressure.FOCAL_OEDEMA, 3),
        (RaisedIntracranialPressure.DIFFUSE_OEDEMA, 4),
    ],
    ids=lambda value: str(value),
)
def test_raised_intracranial_pressure_grades(icp, grade) -> None:
    drivers = (IcansDomain.RAISED_INTRACRANIAL_PRESSURE,) if grade else ()
    assert _graded(_entries(icp=icp)) == (grade, drivers)


@pytest.mark.parametrize(
    ("entries", "grade", "drivers"),
    [
        (
            _entries(score=8, consciousness=Consciousness.AWAKENS_TO_VOICE),
            2,
            (IcansDomain.CONSCIOUSNESS,),
        ),
        (
            _entries(score=5, consciousness=Consciousness.AWAKENS_SPONTANEOUSLY),
            2,
            (IcansDomain.ENCEPHALOPATHY,),
        ),
        (
            _entries(score=2, seizure=Seizure.RESOLVED),
            3,
            (IcansDomain.ENCEPHALOPATHY, IcansDomain.SEIZURE),
        ),
        (
            _entries(age=CHILD, score=4, icp=RaisedIntracranialPressure.FOCAL_OEDEMA),
            3,
            (IcansDomain.RAISED_INTRACRANIAL_PRESSURE,),
        ),
        (
            _entries(age=CHILD, score=12, motor=Motor.DEEP_FOCAL_WEAKNESS),
            4,
            (IcansDomain.MOTOR,),
        ),
        (
            _entries(
                score=UNABLE_TO_PERFORM,
                consciousness=Consciousness.UNAROUSABLE,
                seizure=Seizure.RESOLVED,
            ),
            4,
            (IcansDomain.ENCEPHALOPATHY, IcansDomain.CONSCIOUSNESS),
        ),
    ],
    ids=[
        "voice-2-over-ice-8",
        "ice-5-over-drowsy",
        "ice-2-ties-seizure-3",
        "capd-4-under-focal-oedema",
        "capd-12-under-weakness",
        "unable-ties-unarousable",
    ],
)
def test_the_worst_domain_is_the_grade(entries, grade, drivers) -> None:
    assert _graded(entries) == (grade, drivers)


# --------------------------------------------------------------------------------------------
# Death of ICANS (entered)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        _entries(died=True),
        _entries(
            age=CHILD,
            score=UNABLE_TO_PERFORM,
            icp=RaisedIntracranialPressure.DIFFUSE_OEDEMA,
            died=True,
        ),
    ],
    ids=["normal-assessment", "after-grade-4"],
)
def test_death_of_icans_is_grade_5(entries) -> None:
    assert _graded(entries) == (5, (IcansDomain.DEATH,))


def test_death_does_not_excuse_the_wrong_tool() -> None:
    with pytest.raises(ValueError, match="ICE"):
        grade_icans(_entries(age=ADOLESCENT, tool=CAPD, score=3, died=True))
