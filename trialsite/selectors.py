"""Read queries for the data-capture screens, always bounded by the user's sites."""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

from django.contrib.auth.models import User
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint, EndpointResult
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
from responses.scoring.sri import SRI_MAX_NEW_BILAG_A, SRI_MAX_NEW_BILAG_B, SRI_PGA_WORSENING
from trialsite import records
from trialsite.day_numbers import DAY_ZERO, DayNumber, visit_study_day
from trialsite.history import AuditSource, Version, trial_data_sources
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
    SignOffKind,
    Site,
    Study,
    Visit,
    VisitDefinition,
    VisitSignOff,
    VisitStatus,
    visit_status,
)
from trialsite.pagination import nulls_last
from trialsite.records import RecordKind

ALL_SITES_PERMISSION = "trialsite.view_all_sites"

#: A row of a list Home shows the first of (``FirstRows``).
Row = TypeVar("Row")


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


def next_participant_id(study: Study, site: Site) -> str:
    """Suggest the next participant ID at a site, numbered as the demo's are (S01-001): the
    site's code, a hyphen and the number after the highest the study has written that way,
    three digits at least. A gap is not filled (S01-001 and S01-003 give S01-004); other sites'
    IDs and IDs written otherwise do not count."""
    prefix = f"{site.code}-"
    numbered = re.compile(re.escape(prefix) + r"([0-9]+)")
    ids = Participant.objects.filter(study=study, participant_id__startswith=prefix)
    numbers = [
        int(match.group(1))
        for participant_id in ids.values_list("participant_id", flat=True)
        if (match := numbered.fullmatch(participant_id)) is not None
    ]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


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

#: The sorts of the participant list (trialsite.pagination.sort_order): each key's fields,
#: ascending, ending with the participant ID so that equal values keep a fixed order.
PARTICIPANT_SORTS: dict[str, tuple[str, ...]] = {
    "id": ("participant_id", "pk"),
    "site": ("site__code", "participant_id", "pk"),
    "enrolled": ("enrollment_date", "participant_id", "pk"),
    "infusion": ("infusion_date", "participant_id", "pk"),
    "dose": ("dose_cells_per_kg", "participant_id", "pk"),
    "status": ("status_order", "participant_id", "pk"),
}
DEFAULT_PARTICIPANT_SORT = "id"


def participant_list(
    user: User,
    *,
    search: str = "",
    site: str = "",
    status: str = "",
    dose: int | None = None,
    order_by: Sequence[str] = PARTICIPANT_SORTS[DEFAULT_PARTICIPANT_SORT],
) -> QuerySet[Participant]:
    """Return the participants the user may see, filtered, with their visit counts, sorted by
    ``order_by`` (field names, "-" for descending; "status_order" sorts by status: enrolled,
    infused, withdrawn). An empty date or dose comes last either way. Counting them is one
    query that reads no visit; a page of them is one query."""
    participants = participants_visible_to(user)
    if search:
        participants = participants.filter(participant_id__icontains=search)
    if site:
        participants = participants.filter(site__code=site)
    if status in PARTICIPANT_STATUSES:
        participants = participants.filter(PARTICIPANT_STATUSES[status][1])
    if dose is not None:
        participants = participants.filter(dose_cells_per_kg=dose)
    visits = (
        Visit.objects.filter(participant=OuterRef("pk"))
        .order_by()
        .values("participant")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return participants.annotate(
        visit_count=Coalesce(Subquery(visits), 0),
        status_order=Case(
            When(withdrawal_date__isnull=False, then=Value(2)),
            When(infusion_date__isnull=False, then=Value(1)),
            default=Value(0),
        ),
    ).order_by(*nulls_last(order_by))


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


@dataclass(frozen=True)
class FirstRows(Generic[Row]):
    """The first rows of a list Home shows, and how many the whole list holds."""

    rows: list[Row]
    total: int

    @property
    def more(self) -> int:
        """How many rows the panel does not show."""
        return self.total - len(self.rows)


class ScheduleAlerts(Sequence[ScheduleAlert]):
    """The scheduled visits due now or missed, due ones first, then by the end of their window
    (then by participant ID and the schedule's order), read a slice at a time: ``len()`` is one
    query, a slice three (the participant and visit pairs, their participants, their visits),
    whatever the cohort's size."""

    def __init__(self, pairs: QuerySet[Any], today: date) -> None:
        self._pairs = pairs
        self._today = today
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self._pairs.count()
        return self._count

    @overload
    def __getitem__(self, index: int) -> ScheduleAlert: ...

    @overload
    def __getitem__(self, index: slice) -> list[ScheduleAlert]: ...

    def __getitem__(self, index: int | slice) -> ScheduleAlert | list[ScheduleAlert]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        return self._alerts(list(self._pairs[index]))

    def __iter__(self) -> Iterator[ScheduleAlert]:
        return iter(self[:])

    def first(self, limit: int) -> FirstRows[ScheduleAlert]:
        """Return the first ``limit`` alerts and how many there are: three queries."""
        rows = list(self._pairs.annotate(list_total=Window(Count("*")))[:limit])
        return FirstRows(
            rows=self._alerts([(participant, definition) for participant, definition, _ in rows]),
            total=rows[0][2] if rows else 0,
        )

    def _alerts(self, pairs: list[tuple[int, int]]) -> list[ScheduleAlert]:
        """Turn (participant, visit definition) keys into alerts: two queries."""
        participants = Participant.objects.in_bulk({participant for participant, _ in pairs})
        definitions = VisitDefinition.objects.in_bulk({definition for _, definition in pairs})
        alerts = []
        for participant_pk, definition_pk in pairs:
            participant = participants[participant_pk]
            definition = definitions[definition_pk]
            window = window_dates(participant, definition)
            if window is None:  # never: the query asked for an infusion date and a window
                continue
            alerts.append(
                ScheduleAlert(
                    participant=participant,
                    definition=definition,
                    status=window_status(participant, definition, None, self._today),
                    window_start=window[0],
                    window_end=window[1],
                )
            )
        return alerts


def schedule_alerts(user: User, today: date) -> ScheduleAlerts:
    """List the scheduled visits due now or missed, for infused participants still on study:
    each visit of the participant's schedule neither recorded nor recorded as missed whose
    window has opened (``window_status`` says due or overdue), chosen and sorted in the
    database."""
    today_number = (today - DAY_ZERO).days
    recorded = Visit.objects.filter(
        participant=OuterRef("pk"), visit_definition=OuterRef("definition_pk")
    )
    missed = MissedVisit.objects.filter(
        participant=OuterRef("pk"), visit_definition=OuterRef("definition_pk")
    )
    pairs = (
        participants_visible_to(user)
        .filter(infusion_date__isnull=False, withdrawal_date__isnull=True)
        .annotate(
            scheduled=FilteredRelation(
                "study__visit_definitions",
                condition=Q(study__visit_definitions__repeatable=False),
            )
        )
        .annotate(
            definition_pk=F("scheduled__pk"),
            window_start_day=DayNumber("infusion_date") + F("scheduled__window_low"),
            window_end_day=DayNumber("infusion_date") + F("scheduled__window_high"),
        )
        .filter(window_start_day__lte=today_number, window_end_day__isnull=False)
        .exclude(Exists(recorded))
        .exclude(Exists(missed))
        .annotate(overdue=Case(When(window_end_day__lt=today_number, then=1), default=0))
        .order_by("overdue", "window_end_day", "participant_id", "scheduled__order")
        .values_list("pk", "definition_pk")
    )
    return ScheduleAlerts(pairs, today)


def out_of_window_visits(user: User) -> QuerySet[Visit]:
    """List the recorded visits that fell outside their window (protocol deviations), newest
    first: the scheduled visits of infused participants whose study day is before or after
    their window (``Visit.in_window`` is False), chosen in the database."""
    return (
        visits_visible_to(user)
        .filter(visit_definition__repeatable=False, participant__infusion_date__isnull=False)
        .alias(day_of_study=visit_study_day())
        .filter(
            Q(day_of_study__lt=F("visit_definition__window_low"))
            | Q(day_of_study__gt=F("visit_definition__window_high"))
        )
        .order_by("-visit_date", "participant__participant_id", "visit_definition__order", "pk")
    )


def incomplete_visits(user: User) -> QuerySet[Visit]:
    """List the visits whose data entry is still in progress, oldest first."""
    return (
        visits_visible_to(user)
        .filter(entry_status=EntryStatus.IN_PROGRESS)
        .order_by("visit_date", "participant__participant_id", "visit_definition__order", "pk")
    )


def first_rows(rows: QuerySet[Any] | ScheduleAlerts, limit: int) -> FirstRows[Any]:
    """Return the first ``limit`` rows and how many there are, in one query (the total counted
    by the database beside the rows)."""
    if isinstance(rows, ScheduleAlerts):
        return rows.first(limit)
    first = list(rows.annotate(list_total=Window(Count("*")))[:limit])
    return FirstRows(rows=first, total=first[0].list_total if first else 0)


@dataclass(frozen=True)
class ChangedRecords:
    """Records one save changed the same way ("created", "changed"), by what people call them."""

    kind: StrOrPromise
    names: tuple[StrOrPromise, ...]


@dataclass(frozen=True)
class RecentChange:
    """One save: the audited rows one user wrote for one participant (and visit) with one reason
    within ONE_SAVE, such as a visit's SLEDAI-2K, PGA, BILAG-2004 and labs saved together."""

    when: datetime
    who: StrOrPromise
    reason: str
    participant_id: str
    #: The participant's primary key, for the link to their page (None: no participant).
    participant_pk: int | None
    visit: Visit | None
    records: tuple[ChangedRecords, ...]


HISTORY_KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}
#: The history rows of one save are written in one transaction, within moments of each other
#: (django-simple-history stamps each row when it is written and keeps no transaction id).
ONE_SAVE = timedelta(seconds=2)
#: History rows read per audited kind of record for each change shown: a save of a visit's
#: entry writes one row per record (visit, SLEDAI-2K, PGA, BILAG-2004, labs, answers not done).
ROWS_PER_CHANGE = 10
#: How much deeper the histories are read, once, after a burst of saves.
DEEPER_READ = 10


@dataclass(frozen=True)
class _Head:
    """What recent_changes reads of a history row to tell the saves apart; the rest of a row is
    read only when it is shown (a name made from the record's values)."""

    history_id: int
    history_date: datetime
    history_user_id: int | None
    history_change_reason: str | None
    history_type: str
    #: The visit the row is about, and the participant it names itself (None: none).
    visit: int | None
    participant: int | None
    source: AuditSource


_HEAD_COLUMNS = (
    "history_id",
    "history_date",
    "history_user_id",
    "history_change_reason",
    "history_type",
)


@dataclass
class _Save:
    """The history rows of one save, newest first, while they are gathered."""

    when: datetime
    user_id: int | None
    reason: str
    participant_pk: int | None
    visit_pk: int | None
    rows: list[_Head] = field(default_factory=list)


def recent_changes(user: User, limit: int = 10) -> list[RecentChange]:
    """Return the latest saves that changed the participants of the user's sites, newest first,
    each save one change however many audited rows it wrote: every record the audit trail reads
    (trialsite.history.trial_data_sources), deleted visits included. A fixed number of queries:
    one to three per kind of record for the rows' heads, one per kind whose shown rows are named
    by their values, one for the participants of the rows' visits, and one each for the users,
    the visits and the participants named."""
    sources = trial_data_sources(participants_visible_to(user).values("pk"), user)
    heads = _latest_history_heads(sources, limit)
    # The participant of each row's visit tells the saves apart: read as numbers, not visits
    # (after a burst, thousands of rows); a deleted visit's participant is named by the
    # visit's own history rows. Only the visits of the saves shown are read whole, below.
    visit_participants = {
        head.visit: head.participant
        for head in heads
        if head.visit is not None and head.participant is not None
    }
    visit_participants.update(
        Visit.objects.filter(pk__in={head.visit for head in heads} - {None})
        .order_by()
        .values_list("pk", "participant_id")
    )
    saves: list[_Save] = []
    open_saves: dict[tuple[object, ...], _Save] = {}
    for head in heads:
        participant_pk = _participant_pk(head, visit_participants)
        reason = head.history_change_reason or ""
        key = (head.history_user_id, participant_pk, head.visit, reason)
        save = open_saves.get(key)
        if save is None or save.when - head.history_date > ONE_SAVE:
            if len(saves) == limit:  # older rows may still belong to the saves kept
                continue
            save = _Save(
                head.history_date, head.history_user_id, reason, participant_pk, head.visit
            )
            saves.append(save)
            open_saves[key] = save
        save.rows.append(head)
    names = _row_names([head for save in saves for head in save.rows])
    visits = Visit.objects.select_related("participant", "visit_definition").in_bulk(
        {save.visit_pk for save in saves} - {None}
    )
    users = User.objects.in_bulk({save.user_id for save in saves} - {None})
    participant_ids: dict[int | None, str] = dict(
        Participant.objects.filter(
            pk__in={save.participant_pk for save in saves} - {None}
        ).values_list("pk", "participant_id")
    )
    return [
        RecentChange(
            when=save.when,
            who=users[save.user_id].get_username() if save.user_id in users else _("system"),
            reason=save.reason,
            participant_id=participant_ids.get(save.participant_pk, ""),
            participant_pk=save.participant_pk if save.participant_pk in participant_ids else None,
            visit=visits.get(save.visit_pk) if save.visit_pk is not None else None,
            records=_changed_records(save.rows, names),
        )
        for save in saves
    ]


def _row_names(heads: list[_Head]) -> dict[tuple[int, int], StrOrPromise]:
    """Name each of these rows by its source: a source whose names are made from the record's
    values reads the rows shown, one query per such source."""
    names: dict[tuple[int, int], StrOrPromise] = {}
    wanted: dict[int, tuple[AuditSource, list[int]]] = {}
    for head in heads:
        what = head.source.what
        if callable(what):
            wanted.setdefault(id(head.source), (head.source, []))[1].append(head.history_id)
        else:
            names[_row_key(head)] = what
    for source_id, (source, history_ids) in wanted.items():
        what = cast(Callable[[Version], str], source.what)
        for version in source.history.filter(history_id__in=history_ids).values():
            names[source_id, version["history_id"]] = what(version)
    return names


def _row_key(head: _Head) -> tuple[int, int]:
    """Key a history row by its source and its id (each history table numbers its own rows)."""
    return id(head.source), head.history_id


def _changed_records(
    heads: list[_Head], names: Mapping[tuple[int, int], StrOrPromise]
) -> tuple[ChangedRecords, ...]:
    """Name a save's records by kind, oldest first (a visit is created before its SLEDAI-2K),
    each name once."""
    by_kind: dict[str, list[StrOrPromise]] = {}
    kinds: dict[str, StrOrPromise] = {}
    for head in reversed(heads):
        kind, name = HISTORY_KINDS[head.history_type], names[_row_key(head)]
        kinds.setdefault(str(kind), kind)
        if str(name) not in map(str, by_kind.setdefault(str(kind), [])):
            by_kind[str(kind)].append(name)
    return tuple(ChangedRecords(kind=kinds[key], names=tuple(by_kind[key])) for key in kinds)


def _latest_history_heads(sources: list[AuditSource], limit: int) -> list[_Head]:
    """Read the heads of the history rows of the ``limit`` newest saves, newest first, among
    rows of older saves read on the way.

    Each history's ``limit`` x ROWS_PER_CHANGE newest rows are read first. A history holding
    that many may hold older rows: every row newer than the oldest row read of any such
    history (the bound) is read, so the saves whose newest row is newer than the bound are
    known, and the newest ``limit`` of them are the newest saves. Their rows at or before the
    bound are then read by what they are about (their visit or participant), one query per
    history read to its bound. When fewer than ``limit`` saves are newer than the bound (many
    rows of a few saves), the histories read to their bound are read once more, ten times
    deeper, first. A history holding more rows of the newest saves than a read takes is taken
    as read: one of those saves may then list fewer kinds of record than it wrote.
    """
    per_source = limit * ROWS_PER_CHANGE
    found = [_heads(source, per_source) for source in sources]
    while True:
        bounded = [number for number, rows in enumerate(found) if len(rows) == per_source]
        heads = _newest_first(found)
        if not bounded:
            return heads  # every history read whole
        bound = max(found[number][-1].history_date for number in bounded)
        newest = _newest_saves(heads, bound, limit)
        if len(newest) == limit or per_source >= limit * ROWS_PER_CHANGE * DEEPER_READ:
            break
        per_source *= DEEPER_READ
        for number in bounded:
            found[number] = _heads(sources[number], per_source)
    about = _RowsAbout(newest)
    read = {(id(head.source), head.history_id) for head in heads}
    rest = [
        [
            head
            for head in _heads(sources[number], per_source, about.rows_of(sources[number]), bound)
            if (id(head.source), head.history_id) not in read
        ]
        for number in bounded
    ]
    return _newest_first([heads, *rest])


def _newest_first(rows: Iterable[list[_Head]]) -> list[_Head]:
    return sorted(
        (head for some in rows for head in some), key=lambda head: head.history_date, reverse=True
    )


#: What a save is about: ("visit", its id), or ("participant", its id) for a participant's own
#: records. recent_changes tells saves apart by participant and visit, and a visit has one
#: participant: as finely, or (a deleted visit whose participant is not known) more finely.
About = tuple[str, int | None]
#: A save's author, reason and what it is about: its rows are within ONE_SAVE of its newest.
SaveKey = tuple[int | None, str, About]


def _save_key(head: _Head) -> SaveKey:
    about = ("visit", head.visit) if head.visit is not None else ("participant", head.participant)
    return head.history_user_id, head.history_change_reason or "", about


def _newest_saves(heads: list[_Head], bound: datetime, limit: int) -> list[SaveKey]:
    """Return the keys of the ``limit`` newest saves whose newest row is newer than ``bound``,
    newest first (fewer if there are fewer), from these rows, newest first. A save holds the
    rows of its key within ONE_SAVE of its newest row, as in recent_changes."""
    newest: list[SaveKey] = []
    save_when: dict[SaveKey, datetime] = {}
    for head in heads:
        if head.history_date <= bound or len(newest) == limit:
            break
        key = _save_key(head)
        if key not in save_when or save_when[key] - head.history_date > ONE_SAVE:
            newest.append(key)
            save_when[key] = head.history_date
    return newest


class _RowsAbout:
    """The rows of each history about what some saves are about: their visits, and the
    participants of those about a participant's own records."""

    def __init__(self, saves: list[SaveKey]) -> None:
        self.visits = {about_id for _user, _reason, (kind, about_id) in saves if kind == "visit"}
        self.participants = {
            about_id for _user, _reason, (kind, about_id) in saves if kind == "participant"
        }

    def rows_of(self, source: AuditSource) -> Q:
        """Select a history's rows about these visits, or about these participants and no
        visit (every history of a participant's records names one or the other)."""
        rows = Q(pk__in=[])  # none, but those named below
        if source.visit:
            rows |= Q(**{f"{source.visit}__in": self.visits})
        if source.participant:
            participants = Q(**{f"{source.participant}__in": self.participants})
            if source.visit:
                participants &= Q(**{f"{source.visit}__isnull": True})
            rows |= participants
        return rows


def _heads(
    source: AuditSource, count: int, rows: Q | None = None, before: datetime | None = None
) -> list[_Head]:
    """Read the heads of a source's ``count`` newest history rows, newest first: of the rows
    ``rows`` selects, at or before ``before``, if given."""
    named = [attribute for attribute in (source.visit, source.participant) if attribute]
    history = source.history
    if rows is not None:
        history = history.filter(rows)
    if before is not None:
        history = history.filter(history_date__lte=before)
    read = history.order_by("-history_date").values_list(*_HEAD_COLUMNS, *named)[:count]
    heads = []
    for history_id, history_date, user_id, reason, kind, *ids in read:
        values = dict(zip(named, ids, strict=True))
        heads.append(
            _Head(
                history_id,
                history_date,
                user_id,
                reason,
                kind,
                visit=values[source.visit] if source.visit else None,
                participant=values[source.participant] if source.participant else None,
                source=source,
            )
        )
    return heads


def _participant_pk(head: _Head, visit_participants: Mapping[int, int]) -> int | None:
    """Return the primary key of the participant a history row is about: its visit's
    participant (``visit_participants``), else the participant it names."""
    if head.visit is not None and head.visit in visit_participants:
        return visit_participants[head.visit]
    return head.participant


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


@dataclass(frozen=True)
class BaselineComparison:
    """A visit's comparison with baseline (SRI-4/5/6, BICLA) with the stored values behind it:
    SLEDAI-2K and PGA at baseline and at the visit, and the limits of the endpoint
    (clinical-rules.md sections 4 and 5)."""

    result: EndpointResult
    baseline_code: str
    baseline_sledai: int | None
    visit_sledai: int | None
    baseline_pga: Decimal | None
    visit_pga: Decimal | None
    #: SRI-X's X, the fall of SLEDAI-2K needed; None for BICLA (SLEDAI-2K must not rise).
    sledai_fall_needed: int | None
    #: The limits every comparison shares (responses.scoring.sri), for the page to show.
    pga_worsening: ClassVar[Decimal] = SRI_PGA_WORSENING
    max_new_bilag_a: ClassVar[int] = SRI_MAX_NEW_BILAG_A
    max_new_bilag_b: ClassVar[int] = SRI_MAX_NEW_BILAG_B

    @property
    def sledai_fall(self) -> int | None:
        """How far SLEDAI-2K fell (negative when it rose)."""
        change = self.result.sledai_change
        return -change if change is not None else None


def baseline_comparisons(visit: Visit, results: list[EndpointResult]) -> list[BaselineComparison]:
    """Return the visit's comparisons with baseline, each with the baseline's stored SLEDAI-2K
    total and PGA: one query (the baseline visit), none without a comparison. The visit comes
    with its participant's study, and its score and PGA loaded."""
    if not results:
        return []
    baseline = (
        Visit.objects.filter(
            participant_id=visit.participant_id,
            visit_definition_id=visit.participant.study.baseline_visit_id,
        )
        .select_related("visit_definition", "score", "pga")
        .first()
    )
    baseline_score = getattr(baseline, "score", None)
    baseline_pga = getattr(baseline, "pga", None)
    visit_score = getattr(visit, "score", None)
    visit_pga = getattr(visit, "pga", None)
    return [
        BaselineComparison(
            result=result,
            baseline_code=baseline.visit_definition.code if baseline is not None else "",
            baseline_sledai=baseline_score.sledai_total if baseline_score is not None else None,
            visit_sledai=visit_score.sledai_total if visit_score is not None else None,
            baseline_pga=baseline_pga.score if baseline_pga is not None else None,
            visit_pga=visit_pga.score if visit_pga is not None else None,
            sledai_fall_needed=SRI_ENDPOINT_THRESHOLDS.get(Endpoint(result.endpoint)),
        )
        for result in results
    ]


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


def record_status_participants(
    user: User, *, study: Study, site: str = ""
) -> QuerySet[Participant]:
    """Return the participants of the record status dashboard, by participant ID, with what
    their rows need (``record_status_rows``), read for the page shown only."""
    participants = participants_visible_to(user).filter(study=study)
    if site:
        participants = participants.filter(site__code=site)
    return participants.order_by("participant_id", "pk").prefetch_related(
        Prefetch(
            "visits",
            queryset=with_record_status(Visit.objects.select_related("visit_definition")).order_by(
                "visit_date", "occurrence"
            ),
        ),
        "missed_visits",
    )


def record_status_definitions(study: Study) -> list[VisitDefinition]:
    """Return the scheduled visits of the study, the dashboard's columns."""
    return list(study.visit_definitions.filter(repeatable=False).order_by("order"))


def record_status_rows(
    participants: Iterable[Participant], definitions: Sequence[VisitDefinition]
) -> list[StatusRow]:
    """Return a row of cells for each participant of ``record_status_participants``."""
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
    return rows


def record_status_grid(user: User, *, site: str = "") -> RecordStatusGrid:
    """Return the participants of the user's sites (or of one of them) by their scheduled visits,
    each cell with the visit's status, and their unscheduled visits. A fixed number of queries;
    the dashboard shows them a page at a time (``record_status_participants``)."""
    study = current_study()
    definitions = record_status_definitions(study)
    participants = record_status_participants(user, study=study, site=site)
    return RecordStatusGrid(definitions, record_status_rows(participants, definitions))


def record_status_counts(
    participants: QuerySet[Participant],
    definitions: Sequence[VisitDefinition],
    *,
    participant_count: int,
) -> dict[VisitStatus, int]:
    """Count the scheduled cells of each status over all these participants (the dashboard's
    legend, whatever page it shows; ``participant_count`` is how many they are), in the
    database: one query."""
    in_force = VisitSignOff.objects.filter(visit=OuterRef("pk"), voided_at__isnull=True)
    status = Case(
        *(
            When(Exists(in_force.filter(kind=kind)), then=Value(kind))
            for kind in reversed(SignOffKind.values)
        ),
        When(entry_status=EntryStatus.COMPLETE, then=Value(VisitStatus.COMPLETE.value)),
        default=Value(VisitStatus.IN_PROGRESS.value),
    )
    shown = participants.values("pk")
    by_status = (
        Visit.objects.filter(participant__in=shown, visit_definition__in=definitions)
        .order_by()
        .annotate(status=status)
        .values("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    # A visit recorded as missed that took place anyway (which the services refuse) counts once.
    missed = (
        MissedVisit.objects.filter(participant__in=shown, visit_definition__in=definitions)
        .exclude(
            Exists(
                Visit.objects.filter(
                    participant=OuterRef("participant"),
                    visit_definition=OuterRef("visit_definition"),
                )
            )
        )
        .order_by()
        .annotate(status=Value(VisitStatus.MISSED.value))
        .values("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    counts = dict.fromkeys(VisitStatus, 0)
    for found, count in by_status.union(missed, all=True):
        counts[VisitStatus(found)] += count
    recorded = sum(counts.values())
    counts[VisitStatus.NOT_STARTED] = participant_count * len(definitions) - recorded
    return counts
