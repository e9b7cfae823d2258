"""The audit trail as CSV (docs/csv-formats.md, audit-trail.csv): one row per changed field.

Reads every audited record the user may see through trialsite.history: the participants of the
user's sites with their missed visits, visits and visit records, and, for a user who sees every
site, the study, its visit schedule, the sites, the site memberships, the users (with their
roles) and the roles (with their permissions). Each history is read in chunks, and the histories
are merged in time order as they are read, so only the file's text grows with the trail; the
number of queries does not. A worker writes the file for the user who asked for it (jobs.tasks):
a large trail takes longer than a request may.

Like every CSV file of the site, it is written in English whatever the user's language: the
column names are a fixed contract, and so are the cells (record names, field names, values).
"""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.db.models import Model, Q, QuerySet
from django.utils import translation
from simple_history.utils import get_history_manager_for_model

from trialsite.csvfiles import text_csv_lines
from trialsite.history import (
    AuditEntry,
    AuditSource,
    FieldChange,
    Version,
    administration_sources,
    trial_data_sources,
    versions,
)
from trialsite.imports import Progress
from trialsite.models import Participant, Visit, VisitDefinition
from trialsite.selectors import participants_visible_to, sites_visible_to, user_sees_all_sites

AUDIT_TRAIL_COLUMNS: tuple[str, ...] = (
    "when_utc",
    "who",
    "participant_id",
    "visit",
    "record",
    "action",
    "field",
    "old",
    "new",
    "reason",
)
#: The action column, by simple_history's history type.
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}

AuditRow = tuple[str, str, str, str, str, str, str, str, str, str]


def audited_participant_ids(user: User) -> QuerySet:
    """Return the ids of the participants whose audit trail the user may read: those of the
    user's sites, and those deleted while at one of them (a values query of history rows)."""
    return Participant.history.filter(
        Q(id__in=participants_visible_to(user).values("pk"))
        | Q(history_type="-", site_id__in=sites_visible_to(user).values("pk"))
    ).values("id")


@dataclass(frozen=True)
class _Names:
    """What the participant_id and visit columns show, as last recorded: a participant ID or a
    visit corrected later is shown as corrected on every row, so the rows of one participant or
    visit can be filtered together (the correction itself is a row of its own)."""

    participant_ids: dict[int, str]
    #: visit id -> (participant id, visit code and date)
    visits: dict[int, tuple[int, str]]
    visit_codes: dict[int, str]

    @classmethod
    def read(cls, participant_ids: QuerySet) -> "_Names":
        """Read the names as they are now, and those of rows deleted since as they were then
        (six queries; the lookups hold one entry per participant and visit, not per change)."""
        of_participants = {"participant_id__in": participant_ids}
        visits = _deleted_then_current(
            Visit, of_participants, ("participant_id", "visit_definition__code", "visit_date")
        )
        return cls(
            participant_ids=dict(
                _deleted_then_current(Participant, {"id__in": participant_ids}, ("participant_id",))
            ),
            visits={
                visit_id: (participant, f"{code} {visit_date.isoformat()}")
                for visit_id, participant, code, visit_date in visits
            },
            visit_codes=dict(_deleted_then_current(VisitDefinition, {}, ("code",))),
        )

    def of(self, version: Version, source: AuditSource) -> tuple[str, str]:
        """Return the participant ID and the visit a version of ``source`` belongs to."""
        participant = version[source.participant] if source.participant else None
        visit = ""
        if source.visit is not None and version[source.visit] is not None:
            participant, visit = self.visits.get(version[source.visit], (None, ""))
        elif source.visit_definition is not None:
            visit = self.visit_codes.get(version[source.visit_definition], "")
        return self.participant_ids.get(participant, "") if participant else "", visit


def _deleted_then_current(
    model: type[Model], lookups: dict[str, QuerySet], names: tuple[str, ...]
) -> Iterator[tuple[Any, ...]]:
    """Yield (id, *names) of the model's rows deleted (as their deletion version holds them),
    then of its rows now, both filtered by ``lookups``."""
    deleted = get_history_manager_for_model(model).filter(history_type="-", **lookups)
    yield from deleted.order_by().values_list("id", *names)
    yield from model._default_manager.filter(**lookups).order_by().values_list("id", *names)


class AuditLine(NamedTuple):
    """One version of an audited record, with the participant and the visit it belongs to (a
    named tuple, as AuditEntry)."""

    entry: AuditEntry
    #: simple_history's history type: "+" created, "~" changed, "-" deleted.
    history_type: str
    participant_id: str
    visit: str


def _lines_of(source: AuditSource, names: _Names) -> Iterator[AuditLine]:
    for version, entry in versions(source.history, source.what, source.related_sets):
        participant_id, visit = names.of(version, source)
        yield AuditLine(entry, version["history_type"], participant_id, visit)


def audit_lines(
    participant_ids: QuerySet,
    reader: User,
    *,
    administration: bool,
    progress: Progress | None = None,
) -> Iterator[AuditLine]:
    """Yield the versions of every audited record the reader may see of the participants whose
    ids ``participant_ids`` (a values query) holds (trialsite.history.trial_data_sources), and
    of the study's administration if asked, oldest first; saves at the same time keep the order
    of the sources, then of their history ids. The entries' words are in the language active
    when the iteration starts.

    ``progress`` (a background export's) is told how many versions have been read, of the
    history rows counted first (one query per source). A save that changed nothing yields no
    version, and the steps of one change of a user's roles or a role's permissions yield one,
    so the last count may fall short of the total; read from one snapshot of the database (as
    jobs.tasks reads it), it never passes it."""
    sources = trial_data_sources(participant_ids, reader)
    if administration:
        sources += administration_sources()
    total = sum(source.history.count() for source in sources) if progress is not None else 0
    names = _Names.read(participant_ids)
    merged = heapq.merge(
        *(_lines_of(source, names) for source in sources), key=attrgetter("entry.when")
    )
    for read, line in enumerate(merged, start=1):
        if progress is not None:
            progress(read, total)
        yield line


#: The changes of a creation or deletion (or a change of unknown details): one row without a field.
NO_FIELD = (FieldChange(field="", old="", new=""),)


class _UtcSeconds:
    """Write times as the when_utc column holds them, 2026-11-30T09:15:00Z, each second once:
    the trail runs in time order, and one save, or an import, records many versions in one
    second, so a time within the second written last is written as it was (any time, in any
    order and any time zone, is written right; only the speed needs the order)."""

    def __init__(self) -> None:
        #: The second written last, from its first microsecond to its last, in UTC (none yet:
        #: a range holding no time).
        self.first = datetime.max.replace(tzinfo=UTC)
        self.last = datetime.min.replace(tzinfo=UTC)
        self.text = ""

    def __call__(self, when: datetime) -> str:
        if not self.first <= when <= self.last:
            utc = when.astimezone(UTC)
            self.first = utc.replace(microsecond=0)
            self.last = utc.replace(microsecond=999_999)
            # strftime is slower.
            self.text = utc.isoformat(timespec="seconds").removesuffix("+00:00") + "Z"
        return self.text


def audit_trail_rows(user: User, progress: Progress | None = None) -> Iterator[AuditRow]:
    """Yield the audit trail the user may see as rows of AUDIT_TRAIL_COLUMNS, oldest first: a
    row per changed field, one row for a creation or deletion (no field). ``progress``: as
    ``audit_lines``."""
    lines = audit_lines(
        audited_participant_ids(user),
        user,
        administration=user_sees_all_sites(user),
        progress=progress,
    )
    utc_time = _UtcSeconds()
    for line in lines:
        entry = line.entry
        when = utc_time(entry.when)
        action = ACTIONS[line.history_type]
        for change in entry.changes or NO_FIELD:
            yield (
                when,
                entry.who,
                line.participant_id,
                line.visit,
                entry.what,
                action,
                change.field,
                change.old,
                change.new,
                entry.reason,
            )


def audit_trail_csv(user: User, progress: Progress | None = None) -> str:
    """Return the audit trail the user may see as CSV text, written in English whatever the
    language around (``progress``: as ``audit_lines``)."""
    with translation.override("en"):
        return "".join(text_csv_lines(AUDIT_TRAIL_COLUMNS, audit_trail_rows(user, progress)))
