"""Immune effector cell-associated neurotoxicity syndrome, ASTCT 2019 consensus grade
(clinical-rules.md section 6; Lee 2019).

The encephalopathy tool follows the age at onset: ICE (0-10) for participants over 12 years,
CAPD (Cornell Assessment of Pediatric Delirium, 0-32) for children aged 12 or under. The grade is
the worst domain, and the result names the domain or domains that drove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum

#: Participants older than this (in whole years at onset) are assessed with ICE, the others
#: with CAPD (spec section 6).
ICE_MIN_AGE_EXCLUSIVE = 12
ICE_MAX_SCORE = 10
CAPD_MAX_SCORE = 32
#: The grade when the participant died of ICANS (entered, never derived).
ICANS_DEATH_GRADE = 5


class EncephalopathyTool(StrEnum):
    """Name the encephalopathy assessment tool."""

    ICE = "ice"
    CAPD = "capd"


class UnableToPerform(Enum):
    """Mark an encephalopathy assessment that could not be performed (grade 4 for either tool)."""

    UNABLE_TO_PERFORM = "unable_to_perform"


#: The one value of :class:`UnableToPerform`, to pass as the encephalopathy score.
UNABLE_TO_PERFORM = UnableToPerform.UNABLE_TO_PERFORM


class Consciousness(StrEnum):
    """Name the level of consciousness."""

    ALERT = "alert"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TOUCH = "awakens_to_touch"
    #: Unarousable, or needing vigorous or repeated touch; stupor or coma.
    UNAROUSABLE = "unarousable"


class Seizure(StrEnum):
    """Name the seizure level."""

    NONE = "none"
    #: Resolved rapidly, or non-convulsive on EEG and resolved with intervention.
    RESOLVED = "resolved"
    #: Life-threatening (> 5 min) or repetitive without return to baseline.
    LIFE_THREATENING = "life_threatening"


class Motor(StrEnum):
    """Name the motor finding."""

    NONE = "none"
    #: Hemiparesis or paraparesis.
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"


class RaisedIntracranialPressure(StrEnum):
    """Name the raised intracranial pressure finding."""

    NONE = "none"
    #: Focal or local oedema on neuroimaging.
    FOCAL_OEDEMA = "focal_oedema"
    #: Diffuse oedema, decerebrate or decorticate posturing, cranial nerve VI palsy,
    #: papilloedema or Cushing's triad.
    DIFFUSE_OEDEMA = "diffuse_oedema"


class IcansDomain(StrEnum):
    """Name a domain that can drive the ICANS grade."""

    ENCEPHALOPATHY = "encephalopathy"
    CONSCIOUSNESS = "consciousness"
    SEIZURE = "seizure"
    MOTOR = "motor"
    RAISED_INTRACRANIAL_PRESSURE = "raised_intracranial_pressure"
    DEATH = "death"


CONSCIOUSNESS_GRADE: dict[Consciousness, int] = {
    Consciousness.ALERT: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TOUCH: 3,
    Consciousness.UNAROUSABLE: 4,
}
SEIZURE_GRADE: dict[Seizure, int] = {
    Seizure.NONE: 0,
    Seizure.RESOLVED: 3,
    Seizure.LIFE_THREATENING: 4,
}
MOTOR_GRADE: dict[Motor, int] = {Motor.NONE: 0, Motor.DEEP_FOCAL_WEAKNESS: 4}
RAISED_INTRACRANIAL_PRESSURE_GRADE: dict[RaisedIntracranialPressure, int] = {
    RaisedIntracranialPressure.NONE: 0,
    RaisedIntracranialPressure.FOCAL_OEDEMA: 3,
    RaisedIntracranialPressure.DIFFUSE_OEDEMA: 4,
}
#: The grade of an encephalopathy assessment that could not be performed, for either tool.
UNABLE_TO_PERFORM_GRADE = 4


@dataclass(frozen=True)
class IcansEntries:
    """Hold the entries of one ICANS episode that its grade depends on.

    ``encephalopathy_score`` is the ICE or CAPD score, or :data:`UNABLE_TO_PERFORM`;
    ``age_at_onset`` is in whole years (see :func:`age_at_onset`).
    """

    age_at_onset: int
    encephalopathy_tool: EncephalopathyTool
    encephalopathy_score: int | UnableToPerform
    consciousness: Consciousness
    seizure: Seizure
    motor: Motor
    raised_intracranial_pressure: RaisedIntracranialPressure
    died_of_icans: bool


@dataclass(frozen=True)
class IcansGrade:
    """Hold the ICANS grade (0..5) and the domains that drove it (empty for grade 0)."""

    grade: int
    drivers: tuple[IcansDomain, ...]


def _check_whole_years(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is a whole number of years, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"The {name} must be a whole number of years, not {value!r}")
    if value < 0:
        raise ValueError(f"The {name} cannot be negative ({value})")


def age_at_onset(age_at_enrolment: int, enrolment_date: date, onset_date: date) -> int:
    """Return the age at onset: the age at enrolment plus the whole years since enrolment.

    Whole years are counted by the calendar: a year is complete on the enrolment anniversary.
    An enrolment on 29 February has its anniversary on 1 March in common years (28 February is
    still short of a whole year). Raise ValueError for an onset before enrolment.
    """
    _check_whole_years("age at enrolment", age_at_enrolment)
    if onset_date < enrolment_date:
        raise ValueError(
            f"The onset date {onset_date.isoformat()} is before the enrolment date "
            f"{enrolment_date.isoformat()}"
        )
    years = onset_date.year - enrolment_date.year
    if (onset_date.month, onset_date.day) < (enrolment_date.month, enrolment_date.day):
        years -= 1
    return age_at_enrolment + years


def tool_for_age(age: int) -> EncephalopathyTool:
    """Return the encephalopathy tool for an age at onset: ICE over 12 years, CAPD otherwise."""
    _check_whole_years("age at onset", age)
    if age > ICE_MIN_AGE_EXCLUSIVE:
        return EncephalopathyTool.ICE
    return EncephalopathyTool.CAPD


def _ice_grade(score: int) -> int:
    """Return the grade of an ICE score 0..10 (10 is normal)."""
    if score == ICE_MAX_SCORE:
        return 0
    if score >= 7:
        return 1
    if score >= 3:
        return 2
    return 3


def _capd_grade(score: int) -> int:
    """Return the grade of a CAPD score 0..32 (0 is normal; ASTCT has no CAPD grade 2)."""
    if score == 0:
        return 0
    if score <= 8:
        return 1
    return 3


def encephalopathy_grade(
    age_at_onset: int, tool: EncephalopathyTool, score: int | UnableToPerform
) -> int:
    """Return the grade of an encephalopathy assessment with the tool the age at onset asks for.

    Raise ValueError, with a message the form can show, when the tool does not fit the age
    (ICE for a child aged 12 or under, CAPD for an older participant) or the score is out of
    the tool's range.
    """
    tool = EncephalopathyTool(tool)
    expected = tool_for_age(age_at_onset)
    if tool != expected:
        raise ValueError(
            f"{tool.name} is not used at age {age_at_onset}: participants over "
            f"{ICE_MIN_AGE_EXCLUSIVE} are assessed with ICE and children aged "
            f"{ICE_MIN_AGE_EXCLUSIVE} or under with CAPD. Enter the {expected.name} score instead."
        )
    if score is UNABLE_TO_PERFORM:
        return UNABLE_TO_PERFORM_GRADE
    maximum = ICE_MAX_SCORE if tool == EncephalopathyTool.ICE else CAPD_MAX_SCORE
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"The {tool.name} score must be a whole number 0-{maximum}, not {score!r}")
    if not 0 <= score <= maximum:
        raise ValueError(f"The {tool.name} score {score} is outside 0-{maximum}")
    return _ice_grade(score) if tool == EncephalopathyTool.ICE else _capd_grade(score)


def grade_icans(entries: IcansEntries) -> IcansGrade:
    """Return the ASTCT 2019 grade of one ICANS episode and the domains that drove it.

    The encephalopathy assessment is checked first (wrong tool or out-of-range score raises
    ValueError) even when the participant died of ICANS, so that a wrong entry is never stored.
    Death of ICANS is entered, not derived, and gives grade 5. Otherwise the grade is the worst
    domain, and every domain at that grade is named.
    """
    by_domain = {
        IcansDomain.ENCEPHALOPATHY: encephalopathy_grade(
            entries.age_at_onset, entries.encephalopathy_tool, entries.encephalopathy_score
        ),
        IcansDomain.CONSCIOUSNESS: CONSCIOUSNESS_GRADE[Consciousness(entries.consciousness)],
        IcansDomain.SEIZURE: SEIZURE_GRADE[Seizure(entries.seizure)],
        IcansDomain.MOTOR: MOTOR_GRADE[Motor(entries.motor)],
        IcansDomain.RAISED_INTRACRANIAL_PRESSURE: RAISED_INTRACRANIAL_PRESSURE_GRADE[
            RaisedIntracranialPressure(entries.raised_intracranial_pressure)
        ],
    }
    if entries.died_of_icans:
        return IcansGrade(grade=ICANS_DEATH_GRADE, drivers=(IcansDomain.DEATH,))
    grade = max(by_domain.values())
    if grade == 0:
        return IcansGrade(grade=0, drivers=())
    drivers = tuple(domain for domain, domain_grade in by_domain.items() if domain_grade == grade)
    return IcansGrade(grade=grade, drivers=drivers)
