"""The B-cell reads: a participant's CD19+ B cells and immunoglobulins for their page, and the
safety report's B-cell plot and table as of a data cut.

Aplasia and reconstitution are derived on every read by safety.grading.b_cells from the stored
counts and the study's threshold (``Study.b_cell_aplasia_threshold_per_ul``), so a change of the
setting applies at once and nothing derived is stored. A count is read whatever the visit's entry
status: the entry status is about the disease-activity answers, and a count saved with a visit
still in progress is a count all the same. Each function reads with a fixed number of queries,
whatever the number of participants and visits.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import cast

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safety.grading.b_cells import (
    FIRST_DAY_AFTER_INFUSION,
    BCellCount,
    BCellCourse,
    BCellStatus,
    b_cell_course,
    b_cell_status,
)
from trialsite.i18n import StrOrPromise
from trialsite.models import IMMUNE_LAB_FIELDS, LabResult, Participant

#: The order of a participant's visits (an unscheduled visit on a scheduled one's date after it).
VISIT_ORDER = ("visit__visit_date", "visit__visit_definition__order", "visit__pk")


@dataclass(frozen=True)
class LabReading:
    """One stored value at a visit, with its study day (None before the infusion date is
    known)."""

    visit_date: date
    study_day: int | None
    value: Decimal


@dataclass(frozen=True)
class Immunoglobulins:
    """The immunoglobulins (g/L; None: not done) of one visit."""

    visit_date: date
    study_day: int | None
    igg_g_l: Decimal | None
    iga_g_l: Decimal | None
    igm_g_l: Decimal | None

    @property
    def named(self) -> list[tuple[StrOrPromise, Decimal | None]]:
        """Return each immunoglobulin's name with its value, IgG first."""
        return [(_("IgG"), self.igg_g_l), (_("IgA"), self.iga_g_l), (_("IgM"), self.igm_g_l)]


@dataclass(frozen=True)
class ParticipantBCells:
    """What the participant page shows of the B cells: the latest CD19+ count, the course after
    the infusion (None while no infusion date is recorded) and the latest immunoglobulins."""

    threshold_per_ul: Decimal
    latest_cd19: LabReading | None
    course: BCellCourse | None
    latest_immunoglobulins: Immunoglobulins | None


def _study_day(visit_date: date, infusion: date | None) -> int | None:
    return (visit_date - infusion).days if infusion is not None else None


def _any_immune_value() -> Q:
    return Q(*(Q(**{f"{field}__isnull": False}) for field in IMMUNE_LAB_FIELDS), _connector=Q.OR)


def participant_b_cells(participant: Participant) -> ParticipantBCells | None:
    """Return the participant's B cells and immunoglobulins, or None when none is recorded.

    One query (the study, with its threshold, comes with the participant).
    """
    rows = list(
        LabResult.objects.filter(_any_immune_value(), visit__participant=participant)
        .order_by(*VISIT_ORDER)
        .values_list("visit__visit_date", *IMMUNE_LAB_FIELDS)
    )
    if not rows:
        return None
    infusion = participant.infusion_date
    threshold = participant.study.b_cell_aplasia_threshold_per_ul
    cd19 = [
        LabReading(visit_date, _study_day(visit_date, infusion), count)
        for visit_date, count, *_immunoglobulins in rows
        if count is not None
    ]
    immunoglobulins = [
        Immunoglobulins(visit_date, _study_day(visit_date, infusion), igg, iga, igm)
        for visit_date, _count, igg, iga, igm in rows
        if (igg, iga, igm) != (None, None, None)
    ]
    course = None
    if infusion is not None:
        course = b_cell_course(
            (BCellCount((reading.visit_date - infusion).days, reading.value) for reading in cd19),
            threshold,
        )
    return ParticipantBCells(
        threshold_per_ul=threshold,
        latest_cd19=cd19[-1] if cd19 else None,
        course=course,
        latest_immunoglobulins=immunoglobulins[-1] if immunoglobulins else None,
    )


@dataclass(frozen=True)
class BCellTrajectory:
    """One participant's CD19+ counts (cells/µL) by study day, in date order: the plot's line."""

    participant_id: str
    points: tuple[tuple[int, Decimal], ...]


#: One visit's (visit date, study day, CD19+ count, IgG) read for the report; either value may
#: be None.
VisitReading = tuple[date, int, Decimal | None, Decimal | None]


@dataclass(frozen=True)
class BCellRow:
    """One infused participant of the report, from their visits dated on or before the cut.

    ``status`` is read for every participant (the report's counts); the course, the last count
    on or before the infusion day and the latest IgG only for the rows a page shows.
    """

    participant_pk: int
    participant_id: str
    site: str
    dose_cells_per_kg: int | None
    threshold_per_ul: Decimal
    #: Each visit with a CD19+ count or an IgG, in date order.
    readings: tuple[VisitReading, ...]

    @cached_property
    def cd19_points(self) -> tuple[tuple[int, Decimal], ...]:
        """Return the (study day, CD19+ count) of each count, in date order: the plot's line."""
        return tuple((day, count) for _date, day, count, _igg in self.readings if count is not None)

    @cached_property
    def status(self) -> BCellStatus:
        return b_cell_status(self.cd19_points, self.threshold_per_ul)

    @cached_property
    def course(self) -> BCellCourse:
        counts = (BCellCount(day, count) for day, count in self.cd19_points)
        return b_cell_course(counts, self.threshold_per_ul)

    @cached_property
    def baseline_cd19(self) -> LabReading | None:
        """Return the last count on or before the infusion day, or None."""
        for visit_date, day, count, _igg in reversed(self.readings):
            if count is not None and day < FIRST_DAY_AFTER_INFUSION:
                return LabReading(visit_date, day, count)
        return None

    @cached_property
    def latest_igg(self) -> LabReading | None:
        """Return the IgG of the last visit with one, or None."""
        for visit_date, day, _count, igg in reversed(self.readings):
            if igg is not None:
                return LabReading(visit_date, day, igg)
        return None

    @cached_property
    def trajectory(self) -> BCellTrajectory:
        return BCellTrajectory(self.participant_id, self.cd19_points)


@dataclass(frozen=True)
class BCellReport:
    """The B cells of the infused participants as of ``as_of``, by participant ID."""

    as_of: date
    threshold_per_ul: Decimal
    rows: tuple[BCellRow, ...]

    @cached_property
    def _statuses(self) -> Counter[BCellStatus]:
        """Count the participants in each status (each status read once, for every count)."""
        return Counter(row.status for row in self.rows)

    def _with_status(self, *statuses: BCellStatus) -> int:
        return sum(self._statuses[status] for status in statuses)

    @property
    def counted(self) -> int:
        """Count the participants with a CD19+ count after the infusion."""
        return len(self.rows) - self._with_status(BCellStatus.NO_COUNT)

    @property
    def aplasia(self) -> int:
        """Count the participants in aplasia at any visit after the infusion."""
        return self._with_status(BCellStatus.APLASIA, BCellStatus.RECONSTITUTED)

    @property
    def reconstituted(self) -> int:
        return self._with_status(BCellStatus.RECONSTITUTED)

    @cached_property
    def trajectories(self) -> tuple[BCellTrajectory, ...]:
        """Return the lines of the participants with any count (the plot's data)."""
        return tuple(row.trajectory for row in self.rows if row.trajectory.points)


def b_cell_report(
    *, participants: QuerySet[Participant], as_of: date, threshold_per_ul: Decimal
) -> BCellReport:
    """Return the B cells of the given participants enrolled and infused on or before the data
    cut ``as_of``, from their visits dated on or before it.

    ``participants`` is already bounded to the user's sites and the report's filters. Two
    queries: the participants, then the counts and IgG of their visits.
    """
    infused = participants.filter(enrollment_date__lte=as_of, infusion_date__lte=as_of)
    people = list(
        infused.order_by("participant_id").values_list(
            "pk", "participant_id", "site__code", "dose_cells_per_kg", "infusion_date"
        )
    )
    # Only participants infused by the cut are read, so each infusion date is known.
    infusions = {pk: cast(date, infusion) for pk, *_rest, infusion in people}
    readings: dict[int, list[VisitReading]] = {pk: [] for pk in infusions}
    labs = (
        LabResult.objects.filter(
            Q(cd19_per_ul__isnull=False) | Q(igg_g_l__isnull=False),
            visit__participant__in=infused,
            visit__visit_date__lte=as_of,
        )
        # By participant first: each one's rows in order, and a quicker sort than by date alone.
        .order_by("visit__participant_id", *VISIT_ORDER)
        .values_list("visit__participant_id", "visit__visit_date", "cd19_per_ul", "igg_g_l")
    )
    for participant_pk, visit_date, cd19, igg in labs:
        infusion = infusions.get(participant_pk)
        if infusion is not None:  # not one infused in the moment between the two reads
            day = (visit_date - infusion).days
            readings[participant_pk].append((visit_date, day, cd19, igg))
    rows = [
        BCellRow(
            participant_pk=pk,
            participant_id=participant_id,
            site=site,
            dose_cells_per_kg=dose,
            threshold_per_ul=threshold_per_ul,
            readings=tuple(readings[pk]),
        )
        for pk, participant_id, site, dose, _infusion in people
    ]
    return BCellReport(as_of=as_of, threshold_per_ul=threshold_per_ul, rows=tuple(rows))


def b_cell_sentence(report: BCellReport) -> str:
    """Say how many infused participants had B-cell aplasia and how many reconstituted:
    "B-cell aplasia in 11 of 11 infused participants with a CD19+ count after the infusion;
    reconstituted in 3 of them." Reconstitution days are in the table, not summarised: those
    still in aplasia have no day yet."""
    if report.counted == 0:
        return str(_("No CD19+ B-cell count after the infusion on or before the data cut."))
    return ngettext(
        "B-cell aplasia in %(aplasia)s of %(counted)s infused participant with a CD19+ count "
        "after the infusion; reconstituted in %(reconstituted)s.",
        "B-cell aplasia in %(aplasia)s of %(counted)s infused participants with a CD19+ count "
        "after the infusion; reconstituted in %(reconstituted)s of them.",
        report.counted,
    ) % {
        "aplasia": report.aplasia,
        "counted": report.counted,
        "reconstituted": report.reconstituted,
    }
