"""Every write of medication courses: validated, saved with its audit entry, one participant at
a time; and the coordinator's answer to a proposed treatment-failure date.

Each service locks the participant first (trialsite.locks). Web forms, admin, the import and the
demo loader all call these functions, so a stored drug is always the generic name
safety.grading.drugs gives.

LLDAS and DORIS read the courses (the prednisolone-equivalent dose, new immunosuppressants,
biologics after infusion), so saving or deleting a course rescores the participant's endpoints
with ``responses.services.participant_recompute_responses`` in the same transaction, under the
participant's lock.

Saving a course never changes the participant. A course of a drug prohibited after infusion
proposes a treatment-failure date (medications.selectors); only ``treatment_failure_confirm``
records it, through ``trialsite.services.participant_save``, which rescores the endpoints.
Dismissing a proposal changes only the course's ``failure_proposal_dismissed``, which no endpoint
reads, so it rescores nothing.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medications.models import MedicationCourse
from medications.selectors import TreatmentFailureProposal, treatment_failure_proposal
from responses.services import participant_recompute_responses
from safety.grading.drugs import normalise_drug
from trialsite.i18n import recorded_text
from trialsite.locks import lock_participants
from trialsite.models import Participant
from trialsite.queries import record_delete
from trialsite.services import (
    Author,
    check_reason,
    participant_save,
    require_permission,
    save_record_with_audit,
)

#: The right to record a treatment-failure date: the participant's own record changes.
CONFIRM_FAILURE_PERMISSION = "trialsite.change_participant"
DISMISS_FAILURE_PERMISSION = "medications.change_medicationcourse"
#: A change of these proposes a dismissed treatment failure again.
PROPOSAL_FIELDS = ("drug", "route", "start_date", "stop_date")
FAILURE_CONFIRMED_REASON = gettext_lazy(
    "treatment failure: %(drug)s from %(date)s (confirmed by %(name)s)"
)
FAILURE_DISMISSED_REASON = gettext_lazy("treatment failure proposal dismissed: %(reason)s")
PROPOSAL_NOT_CURRENT = gettext_lazy(
    "This proposal is no longer current (the course or the participant changed): check the "
    "participant's page again."
)


@dataclass(frozen=True)
class CourseSaved:
    """A saved course and the treatment-failure date it proposes (None: none)."""

    course: MedicationCourse
    proposal: TreatmentFailureProposal | None


def _stored(course: MedicationCourse) -> MedicationCourse | None:
    if course._state.adding:
        return None
    return MedicationCourse.objects.filter(pk=course.pk).first()


@transaction.atomic
def medication_course_save(
    *, course: MedicationCourse, author: Author, reason: str, rescore: bool = True
) -> CourseSaved:
    """Record or change a medication course and rescore the participant's endpoints; return the
    course with the treatment-failure date it proposes (never recorded here).

    ``rescore=False`` is for a caller that saves several courses of a participant in its own
    transaction and then calls ``participant_recompute_responses`` once for that participant
    before the transaction ends (the import, the demo loader).
    """
    lock_participants([course.participant_id])
    stored = _stored(course)
    if stored is not None and stored.participant_id != course.participant_id:
        raise ValidationError(
            {
                "participant": _(
                    "A recorded course stays with its participant: record a new course instead."
                )
            }
        )
    course.participant = participant = Participant.objects.get(pk=course.participant_id)
    course.drug = normalise_drug(course.drug)
    if stored is not None and any(
        getattr(stored, field) != getattr(course, field) for field in PROPOSAL_FIELDS
    ):
        course.failure_proposal_dismissed = False
    save_record_with_audit(course, author=author, reason=reason)
    if rescore:
        participant_recompute_responses(participant=participant)
    proposal = treatment_failure_proposal(participant, course, today=timezone.localdate())
    return CourseSaved(course=course, proposal=proposal)


@transaction.atomic
def medication_course_delete(*, course: MedicationCourse, author: Author, reason: str) -> None:
    """Delete a course entered by mistake, with its queries and sign-offs (a signed or locked one
    is unlocked first), and rescore the participant's endpoints; their history keeps them with
    who deleted them and why."""
    lock_participants([course.participant_id])
    participant = course.participant
    record_delete(record=course, author=author, reason=reason)
    participant_recompute_responses(participant=participant)


def _current_proposal(course: MedicationCourse, proposed: date) -> TreatmentFailureProposal:
    """Lock the participant and return the course's proposal as stored now; refuse it when it is
    gone or proposes another date than the page showed."""
    lock_participants([course.participant_id])
    course.refresh_from_db()
    participant = Participant.objects.get(pk=course.participant_id)
    course.participant = participant
    proposal = treatment_failure_proposal(participant, course, today=timezone.localdate())
    if proposal is None or proposal.failure_date != proposed:
        raise ValidationError(str(PROPOSAL_NOT_CURRENT))
    return proposal


@transaction.atomic
def treatment_failure_confirm(
    *, course: MedicationCourse, proposed: date, author: User
) -> Participant:
    """Record the date the course proposes as the participant's treatment-failure date, with the
    drug and who confirmed it as the reason; the endpoints are rescored."""
    require_permission(author, CONFIRM_FAILURE_PERMISSION)
    proposal = _current_proposal(course, proposed)
    participant = course.participant
    participant.treatment_failure_date = proposal.failure_date
    reason = recorded_text(
        FAILURE_CONFIRMED_REASON,
        {
            "drug": course.drug,
            "date": proposal.failure_date.isoformat(),
            "name": author.get_full_name() or author.get_username(),
        },
    )
    return participant_save(participant=participant, author=author, reason=reason)


@transaction.atomic
def treatment_failure_dismiss(
    *, course: MedicationCourse, proposed: date, author: User, reason: str
) -> MedicationCourse:
    """Record that the course's proposal is not a treatment failure, and why; the participant is
    left as it is, and so are the endpoints (no endpoint reads the dismissal)."""
    require_permission(author, DISMISS_FAILURE_PERMISSION)
    check_reason(reason)
    _current_proposal(course, proposed)
    course.failure_proposal_dismissed = True
    save_record_with_audit(  # a decision on the course: refused on a signed or locked one
        course,
        author=author,
        reason=recorded_text(FAILURE_DISMISSED_REASON, {"reason": reason.strip()}),
    )
    return course
