"""Row locks that make concurrent writes of the trial's data run one after the other.

The one lock order of the site, so that two writes never wait for each other in a circle:
1. the study to enrol a participant (participant IDs are unique within a study), or the one
   study, site or membership an admin page changes (a schedule row: its study); a study or
   schedule change, which rescores the study's participants, then locks them all before it
   writes anything (its update of a schedule row's code or order would otherwise wait for the
   visits being recorded, whose savers wait for it);
2. participants, by ascending primary key, before any of their rows is read for a change;
3. then whatever rows of those participants the write touches.

Every service that changes a participant's data or its derived values takes the participant's
lock first, so two saves for one participant run one after the other and the second validates
(BILAG-2004 history, versions, unique visits) and rescores against the first's committed data.
Locks are FOR NO KEY UPDATE: they do not block the foreign-key checks of other transactions.
They last until the transaction ends; SQLite ignores them (it allows one writer at a time).
"""

from collections.abc import Iterable

from django.db.models import Model, QuerySet

from trialsite.models import Participant, Study


def _lock(rows: QuerySet) -> list[int]:
    """Lock the rows in ascending key order until the transaction ends; return their keys."""
    return list(rows.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))


def lock_participants(participant_ids: Iterable[int] | None = None) -> list[int]:
    """Lock the given participants (every participant when None) in ascending key order; return
    the keys of those locked."""
    participants = Participant.objects.all()
    if participant_ids is not None:
        participants = participants.filter(pk__in=set(participant_ids))
    return _lock(participants)


def lock_study(study_id: int) -> None:
    """Lock a study to enrol a participant into it (step 1 of the lock order)."""
    _lock(Study.objects.filter(pk=study_id))


def lock_participant_save(*, study_id: int, participant_id: int | None) -> None:
    """Lock what saving a participant depends on: the study to enrol, the participant to change."""
    if participant_id is None:
        lock_study(study_id)
    else:
        lock_participants([participant_id])


def lock_record(record: Model) -> None:
    """Lock a stored study, schedule row, site or membership changed in admin (step 1)."""
    _lock(type(record)._default_manager.filter(pk=record.pk))
