"""Every write of CRS and ICANS episodes: validated, graded and saved with its audit entry.

Each service locks the participant first (trialsite.locks), so an episode is validated against
the participant's stored dates and saved one at a time with the participant's other writes. The
grade is computed here, by safety.grading, on every save: web forms, admin and imports all call
these functions, so a stored grade always equals a fresh grading of the stored entries.

A grade is proposed by the site and confirmed by an investigator; any change to an episode's
entries withdraws the confirmation, so a confirmed grade is always the grade of what is stored.

The CAR-T treatment record is saved the same way, checked by
safety.checks.treatment_record_errors against the participant's infusion date and dose.

Adverse events are saved the same way, checked by safety.checks.adverse_event_errors. A serious
event awaits the acknowledgement of a monitor or data manager; a change of what they
acknowledged (the term, the grade, the start date, the seriousness or its criteria, the
relatedness) withdraws it.
"""

from collections.abc import Callable, Mapping

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safety.checks import (
    adverse_event_errors,
    crs_grade,
    fresh_grades,
    icans_age_at_onset,
    icans_entry_errors,
    icans_grade,
    icans_tool_for,
    onset_errors,
    treatment_record_errors,
)
from safety.grading.crs import CrsGrade
from safety.grading.icans import IcansGrade
from safety.models import (
    SERIOUSNESS_CRITERIA,
    AdverseEvent,
    CrsEpisode,
    IcansEpisode,
    SafetyEpisode,
    TreatmentRecord,
)
from trialsite.locks import lock_participants
from trialsite.models import Participant, SiteMembership
from trialsite.queries import record_delete
from trialsite.services import (
    SIGNING_ROLE,
    Author,
    record_has_sign_offs,
    require_permission,
    save_record_with_audit,
    save_with_audit,
)

__all__ = [
    "adverse_event_delete",
    "adverse_event_save",
    "crs_episode_save",
    "episode_confirm",
    "episode_delete",
    "icans_age_at_onset",
    "icans_episode_save",
    "icans_tool_for",
    "sae_acknowledge",
    "treatment_record_save",
]

CONFIRM_PERMISSION = "safety.confirm_safety_grade"
CONFIRMED_REASON = "grade confirmed by the investigator"
#: The fields an investigator's confirmation covers: every entry, so a change withdraws it.
#: What a confirmation does not cover; a change of anything else (an entry, or the grade a
#: regrading computes) withdraws it.
_NOT_CONFIRMED = {"id", "confirmed_by", "confirmed_at"}
REGRADED_REASON = "regraded by the site's grading rules"

ACKNOWLEDGE_PERMISSION = "safety.acknowledge_sae"
ACKNOWLEDGED_REASON = "serious adverse event acknowledged"
#: What an acknowledgement of a serious adverse event covers: a change to any withdraws it.
ACKNOWLEDGED_FIELDS: tuple[str, ...] = (
    "term",
    "term_specify",
    "grade",
    "start_date",
    "serious",
    *SERIOUSNESS_CRITERIA,
    # A change of relatedness to the CAR-T cells can make a serious event one to report fast.
    "related_cart",
    "related_ld",
)


def _set_grade(episode: SafetyEpisode, result: CrsGrade | IcansGrade) -> None:
    episode.grade = result.grade
    episode.grade_drivers = ",".join(result.drivers)


def _confirmed_values_changed(episode: SafetyEpisode) -> bool:
    """Say whether any entry, or the grade, differs from the stored episode (True for a new
    one)."""
    if episode._state.adding:
        return True
    stored = type(episode)._default_manager.get(pk=episode.pk)
    return any(
        getattr(stored, field.attname) != getattr(episode, field.attname)
        for field in episode._meta.concrete_fields
        if field.name not in _NOT_CONFIRMED
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
    if _confirmed_values_changed(episode):
        episode.confirmed_by = None
        episode.confirmed_at = None
    save_record_with_audit(episode, author=author, reason=reason)
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


def may_confirm(user: User, episode: SafetyEpisode) -> bool:
    """Say whether the user is an investigator of the episode's participant's site."""
    return (
        user.has_perm(CONFIRM_PERMISSION)
        and user.groups.filter(name=SIGNING_ROLE).exists()
        and SiteMembership.objects.filter(user=user, site_id=episode.participant.site_id).exists()
    )


@transaction.atomic
def episode_confirm(*, episode: SafetyEpisode, author: User) -> SafetyEpisode:
    """Record that an investigator of the participant's site confirmed the episode's computed
    grade (a superuser or an investigator of another site may not, as for signing a visit)."""
    require_permission(author, CONFIRM_PERMISSION)
    lock_participants([episode.participant_id])
    episode.refresh_from_db()
    if not may_confirm(author, episode):
        raise ValidationError(
            _("Only an investigator of site %(site)s confirms its grades.")
            % {"site": episode.participant.site.code}
        )
    if episode.confirmed_at is not None:
        raise ValidationError(_("This grade is already confirmed."))
    episode.confirmed_by = author
    episode.confirmed_at = timezone.now()
    save_with_audit(episode, author=author, reason=CONFIRMED_REASON)
    return episode


@transaction.atomic
def episodes_regrade() -> list[str]:
    """Store a fresh grade for every episode whose stored grade or drivers differ from a fresh
    grading of its entries (after a change of the grading rules); return the episodes changed.

    Each change is audited with the site as its author and withdraws the confirmation of the
    grade, which the investigator then confirms again. An episode with a sign-off in force is
    left as it is (a change to it needs a person: stale_grades keeps naming it).
    """
    lock_participants()
    changed = []
    for episode, fresh in fresh_grades():
        if record_has_sign_offs(episode):
            continue  # signed off: left to a data manager (stale_grades names it)
        before = (episode.grade, episode.grade_drivers)
        _set_grade(episode, fresh)
        if (episode.grade, episode.grade_drivers) != before:
            _save_episode(episode, author=None, reason=REGRADED_REASON)
            changed.append(str(episode))
    return changed


@transaction.atomic
def episode_delete(*, episode: SafetyEpisode, author: Author, reason: str) -> None:
    """Delete an episode entered by mistake, with its queries and sign-offs (a signed or
    locked one is unlocked first); their history keeps them with who deleted them and why."""
    lock_participants([episode.participant_id])
    record_delete(record=episode, author=author, reason=reason)


def _acknowledged_entries_changed(event: AdverseEvent) -> bool:
    """Say whether the term, grade or seriousness differ from the stored event."""
    stored = AdverseEvent.objects.get(pk=event.pk)
    return any(getattr(stored, name) != getattr(event, name) for name in ACKNOWLEDGED_FIELDS)


def _validate(record: models.Model, checks: Callable[[], Mapping[str, list[str]]]) -> None:
    """Refuse a record whose fields, or then its checks against each other and the participant
    (``checks``: messages by field), fail; each message names its field. The model's
    constraints say what the checks say on no field, so they are left to the checks."""
    errors: dict[str, list[str]] = {}
    try:
        record.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors = error.message_dict
    for field, messages in checks().items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def adverse_event_save(*, event: AdverseEvent, author: Author, reason: str) -> AdverseEvent:
    """Record or change an adverse event, checked against its participant as stored now.

    A serious event imported without its criteria is accepted (the file has no column for
    them); the web form asks for at least one. A change of what the acknowledgement covers
    (ACKNOWLEDGED_FIELDS) withdraws it.
    """
    lock_participants([event.participant_id])
    event.participant = Participant.objects.get(pk=event.participant_id)
    _validate(event, lambda: adverse_event_errors(event, event.participant))
    if event.acknowledged_at is not None and (
        event._state.adding or not event.serious or _acknowledged_entries_changed(event)
    ):
        event.acknowledged_by = None
        event.acknowledged_at = None
    save_record_with_audit(event, author=author, reason=reason)
    return event


@transaction.atomic
def sae_acknowledge(*, event: AdverseEvent, author: User) -> AdverseEvent:
    """Record that a monitor or data manager acknowledged a serious adverse event."""
    require_permission(author, ACKNOWLEDGE_PERMISSION)
    lock_participants([event.participant_id])
    event.refresh_from_db()
    if not event.serious:
        raise ValidationError(_("Only a serious adverse event is acknowledged."))
    if event.acknowledged_at is not None:
        raise ValidationError(_("This serious adverse event is already acknowledged."))
    event.acknowledged_by = author
    event.acknowledged_at = timezone.now()
    save_with_audit(event, author=author, reason=ACKNOWLEDGED_REASON)
    return event


@transaction.atomic
def adverse_event_delete(*, event: AdverseEvent, author: Author, reason: str) -> None:
    """Delete an event entered by mistake, with its queries and sign-offs (a signed or
    locked one is unlocked first); their history keeps them with who deleted them and why."""
    lock_participants([event.participant_id])
    record_delete(record=event, author=author, reason=reason)


@transaction.atomic
def treatment_record_save(
    *, record: TreatmentRecord, author: Author, reason: str
) -> TreatmentRecord:
    """Record or change a participant's CAR-T treatment, checked against the participant's
    infusion date and dose per kg as stored now."""
    lock_participants([record.participant_id])
    record.participant = Participant.objects.get(pk=record.participant_id)
    _validate(record, lambda: treatment_record_errors(record, record.participant))
    save_record_with_audit(record, author=author, reason=reason)
    return record


@transaction.atomic
def treatment_record_delete(*, record: TreatmentRecord, author: Author, reason: str) -> None:
    """Delete a treatment record entered by mistake, with its queries; their history keeps them
    with who deleted them and why."""
    lock_participants([record.participant_id])
    record_delete(record=record, author=author, reason=reason)
