"""The audit trail as people read it: who changed what, when, why, from what to what.

A visit's page shows its own trail (``visit_changes``), a participant's changes page theirs
(trialsite.audit_export.audit_lines); the data manager's export
(trialsite.audit_export) reads every audited record of the trial through ``trial_data_sources``
and ``administration_sources``. Each version is compared with the previous version of its row:
the database names it beside the version (a window over the row's history), and the previous
versions of a chunk of versions are read by id together, so a history of any size is read in
chunks, never held in memory whole. Versions are read as values (a ``Version``, a dict of the
row's columns), not as model objects: the export reads every version of the trial. A history
that keeps a snapshot of a many-to-many field with each version (a user's roles, a role's
permissions: ``RelatedSet``) is compared on it too, the snapshots read a chunk at a time.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any, NamedTuple, cast

from django.contrib.auth.models import Group, User
from django.db.models import (
    F,
    Field,
    Model,
    OuterRef,
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


class AuditEntry(NamedTuple):
    """One version of an audited row as the trail shows it. A named tuple, not a frozen
    dataclass: one is built for each version of the whole trial, in half the time."""

    when: datetime
    who: str
    reason: str
    what: str
    kind: str
    changes: list[FieldChange]
    history_id: int = 0
    latest_save: bool = False


#: One version of an audited row as read: its columns by attribute name ("visit_id") and the
#: annotations of its history's query; ``versions`` adds the history id of the row's previous
#: version ("previous_history_id"; None: a first version) and the author's "author_username".
#: A name (RowName) reads only the row's columns and its own source's annotations.
Version = dict[str, Any]
#: What people call a row of a history ("PGA", "visit"), or a function naming one version of it.
RowName = StrOrPromise | Callable[[Version], str]
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


@cache
def _choices(model: type[Model], field: str) -> dict[object, object]:
    """Return the labels of a field's choices by value (their words translated when shown)."""
    return dict(cast(Field, model._meta.get_field(field)).flatchoices)


def _choice_label(model: type[Model], field: str, value: object) -> str:
    """Return what a field with choices shows for a value, as ``get_<field>_display`` does."""
    return str(_choices(model, field).get(value, value))


class _Shown:
    """Show a history's values as the audit trail does: labels of choices, names of the rows
    pointed to, present/absent for the SLEDAI-2K's descriptors, "not recorded" for a blank."""

    def __init__(self, history_model: Any, related_names: _RelatedNames) -> None:
        self.history_model = history_model
        self.related_names = related_names
        self.descriptors = issubclass(history_model.instance_type, SledaiAssessment)

    def __call__(self, field: Field, value: object) -> str:
        if field.is_relation:
            if value is None:
                return str(NOT_RECORDED)
            return self.related_names(cast(type[Model], field.related_model), value)
        if value is None or value == "":
            return str(NOT_RECORDED)
        if isinstance(value, bool):
            if self.descriptors:
                return str(_("present") if value else _("absent"))
            return str(_("yes") if value else _("no"))
        if isinstance(value, datetime):  # a time the server stamped (a sign-off voided)
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if field.choices:
            return _choice_label(self.history_model, field.name, value)
        return str(value)


def _compared_fields(history_model: Any) -> list[Field]:
    """Return the history's fields a version is compared on (those simple_history's diff
    compares), by name: the order its diff lists the changes in."""
    return sorted(
        (
            history_model._meta.get_field(field.name)
            for field in history_model.tracked_fields
            if field.editable
        ),
        key=lambda field: field.name,
    )


def _previous_versions(
    history_model: Any, chunk: list[Version], fields: list[Field]
) -> dict[int, Version]:
    """Read the previous versions of a chunk's versions, their compared columns by history id:
    one query, none for a chunk of first versions."""
    wanted = {version["previous_history_id"] for version in chunk} - {None}
    if not wanted:
        return {}
    rows = history_model._base_manager.filter(history_id__in=wanted)
    return {
        row["history_id"]: row for row in rows.values("history_id", *(f.attname for f in fields))
    }


def _field_changes(
    version: Version, previous: Version, fields: list[Field], shown: _Shown
) -> list[FieldChange]:
    """Return the fields a version changed since the previous version of its row, with the
    values before and after as the trail shows them."""
    changes = []
    for field in fields:
        old, new = previous[field.attname], version[field.attname]
        if old != new:
            changes.append(
                FieldChange(
                    field=str(field.verbose_name), old=shown(field, old), new=shown(field, new)
                )
            )
    return changes


@dataclass(frozen=True)
class RelatedSet:
    """A many-to-many field whose history keeps a snapshot with each version (simple_history's
    ``m2m_fields``), compared as one field: the sorted names of the rows it holds."""

    field: str
    label: StrOrPromise
    #: The attribute that names a related row (a role's name, a permission's codename).
    name: str


class _Snapshots:
    """The snapshots of a history's related sets, read a chunk of versions at a time (one query
    per chunk and set). The snapshot of the previous version of a row is the one remembered
    from that version, read before it; only the last version of each row is remembered."""

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
        #: The snapshot rows of each set of the chunk being read, by history id.
        self.chunk: dict[str, dict[int, list[Any]]] = {}

    def read(self, chunk: list[Version]) -> None:
        """Read the snapshots of a chunk of versions."""
        history_ids = [version["history_id"] for version in chunk]
        for related in self.related_sets:
            self.chunk[related.field] = {history_id: [] for history_id in history_ids}
            rows = self.rows[related.field].objects.filter(history_id__in=history_ids)
            for row in rows.select_related(self.targets[related.field]):
                self.chunk[related.field][row.history_id].append(row)

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

    def _of_previous(self, version: Version) -> dict[str, str]:
        previous = self.seen.pop(version["previous_history_id"], None)
        if previous is None:  # read out of history id order (a clock set back): read it again
            previous = {
                related.field: self._names(
                    related,
                    list(
                        self.rows[related.field]
                        .objects.filter(history_id=version["previous_history_id"])
                        .select_related(self.targets[related.field])
                    ),
                )
                for related in self.related_sets
            }
        return previous

    def changes(self, version: Version) -> list[FieldChange]:
        """Return the changes of the version's related sets since the previous version of its
        row (none for a first version), and remember its snapshot for its next version; its
        chunk was ``read`` first."""
        if not self.related_sets:
            return []
        now = {
            related.field: self._names(related, self.chunk[related.field][version["history_id"]])
            for related in self.related_sets
        }
        self.seen[version["history_id"]] = now
        if version["previous_history_id"] is None:
            return []
        before = self._of_previous(version)
        return [
            FieldChange(field=str(related.label), old=before[related.field], new=now[related.field])
            for related in self.related_sets
            if before[related.field] != now[related.field]
        ]


def _steps_merged(
    versions_: Iterator[tuple[Version, AuditEntry]], labels: set[str], row: str
) -> Iterator[tuple[Version, AuditEntry]]:
    """Merge consecutive versions of one row that change only its related sets, by the same
    author for the same reason within SAME_SAVE, into the last of them: the admin replaces a
    user's roles in steps (the old ones go, then the new come), each step a version, and the
    trail shows the replacement. A replacement that changed nothing is left out. ``row``: the
    column naming the row a version is of."""
    pending: tuple[Version, AuditEntry] | None = None
    for record, entry in versions_:
        if pending is not None and _steps_of_one_save(pending, (record, entry), labels, row):
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
            pending = (record, entry._replace(changes=changes)) if changes else None
            continue
        if pending is not None:
            yield pending
        pending = (record, entry)
    if pending is not None:
        yield pending


def _steps_of_one_save(
    first: tuple[Version, AuditEntry], then: tuple[Version, AuditEntry], labels: set[str], row: str
) -> bool:
    (record, entry), (next_record, next_entry) = first, then
    return (
        record["history_type"] == next_record["history_type"] == "~"
        and record[row] == next_record[row]
        and record["history_user_id"] == next_record["history_user_id"]
        and entry.reason == next_entry.reason
        and next_entry.when - entry.when <= SAME_SAVE
        and bool(entry.changes)
        and bool(next_entry.changes)
        and all(change.field in labels for change in [*entry.changes, *next_entry.changes])
    )


def versions(
    history: QuerySet, what: RowName, related_sets: tuple[RelatedSet, ...] = ()
) -> Iterator[tuple[Version, AuditEntry]]:
    """Yield the versions of one history in time order, each with its audit entry (compared
    with the previous version of the same row); saves that changed nothing are left out. A
    change whose previous version was never recorded (rows created by a data migration) is
    kept, without details. The history is read in chunks, in one query (plus one per chunk
    holding versions with a previous version, one per chunk and related set, and one per
    related row a change names, such as a new site). The entries' words are in the language
    active when the iteration starts."""
    versions_ = _versions(history, what, related_sets)
    if related_sets:
        row = history.model.instance_type._meta.pk.attname
        versions_ = _steps_merged(versions_, {str(related.label) for related in related_sets}, row)
    yield from versions_


def _chunks(versions_: Iterator[Version]) -> Iterator[list[Version]]:
    while chunk := list(islice(versions_, HISTORY_CHUNK)):
        yield chunk


def _versions(
    history: QuerySet, what: RowName, related_sets: tuple[RelatedSet, ...]
) -> Iterator[tuple[Version, AuditEntry]]:
    fields = _compared_fields(history.model)
    shown = _Shown(history.model, _RelatedNames())
    snapshots = _Snapshots(history.model, related_sets)
    kinds = {"+": str(_("entered")), "~": str(_("changed")), "-": str(_("deleted"))}
    name_of = what if callable(what) else _fixed_name(str(what))
    row = F(history.model.instance_type._meta.pk.attname)
    rows = (
        history.annotate(
            previous_history_id=Window(
                Lag("history_id"), partition_by=[row], order_by=F("history_id").asc()
            ),
            # The author's name alone: not a user object for each version.
            author_username=F(f"history_user__{User.USERNAME_FIELD}"),
        )
        .order_by("history_date", "history_id")
        .values()
    )
    for chunk in _chunks(rows.iterator(chunk_size=HISTORY_CHUNK)):
        previous_versions = _previous_versions(history.model, chunk, fields)
        snapshots.read(chunk)
        for version in chunk:
            previous = previous_versions.get(version["previous_history_id"])
            changes = [] if previous is None else _field_changes(version, previous, fields, shown)
            changes += snapshots.changes(version)
            if version["history_type"] != "~" or changes or previous is None:
                yield (
                    version,
                    AuditEntry(
                        when=version["history_date"],
                        who=version["author_username"] or "",
                        reason=version["history_change_reason"] or "",
                        what=name_of(version),
                        kind=kinds[version["history_type"]],
                        changes=changes,
                        history_id=version["history_id"],
                    ),
                )


def _fixed_name(name: str) -> Callable[[Version], str]:
    """Name every row of a history alike."""
    return lambda _record: name


def entries(history: QuerySet, what: RowName) -> list[AuditEntry]:
    """Return the audit entries of one history, oldest first (see ``versions``)."""
    return [entry for _record, entry in versions(history, what)]


def _not_done_name(version: Version) -> str:
    return _("%(answer)s not done (%(reason)s)") % {
        "answer": _choice_label(NotDoneAnswer, "answer", version["answer"]),
        "reason": version["reason"],
    }


#: What the audit trail calls each kind of visit record (trialsite.models.VISIT_RECORD_MODELS).
RECORD_NAMES: dict[type, RowName] = {
    PgaAssessment: _("PGA"),
    SledaiAssessment: _("SLEDAI-2K"),
    BilagAssessment: _("BILAG-2004"),
    LabResult: _("labs"),
    NotDoneAnswer: _not_done_name,
}


def _sign_off_name(version: Version) -> str:
    return str(
        _("sign-off: %(step)s") % {"step": _choice_label(VisitSignOff, "kind", version["kind"])}
    )


def _record_sign_off_name(version: Version) -> str:
    kind = queried_record_kind(version["record_type_id"])
    return str(
        _("sign-off: %(step)s of %(record)s %(id)s")
        % {
            "step": _choice_label(RecordSignOff, "kind", version["kind"]),
            "record": kind.label if kind is not None else "",
            "id": version["record_id"],
        }
    )


def _query_name(version: Version) -> str:
    return str(
        _("query Q%(id)s on %(field)s")
        % {"id": version["id"], "field": query_about(version["field"], version["record_type_id"])}
    )


def _query_message_name(version: Version) -> str:
    return str(_("query Q%(id)s message") % {"id": version["query_id"]})


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
    return [entry._replace(latest_save=_same_save(entry, newest)) for entry in entries_]


def _same_save(entry: AuditEntry, newest: AuditEntry) -> bool:
    return (
        entry.who == newest.who
        and entry.reason == newest.reason
        and newest.when - entry.when <= SAME_SAVE
    )


@dataclass(frozen=True)
class AuditSource:
    """The audit history of one kind of record and what people call it, with the keys of
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


def _crs_episode_name(version: Version) -> str:
    return str(_("CRS episode from %(date)s") % {"date": version["onset_date"].isoformat()})


def _icans_episode_name(version: Version) -> str:
    return str(_("ICANS episode from %(date)s") % {"date": version["onset_date"].isoformat()})


def _adverse_event_name(version: Version) -> str:
    term = version["term"]
    if version["term_specify"]:
        term = f"{term}: {version['term_specify']}"
    return str(
        _("adverse event %(term)s from %(date)s")
        % {"term": term, "date": version["start_date"].isoformat()}
    )


def _medication_course_name(version: Version) -> str:
    return str(
        _("%(drug)s course from %(date)s")
        % {"drug": version["drug"], "date": version["start_date"].isoformat()}
    )


def _study_name(version: Version) -> str:
    return str(_("study %(protocol)s") % {"protocol": version["protocol_number"]})


def _visit_definition_name(version: Version) -> str:
    return str(_("visit schedule: %(code)s") % {"code": version["code"]})


def _dose_level_name(version: Version) -> str:
    return str(_("dose level: %(dose)s") % {"dose": dose_label(version["cells_per_kg"])})


def _site_name(version: Version) -> str:
    return str(_("site %(code)s") % {"code": version["code"]})


def _or_id(name: str | None, pk: int) -> str | int:
    return pk if name is None else name


def _site_membership_name(version: Version) -> str:
    """Name a site membership by its user and site: the annotations of its history's query in
    ``administration_sources``."""
    return str(
        _("site membership: %(user)s @ %(site)s")
        % {
            # A user or site deleted since: its id.
            "user": _or_id(version["user_username"], version["user_id"]),
            "site": _or_id(version["site_code"], version["site_id"]),
        }
    )


def _user_name(version: Version) -> str:
    return str(_("user %(username)s") % {"username": version["username"]})


def _role_name(version: Version) -> str:
    return str(_("role %(name)s") % {"name": version["name"]})


def administration_sources() -> list[AuditSource]:
    """Return the histories of what administrators keep in admin: the study, its visit schedule
    and dose levels, the sites, who may see which site, the users with their roles and the roles
    with their permissions. Each version is named with the record it is of."""
    return [
        AuditSource(Study.history.all(), _study_name),
        AuditSource(VisitDefinition.history.all(), _visit_definition_name),
        AuditSource(StudyDoseLevel.history.all(), _dose_level_name),
        AuditSource(Site.history.all(), _site_name),
        AuditSource(
            SiteMembership.history.annotate(
                user_username=F(f"user__{User.USERNAME_FIELD}"), site_code=F("site__code")
            ),
            _site_membership_name,
        ),
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
