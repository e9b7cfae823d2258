"""Baseline characteristics by dose level: age, sex, SLEDAI-2K, PGA and BILAG-2004."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from statistics import median

from django.db.models import (
    QuerySet,
)

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.statistics import rounded
from responses.selectors.common import (
    enrolled_as_of,
)
from trialsite.models import (
    EntryStatus,
    Participant,
    Study,
    Visit,
)

PERCENT_QUANTUM = Decimal("0.1")


def percent_of(count: int, total: int) -> Decimal | None:
    """Return count / total as a percent with one decimal, rounded once, halves up (None when
    total is 0: a percent of nobody is not a number)."""
    if total == 0:
        return None
    return rounded(Decimal(count) * 100 / Decimal(total), PERCENT_QUANTUM)


@dataclass(frozen=True)
class Count:
    """A categorical row's cell: how many of the column's ``n`` participants, and the percent."""

    count: int
    percent: Decimal | None


@dataclass(frozen=True)
class Spread:
    """Median and range of the values known (``n`` of them); None when none is known."""

    n: int
    median: Decimal | None
    low: Decimal | None
    high: Decimal | None


def spread(values: list[Decimal]) -> Spread:
    """Return the median (exact, on Decimals) and the range of some values."""
    if not values:
        return Spread(0, None, None, None)
    return Spread(len(values), median(values), min(values), max(values))


@dataclass(frozen=True)
class BaselineGroup:
    """Baseline characteristics of one dose level (``dose`` None: no dose recorded) or all."""

    is_overall: bool
    dose_cells_per_kg: int | None
    n: int
    age: Spread
    female: int
    male: int
    dose_counts: tuple[tuple[int | None, int], ...]
    sledai: Spread
    pga: Spread
    bilag_a_systems: int
    bilag_b_systems: int
    baseline_missing: int

    @property
    def female_count(self) -> Count:
        return Count(self.female, percent_of(self.female, self.n))

    @property
    def male_count(self) -> Count:
        return Count(self.male, percent_of(self.male, self.n))

    @property
    def dose_level_counts(self) -> tuple[tuple[int | None, Count], ...]:
        """Each dose level's participants in the column, with their percent of it."""
        return tuple(
            (dose, Count(count, percent_of(count, self.n))) for dose, count in self.dose_counts
        )


@dataclass(frozen=True)
class BaselineTable:
    doses: tuple[int | None, ...]
    groups: tuple[BaselineGroup, ...]


@dataclass(frozen=True)
class _BaselinePerson:
    age: int
    sex: str
    dose: int | None
    sledai: int | None
    pga: Decimal | None
    grades: tuple[str, ...]
    has_baseline: bool


def baseline_characteristics(
    *, study: Study, as_of: date, participants: QuerySet[Participant]
) -> BaselineTable:
    """Describe the participants at baseline, by dose level and overall. Two queries.

    Categorical rows (sex, dose level) count participants, with their percent of the column's
    ``n`` (one decimal).

    The participants enrolled on or before the data cut ``as_of`` count, with their baseline
    visit dated on or before it; only a baseline whose entry is complete counts (as for the
    endpoints). Medians and ranges
    count the participants with a stored value (SLEDAI-2K total complete, PGA given); BILAG A
    and B are the numbers of systems graded A (or B) at baseline, summed over the group's
    participants.
    """
    enrolled = enrolled_as_of(study=study, participants=participants, as_of=as_of)
    people = enrolled.values_list("pk", "age_at_enrollment", "sex", "dose_cells_per_kg")
    baseline: dict[int, tuple] = {}
    if study.baseline_visit is not None:
        fields = ["score__sledai_total", "pga__score", *(f"bilag__{s}" for s in BILAG_SYSTEMS)]
        for participant_pk, *values in Visit.objects.filter(
            participant__in=enrolled,
            visit_definition=study.baseline_visit,
            entry_status=EntryStatus.COMPLETE,
            visit_date__lte=as_of,
        ).values_list("participant_id", *fields):
            baseline[participant_pk] = tuple(values)
    persons = []
    for pk, age, sex, dose in people:
        sledai, pga, *grades = baseline.get(pk, (None, None, *[None] * len(BILAG_SYSTEMS)))
        persons.append(
            _BaselinePerson(
                age, sex, dose, sledai, pga, tuple(g or "" for g in grades), pk in baseline
            )
        )
    doses = tuple(sorted({p.dose for p in persons}, key=lambda d: (d is None, d or 0)))
    groups = [_baseline_group([p for p in persons if p.dose == d], doses, d) for d in doses]
    groups.append(_baseline_group(persons, doses, None, is_overall=True))
    return BaselineTable(doses=doses, groups=tuple(groups))


def _baseline_group(
    persons: list[_BaselinePerson],
    doses: tuple[int | None, ...],
    dose: int | None,
    *,
    is_overall: bool = False,
) -> BaselineGroup:
    return BaselineGroup(
        is_overall=is_overall,
        dose_cells_per_kg=dose,
        n=len(persons),
        age=spread([Decimal(p.age) for p in persons]),
        female=sum(1 for p in persons if p.sex == Participant.Sex.FEMALE),
        male=sum(1 for p in persons if p.sex == Participant.Sex.MALE),
        dose_counts=tuple((d, sum(1 for p in persons if p.dose == d)) for d in doses),
        sledai=spread([Decimal(p.sledai) for p in persons if p.sledai is not None]),
        pga=spread([p.pga for p in persons if p.pga is not None]),
        bilag_a_systems=sum(p.grades.count("A") for p in persons),
        bilag_b_systems=sum(p.grades.count("B") for p in persons),
        baseline_missing=sum(1 for p in persons if not p.has_baseline),
    )
