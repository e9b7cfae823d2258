"""The audit trail as people read it: who changed what, when, why, from what to what.

A visit's page shows its own trail (``visit_changes``), a participant's changes page theirs
(trialsite.audit_export.audit_lines); the data manager's export
(trialsite.audit_export) reads every audited record of the trial through ``trial_data_sources``
and ``administration_sources``. Each version is compared with the previous version of its row,
which the database hands over beside it (a window over the row's history), so a history of any
size is read in chunks, never held in memory whole. A history that keeps a snapshot of a
many-to-many field with each version (a user's roles, a role's permissions: ``RelatedSet``) is
compared on it too, the snapshots read beside the versions.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import (
    DecimalField,
    F,
    Field,
    Model,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Lag
from django.utils.translation import gettext_lazy as _
from simple_history.utils import get_history_manager_for_model

from medications.models import MedicationCourse
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, TreatmentRecord
from trialsite.i18n import StrOrPromise
from trialsite.models import (
    VIEW_QUERIES,
    VISIT_RECORD_MODELS,
    BilagAssessment,
    DataQuery,
    LabResult,
    MissedVisit,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    QueryMessage,
    RecordSignOff,
    Site,
    SiteMembership,
    SledaiAssessment,
    Study,
    StudyDoseLevel,
    Visit,
    VisitDefinition,
    VisitSignOff,
    dose_label,
    queried_record_kind,
    query_about,
)
from trialsite.records import of_kinds_seen, record_kinds, view_permission

SAME_SAVE = timedelta(seconds=5)
NOT_RECORDED = _("not recorded")
#: History rows read from the database at a time, per history: the export reads a dozen at
#: once, so this bounds what it holds in memory.
HISTORY_CHUNK = 500


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditEntry:
    when: datetime
    who: str
    reason: str
    what: str
    kind: str
    changes: list[FieldChange]
    history_id: int = 0
    latest_save: bool = False


#: What people call a row of a history ("PGA", "visit"), or a function naming one version of it.
RowName = StrOrPromise | Callable[[Any], str]
#: The audit history of one kind of row, with what people call it.
HistorySource = tuple[QuerySet, RowName]


def _deleted_name(model: type[Model], pk: object) -> str:
    """Name a row deleted since a version pointed to it: what it was, and its id."""
    return str(_("deleted %(record)s (id %(id)s)") % {"record": model._meta.verbose_name, "id": pk})


class _RelatedNames:
    """Name the rows a version points to (a site, a visit definition) as pages do: one query
    per row named, however many versions name it; a row deleted since keeps its id."""

    def __init__(self) -> None:
        self.names: dict[tuple[type[Model], object], str] = {}

    def __call__(self, model: type[Model], pk: object) -> str:
        if (model, pk) not in self.names:
            row = model._default_manager.filter(pk=pk).first()
            self.names[(model, pk)] = str(row) if row is not None else _deleted_name(model, pk)
        return self.names[(model, pk)]


def _display(record: Any, field: str, related_names: _RelatedNames) -> str:
    meta = record._meta.get_field(field)
    if meta.is_relation:
        pk = getattr(record, meta.attname)
        return str(NOT_RECORDED) if pk is None else related_names(meta.related_model, pk)
    value = getattr(record, field)
    if value is None or value == "":
        return str(NOT_RECORDED)
    if isinstance(value, bool):
        if issubclass(record.instance_type, SledaiAssessment):
            return str(_("present") if value else _("absent"))
        return str(_("yes") if value else _("no"))
    if isinstance(value, datetime):  # a time the server stamped (a sign-off voided)
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    display = getattr(record, f"get_{field}_display", None)
    return str(display()) if display is not None else str(value)


def _compared_fields(history_model: Any) -> list[Field]:
    """Return the fields a version is compared on (those simple_history's diff compares)."""
    return [field for field in history_model.tracked_fields if field.editable]


def _with_previous_version(history: QuerySet, fields: list[Field]) -> QuerySet:
    """Annotate each version with the history id and the values of the previous version of
    the same row (by history id), None for a row's first version."""
    row = F(history.model.instance_type._meta.pk.attname)

    def previous(column: str) -> Window:
        return Window(Lag(column), partition_by=[row], order_by=F("history_id").asc())

    return history.annotate(
        previous_history_id=previous("history_id"),
        **{f"previous_{field.attname}": previous(field.attname) for field in fields},
    )


def _as_stored(field: Field, value: object) -> object:
    # SQLite hands a window's decimal over unquantized (1.5); its column gives 1.50.
    if isinstance(value, Decimal) and isinstance(field, DecimalField):
        return value.quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


def _previous_version(record: Any, fields: list[Field]) -> Any | None:
    """Rebuild the previous version of a record's row from the values annotated beside it."""
    if record.previous_history_id is None:
        return None
    return type(record)(
        history_id=record.previous_history_id,
        **{
            field.attname: _as_stored(field, getattr(record, f"previous_{field.attname}"))
            for field in fields
        },
    )


@dataclass(frozen=True)
class RelatedSet:
    """A many-to-many field whose history keeps a snapshot with each version (simple_history's
    ``m2m_fields``), compared as one field: the sorted names of the rows it holds."""

    field: str
    label: StrOrPromise
    #: The attribute that names a related row (a role's name, a permission's codename).
    name: str


class _Snapshots:
    """The snapshots of a history's related sets, read with prefetching (one query per chunk of
    versions and set). The snapshot of the previous version of a row is the one remembered from
    that version, read before it; only the last version of each row is remembered."""

    def __init__(self, history_model: Any, related_sets: tuple[RelatedSet, ...]) -> None:
        self.related_sets = related_sets
        #: The model of each set's snapshot rows, and the attribute naming their related row.
        self.rows: dict[str, Any] = {}
        self.targets: dict[str, str] = {}
        for related in related_sets:
            field = next(f for f in history_model._history_m2m_fields if f.name == related.field)
            self.rows[related.field] = getattr(history_model, related.field).model
            self.targets[related.field] = field.m2m_reverse_field_name()
        self.seen: dict[int, dict[str, str]] = {}

    def prefetches(self) -> list[Prefetch]:
        return [
            Prefetch(
                rows._meta.get_field("history").remote_field.get_accessor_name(),
                queryset=rows.objects.select_related(self.targets[field]),
                to_attr=f"snapshot_{field}",
            )
            for field, rows in self.rows.items()
        ]

    def _names(self, related: RelatedSet, rows: list[Any]) -> str:
        target = self.targets[related.field]
        names = []
        for row in rows:
            pointed = getattr(row, target)
            names.append(
                str(getattr(pointed, related.name))
                if pointed is not None
                else _deleted_name(
                    row._meta.get_field(target).related_model, getattr(row, f"{target}_id")
                )
            )
        return ", ".join(sorted(names)) or str(_("none"))

    def _of_previous(self, record: Any) -> dict[str, str]:
        previous = self.seen.pop(record.previous_history_id, None)
        if previous is None:  # read out of history id order (a clock set back): read it again
            previous = {
                related.field: self._names(
                    related,
                    list(
                        self.rows[related.field]
                        .objects.filter(history_id=record.previous_history_id)
                        .select_related(self.targets[related.field])
                    ),
                )
                for related in self.related_sets
            }
        return previous

    def changes(self, record: Any) -> list[FieldChange]:
        """Return the changes of the record's related sets since its previous version (none
        for a first version), and remember its snapshot for its next version."""
        if not self.related_sets:
            return []
        now = {
            related.field: self._names(related, getattr(record, f"snapshot_{related.field}"))
            for related in self.related_sets
        }
        self.seen[record.history_id] = now
        if record.previous_history_id is None:
            return []
        before = self._of_previous(record)
        return [
            FieldChange(field=str(related.label), old=before[related.field], new=now[related.field])
            for related in self.related_sets
            if before[related.field] != now[related.field]
        ]


def _steps_merged(
    versions_: Iterator[tuple[Any, AuditEntry]], labels: set[str]
) -> Iterator[tuple[Any, AuditEntry]]:
    """Merge consecutive versions of one row that change only its related sets, by the same
    author for the same reason within SAME_SAVE, into the last of them: the admin replaces a
    user's roles in steps (the old ones go, then the new come), each step a version, and the
    trail shows the replacement. A replacement that changed nothing is left out."""
    pending: tuple[Any, AuditEntry] | None = None
    for record, entry in versions_:
        if pending is not None and _steps_of_one_save(pending, (record, entry), labels):
            steps = [*pending[1].changes, *entry.changes]
            olds: dict[str, str] = {}
            news: dict[str, str] = {}
            for change in steps:
                olds.setdefault(change.field, change.old)
                news[change.field] = change.new
            changes = [
                FieldChange(field=field, old=old, new=news[field])
                for field, old in olds.items()
                if old != news[field]
            ]
            pending = (record, replace(entry, changes=changes)) if changes else None
            continue
        if pending is not None:
            yield pending
        pending = (record, entry)
    if pending is not None:
        yield pending


def _steps_of_one_save(
    first: tuple[Any, AuditEntry], then: tuple[Any, AuditEntry], labels: set[str]
) -> bool:
    (record, entry), (next_record, next_entry) = first, then
    row = record.instance_type._meta.pk.attname
    return (
        record.history_type == next_record.history_type == "~"
        and getattr(record, row) == getattr(next_record, row)
        and record.history_user_id == next_record.history_user_id
        and entry.reason == next_entry.reason
        and next_entry.when - entry.when <= SAME_SAVE
        and bool(entry.changes)
        and bool(next_entry.changes)
        and all(change.field in labels for change in [*entry.changes, *next_entry.changes])
    )


def versions(
    history: QuerySet, what: RowName, related_sets: tuple[RelatedSet, ...] = ()
) -> Iterator[tuple[Any, AuditEntry]]:
    """Yield the versions of one history in time order, each with its audit entry (compared
    with the previous version of the same row); saves that changed nothing are left out. A
    change whose previous version was never recorded (rows created by a data migration) is
    kept, without details. The history is read in chunks, in one query (plus one per chunk and
    related set, and one per related row a change names, such as a new site). The entries'
    words are in the language active when the iteration starts."""
    versions_ = _versions(history, what, related_sets)
    if related_sets:
        versions_ = _steps_merged(versions_, {str(related.label) for related in related_sets})
    yield from versions_


def _versions(
    history: QuerySet, what: RowName, related_sets: tuple[RelatedSet, ...]
) -> Iterator[tuple[Any, AuditEntry]]:
    fields = _compared_fields(history.model)
    related_names = _RelatedNames()
    snapshots = _Snapshots(history.model, related_sets)
    kinds = {"+": str(_("entered")), "~": str(_("changed")), "-": str(_("deleted"))}
    name_of = what if callable(what) else _fixed_name(str(what))
    records = (
        _with_previous_version(history, fields)
        # The author's name alone: not a user object for each version.
        .annotate(author_username=F(f"history_user__{User.USERNAME_FIELD}"))
        .prefetch_related(*snapshots.prefetches())
        .order_by("history_date", "history_id")
    )
    for record in records.iterator(chunk_size=HISTORY_CHUNK):
        previous = _previous_version(record, fields)
        changes = []
        if previous is not None:
            changes = [
                FieldChange(
                    field=str(record._meta.get_field(change.field).verbose_name),
                    old=_display(previous, change.field, related_names),
                    new=_display(record, change.field, related_names),
                )
                for change in record.diff_against(
                    previous, included_fields=[field.name for field in fields]
                ).changes
            ]
        changes += snapshots.changes(record)
        if record.history_type != "~" or changes or previous is None:
            yield (
                record,
                AuditEntry(
                    when=record.history_date,
                    who=record.author_username or "",
                    reason=record.history_change_reason or "",
                    what=name_of(record),
                    kind=kinds[record.history_type],
                    changes=changes,
                    history_id=record.history_id,
                ),
            )


def _fixed_name(name: str) -> Callable[[Any], str]:
    """Name every row of a history alike."""
    return lambda _record: name


def entries(history: QuerySet, what: RowName) -> list[AuditEntry]:
    """Return the audit entries of one history, oldest first (see ``versions``)."""
    return [entry for _record, entry in versions(history, what)]


def _not_done_name(record: Any) -> str:
    return _("%(answer)s not done (%(reason)s)") % {
        "answer": record.get_answer_display(),
        "reason": record.reason,
    }


#: What the audit trail calls each kind of visit record (trialsite.models.VISIT_RECORD_MODELS).
RECORD_NAMES: dict[type, RowName] = {
    PgaAssessment: _("PGA"),
    SledaiAssessment: _("SLEDAI-2K"),
    BilagAssessment: _("BILAG-2004"),
    LabResult: _("labs"),
    NotDoneAnswer: _not_done_name,
}


def _sign_off_name(record: Any) -> str:
    return str(_("sign-off: %(step)s") % {"step": record.get_kind_display()})


def _record_sign_off_name(record: Any) -> str:
    kind = queried_record_kind(record.record_type_id)
    return str(
        _("sign-off: %(step)s of %(record)s %(id)s")
        % {
            "step": record.get_kind_display(),
            "record": kind.label if kind is not None else "",
            "id": record.record_id,
        }
    )


def _query_name(record: Any) -> str:
    return str(
        _("query Q%(id)s on %(field)s")
        % {"id": record.id, "field": query_about(record.field, record.record_type_id)}
    )


def _query_message_name(record: Any) -> str:
    return str(_("query Q%(id)s message") % {"id": record.query_id})


def _query_messages(query_ids: QuerySet) -> QuerySet:
    """Return the history of the messages of the queries whose ids ``query_ids`` holds, each
    version with the participant and the visit of its query (``query_participant_id``,
    ``query_visit_id``; a query never changes either)."""
    query = DataQuery.history.filter(id=OuterRef("query_id"))
    return QueryMessage.history.filter(query_id__in=query_ids).annotate(
        query_participant_id=Subquery(query.values("participant_id")[:1]),
        query_visit_id=Subquery(query.values("visit_id")[:1]),
    )


def visit_data_sources(visit_id: int) -> list[HistorySource]:
    """Return the histories of a visit's data: the visit, its assessments and labs, and its
    answers marked not done."""
    return [
        (Visit.history.filter(id=visit_id), _("visit")),
        *(
            (get_history_manager_for_model(model).filter(visit_id=visit_id), RECORD_NAMES[model])
            for model in VISIT_RECORD_MODELS
        ),
    ]


def visit_sources(visit_id: int, reader: User) -> list[HistorySource]:
    """Return the histories of a visit's data, of its sign-offs and, for a reader who may see
    queries, of its queries with their messages: the visit's audit trail as the reader sees
    its page."""
    sources = [
        *visit_data_sources(visit_id),
        (VisitSignOff.history.filter(visit_id=visit_id), _sign_off_name),
    ]
    if reader.has_perm(VIEW_QUERIES):
        queries = DataQuery.history.filter(visit_id=visit_id)
        sources += [
            (queries, _query_name),
            (_query_messages(queries.values("id")), _query_message_name),
        ]
    return sources


def visit_changes(visit: Visit, reader: User) -> list[AuditEntry]:
    """Return the visit's audit trail as the reader may see it (``visit_sources``), newest
    first; the entries of its last save are marked."""
    entries_ = sorted(
        (
            entry
            for history, what in visit_sources(visit.pk, reader)
            for entry in entries(history, what)
        ),
        key=lambda entry: entry.when,
        reverse=True,
    )
    if not entries_:
        return []
    newest = entries_[0]
    return [
        AuditEntry(**{**entry.__dict__, "latest_save": _same_save(entry, newest)})
        for entry in entries_
    ]


def _same_save(entry: AuditEntry, newest: AuditEntry) -> bool:
    return (
        entry.who == newest.who
        and entry.reason == newest.reason
        and newest.when - entry.when <= SAME_SAVE
    )


@dataclass(frozen=True)
class AuditSource:
    """The audit history of one kind of record and what people call it, with the attributes of
    a version that name its participant, its visit and the scheduled visit it stands for (a
    missed visit); None where the record has none."""

    history: QuerySet
    what: RowName
    #: The right a reader needs to see these versions beyond seeing the participant's site, that
    #: of the pages showing such records ("": none; the administration's histories are read
    #: only by those who see every site).
    permission: str = ""
    participant: str | None = None
    visit: str | None = None
    visit_definition: str | None = None
    related_sets: tuple[RelatedSet, ...] = ()


def trail_rights() -> list[str]:
    """Return the rights that decide which parts of the trial's audit trail a reader sees
    (trial_data_sources): that to see queries and those to see each kind of record beside the
    visits."""
    return sorted({VIEW_QUERIES, *(kind.view_permission for kind in record_kinds())})


def trial_data_sources(participant_ids: QuerySet, reader: User) -> list[AuditSource]:
    """Return the histories of the participants whose ids ``participant_ids`` (a values query)
    holds, as the reader may see them: their own records, their missed visits, their visits
    (deleted ones included), every record of those visits (VISIT_RECORD_MODELS), their
    sign-offs, and, each for a reader holding its right (AuditSource.permission), their queries,
    their CRS and ICANS episodes, their adverse events, their CAR-T treatment records and their
    medication courses. The queries on and sign-offs of a record the reader may not see are left
    out with it (trialsite.records.of_kinds_seen)."""
    visit_ids = Visit.history.filter(participant_id__in=participant_ids).values("id")
    queries = of_kinds_seen(DataQuery.history.filter(participant_id__in=participant_ids), reader)
    record_sign_offs = of_kinds_seen(
        RecordSignOff.history.filter(participant_id__in=participant_ids), reader
    )
    sources = [
        AuditSource(
            Participant.history.filter(id__in=participant_ids), _("participant"), participant="id"
        ),
        AuditSource(
            MissedVisit.history.filter(participant_id__in=participant_ids),
            _("missed visit"),
            participant="participant_id",
            visit_definition="visit_definition_id",
        ),
        AuditSource(
            Visit.history.filter(participant_id__in=participant_ids),
            _("visit"),
            participant="participant_id",
            visit="id",
        ),
        *(
            AuditSource(
                get_history_manager_for_model(model).filter(visit_id__in=visit_ids),
                RECORD_NAMES[model],
                visit="visit_id",
            )
            for model in VISIT_RECORD_MODELS
        ),
        AuditSource(
            VisitSignOff.history.filter(visit_id__in=visit_ids), _sign_off_name, visit="visit_id"
        ),
        AuditSource(
            record_sign_offs,
            _record_sign_off_name,
            participant="participant_id",
        ),
        AuditSource(
            queries, _query_name, VIEW_QUERIES, participant="participant_id", visit="visit_id"
        ),
        AuditSource(
            _query_messages(queries.values("id")),
            _query_message_name,
            VIEW_QUERIES,
            participant="query_participant_id",
            visit="query_visit_id",
        ),
        AuditSource(
            CrsEpisode.history.filter(participant_id__in=participant_ids),
            _crs_episode_name,
            view_permission(CrsEpisode),
            participant="participant_id",
        ),
        AuditSource(
            IcansEpisode.history.filter(participant_id__in=participant_ids),
            _icans_episode_name,
            view_permission(IcansEpisode),
            participant="participant_id",
        ),
        AuditSource(
            AdverseEvent.history.filter(participant_id__in=participant_ids),
            _adverse_event_name,
            view_permission(AdverseEvent),
            participant="participant_id",
        ),
        AuditSource(
            TreatmentRecord.history.filter(participant_id__in=participant_ids),
            _("CAR-T treatment record"),
            view_permission(TreatmentRecord),
            participant="participant_id",
        ),
        AuditSource(
            MedicationCourse.history.filter(participant_id__in=participant_ids),
            _medication_course_name,
            view_permission(MedicationCourse),
            participant="participant_id",
        ),
    ]
    return [
        source
        for source in sources
        if source.permission == "" or reader.has_perm(source.permission)
    ]


def _crs_episode_name(record: Any) -> str:
    return str(_("CRS episode from %(date)s") % {"date": record.onset_date.isoformat()})


def _icans_episode_name(record: Any) -> str:
    return str(_("ICANS episode from %(date)s") % {"date": record.onset_date.isoformat()})


def _adverse_event_name(record: Any) -> str:
    term = f"{record.term}: {record.term_specify}" if record.term_specify else record.term
    return str(
        _("adverse event %(term)s from %(date)s")
        % {"term": term, "date": record.start_date.isoformat()}
    )


def _medication_course_name(record: Any) -> str:
    return str(
        _("%(drug)s course from %(date)s")
        % {"drug": record.drug, "date": record.start_date.isoformat()}
    )


def _study_name(record: Any) -> str:
    return str(_("study %(protocol)s") % {"protocol": record.protocol_number})


def _visit_definition_name(record: Any) -> str:
    return str(_("visit schedule: %(code)s") % {"code": record.code})


def _dose_level_name(record: Any) -> str:
    return str(_("dose level: %(dose)s") % {"dose": dose_label(record.cells_per_kg)})


def _site_name(record: Any) -> str:
    return str(_("site %(code)s") % {"code": record.code})


def _site_membership_name(record: Any) -> str:
    return str(
        _("site membership: %(user)s @ %(site)s")
        % {
            "user": record.user.get_username() if record.user is not None else record.user_id,
            "site": record.site.code if record.site is not None else record.site_id,
        }
    )


def _user_name(record: Any) -> str:
    return str(_("user %(username)s") % {"username": record.username})


def _role_name(record: Any) -> str:
    return str(_("role %(name)s") % {"name": record.name})


def administration_sources() -> list[AuditSource]:
    """Return the histories of what administrators keep in admin: the study, its visit schedule
    and dose levels, the sites, who may see which site, the users with their roles and the roles
    with their permissions. Each version is named with the record it is of."""
    return [
        AuditSource(Study.history.all(), _study_name),
        AuditSource(VisitDefinition.history.all(), _visit_definition_name),
        AuditSource(StudyDoseLevel.history.all(), _dose_level_name),
        AuditSource(Site.history.all(), _site_name),
        AuditSource(SiteMembership.history.select_related("user", "site"), _site_membership_name),
        AuditSource(
            get_history_manager_for_model(User).all(),
            _user_name,
            related_sets=(RelatedSet("groups", _("roles"), "name"),),
        ),
        AuditSource(
            get_history_manager_for_model(Group).all(),
            _role_name,
            related_sets=(RelatedSet("permissions", _("permissions"), "codename"),),
        ),
    ]
