"""BILAG-2004 (clinical-rules.md section 3; Isenberg 2005, Yee 2010): the nine systems, their
grades, the numeric score and the rule that a system once involved is never E again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from responses.scoring.common import gettext_noop

#: The nine systems in spec order (Isenberg 2005).
BILAG_SYSTEMS: tuple[str, ...] = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
BILAG_SYSTEM_LABELS: dict[str, str] = {
    "constitutional": gettext_noop("Constitutional"),
    "mucocutaneous": gettext_noop("Mucocutaneous"),
    "neuropsychiatric": gettext_noop("Neuropsychiatric"),
    "musculoskeletal": gettext_noop("Musculoskeletal"),
    "cardiorespiratory": gettext_noop("Cardiorespiratory"),
    "gastrointestinal": gettext_noop("Gastrointestinal"),
    "ophthalmic": gettext_noop("Ophthalmic"),
    "renal": gettext_noop("Renal"),
    "haematological": gettext_noop("Haematological"),
}
BILAG_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
BILAG_GRADE_LABELS: dict[str, str] = {
    "A": gettext_noop("A: severe activity needing high-dose steroid or immunosuppression"),
    "B": gettext_noop("B: moderate activity"),
    "C": gettext_noop("C: mild stable activity"),
    "D": gettext_noop("D: previously involved, inactive now"),
    "E": gettext_noop("E: never involved"),
}
#: Numeric BILAG-2004 score per grade (Yee 2010); total range 0..108.
BILAG_NUMERIC: dict[str, int] = {"A": 12, "B": 8, "C": 1, "D": 0, "E": 0}
#: Grades that mean the system has been involved; E may not follow any of them (spec section 3).
#: The highest numeric score: every system graded A (9 x 12).
BILAG_NUMERIC_MAX = len(BILAG_SYSTEMS) * BILAG_NUMERIC["A"]

BILAG_INVOLVED_GRADES: frozenset[str] = frozenset({"A", "B", "C", "D"})


def check_grade(system: str, grade: str | None) -> None:
    """Raise ValueError if ``grade`` is neither None nor one of A..E."""
    if grade is not None and grade not in BILAG_GRADES:
        raise ValueError(f"BILAG-2004 grade for {system} must be one of A-E, not {grade!r}")


def bilag_complete(grades: Mapping[str, str | None]) -> bool:
    """Return True if all nine systems are graded."""
    return all(grades.get(system) is not None for system in BILAG_SYSTEMS)


def bilag_numeric_score(grades: Mapping[str, str | None]) -> int | None:
    """Return the numeric BILAG-2004 score (0..108), or None if any system is not graded."""
    total = 0
    for system in BILAG_SYSTEMS:
        grade = grades.get(system)
        check_grade(system, grade)
        if grade is None:
            return None
        total += BILAG_NUMERIC[grade]
    return total


def bilag_e_after_involvement(
    history: Sequence[Mapping[str, str | None]],
) -> list[tuple[int, str]]:
    """Return (visit index, system) for every E graded after that system was A..D earlier.

    ``history`` holds one participant's grade maps in visit-date order. Ungraded systems are
    skipped. The result is ordered by visit index, then by system in spec order.
    """
    involved: set[str] = set()
    impossible: list[tuple[int, str]] = []
    for index, grades in enumerate(history):
        for system in BILAG_SYSTEMS:
            grade = grades.get(system)
            check_grade(system, grade)
            if grade == "E" and system in involved:
                impossible.append((index, system))
        # Update after the whole visit so a visit is only compared with earlier ones.
        involved.update(
            system for system in BILAG_SYSTEMS if grades.get(system) in BILAG_INVOLVED_GRADES
        )
    return impossible
