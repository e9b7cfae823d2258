"""Optimistic locking: the version of the record a form showed, and who changed it since.

A version is the latest audit-history id of each kind of row the form shows, e.g.
"41.17.9.8.0.0" for a visit, its PGA, SLEDAI-2K, BILAG-2004, labs and answers not done (0: no
row yet). A save whose version is
no longer current is refused when a change with an effect lies in between, and the refusal names
who made it, when, and the fields it changed; a save that changed nothing does not count. Forms
compare versions under the participant's lock (trialsite.locks), so no change can slip in
between the comparison and the save.
"""

from collections.abc import Sequence

from django.db.models import Max, Model, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import get_history_manager_for_model

from trialsite.history import AuditEntry, HistorySource, entries, visit_data_sources
from trialsite.models import Participant, Study, StudyDoseLevel, Visit, VisitDefinition

#: The most changes a refusal lists; the visit page shows the whole audit trail.
MAX_LISTED_CHANGES = 10


def participant_sources(participant_id: int) -> list[HistorySource]:
    """Return the history of a participant's own record (enrolment, dates, dose, withdrawal)."""
    return [(Participant.history.filter(id=participant_id), str(Participant._meta.verbose_name))]


def visit_date_sources(visit_id: int) -> list[HistorySource]:
    """Return the history of a visit's own record (its date and entry status)."""
    return visit_data_sources(visit_id)[:1]


def visit_entry_sources(visit_id: int) -> list[HistorySource]:
    """Return the histories of a visit, its assessments and labs and its answers not done."""
    return visit_data_sources(visit_id)


def record_sources(record: Model) -> list[HistorySource]:
    """Return the histories an admin change form shows: a visit with its assessments and a
    study with its visit schedule and dose levels (the admin edits them inline), any other
    record by itself."""
    if isinstance(record, Visit):
        return visit_entry_sources(record.pk)
    model = type(record)
    own: list[HistorySource] = [
        (get_history_manager_for_model(model).filter(id=record.pk), str(model._meta.verbose_name))
    ]
    if isinstance(record, Study):
        schedule = str(VisitDefinition._meta.verbose_name_plural)
        own.append((VisitDefinition.history.filter(study_id=record.pk), schedule))
        dose_levels = str(StudyDoseLevel._meta.verbose_name_plural)
        own.append((StudyDoseLevel.history.filter(study_id=record.pk), dose_levels))
    return own


def _latest_ids(sources: Sequence[HistorySource]) -> list[int]:
    """Return each history's latest id (0: no row yet), in one query."""
    if not sources:
        return []
    # One row per history, numbered by its place: grouped by a constant, the MAX runs over the
    # whole history (NULL when it has no row yet).
    per_history = [
        history.order_by()
        .annotate(source=Value(number))
        .values("source")
        .annotate(latest=Max("history_id"))
        for number, (history, _what) in enumerate(sources)
    ]
    found = {
        row["source"]: row["latest"]
        for row in per_history[0].union(*per_history[1:], all=True)
        if row["latest"] is not None
    }
    return [found.get(number, 0) for number in range(len(sources))]


def current_version(sources: Sequence[HistorySource]) -> str:
    """Return the version of the rows behind these histories as they are now."""
    return ".".join(str(history_id) for history_id in _latest_ids(sources))


def _history_ids(version: str, count: int) -> list[int] | None:
    parts = version.split(".")
    if len(parts) != count or not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return [int(part) for part in parts]


def changes_since(sources: Sequence[HistorySource], version: str) -> list[AuditEntry] | None:
    """Return the changes made to these rows after the version, oldest first (None: the version
    is not one this site wrote: unreadable, or newer than the rows)."""
    opened = _history_ids(version, len(sources))
    latest = _latest_ids(sources)
    if opened is None or any(o > now for o, now in zip(opened, latest, strict=True)):
        return None
    if opened == latest:
        return []
    found = [
        entry
        for (history, what), opened_id, latest_id in zip(sources, opened, latest, strict=True)
        if latest_id > opened_id
        for entry in entries(history, what)
        if entry.history_id > opened_id
    ]
    return sorted(found, key=lambda entry: entry.when)


def conflict_messages(changes: list[AuditEntry] | None) -> list[str]:
    """Explain a refused save: who changed the record since it was opened, when, and what."""
    if changes is None:
        return [
            _("Not saved: this form is out of date. Reload the page and enter the changes again.")
        ]
    lines = [_("Not saved: another user changed this record after you opened it.")]
    for entry in changes[-MAX_LISTED_CHANGES:]:
        values = {
            "who": entry.who or _("system"),
            "when": timezone.localtime(entry.when).strftime("%Y-%m-%d %H:%M:%S"),
            "what": entry.what,
            "kind": entry.kind,
            "fields": "; ".join(
                _("%(field)s: %(old)s → %(new)s")
                % {"field": change.field, "old": change.old, "new": change.new}
                for change in entry.changes
            ),
        }
        if entry.changes:
            lines.append(_("%(who)s, %(when)s, %(what)s %(kind)s: %(fields)s") % values)
        else:
            lines.append(_("%(who)s, %(when)s, %(what)s %(kind)s") % values)
    lines.append(
        _(
            "Your entries are still on this page, not saved. Compare them with these changes; "
            "saving again replaces those values with yours."
        )
    )
    return lines
