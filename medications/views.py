"""Pages of medication courses: record one, change it with a reason, and answer the
treatment-failure date a prohibited drug proposes (confirm or dismiss). Every page starts from
the user's sites (another site's participant or course is not found), then checks the user's
right (403)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medications import services
from medications.forms import (
    DRUG_LIST_ID,
    MedicationCourseForm,
    ProposalAnswerForm,
    ProposalDismissForm,
)
from medications.models import MedicationCourse
from safety.grading.drugs import is_known_drug
from trialsite.forms import save_under_lock
from trialsite.http import AuthenticatedHttpRequest
from trialsite.models import Participant
from trialsite.selectors import participants_visible_to
from trialsite.services import require_permission

ADD_PERMISSION = "medications.add_medicationcourse"
CHANGE_PERMISSION = "medications.change_medicationcourse"


UNKNOWN_DRUG = gettext_lazy(
    "%(drug)s is not one of the drugs the site knows (its class is other): check the spelling. "
    "A biologic the site does not know proposes no treatment failure."
)


def _visible_courses(request: AuthenticatedHttpRequest) -> QuerySet[MedicationCourse]:
    return MedicationCourse.objects.filter(
        participant__in=participants_visible_to(request.user)
    ).select_related("participant__site", "participant__study")


def _medications_section(participant: Participant) -> HttpResponseRedirect:
    return redirect(f"{participant.get_absolute_url()}#medications")


def _course_form(
    request: AuthenticatedHttpRequest,
    participant: Participant,
    course: MedicationCourse | None,
) -> HttpResponse:
    form = MedicationCourseForm(request.POST or None, instance=course, participant=participant)
    if request.method == "POST":
        saved = save_under_lock(
            form,
            participant=participant,
            save=lambda: services.medication_course_save(
                course=form.save(commit=False), author=request.user, reason=form.change_reason()
            ),
        )
        if saved is not None:
            messages.success(request, _("Medication course saved."))
            if not is_known_drug(saved.course.drug):
                messages.warning(request, UNKNOWN_DRUG % {"drug": saved.course.drug})
            return _medications_section(participant)
    return render(
        request,
        "medications/course_form.html",
        {
            "form": form,
            "participant": participant,
            "course": course,
            "drug_list_id": DRUG_LIST_ID,
        },
    )


def medication_course_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(participants_visible_to(request.user), pk=pk)
    require_permission(request.user, ADD_PERMISSION)
    return _course_form(request, participant, None)


def medication_course_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(_visible_courses(request), pk=pk)
    require_permission(request.user, CHANGE_PERMISSION)
    return _course_form(request, course.participant, course)


def medication_failure_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Record the proposed date as the participant's treatment-failure date (POST)."""
    course = get_object_or_404(_visible_courses(request), pk=pk)
    require_permission(request.user, services.CONFIRM_FAILURE_PERMISSION)
    if request.method == "POST":
        form = ProposalAnswerForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError(str(services.PROPOSAL_NOT_CURRENT))
            services.treatment_failure_confirm(
                course=course, proposed=form.cleaned_data["proposed"], author=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _(
                    "Treatment failure recorded from %(date)s: visits on or after it are "
                    "non-responders."
                )
                % {"date": form.cleaned_data["proposed"].isoformat()},
            )
    return _medications_section(course.participant)


def medication_failure_dismiss(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Record, with the reason given, that the proposed date is not a treatment failure (POST)."""
    course = get_object_or_404(_visible_courses(request), pk=pk)
    require_permission(request.user, services.DISMISS_FAILURE_PERMISSION)
    if request.method == "POST":
        form = ProposalDismissForm(request.POST)
        try:
            if "proposed" in form.errors:
                raise ValidationError(str(services.PROPOSAL_NOT_CURRENT))
            if not form.is_valid():
                raise ValidationError(
                    _("Say why this is not a treatment failure, then dismiss the proposal.")
                )
            services.treatment_failure_dismiss(
                course=course,
                proposed=form.cleaned_data["proposed"],
                author=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Proposal dismissed: the treatment failure date was left as it was."),
            )
    return _medications_section(course.participant)
