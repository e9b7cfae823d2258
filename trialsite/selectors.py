"""Read queries for the data-capture screens, always bounded by the user's sites."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from responses.models import EndpointResult
from responses.scoring.bilag import BILAG_SYSTEM_LABELS, BILAG_SYSTEMS
from responses.scoring.labs import LAB_FIELDS, Labs, sledai_suggestions
from responses.scoring.sledai import (
    ACTIVITY_BAND_HIGH_FROM,
    ACTIVITY_BAND_MILD_FROM,
    ACTIVITY_BAND_MODERATE_FROM,
    ACTIVITY_BAND_VERY_HIGH_FROM,
    SLEDAI_DESCRIPTORS,
    SLEDAI_FIELDS,
    SledaiDescriptor,
    activity_band,
)
from trialsite import records
from trialsite.history import trial_data_sources
from trialsite.i18n import StrOrPromise
from trialsite.models import (
    ANSWER_LABELS,
    IMMUNE_LAB_FIELDS,
    NOT_DONE,
    STORED_LAB_FIELDS,
    EntryStatus,
    LabResult,
    MissedVisit,
    Participant,
    QueryStatus,
    Site,
    Study,
    Visit,
    VisitDefinition,
    VisitSignOff,
    VisitStatus,
    visit_status,
)
from trialsite.records import RecordKind

ALL_SITES_PERMISSION = "trialsite.view_all_sites"


def current_study() -> Study:
    """Return the study the site runs, with its baseline and primary visits (one study today)."""
    return Study.objects.select_related("baseline_visit", "primary_visit").get()


def user_sees_all_sites(user: User) -> bool:
    """Monitors, data managers and superusers see every site; others only their own."""
    return user.has_perm(ALL_SITES_PERMISSION)


def sites_visible_to(user: User) -> QuerySet[Site]:
    """Return the sites whose data the user may see."""
    if user_sees_all_sites(user):
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)


def participants_visible_to(user: User) -> QuerySet[Participant]:
    """Return the participants of the user's sites; every view starts from here."""
    return Participant.objects.filter(site__in=sites_visible_to(user)).select_related(
        "site", "study"
    )


def record_visible_to(user: User, kind: str, pk: int) -> tuple[RecordKind, models.Model]:
    """Return a record of the user's sites of a kind registered in trialsite.records, named by
    its key ("safety.crsepisode") and primary key, with its kind; Http404 for an unknown kind
    or another site's record."""
    record_kind = records.record_kind(kind)
    if record_kind is None:
        raise Http404
    record = get_object_or_404(
        record_kind.model._default_manager.filter(
            participant__in=participants_visible_to(user)
        ).select_related("participant"),
        pk=pk,
    )
    return record_kind, record


def visits_visible_to(user: User) -> QuerySet[Visit]:
    """Return the visits of the user's sites."""
    return Visit.objects.filter(participant__in=participants_visible_to(user)).select_related(
        "participant__site", "participant__study", "visit_definition"
    )


def with_record_status(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """Add what a visit's record status needs (``record_status``): its sign-offs in force, and
    the number of its queries not closed (``open_query_count``)."""
    return visits.prefetch_related(
        Prefetch(
            "sign_offs",
            queryset=VisitSignOff.objects.filter(voided_at__isnull=True),
            to_attr="sign_offs_in_force",
        )
    ).annotate(open_query_count=Count("queries", filter=~Q(queries__status=QueryStatus.CLOSED)))


def record_status(visit: Visit) -> VisitStatus:
    """Return a recorded visit's status; the visit comes from ``with_record_status``."""
    in_force = {sign_off.kind for sign_off in visit.sign_offs_in_force}  # type: ignore[attr-defined]
    return visit_status(entry_complete=visit.entry_complete, sign_offs_in_force=in_force)


def site_overview(user: User) -> QuerySet[Site]:
    """Return the user's sites with their participant counts."""
    return sites_visible_to(user).annotate(participant_count=Count("participants")).order_by("code")


PARTICIPANT_STATUSES = {
    "not_infused": (_("enrolled, not infused"), Q(infusion_date__isnull=True)),
    "on_study": (_("on study"), Q(infusion_date__isnull=False, withdrawal_date__isnull=True)),
    "treatment_failure": (_("treatment failure"), Q(treatment_failure_date__isnull=False)),
    "withdrawn": (_("withdrawn"), Q(withdrawal_date__isnull=False)),
}


def participant_list(
    user: User,
    *,
    search: str = "",
    site: str = "",
    status: str = "",
    dose: int | None = None,
) -> QuerySet[Participant]:
    """Return the participants the user may see, filtered, with their visit counts."""
    participants = participants_visible_to(user)
    if search:
        participants = participants.filter(participant_id__icontains=search)
    if site:
        participants = participants.filter(site__code=site)
    if status in PARTICIPANT_STATUSES:
        participants = participants.filter(PARTICIPANT_STATUSES[status][1])
    if dose is not None:
        participants = participants.filter(dose_cells_per_kg=dose)
    return participants.annotate(visit_count=Count("visits")).order_by("participant_id")


def dose_levels(user: User) -> list[int]:
    """Return the doses given at the user's sites, for the list filter."""
    doses = (
        participants_visible_to(user)
        .exclude(dose_cells_per_kg=None)
        .order_by("dose_cells_per_kg")
        .values_list("dose_cells_per_kg", flat=True)
        .distinct()
    )
    return [dose for dose in doses if dose is not None]


# Window status of a scheduled visit, recorded or not.
IN_WINDOW = "in_window"
OUT_OF_WINDOW = "out_of_window"
UPCOMING = "upcoming"
DUE = "due"
OVERDUE = "overdue"
NOT_SCHEDULED = "not_scheduled"
MISSED = "missed"
WINDOW_STATUS_LABELS = {
    IN_WINDOW: _("in window"),
    OUT_OF_WINDOW: _("out of window"),
    UPCOMING: _("upcoming"),
    DUE: _("due now"),
    OVERDUE: _("missing: window closed"),
    NOT_SCHEDULED: _("not scheduled until infusion"),
    MISSED: _("missed"),
}


def window_dates(participant: Participant, definition: VisitDefinition) -> tuple[date, date] | None:
    """Return the first and last day of a scheduled visit's window, once infusion is known."""
    if (
        participant.infusion_date is None
        or definition.window_low is None
        or definition.window_high is None
    ):
        return None
    return (
        participant.infusion_date + timedelta(days=definition.window_low),
        participant.infusion_date + timedelta(days=definition.window_high),
    )


def window_status(
    participant: Participant, definition: VisitDefinition, visit: Visit | None, today: date
) -> str:
    """Say where a scheduled visit stands against its window."""
    if visit is not None:
        return OUT_OF_WINDOW if visit.in_window is False else IN_WINDOW
    window = window_dates(participant, definition)
    if window is None:
        return NOT_SCHEDULED
    if today < window[0]:
        return UPCOMING
    if today <= window[1]:
        return DUE
    return OVERDUE


@dataclass(frozen=True)
class TimelineRow:
    definition: VisitDefinition
    visit: Visit | None
    status: str
    window_start: date | None
    window_end: date | None
    results: dict[str, EndpointResult] = field(default_factory=dict)
    missed: MissedVisit | None = None

    @property
    def record_status(self) -> VisitStatus:
        """Where the visit's record stands (not started, in progress, ..., locked, missed)."""
        if self.visit is not None:
            return record_status(self.visit)
        return VisitStatus.MISSED if self.missed is not None else VisitStatus.NOT_STARTED

    @property
    def open_query_count(self) -> int:
        return getattr(self.visit, "open_query_count", 0)

    @property
    def status_label(self) -> StrOrPromise:
        return WINDOW_STATUS_LABELS[self.status]

    @property
    def out_of_window(self) -> bool:
        """Say whether the visit is recorded outside its window (a protocol deviation)."""
        return self.status == OUT_OF_WINDOW

    @property
    def window_opened(self) -> bool:
        """Say whether a visit not recorded has reached its window: it may be recorded, or
        recorded as missed (not before its window, nor before the infusion)."""
        return self.status in (DUE, OVERDUE)

    @property
    def sledai_band(self) -> str | None:
        score = getattr(self.visit, "score", None)
        if score is None or score.sledai_total is None:
            return None
        return activity_band(score.sledai_total).value

    @property
    def pga(self) -> Decimal | str | None:
        return shown_pga(self.visit, not_done_reasons(self.visit))

    @property
    def sledai_not_done(self) -> bool:
        """Say whether a SLEDAI-2K descriptor is not done (the total then is not computed)."""
        return any(answer.startswith("sledai_") for answer in not_done_reasons(self.visit))

    @property
    def bilag_grades(self) -> list[tuple[str, str]]:
        if getattr(self.visit, "bilag", None) is None:
            return []
        return list(shown_grades(self.visit, not_done_reasons(self.visit)).items())


def _timeline_visits(participant: Participant) -> list[Visit]:
    return list(
        with_record_status(Visit.objects.filter(participant=participant))
        .select_related("participant", "visit_definition", "pga", "bilag", "score")
        .prefetch_related(
            Prefetch("endpoint_results", queryset=EndpointResult.objects.order_by("endpoint")),
            "not_done_answers",
        )
        .order_by("visit_date", "visit_definition__order", "occurrence")
    )


def participant_timeline(participant: Participant, today: date) -> list[TimelineRow]:
    """Return the schedule as rows, recorded or missing, then the unscheduled visits by date."""
    visits = _timeline_visits(participant)
    recorded = {v.visit_definition_id: v for v in visits if not v.visit_definition.repeatable}
    missed = {m.visit_definition_id: m for m in participant.missed_visits.all()}
    rows = []
    definitions = participant.study.visit_definitions.order_by("order")
    for definition in definitions:
        if definition.repeatable:
            continue
        visit = recorded.get(definition.pk)
        window_start, window_end = window_dates(participant, definition) or (None, None)
        rows.append(
            TimelineRow(
                definition=definition,
                visit=visit,
                status=(
                    MISSED
                    if definition.pk in missed
                    else window_status(participant, definition, visit, today)
                ),
                window_start=window_start,
                window_end=window_end,
                results=_results_of(visit),
                missed=missed.get(definition.pk),
            )
        )
    for visit in visits:
        if visit.visit_definition.repeatable:
            rows.append(
                TimelineRow(
                    definition=visit.visit_definition,
                    visit=visit,
                    status=IN_WINDOW,
                    window_start=None,
                    window_end=None,
                    results=_results_of(visit),
                )
            )
    return rows


def _results_of(visit: Visit | None) -> dict[str, EndpointResult]:
    if visit is None:
        return {}
    return {result.endpoint: result for result in visit.endpoint_results.all()}


@dataclass(frozen=True)
class ScheduleAlert:
    participant: Participant
    definition: VisitDefinition
    status: str
    window_start: date
    window_end: date

    @property
    def status_label(self) -> StrOrPromise:
        return WINDOW_STATUS_LABELS[self.status]


def schedule_alerts(user: User, today: date) -> list[ScheduleAlert]:
    """List the scheduled visits due now or missed, for infused participants still on study."""
    participants = (
        participants_visible_to(user)
        .filter(infusion_date__isnull=False, withdrawal_date__isnull=True)
        .prefetch_related(
            Prefetch(
                "visits", queryset=Visit.objects.only("participant_id", "visit_definition_id")
            ),
            Prefetch(
                "missed_visits",
                queryset=MissedVisit.objects.only("participant_id", "visit_definition_id"),
            ),
        )
    )
    definitions = list(
        VisitDefinition.objects.filter(repeatable=False).order_by("study_id", "order")
    )
    alerts = []
    for participant in participants:
        recorded = {visit.visit_definition_id for visit in participant.visits.all()}
        recorded |= {missed.visit_definition_id for missed in participant.missed_visits.all()}
        for definition in definitions:
            if definition.study_id != participant.study_id or definition.pk in recorded:
                continue
            status = window_status(participant, definition, None, today)
            window = window_dates(participant, definition)
            if status in (DUE, OVERDUE) and window is not None:
                window_start, window_end = window
                alerts.append(
                    ScheduleAlert(
                        participant=participant,
                        definition=definition,
                        status=status,
                        window_start=window_start,
                        window_end=window_end,
                    )
                )
    alerts.sort(key=lambda alert: (alert.status != DUE, alert.window_end))
    return alerts


def out_of_window_visits(user: User) -> list[Visit]:
    """List the recorded visits that fell outside their window (protocol deviations)."""
    visits = visits_visible_to(user).filter(
        visit_definition__repeatable=False, participant__infusion_date__isnull=False
    )
    return [visit for visit in visits.order_by("-visit_date") if visit.in_window is False]


def incomplete_visits(user: User) -> QuerySet[Visit]:
    """List the visits whose data entry is still in progress."""
    return (
        visits_visible_to(user).filter(entry_status=EntryStatus.IN_PROGRESS).order_by("visit_date")
    )


@dataclass(frozen=True)
class RecentChange:
    when: datetime
    who: StrOrPromise
    what: StrOrPromise
    kind: StrOrPromise
    reason: str
    participant_id: str
    visit: Visit | None


HISTORY_KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


def recent_changes(user: User, limit: int = 10) -> list[RecentChange]:
    """Return the latest audited changes to the participants of the user's sites: every record
    the audit trail reads (trialsite.history.trial_data_sources), deleted visits included."""
    sources = trial_data_sources(participants_visible_to(user).values("pk"))
    latest = sorted(
        (
            (record, source)
            for source in sources
            for record in source.history.select_related("history_user").order_by("-history_date")[
                :limit
            ]
        ),
        key=lambda item: item[0].history_date,
        reverse=True,
    )[:limit]
    visits = Visit.objects.select_related("participant", "visit_definition").in_bulk(
        [getattr(record, source.visit) for record, source in latest if source.visit is not None]
    )
    participant_ids = dict(
        Participant.objects.filter(
            pk__in=[
                getattr(record, source.participant)
                for record, source in latest
                if source.participant is not None
            ]
        ).values_list("pk", "participant_id")
    )
    changes = []
    for record, source in latest:
        visit = visits.get(getattr(record, source.visit)) if source.visit is not None else None
        if visit is not None:
            participant_id = visit.participant.participant_id
        elif source.participant is not None:
            participant_id = participant_ids.get(getattr(record, source.participant), "")
        else:
            participant_id = ""
        changes.append(
            RecentChange(
                when=record.history_date,
                who=record.history_user.get_username() if record.history_user else _("system"),
                what=source.what(record) if callable(source.what) else source.what,
                kind=HISTORY_KINDS[record.history_type],
                reason=record.history_change_reason or "",
                participant_id=participant_id,
                visit=visit,
            )
        )
    return changes


def scoring_labs(values: Mapping[str, Any]) -> Labs:
    """Turn lab values keyed by LabResult field (stored or typed) into the scoring input."""
    return Labs(
        **{field: values.get(field) for field in LAB_FIELDS if field != "upcr_unit"},
        upcr_unit=values.get("upcr_unit") or None,
    )


def lab_suggestions(labs: LabResult | None) -> list[SledaiDescriptor]:
    """Return the SLEDAI-2K descriptors a visit's stored labs suggest, in form order."""
    if labs is None:
        return []
    suggested = sledai_suggestions(
        scoring_labs({field: getattr(labs, field) for field in LAB_FIELDS})
    )
    return [d for d in SLEDAI_DESCRIPTORS if d.field in suggested]


@dataclass(frozen=True)
class LabValue:
    """One stored lab value as a page shows it: None is not done. ``immune`` marks the B cells
    and immunoglobulins, which the page lists as their own group."""

    label: StrOrPromise
    value: Decimal | bool | None
    unit: StrOrPromise
    immune: bool = False


def lab_values(labs: LabResult | None) -> list[LabValue] | None:
    """Return a visit's stored lab values in form order (the B cells and immunoglobulins last),
    labelled and with their units from the model; None when the visit has no labs. The UPCR
    carries the unit it was entered in."""
    if labs is None:
        return None
    values = []
    for name in STORED_LAB_FIELDS:
        if name == "upcr_unit":
            continue
        # STORED_LAB_FIELDS name value columns of LabResult: get_field gives a model Field.
        model_field = cast(models.Field, LabResult._meta.get_field(name))
        values.append(
            LabValue(
                label=capfirst(model_field.verbose_name),
                value=getattr(labs, name),
                unit=labs.get_upcr_unit_display() if name == "upcr" else model_field.help_text,
                immune=name in IMMUNE_LAB_FIELDS,
            )
        )
    return values


@dataclass(frozen=True)
class VisitSummary:
    sledai_total: int | None
    clinical_sledai_total: int | None
    band: str | None
    present: list[SledaiDescriptor]
    unanswered: int
    pga: Decimal | str | None
    bilag: list[tuple[str, str]]
    bilag_numeric: int | None
    suggestions: list[SledaiDescriptor]
    not_done: list[tuple[str, str]]
    labs: list[LabValue] | None


def not_done_reasons(visit: Visit | None) -> dict[str, str]:
    """Return a visit's answers marked not done (named as ANSWERS names them) with the reasons.

    Reads ``visit.not_done_answers.all()``, so a prefetch serves a list of visits.
    """
    if visit is None:
        return {}
    return {row.answer: row.reason for row in visit.not_done_answers.all()}


def shown_pga(visit: Visit | None, not_done: Mapping[str, str]) -> Decimal | str | None:
    """Return the PGA as pages show it: its score, ND when not done, None when not given."""
    if "pga" in not_done:
        return NOT_DONE
    pga = getattr(visit, "pga", None)
    return pga.score if pga is not None else None


def shown_grades(visit: Visit | None, not_done: Mapping[str, str]) -> dict[str, str]:
    """Return the BILAG-2004 grades as pages show them: ND when not done, "" when not given."""
    bilag = getattr(visit, "bilag", None)
    grades = bilag.grades() if bilag is not None else dict.fromkeys(BILAG_SYSTEMS)
    return {
        system: NOT_DONE if f"bilag_{system}" in not_done else grades[system] or ""
        for system in BILAG_SYSTEMS
    }


def visit_summary(visit: Visit) -> VisitSummary:
    """Return what a visit's page shows of its scores (as the recompute stored them) and labs."""
    score = getattr(visit, "score", None)
    sledai = getattr(visit, "sledai", None)
    answers = sledai.answers() if sledai is not None else dict.fromkeys(SLEDAI_FIELDS)
    labs = getattr(visit, "labs", None)
    not_done = not_done_reasons(visit)
    grades = shown_grades(visit, not_done)
    total = score.sledai_total if score is not None else None
    return VisitSummary(
        sledai_total=total,
        clinical_sledai_total=score.clinical_sledai_total if score is not None else None,
        band=activity_band(total).value if total is not None else None,
        present=[d for d in SLEDAI_DESCRIPTORS if answers[d.field] is True],
        unanswered=sum(
            1
            for field, value in answers.items()
            if value is None and f"sledai_{field}" not in not_done
        ),
        pga=shown_pga(visit, not_done),
        bilag=[(BILAG_SYSTEM_LABELS[s], grades[s]) for s in BILAG_SYSTEMS],
        bilag_numeric=score.bilag_numeric if score is not None else None,
        suggestions=lab_suggestions(labs),
        not_done=[
            (str(label), not_done[answer])
            for answer, label in ANSWER_LABELS.items()
            if answer in not_done
        ],
        labs=lab_values(labs),
    )


def activity_band_boundaries() -> list[tuple[int, str]]:
    """Return each SLEDAI-2K band's lowest total with its translated name, for the form."""
    return [
        (total, str(_(activity_band(total).value)))
        for total in (
            0,
            ACTIVITY_BAND_MILD_FROM,
            ACTIVITY_BAND_MODERATE_FROM,
            ACTIVITY_BAND_HIGH_FROM,
            ACTIVITY_BAND_VERY_HIGH_FROM,
        )
    ]


@dataclass(frozen=True)
class StatusCell:
    """One cell of the record status dashboard: a scheduled visit of a participant."""

    status: VisitStatus
    visit: Visit | None = None

    @property
    def open_query_count(self) -> int:
        return getattr(self.visit, "open_query_count", 0)


@dataclass(frozen=True)
class StatusRow:
    participant: Participant
    cells: list[StatusCell]
    unscheduled: list[StatusCell]


@dataclass(frozen=True)
class RecordStatusGrid:
    definitions: list[VisitDefinition]
    rows: list[StatusRow]

    def counts(self) -> dict[VisitStatus, int]:
        """Count the scheduled cells of each status, in the order of the statuses."""
        found = [cell.status for row in self.rows for cell in row.cells]
        return {status: found.count(status) for status in VisitStatus}


def record_status_grid(user: User, *, site: str = "") -> RecordStatusGrid:
    """Return the participants of the user's sites (or of one of them) by their scheduled visits,
    each cell with the visit's status, and their unscheduled visits. A fixed number of queries."""
    study = current_study()
    definitions = list(study.visit_definitions.filter(repeatable=False).order_by("order"))
    participants = participants_visible_to(user).filter(study=study).order_by("participant_id")
    if site:
        participants = participants.filter(site__code=site)
    participants = participants.prefetch_related(
        Prefetch(
            "visits",
            queryset=with_record_status(Visit.objects.select_related("visit_definition")).order_by(
                "visit_date", "occurrence"
            ),
        ),
        "missed_visits",
    )
    rows = []
    for participant in participants:
        visits = list(participant.visits.all())
        scheduled = {v.visit_definition_id: v for v in visits if not v.visit_definition.repeatable}
        missed = {m.visit_definition_id for m in participant.missed_visits.all()}
        cells = [
            StatusCell(record_status(scheduled[d.pk]), scheduled[d.pk])
            if d.pk in scheduled
            else StatusCell(VisitStatus.MISSED if d.pk in missed else VisitStatus.NOT_STARTED)
            for d in definitions
        ]
        unscheduled = [
            StatusCell(record_status(v), v) for v in visits if v.visit_definition.repeatable
        ]
        rows.append(StatusRow(participant, cells, unscheduled))
    return RecordStatusGrid(definitions, rows)
