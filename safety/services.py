"""Every write of CRS and ICANS episodes: validated, graded and saved with its audit entry.

Each service locks the participant first (trialsite.locks), so an episode is validated against
the participant's stored dates and saved one at a time with the participant's other writes. The
grade is computed here, by safety.grading, on every save: web forms, admin and imports all call
these functions, so a stored grade always equals a fresh grading of the stored entries.

A grade is proposed by the site and confirmed by an investigator; any change to an episode's
entries withdraws the confirmation, so a confirmed grade is always the grade of what is stored.
"""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safety.checks import (
    crs_grade,
    icans_age_at_onset,
    icans_entry_errors,
    icans_grade,
    icans_tool_for,
    onset_errors,
)
from safety.grading.crs import CrsGrade
from safety.grading.icans import IcansGrade
from safety.models import CrsEpisode, IcansEpisode, SafetyEpisode
from trialsite.locks import lock_participants
from trialsite.models import Participant
from trialsite.services import Author, delete_with_audit, require_permission, save_with_audit

__all__ = [
    "crs_episode_save",
    "episode_confirm",
    "episode_delete",
    "icans_age_at_onset",
    "icans_episode_save",
    "icans_tool_for",
]

CONFIRM_PERMISSION = "safety.confirm_safety_grade"
CONFIRMED_REASON = "grade confirmed by the investigator"
#: The fields an investigator's confirmation covers: every entry, so a change withdraws it.
_NOT_ENTRIES = {"id", "grade", "grade_drivers", "confirmed_by", "confirmed_at"}


def _set_grade(episode: SafetyEpisode, result: CrsGrade | IcansGrade) -> None:
    episode.grade = result.grade
    episode.grade_drivers = ",".join(result.drivers)


def _entries_changed(episode: SafetyEpisode) -> bool:
    """Say whether any entry differs from the stored episode (True for a new one)."""
    if episode._state.adding:
        return True
    stored = type(episode)._default_manager.get(pk=episode.pk)
    return any(
        getattr(stored, field.attname) != getattr(episode, field.attname)
        for field in episode._meta.concrete_fields
        if field.name not in _NOT_ENTRIES
    )


def _lock_and_validate(episode: SafetyEpisode) -> None:
    """Lock the participant, then run the model's checks (the grade fields are the service's, not
    the user's) and the onset rule against the participant as stored now, each error naming its
    field."""
    lock_participants([episode.participant_id])
    episode.participant = Participant.objects.get(pk=episode.participant_id)
    errors: dict[str, list[str]] = {}
    try:
        episode.full_clean(exclude=["grade", "grade_drivers"])
    except ValidationError as error:
        errors = error.message_dict
    participant = episode.participant
    for field, message in onset_errors(participant, episode.onset_date).items():
        errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)


def _save_episode(episode: SafetyEpisode, *, author: Author, reason: str) -> SafetyEpisode:
    if _entries_changed(episode):
        episode.confirmed_by = None
        episode.confirmed_at = None
    save_with_audit(episode, author=author, reason=reason)
    return episode


@transaction.atomic
def crs_episode_save(*, episode: CrsEpisode, author: Author, reason: str) -> CrsEpisode:
    """Record or change a CRS episode and store its ASTCT grade."""
    _lock_and_validate(episode)
    _set_grade(episode, crs_grade(episode))
    _save_episode(episode, author=author, reason=reason)
    return episode


@transaction.atomic
def icans_episode_save(*, episode: IcansEpisode, author: Author, reason: str) -> IcansEpisode:
    """Record or change an ICANS episode and store its ASTCT grade; the encephalopathy tool must
    be the one the age at onset asks for."""
    _lock_and_validate(episode)
    errors = icans_entry_errors(episode)
    if errors:
        raise ValidationError(errors)
    _set_grade(episode, icans_grade(episode))
    _save_episode(episode, author=author, reason=reason)
    return episode


@transaction.atomic
def episode_confirm(*, episode: SafetyEpisode, author: User) -> SafetyEpisode:
    """Record that an investigator confirmed the episode's computed grade."""
    require_permission(author, CONFIRM_PERMISSION)
    lock_participants([episode.participant_id])
    episode.refresh_from_db()
    if episode.confirmed_at is not None:
        raise ValidationError(_("This grade is already confirmed."))
    episode.confirmed_by = author
    episode.confirmed_at = timezone.now()
    save_with_audit(episode, author=author, reason=CONFIRMED_REASON)
    return episode


@transaction.atomic
def episode_delete(*, episode: SafetyEpisode, author: Author, reason: str) -> None:
    """Delete an episode entered by mistake; its history keeps it with who deleted it and why."""
    lock_participants([episode.participant_id])
    delete_with_audit(episode, author=author, reason=reason)
