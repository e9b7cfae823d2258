"""Data-capture screens. Every query starts from the user's sites (trialsite.selectors)."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from responses.models import Endpoint
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.labs import sledai_suggestions
from responses.scoring.sledai import SLEDAI_ATTRIBUTION_NOTE, SLEDAI_DESCRIPTORS
from trialsite import selectors, services
from trialsite.audit_export import audit_trail_csv
from trialsite.forms import (
    INITIAL_ENTRY_REASON,
    AssessmentForm,
    MissedVisitForm,
    OpenedVersionMixin,
    ParticipantForm,
    VisitForm,
)
from trialsite.history import visit_changes
from trialsite.http import AuthenticatedHttpRequest
from trialsite.locks import lock_participant_save, lock_participants
from trialsite.models import Participant, Visit, VisitDefinition

T = TypeVar("T")


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(
        request,
        "trialsite/home.html",
        {
            "sites": selectors.site_overview(request.user),
            "sees_all_sites": selectors.user_sees_all_sites(request.user),
            "alerts": selectors.schedule_alerts(request.user, today),
            "out_of_window": selectors.out_of_window_visits(request.user),
            "incomplete": selectors.incomplete_visits(request.user),
            "changes": selectors.recent_changes(request.user),
            "today": today,
        },
    )


def participant_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    site = request.GET.get("site", "")
    status = request.GET.get("status", "")
    dose = _whole_number(request.GET.get("dose", ""))
    return render(
        request,
        "trialsite/participant_list.html",
        {
            "participants": selectors.participant_list(
                request.user, search=search, site=site, status=status, dose=dose
            ),
            "filters": {"search": search, "site": site, "status": status, "dose": dose},
            "sites": selectors.sites_visible_to(request.user),
            "statuses": {key: label for key, (label, _q) in selectors.PARTICIPANT_STATUSES.items()},
            "doses": selectors.dose_levels(request.user),
        },
    )


def _whole_number(text: str) -> int | None:
    """Read a filter value; anything but a plain whole number means no filter."""
    return int(text) if text.isascii() and text.isdigit() else None


def _save_under_lock(
    form: OpenedVersionMixin, *, lock: Callable[[], object], save: Callable[[], T]
) -> T | None:
    """Validate the form and save it while holding the lock of what the save changes.

    Validation (versions, BILAG-2004 history, duplicate visits) then sees every save committed
    before, and no other save can come in between; a service's refusal goes on the form.
    """
    try:
        with transaction.atomic():
            lock()
            if form.is_valid():
                return save()
    except ValidationError as error:
        form.add_refusal(error)
    return None


@permission_required("trialsite.add_participant", raise_exception=True)
def participant_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _participant_form(request, participant=None)


@permission_required("trialsite.change_participant", raise_exception=True)
def participant_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    return _participant_form(request, participant=participant)


def _participant_form(
    request: AuthenticatedHttpRequest, participant: Participant | None
) -> HttpResponse:
    study = participant.study if participant is not None else selectors.current_study()
    form = ParticipantForm(
        request.POST or None, instance=participant, user=request.user, study=study
    )
    if request.method == "POST":
        saved = _save_under_lock(
            form,
            lock=lambda: lock_participant_save(study_id=study.pk, participant_id=form.instance.pk),
            save=lambda: services.participant_save(
                participant=form.save(commit=False),
                author=request.user,
                reason=form.change_reason(),
            ),
        )
        if saved is not None:
            messages.success(request, _("Participant %(id)s saved.") % {"id": saved.participant_id})
            return redirect(saved)
    return render(
        request, "trialsite/participant_form.html", {"form": form, "participant": participant}
    )


def participant_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    return render(
        request,
        "trialsite/participant_detail.html",
        {
            "participant": participant,
            "rows": selectors.participant_timeline(participant, timezone.localdate()),
            "endpoints": Endpoint.choices,
            "bilag_systems": BILAG_SYSTEMS,
        },
    )


def _visit_named_in_url(
    request: AuthenticatedHttpRequest, participant: Participant
) -> VisitDefinition | None:
    """Return the schedule's visit named by ?code= (the timeline's buttons preselect it)."""
    code = request.GET.get("code")
    if code is None:
        return None
    return participant.study.visit_definitions.filter(code=code).first()


@permission_required("trialsite.add_visit", raise_exception=True)
def visit_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    initial = {"visit_definition": _visit_named_in_url(request, participant)}
    form = VisitForm(request.POST or None, participant=participant, initial=initial)
    if request.method == "POST" and (visit := _save_visit_form(request, form)) is not None:
        return redirect("visit_entry", pk=visit.pk)
    return render(request, "trialsite/visit_form.html", {"form": form, "participant": participant})


@permission_required("trialsite.add_visit", raise_exception=True)
def missed_visit_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    initial = {"visit_definition": _visit_named_in_url(request, participant)}
    form = MissedVisitForm(request.POST or None, participant=participant, initial=initial)
    if request.method == "POST":
        missed = _save_under_lock(
            form,
            lock=lambda: lock_participants([participant.pk]),
            save=lambda: services.missed_visit_record(
                participant=participant,
                visit_definition=form.cleaned_data["visit_definition"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                author=request.user,
                audit_reason=str(INITIAL_ENTRY_REASON),
            ),
        )
        if missed is not None:
            messages.success(
                request,
                _("%(code)s recorded as missed.") % {"code": missed.visit_definition.code},
            )
            return redirect(participant)
    return render(
        request, "trialsite/missed_visit_form.html", {"form": form, "participant": participant}
    )


@permission_required("trialsite.change_visit", raise_exception=True)
def visit_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(selectors.visits_visible_to(request.user), pk=pk)
    form = VisitForm(request.POST or None, instance=visit, participant=visit.participant)
    if request.method == "POST" and _save_visit_form(request, form) is not None:
        messages.success(request, _("Visit date saved."))
        return redirect("visit_detail", pk=visit.pk)
    return render(
        request,
        "trialsite/visit_form.html",
        {"form": form, "participant": visit.participant, "visit": visit},
    )


def _save_visit_form(request: AuthenticatedHttpRequest, form: VisitForm) -> Visit | None:
    participant = form.instance.participant

    def lock() -> None:
        lock_participants([participant.pk])
        participant.refresh_from_db()  # the enrolment date the visit date is checked against

    return _save_under_lock(
        form,
        lock=lock,
        save=lambda: services.visit_save(
            visit=form.save(commit=False), author=request.user, reason=form.change_reason()
        ),
    )


@permission_required("trialsite.change_visit", raise_exception=True)
def visit_entry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(
        selectors.visits_visible_to(request.user).select_related("sledai", "pga", "bilag", "labs"),
        pk=pk,
    )
    form = AssessmentForm(
        request.POST or None, visit=visit, initial=AssessmentForm.initial_for(visit)
    )
    saved = (
        _save_under_lock(
            form,
            lock=lambda: lock_participants([visit.participant_id]),
            save=lambda: form.save(author=request.user),
        )
        if request.method == "POST"
        else None
    )
    if saved is not None:
        messages.success(request, _("Visit saved and scored."))
        return redirect("visit_detail", pk=visit.pk)
    suggestions = selectors.lab_suggestions(getattr(visit, "labs", None))
    return render(
        request,
        "trialsite/visit_entry.html",
        {
            "form": form,
            "visit": visit,
            "suggestions": suggestions,
            "suggested_fields": [descriptor.field for descriptor in suggestions],
            "attribution_note": _(SLEDAI_ATTRIBUTION_NOTE),
            "bands": selectors.activity_band_boundaries(),
        },
    )


def visit_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(
        selectors.visits_visible_to(request.user).select_related(
            "sledai", "pga", "bilag", "labs", "score"
        ),
        pk=pk,
    )
    return render(
        request,
        "trialsite/visit_detail.html",
        {
            "visit": visit,
            "summary": selectors.visit_summary(visit),
            "results": visit.endpoint_results.order_by("endpoint"),
            "changes": visit_changes(visit),
        },
    )


def lab_suggestions(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Say which SLEDAI-2K descriptors lab values suggest (the form asks as values are typed)."""
    suggested = sledai_suggestions(AssessmentForm.labs_from_query(request.GET))
    descriptors = [d for d in SLEDAI_DESCRIPTORS if d.field in suggested]
    return JsonResponse(
        {
            "suggested": [d.field for d in descriptors],
            "labels": [_(d.label) for d in descriptors],
        }
    )


@permission_required("trialsite.export_audit_trail", raise_exception=True)
def audit_export(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    """Download the audit trail of what the user may see as CSV, streamed as it is read."""
    response = StreamingHttpResponse(
        audit_trail_csv(request.user), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response
