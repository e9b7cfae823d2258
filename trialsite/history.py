"""The audit trail as people read it: who changed what, when, why, from what to what.

A visit's page shows its own trail (``visit_changes``); the data manager's export
(trialsite.audit_export) reads every audited record of the trial through ``trial_data_sources``
and ``administration_sources``. Each version is compared with the previous version of its row,
which the database hands over beside it (a window over the row's history), so a history of any
size is read in chunks, never held in memory whole.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, Field, Model, QuerySet, Window
from django.db.models.functions import Lag
from django.utils.translation import gettext_lazy as _
from simple_history.utils import get_history_manager_for_model

from trialsite.i18n import StrOrPromise
from trialsite.models import (
    VISIT_RECORD_MODELS,
    BilagAssessment,
    LabResult,
    MissedVisit,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    Site,
    SiteMembership,
    SledaiAssessment,
    Study,
    Visit,
    VisitDefinition,
)

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


class _RelatedNames:
    """Name the rows a version points to (a site, a visit definition) as pages do: one query
    per row named, however many versions name it; a row deleted since keeps its id."""

    def __init__(self) -> None:
        self.names: dict[tuple[type[Model], object], str] = {}

    def __call__(self, model: type[Model], pk: object) -> str:
        if (model, pk) not in self.names:
            row = model._default_manager.filter(pk=pk).first()
            self.names[(model, pk)] = (
                str(row)
                if row is not None
                else str(
                    _("deleted %(record)s (id %(id)s)")
                    % {"record": model._meta.verbose_name, "id": pk}
                )
            )
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


def versions(history: QuerySet, what: RowName) -> Iterator[tuple[Any, AuditEntry]]:
    """Yield the versions of one history in time order, each with its audit entry (compared
    with the previous version of the same row); saves that changed nothing are left out. A
    change whose previous version was never recorded (rows created by a data migration) is
    kept, without details. The history is read in chunks, in one query (plus one per related
    row a change names, such as a new site)."""
    fields = _compared_fields(history.model)
    related_names = _RelatedNames()
    kinds = {"+": _("entered"), "~": _("changed"), "-": _("deleted")}
    records = (
        _with_previous_version(history, fields)
        .select_related("history_user")
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
                for change in record.diff_against(previous).changes
            ]
        if record.history_type != "~" or changes or previous is None:
            yield (
                record,
                AuditEntry(
                    when=record.history_date,
                    who=record.history_user.get_username() if record.history_user else "",
                    reason=record.history_change_reason or "",
                    what=what(record) if callable(what) else str(what),
                    kind=str(kinds[record.history_type]),
                    changes=changes,
                    history_id=record.history_id,
                ),
            )


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


def visit_sources(visit_id: int) -> list[HistorySource]:
    """Return the histories of a visit, of its assessments and labs, and of its answers marked
    not done."""
    return [
        (Visit.history.filter(id=visit_id), _("visit")),
        *(
            (get_history_manager_for_model(model).filter(visit_id=visit_id), RECORD_NAMES[model])
            for model in VISIT_RECORD_MODELS
        ),
    ]


def visit_changes(visit: Visit, limit: int = 30) -> list[AuditEntry]:
    """Return the visit's audit trail, newest first; the entries of its last save are marked."""
    entries_ = sorted(
        (entry for history, what in visit_sources(visit.pk) for entry in entries(history, what)),
        key=lambda entry: entry.when,
        reverse=True,
    )[:limit]
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
    participant: str | None = None
    visit: str | None = None
    visit_definition: str | None = None


def trial_data_sources(participant_ids: QuerySet) -> list[AuditSource]:
    """Return the histories of the participants whose ids ``participant_ids`` (a values query)
    holds: their own records, their missed visits, their visits (deleted ones included) and every
    record of those visits (VISIT_RECORD_MODELS)."""
    visit_ids = Visit.history.filter(participant_id__in=participant_ids).values("id")
    return [
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
    ]


def _study_name(record: Any) -> str:
    return str(_("study %(protocol)s") % {"protocol": record.protocol_number})


def _visit_definition_name(record: Any) -> str:
    return str(_("visit schedule: %(code)s") % {"code": record.code})


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


def administration_sources() -> list[AuditSource]:
    """Return the histories of what administrators keep in admin: the study, its visit schedule,
    the sites and who may see which site. Each version is named with the record it is of."""
    return [
        AuditSource(Study.history.all(), _study_name),
        AuditSource(VisitDefinition.history.all(), _visit_definition_name),
        AuditSource(Site.history.all(), _site_name),
        AuditSource(SiteMembership.history.select_related("user", "site"), _site_membership_name),
    ]
