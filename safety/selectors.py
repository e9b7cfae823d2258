"""The safety report's reads: CRS and ICANS episodes and adverse events of the infused
participants as of a data cut; and Home's serious adverse events awaiting acknowledgement.

The safety set is every participant enrolled and infused on or before the data cut
(clinical-rules.md section 4a). An episode counts when its onset is on or before the cut; one
resolved after the cut is ongoing as of the cut. A participant's worst grade of a kind is the
highest stored ASTCT grade of their episodes of that kind (0 when none), so a participant with
episodes graded 1 and 3 counts once, at grade 3. Percents are of the infused participants, one
decimal, rounded once from the exact value, halves up (Decimal, never float).

Adverse events count the same way: those starting on or before the cut, at their recorded
(worst) grade; a participant counts once per term, at their worst grade of it.

Every function reads with a fixed number of queries whatever the number of participants.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, cast

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from responses.scoring.statistics import PERCENT_QUANTUM, exact_median, rounded
from safety.ctcae import CTCAE_SOC_OF_TERM, CTCAE_TERMS_BY_SOC
from safety.display import seriousness_criteria
from safety.grading.crs import CRS_DEATH_GRADE
from safety.models import AdverseEvent, AeGrade, CrsEpisode, IcansEpisode
from trialsite.models import Participant


class EpisodeKind(StrEnum):
    """Name a kind of episode as the exports write it."""

    CRS = "crs"
    ICANS = "icans"


#: The kinds in the order every table and file gives them.
KINDS: tuple[EpisodeKind, ...] = (EpisodeKind.CRS, EpisodeKind.ICANS)
KIND_LABELS = {EpisodeKind.CRS: _("CRS"), EpisodeKind.ICANS: _("ICANS")}
#: ASTCT grades, 0 (no CRS or ICANS) to 5 (death); both kinds share the scale.
GRADES: tuple[int, ...] = tuple(range(CRS_DEATH_GRADE + 1))


@dataclass(frozen=True)
class EpisodeRow:
    """One CRS or ICANS episode as of the data cut.

    ``resolution_date`` is None while the episode is ongoing on the cut (not resolved, or
    resolved after it); ``onset_day`` is onset - infusion; ``duration_days`` counts both the
    onset and the resolution day (None while ongoing).
    """

    participant_pk: int
    participant_id: str
    site: str
    kind: EpisodeKind
    onset_date: date
    onset_day: int
    resolution_date: date | None
    duration_days: int | None
    grade: int

    @property
    def ongoing(self) -> bool:
        return self.resolution_date is None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass(frozen=True)
class ParticipantSafety:
    """One infused participant: the worst grade of each kind (0 without an episode) and the
    episodes with onset on or before the cut, by kind (CRS first) then onset."""

    participant_pk: int
    participant_id: str
    site: str
    dose_cells_per_kg: int | None
    infusion_date: date
    worst_crs: int
    worst_icans: int
    episodes: tuple[EpisodeRow, ...]

    def worst(self, kind: EpisodeKind) -> int:
        return self.worst_crs if kind == EpisodeKind.CRS else self.worst_icans


@dataclass(frozen=True)
class GradeCount:
    """The infused participants whose worst episode of ``kind`` has ``max_grade`` (0: none)."""

    kind: EpisodeKind
    max_grade: int
    participants: int
    infused: int

    @property
    def percent(self) -> Decimal | None:
        """Return participants / infused as a percent with one decimal (None if none infused)."""
        return percent_of(self.participants, self.infused)


@dataclass(frozen=True)
class Spread:
    """Median and range of some whole numbers of days; None when there is none."""

    n: int
    median: Decimal | None
    low: int | None
    high: int | None


@dataclass(frozen=True)
class EpisodeTiming:
    """Time from infusion to onset and duration of the episodes of ``kind`` graded 1 or more.

    ``duration`` counts the episodes resolved on or before the cut; ``ongoing`` the others.
    """

    kind: EpisodeKind
    onset_day: Spread
    duration_days: Spread
    ongoing: int

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass(frozen=True)
class SafetySummary:
    """The safety set as of ``as_of``: each infused participant, the counts by worst grade (CRS
    0..5 then ICANS 0..5) and the timing of the episodes; ``not_infused`` counts those enrolled
    on or before the cut but not infused by then (outside every denominator)."""

    as_of: date
    participants: tuple[ParticipantSafety, ...]
    counts: tuple[GradeCount, ...]
    timing: tuple[EpisodeTiming, ...]
    not_infused: int

    @property
    def infused(self) -> int:
        return len(self.participants)

    @property
    def episodes(self) -> list[EpisodeRow]:
        """Return every episode, by participant ID, kind (CRS first), then onset date."""
        return [episode for person in self.participants for episode in person.episodes]

    def counts_of(self, kind: EpisodeKind) -> list[GradeCount]:
        return [count for count in self.counts if count.kind == kind]


def percent_of(part: int, whole: int) -> Decimal | None:
    """Return part / whole as a percent with one decimal, halves up (None when whole is 0)."""
    if whole == 0:
        return None
    return rounded(Decimal(part) * 100 / Decimal(whole), PERCENT_QUANTUM)


class _Person(NamedTuple):
    """An enrolled participant as read (a named tuple: one per participant of the trial)."""

    pk: int
    participant_id: str
    site: str
    dose_cells_per_kg: int | None
    infusion_date: date | None


def safety_summary(*, participants: QuerySet[Participant], as_of: date) -> SafetySummary:
    """Summarise CRS and ICANS of the given participants as of the data cut ``as_of``.

    ``participants`` is already bounded to the user's sites and the report's filters. Three
    queries: the participants enrolled by the cut, then the CRS and the ICANS episodes of those
    infused by the cut with onset on or before it.
    """
    enrolled = participants.filter(enrollment_date__lte=as_of)
    people = [
        _Person(*values)
        for values in enrolled.order_by("participant_id").values_list(
            "pk", "participant_id", "site__code", "dose_cells_per_kg", "infusion_date"
        )
    ]
    infused = {
        person.pk: person
        for person in people
        if person.infusion_date is not None and person.infusion_date <= as_of
    }
    episodes: dict[int, list[EpisodeRow]] = {pk: [] for pk in infused}
    for kind, model in ((EpisodeKind.CRS, CrsEpisode), (EpisodeKind.ICANS, IcansEpisode)):
        rows = (
            model.objects.filter(
                participant__in=enrolled.filter(infusion_date__lte=as_of), onset_date__lte=as_of
            )
            .order_by("onset_date")
            .values_list("participant_id", "onset_date", "resolution_date", "grade")
        )
        for participant_pk, onset, resolution, grade in rows:
            person = infused.get(participant_pk)
            if person is None:  # infused in the moment between the two reads
                continue
            episodes[participant_pk].append(
                _episode_row(person, kind, onset, resolution, grade, as_of=as_of)
            )
    people_safety = [_participant_safety(person, episodes[pk]) for pk, person in infused.items()]
    return SafetySummary(
        as_of=as_of,
        participants=tuple(people_safety),
        counts=tuple(_grade_counts(people_safety)),
        timing=tuple(_timing(kind, people_safety) for kind in KINDS),
        not_infused=len(people) - len(infused),
    )


def _episode_row(
    person: _Person,
    kind: EpisodeKind,
    onset: date,
    resolution: date | None,
    grade: int,
    *,
    as_of: date,
) -> EpisodeRow:
    # Resolved after the cut: still ongoing as of the cut.
    resolved = resolution if resolution is not None and resolution <= as_of else None
    # Only infused participants' episodes are read, so the infusion date is known.
    infusion = cast(date, person.infusion_date)
    return EpisodeRow(
        participant_pk=person.pk,
        participant_id=person.participant_id,
        site=person.site,
        kind=kind,
        onset_date=onset,
        onset_day=(onset - infusion).days,
        resolution_date=resolved,
        duration_days=(resolved - onset).days + 1 if resolved is not None else None,
        grade=grade,
    )


def _participant_safety(person: _Person, episodes: list[EpisodeRow]) -> ParticipantSafety:
    ordered = sorted(episodes, key=lambda episode: (KINDS.index(episode.kind), episode.onset_date))
    worst = dict.fromkeys(KINDS, 0)  # 0: no episode of that kind
    for episode in ordered:
        worst[episode.kind] = max(worst[episode.kind], episode.grade)
    return ParticipantSafety(
        participant_pk=person.pk,
        participant_id=person.participant_id,
        site=person.site,
        dose_cells_per_kg=person.dose_cells_per_kg,
        infusion_date=cast(date, person.infusion_date),
        worst_crs=worst[EpisodeKind.CRS],
        worst_icans=worst[EpisodeKind.ICANS],
        episodes=tuple(ordered),
    )


def _grade_counts(people: Sequence[ParticipantSafety]) -> list[GradeCount]:
    counts: list[GradeCount] = []
    for kind in KINDS:
        worst = [person.worst(kind) for person in people]
        counts.extend(
            GradeCount(kind, grade, participants=worst.count(grade), infused=len(worst))
            for grade in GRADES
        )
    return counts


def _spread(days: list[int]) -> Spread:
    if not days:
        return Spread(0, None, None, None)
    # Exact: the middle two of an even count average to a half day.
    return Spread(len(days), exact_median(days), min(days), max(days))


def _timing(kind: EpisodeKind, people: Sequence[ParticipantSafety]) -> EpisodeTiming:
    graded = [
        episode
        for person in people
        for episode in person.episodes
        if episode.kind == kind and episode.grade >= 1
    ]
    return EpisodeTiming(
        kind=kind,
        onset_day=_spread([episode.onset_day for episode in graded]),
        duration_days=_spread(
            [episode.duration_days for episode in graded if episode.duration_days is not None]
        ),
        ongoing=sum(1 for episode in graded if episode.ongoing),
    )


def safety_sentences(summary: SafetySummary) -> list[str]:
    """State each kind's worst grades as the investigators write them.

    For a kind with any participant at grade 1 or more, one sentence per grade that has
    participants: "Grade 1 CRS in 9 of 11 infused participants (81.8%)"; for a kind without:
    "No CRS in 11 infused participants". Without anyone infused, one sentence says so.
    """
    if summary.infused == 0:
        return [str(_("No participant was infused on or before the data cut."))]
    sentences = []
    for kind in KINDS:
        label = KIND_LABELS[kind]
        graded = [
            count
            for count in summary.counts_of(kind)
            if count.max_grade >= 1 and count.participants
        ]
        if not graded:
            sentences.append(
                ngettext(
                    "No %(kind)s in %(infused)s infused participant",
                    "No %(kind)s in %(infused)s infused participants",
                    summary.infused,
                )
                % {"kind": label, "infused": summary.infused}
            )
            continue
        sentences.extend(
            ngettext(
                "Grade %(grade)s %(kind)s in %(count)s of %(infused)s infused participant "
                "(%(percent)s%%)",
                "Grade %(grade)s %(kind)s in %(count)s of %(infused)s infused participants "
                "(%(percent)s%%)",
                count.infused,
            )
            % {
                "grade": count.max_grade,
                "kind": label,
                "count": count.participants,
                "infused": count.infused,
                "percent": count.percent,
            }
            for count in graded
        )
    return sentences


def latest_episode_change(participants: QuerySet[Participant]) -> datetime | None:
    """Return when a CRS or ICANS episode or an adverse event of these participants was last
    saved, graded or deleted (None if never). One query, over the three audit histories."""
    crs = CrsEpisode.history.filter(participant__in=participants)
    icans = IcansEpisode.history.filter(participant__in=participants)
    events = AdverseEvent.history.filter(participant__in=participants)
    return (
        crs.order_by()
        .values_list("history_date", flat=True)
        .union(
            icans.order_by().values_list("history_date", flat=True),
            events.order_by().values_list("history_date", flat=True),
        )
        .order_by("-history_date")
        .first()
    )


# --------------------------------------------------------------------------------------------
# Adverse events by term and grade
# --------------------------------------------------------------------------------------------

#: CTCAE grades 1 (mild) to 5 (death), the columns of the table.
AE_GRADES: tuple[int, ...] = tuple(AeGrade.values)
#: The system organ classes in CTCAE's order; a term of none sorts last.
_SOC_ORDER = {soc: index for index, soc in enumerate(CTCAE_TERMS_BY_SOC)}


@dataclass(frozen=True)
class CountCell:
    """Participants out of the infused, with the percent (one decimal; None if none infused)."""

    participants: int
    infused: int

    @property
    def percent(self) -> Decimal | None:
        return percent_of(self.participants, self.infused)


@dataclass(frozen=True)
class AdverseEventTermRow:
    """One term (an "Other, specify" term with its description): the infused participants with
    an event of it, by their worst grade of it (1..5), at any grade, and with a serious one."""

    soc: str
    term: str
    by_worst_grade: tuple[CountCell, ...]
    any_grade: CountCell
    serious: CountCell


@dataclass(frozen=True)
class AdverseEventTable:
    """Adverse events of the infused participants as of the cut, by term and worst grade: the
    row of any adverse event first, then each term by system organ class (CTCAE's order), the
    most frequent first."""

    any_event: AdverseEventTermRow
    terms: tuple[AdverseEventTermRow, ...]
    infused: int
    grades: tuple[int, ...] = AE_GRADES

    @property
    def socs(self) -> list[tuple[str, list[AdverseEventTermRow]]]:
        """Return the term rows grouped by system organ class, in the table's order."""
        groups: dict[str, list[AdverseEventTermRow]] = {}
        for row in self.terms:
            groups.setdefault(row.soc, []).append(row)
        return list(groups.items())


def _term_row(
    soc: str, term: str, worst: dict[int, int], serious: set[int], infused: int
) -> AdverseEventTermRow:
    """Count the participants in ``worst`` (participant -> their worst grade) by grade."""
    grades = list(worst.values())
    return AdverseEventTermRow(
        soc=soc,
        term=term,
        by_worst_grade=tuple(CountCell(grades.count(grade), infused) for grade in AE_GRADES),
        any_grade=CountCell(len(worst), infused),
        serious=CountCell(len(serious), infused),
    )


def adverse_event_table(
    *, participants: QuerySet[Participant], summary: SafetySummary
) -> AdverseEventTable:
    """Count the adverse events of ``summary``'s infused participants (``participants`` as
    safety_summary was given them) starting on or before its data cut. One query."""
    as_of = summary.as_of
    infused = {person.participant_pk for person in summary.participants}
    rows = AdverseEvent.objects.filter(
        participant__in=participants.filter(enrollment_date__lte=as_of, infusion_date__lte=as_of),
        start_date__lte=as_of,
    ).values_list("participant_id", "term", "term_specify", "grade", "serious")
    worst: dict[tuple[str, str], dict[int, int]] = {}
    serious: dict[tuple[str, str], set[int]] = {}
    any_worst: dict[int, int] = {}
    any_serious: set[int] = set()
    for participant_pk, term, specification, grade, is_serious in rows:
        if participant_pk not in infused:  # infused in the moment between the two reads
            continue
        key = (term, specification)
        by_participant = worst.setdefault(key, {})
        by_participant[participant_pk] = max(grade, by_participant.get(participant_pk, 0))
        any_worst[participant_pk] = max(grade, any_worst.get(participant_pk, 0))
        serious.setdefault(key, set())
        if is_serious:
            serious[key].add(participant_pk)
            any_serious.add(participant_pk)
    count = summary.infused
    terms = [
        _term_row(
            CTCAE_SOC_OF_TERM.get(term, ""),
            f"{term}: {specification}" if specification else term,
            worst[(term, specification)],
            serious[(term, specification)],
            count,
        )
        for term, specification in worst
    ]
    terms.sort(
        key=lambda row: (
            _SOC_ORDER.get(row.soc, len(_SOC_ORDER)),
            -row.any_grade.participants,
            row.term,
        )
    )
    return AdverseEventTable(
        any_event=_term_row("", "", any_worst, any_serious, count),
        terms=tuple(terms),
        infused=count,
    )


# --------------------------------------------------------------------------------------------
# Home: serious adverse events awaiting acknowledgement
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnacknowledgedSae:
    """A serious adverse event awaiting acknowledgement, with the version of it that Home shows
    (what an acknowledgement from Home acknowledges) and its criteria."""

    event: AdverseEvent
    version: str
    criteria: str


def unacknowledged_saes(participants: QuerySet[Participant]) -> QuerySet[AdverseEvent]:
    """Return the serious adverse events of these participants awaiting acknowledgement."""
    return AdverseEvent.objects.filter(
        participant__in=participants, serious=True, acknowledged_at__isnull=True
    )


def unacknowledged_sae_rows(
    events: QuerySet[AdverseEvent], *, limit: int
) -> list[UnacknowledgedSae]:
    """Return the first ``limit`` of these events, by start date, each with its latest version
    (its latest history id, as trialsite.versions writes a single record's version). One
    query."""
    latest = (
        AdverseEvent.history.filter(id=OuterRef("pk"))
        .order_by("-history_id")
        .values("history_id")[:1]
    )
    found = (
        events.select_related("participant__site")
        .annotate(latest_version=Subquery(latest))
        # The gravest first, then the newest: a new grade 4 or 5 never waits behind older ones.
        .order_by("-grade", "-start_date", "-pk")[:limit]
    )
    return [
        UnacknowledgedSae(
            event=event,
            version=str(event.latest_version or 0),
            criteria=seriousness_criteria(event),
        )
        for event in found
    ]
