"""The audit trail of a visit as people read it: who changed what, when, why, from what to what."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from trialsite.models import (
    BilagAssessment,
    LabResult,
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
    latest_save: bool = False


def _display(record, field: str) -> str:
    value = getattr(record, field)
    if value is None or value == "":
        return str(NOT_RECORDED)
    if isinstance(value, bool):
        if isinstance(record.instance, SledaiAssessment):
            return str(_("present") if value else _("absent"))
        return str(_("yes") if value else _("no"))
    display = getattr(record, f"get_{field}_display", None)
    return str(display()) if display is not None else str(value)


def _entries(history, what: str) -> list[AuditEntry]:
    records = list(history.select_related("history_user").order_by("history_date"))
    entries = []
    previous = None
    for record in records:
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
        if record.history_type != "~" or changes:
            entries.append(
                AuditEntry(
                    when=record.history_date,
                    who=record.history_user.get_username() if record.history_user else "",
                    reason=record.history_change_reason or "",
                    what=str(what),
                    kind=str(kinds[record.history_type]),
                    changes=changes,
                )
            )
        previous = record
    return entries


def visit_changes(visit: Visit, limit: int = 30) -> list[AuditEntry]:
    """Return the visit's audit trail, newest first; the entries of its last save are marked."""
    sources = [
        (Visit.history.filter(id=visit.pk), _("visit")),
        (PgaAssessment.history.filter(visit_id=visit.pk), _("PGA")),
        (SledaiAssessment.history.filter(visit_id=visit.pk), _("SLEDAI-2K")),
        (BilagAssessment.history.filter(visit_id=visit.pk), _("BILAG-2004")),
        (LabResult.history.filter(visit_id=visit.pk), _("labs")),
    ]
    entries = sorted(
        (entry for history, what in sources for entry in _entries(history, what)),
        key=lambda entry: entry.when,
        reverse=True,
    )[:limit]
    if not entries:
        return []
    newest = entries[0]
    return [
        AuditEntry(**{**entry.__dict__, "latest_save": _same_save(entry, newest)})
        for entry in entries
    ]


def _same_save(entry: AuditEntry, newest: AuditEntry) -> bool:
    return (
        entry.who == newest.who
        and entry.reason == newest.reason
        and newest.when - entry.when <= SAME_SAVE
    )
