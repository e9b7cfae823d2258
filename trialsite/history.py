"""The audit trail of a visit as people read it: who changed what, when, why, from what to what."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from simple_history.utils import get_history_manager_for_model

from trialsite.i18n import StrOrPromise
from trialsite.models import (
    VISIT_RECORD_MODELS,
    BilagAssessment,
    LabResult,
    NotDoneAnswer,
    PgaAssessment,
    SledaiAssessment,
    Visit,
)

SAME_SAVE = timedelta(seconds=5)
NOT_RECORDED = _("not recorded")


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


def _display(record: Any, field: str) -> str:
    value = getattr(record, field)
    if value is None or value == "":
        return str(NOT_RECORDED)
    if isinstance(value, bool):
        if isinstance(record.instance, SledaiAssessment):
            return str(_("present") if value else _("absent"))
        return str(_("yes") if value else _("no"))
    display = getattr(record, f"get_{field}_display", None)
    return str(display()) if display is not None else str(value)


def entries(history: QuerySet, what: RowName) -> list[AuditEntry]:
    """Return the audit entries of one history, oldest first, each compared with the previous
    version of the same row; saves that changed nothing are left out. A change whose previous
    version was never recorded (rows created by a data migration) is kept, without details."""
    records = list(history.select_related("history_user").order_by("history_id"))
    found = []
    previous_of_row: dict[object, object] = {}
    for record in records:
        row = getattr(record, record.instance._meta.pk.attname)
        previous = previous_of_row.get(row)
        changes = []
        if previous is not None:
            delta = record.diff_against(previous)
            changes = [
                FieldChange(
                    field=str(record.instance._meta.get_field(change.field).verbose_name),
                    old=_display(previous, change.field),
                    new=_display(record, change.field),
                )
                for change in delta.changes
            ]
        kinds = {"+": _("entered"), "~": _("changed"), "-": _("deleted")}
        if record.history_type != "~" or changes or previous is None:
            found.append(
                AuditEntry(
                    when=record.history_date,
                    who=record.history_user.get_username() if record.history_user else "",
                    reason=record.history_change_reason or "",
                    what=what(record) if callable(what) else str(what),
                    kind=str(kinds[record.history_type]),
                    changes=changes,
                    history_id=record.history_id,
                )
            )
        previous_of_row[row] = record
    return found


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
