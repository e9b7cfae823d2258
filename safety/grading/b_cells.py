"""B-cell aplasia and B-cell reconstitution after the CAR-T infusion (clinical-rules.md section 6).

CD19+ B cells are counted per microlitre at visits. With the study's aplasia threshold T (a study
setting, default 1 cell/µL):

- a visit is *after the infusion* when its study day (visit date - infusion date) is 1 or more;
  the infusion day (day 0) and the visits before it are the baseline and decide nothing;
- *B-cell aplasia* at a visit after the infusion: its count is below T, strictly (with T = 1,
  0.99 cells/µL is aplasia and 1.00 is not);
- *first aplasia*: the study day of the first visit after the infusion in aplasia;
- *B-cell reconstitution*: the study day of the first visit after the first aplasia whose count
  is at or above T; the time to reconstitution is that study day (days from the infusion). The
  protocol's "first visit at or above the threshold after infusion" is read after aplasia: a
  count at or above T before any aplasia (the B cells not depleted yet) is no reconstitution,
  and a participant never in aplasia has none to recover from ("no aplasia recorded"). A count
  below T again after reconstitution shows as aplasia at its visit; the reconstitution day stays
  the first one;
- a visit without a count (not done) is skipped: it is neither aplasia nor reconstitution.

Counts and the threshold are Decimal, never float; visits are taken in study-day order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter, itemgetter

#: B-cell aplasia: a CD19+ count below 1 cell/µL, unless the study sets another threshold
#: (clinical-rules.md section 6).
DEFAULT_APLASIA_THRESHOLD_PER_UL = Decimal("1")
#: The first study day after the infusion (day 0, the infusion day, is baseline).
FIRST_DAY_AFTER_INFUSION = 1


class BCellStatus(StrEnum):
    """Where a participant's B cells stand after the infusion, from their counts."""

    #: No CD19+ count after the infusion yet.
    NO_COUNT = "no_count"
    #: Counts after the infusion, none below the threshold.
    NO_APLASIA = "no_aplasia"
    #: In aplasia since the first aplasia, not reconstituted yet.
    APLASIA = "aplasia"
    #: A count at or above the threshold after the first aplasia.
    RECONSTITUTED = "reconstituted"


@dataclass(frozen=True)
class BCellCount:
    """One visit's CD19+ B-cell count (cells/µL; None: not done) on its study day."""

    study_day: int
    cd19_per_ul: Decimal | None

    def __post_init__(self) -> None:
        """Reject a study day that is not a whole number and a count that is not a Decimal of
        0 or more."""
        _check_study_day(self.study_day)
        if self.cd19_per_ul is not None:
            _check_count(self.cd19_per_ul)


@dataclass(frozen=True)
class VisitAplasia:
    """One count as the course reads it: ``aplasia`` is True below the threshold after the
    infusion, False at or above it, None without a count or before the infusion (day 0 or
    earlier)."""

    study_day: int
    cd19_per_ul: Decimal | None
    aplasia: bool | None


@dataclass(frozen=True)
class BCellCourse:
    """A participant's B cells over the visits: each count read against the threshold, the
    first aplasia and the reconstitution (study days, None when there is none)."""

    threshold_per_ul: Decimal
    visits: tuple[VisitAplasia, ...]
    first_aplasia_day: int | None
    reconstitution_day: int | None

    @property
    def status(self) -> BCellStatus:
        counted = any(visit.aplasia is not None for visit in self.visits)
        return _status(self.first_aplasia_day, self.reconstitution_day, counted=counted)

    @property
    def aplasia_recorded(self) -> bool:
        """Say whether any visit after the infusion was in aplasia."""
        return self.first_aplasia_day is not None

    @property
    def latest(self) -> VisitAplasia | None:
        """Return the latest visit with a count (before the infusion too), or None."""
        counted = [visit for visit in self.visits if visit.cd19_per_ul is not None]
        return counted[-1] if counted else None


def _check_study_day(study_day: int) -> None:
    if isinstance(study_day, bool) or not isinstance(study_day, int):
        raise TypeError(f"A study day is a whole number, not {study_day!r}")


def _check_count(cd19_per_ul: Decimal) -> None:
    _check_decimal("A CD19+ count", cd19_per_ul)


def _check_decimal(what: str, value: Decimal) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__} {value!r}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite number, 0 or more, not {value}")


def aplasia_at(cd19_per_ul: Decimal, threshold_per_ul: Decimal) -> bool:
    """Say whether a count is B-cell aplasia: below the threshold, strictly."""
    return cd19_per_ul < threshold_per_ul


def b_cell_course(counts: Iterable[BCellCount], threshold_per_ul: Decimal) -> BCellCourse:
    """Read a participant's CD19+ counts (any order; before the infusion too) against the
    aplasia threshold (cells/µL, more than 0), as the module docstring defines it."""
    _check_threshold(threshold_per_ul)
    visits = tuple(
        VisitAplasia(
            count.study_day,
            count.cd19_per_ul,
            _aplasia_after_infusion(count.study_day, count.cd19_per_ul, threshold_per_ul),
        )
        for count in sorted(counts, key=attrgetter("study_day"))
    )
    first_aplasia_day, reconstitution_day, _counted = _landmarks(
        (visit.study_day, visit.aplasia) for visit in visits
    )
    return BCellCourse(
        threshold_per_ul=threshold_per_ul,
        visits=visits,
        first_aplasia_day=first_aplasia_day,
        reconstitution_day=reconstitution_day,
    )


def b_cell_status(counts: Iterable[tuple[int, Decimal]], threshold_per_ul: Decimal) -> BCellStatus:
    """Return the status of :func:`b_cell_course` from (study day, count) pairs (any order;
    counts not done left out), without the course's visits: for reports that need only the
    status of many participants. Each day and count is checked as BCellCount checks them."""
    _check_threshold(threshold_per_ul)
    ordered = sorted(counts, key=itemgetter(0))
    for day, count in ordered:
        _check_study_day(day)
        _check_count(count)
    # Every pair has a count: only the visits after the infusion are read.
    first_aplasia_day, reconstitution_day, counted = _landmarks(
        (day, aplasia_at(count, threshold_per_ul))
        for day, count in ordered
        if day >= FIRST_DAY_AFTER_INFUSION
    )
    return _status(first_aplasia_day, reconstitution_day, counted=counted)


def _check_threshold(threshold_per_ul: Decimal) -> None:
    _check_decimal("The aplasia threshold", threshold_per_ul)
    if threshold_per_ul == 0:
        raise ValueError("The aplasia threshold must be more than 0")


def _aplasia_after_infusion(
    study_day: int, cd19_per_ul: Decimal | None, threshold_per_ul: Decimal
) -> bool | None:
    """Read one count: None without a count or before the infusion, else aplasia or not."""
    if cd19_per_ul is None or study_day < FIRST_DAY_AFTER_INFUSION:
        return None
    return aplasia_at(cd19_per_ul, threshold_per_ul)


def _landmarks(
    read: Iterable[tuple[int, bool | None]],
) -> tuple[int | None, int | None, bool]:
    """Return the first aplasia day, the reconstitution day and whether any count after the
    infusion was read, from each visit's (study day, aplasia) in study-day order (aplasia None:
    no count, or before the infusion)."""
    first_aplasia_day: int | None = None
    reconstitution_day: int | None = None
    counted = False
    for day, aplasia in read:
        if aplasia is None:
            continue
        counted = True
        if aplasia and first_aplasia_day is None:
            first_aplasia_day = day
        elif not aplasia and first_aplasia_day is not None and reconstitution_day is None:
            reconstitution_day = day
    return first_aplasia_day, reconstitution_day, counted


def _status(
    first_aplasia_day: int | None, reconstitution_day: int | None, *, counted: bool
) -> BCellStatus:
    if reconstitution_day is not None:
        return BCellStatus.RECONSTITUTED
    if first_aplasia_day is not None:
        return BCellStatus.APLASIA
    if counted:
        return BCellStatus.NO_APLASIA
    return BCellStatus.NO_COUNT
