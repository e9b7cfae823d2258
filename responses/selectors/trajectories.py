"""The data behind the plots: SLEDAI-2K and PGA over study days, and BILAG-2004 grades at
baseline and at a chosen visit."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    QuerySet,
)

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.statistics import exact_median
from responses.selectors.common import (
    enrolled_as_of,
    visits_as_of,
)
from trialsite.day_numbers import visit_study_day
from trialsite.models import (
    NOT_DONE,
    EntryStatus,
    Participant,
    Study,
    Visit,
    VisitDefinition,
)

#: A stored value: a SLEDAI-2K total (a whole number) or a PGA (a decimal).
Score = int | Decimal


@dataclass(frozen=True)
class Trajectory:
    """One participant's stored values over study day, in date order."""

    participant_id: str
    points: tuple[tuple[int, Score], ...]


@dataclass(frozen=True)
class VisitMedian:
    visit: str
    target_day: int
    median: Decimal
    n: int


@dataclass(frozen=True)
class TrajectorySet:
    trajectories: tuple[Trajectory, ...]
    medians: tuple[VisitMedian, ...]


@dataclass(frozen=True)
class ScoreTrajectories:
    sledai: TrajectorySet
    pga: TrajectorySet


def score_trajectories(
    *, study: Study, as_of: date, participants: QuerySet[Participant]
) -> ScoreTrajectories:
    """Return SLEDAI-2K and PGA over study day per participant infused on or before the data cut
    ``as_of``, with the median at each scheduled visit (placed at its target study day); visits
    dated after the cut or still in progress are left out. Two queries: the schedule, then the
    visits."""
    infused = enrolled_as_of(study=study, participants=participants, as_of=as_of).filter(
        infusion_date__lte=as_of
    )
    #: A scheduled visit's place on the median line (repeatable visits have none).
    median_keys: dict[int, tuple[int, str, int]] = {
        pk: (order, code, target)
        for pk, order, code, target in VisitDefinition.objects.filter(
            study=study, repeatable=False
        ).values_list("pk", "order", "code", "target_day")
        if target is not None
    }
    visits = (
        Visit.objects.filter(
            participant__in=infused,
            entry_status=EntryStatus.COMPLETE,
            visit_date__lte=as_of,
        )
        .annotate(day_of_study=visit_study_day())
        .order_by("participant__participant_id", "visit_date", "visit_definition__order")
        .values_list(
            "participant__participant_id",
            "day_of_study",
            "visit_definition_id",
            "score__sledai_total",
            "pga__score",
        )
    )
    # SLEDAI-2K totals stay whole numbers: quicker to read and to key a plot's cache with.
    sledai_points: defaultdict[str, list[tuple[int, Score]]] = defaultdict(list)
    pga_points: defaultdict[str, list[tuple[int, Score]]] = defaultdict(list)
    sledai_by_visit: defaultdict[tuple[int, str, int], list[Score]] = defaultdict(list)
    pga_by_visit: defaultdict[tuple[int, str, int], list[Score]] = defaultdict(list)
    for pid, day, definition_pk, sledai, pga in visits:
        assert day is not None  # the participants are the infused ones
        key = median_keys.get(definition_pk)
        if sledai is not None:
            sledai_points[pid].append((day, sledai))
            if key is not None:
                sledai_by_visit[key].append(sledai)
        if pga is not None:
            pga_points[pid].append((day, pga))
            if key is not None:
                pga_by_visit[key].append(pga)
    return ScoreTrajectories(
        sledai=_trajectory_set(sledai_points, sledai_by_visit),
        pga=_trajectory_set(pga_points, pga_by_visit),
    )


def _trajectory_set(
    points: dict[str, list[tuple[int, Score]]],
    by_visit: dict[tuple[int, str, int], list[Score]],
) -> TrajectorySet:
    return TrajectorySet(
        trajectories=tuple(Trajectory(pid, tuple(values)) for pid, values in points.items()),
        medians=tuple(
            VisitMedian(code, target, exact_median(values), len(values))
            for (_order, code, target), values in sorted(by_visit.items())
        ),
    )


@dataclass(frozen=True)
class BilagGrid:
    """BILAG-2004 grades at one visit: a row of nine grades per participant ("ND": not done;
    "": the visit not recorded or in progress)."""

    visit: str
    visit_name: str
    participant_ids: tuple[str, ...]
    grades: tuple[tuple[str, ...], ...]


def bilag_grids(
    *,
    study: Study,
    as_of: date,
    participants: QuerySet[Participant],
    visit_definition: VisitDefinition | None,
) -> tuple[BilagGrid, BilagGrid]:
    """Return the grades at baseline and at a chosen visit, for the same participants in the same
    order (those with either visit complete and dated on or before the data cut ``as_of``; a
    visit not recorded or still in progress is a row of ""). A complete entry has every answer
    given or marked not done, so its blank grades are ND. One query."""
    baseline = study.baseline_visit
    wanted = [d.pk for d in (baseline, visit_definition) if d is not None]
    rows = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(
            visit_definition__in=wanted,
            entry_status=EntryStatus.COMPLETE,
        )
        .order_by("participant__participant_id")
        .values_list(
            "participant__participant_id",
            "visit_definition_id",
            *(f"bilag__{system}" for system in BILAG_SYSTEMS),
        )
    )
    by_visit: dict[int, dict[str, tuple[str, ...]]] = {pk: {} for pk in wanted}
    order: dict[str, None] = {}
    for participant_id, definition_pk, *grades in rows:
        order[participant_id] = None
        by_visit[definition_pk][participant_id] = tuple(g or NOT_DONE for g in grades)
    empty = ("",) * len(BILAG_SYSTEMS)

    def grid(definition: VisitDefinition | None) -> BilagGrid:
        found = by_visit.get(definition.pk, {}) if definition is not None else {}
        return BilagGrid(
            visit=definition.code if definition is not None else "",
            visit_name=definition.name if definition is not None else "",
            participant_ids=tuple(order),
            grades=tuple(found.get(pid, empty) for pid in order),
        )

    return grid(baseline), grid(visit_definition)
