"""Data-capture screens. Every query starts from the user's sites (trialsite.selectors)."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medications import selectors as medication_selectors
from responses.models import STATE_ENDPOINTS, Endpoint, EndpointResult
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.labs import sledai_suggestions
from responses.scoring.sledai import SLEDAI_ATTRIBUTION_NOTE, SLEDAI_DESCRIPTORS
from safety import display as safety_display
from safety import views as safety_views
from safety.b_cells import participant_b_cells
from trialsite import query_views, selectors, services, sign_off_views
from trialsite.audit_export import audit_lines
from trialsite.forms import (
    INITIAL_ENTRY_REASON,
    AssessmentForm,
    LockForm,
    MissedVisitForm,
    OpenedVersionMixin,
    ParticipantForm,
    SignForm,
    UnlockForm,
    VerifyForm,
    VisitForm,
    add_refusal,
)
from trialsite.history import visit_changes
from trialsite.http import AuthenticatedHttpRequest
from trialsite.locks import lock_participant_save, lock_participants
from trialsite.models import SIGNATURE_MEANING, Participant, Visit, VisitDefinition, VisitStatus
from trialsite.pagination import paginate, sort_columns, sort_order
from trialsite.sign_off_views import FROZEN_STATUSES, SignOffPage, sign_off_actions

T = TypeVar("T")


#: Rows each panel of Home shows; its link opens the whole list, page by page.
HOME_ALERTS = 15
HOME_VISITS = 10
#: Rows per page of the long lists.
LIST_PAGE_SIZE = 50


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(
        request,
        "trialsite/home.html",
        {
            "sites": selectors.site_overview(request.user),
            "sees_all_sites": selectors.user_sees_all_sites(request.user),
            "alerts": selectors.first_rows(
                selectors.schedule_alerts(request.user, today), HOME_ALERTS
            ),
            "out_of_window": selectors.first_rows(
                selectors.out_of_window_visits(request.user), HOME_VISITS
            ),
            "incomplete": selectors.first_rows(
                selectors.incomplete_visits(request.user), HOME_VISITS
            ),
            "changes": selectors.recent_changes(request.user),
            "queries": query_views.home_queries(request),
            "serious_adverse_events": safety_views.home_serious_adverse_events(request),
            "today": today,
        },
    )


def visits_due(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every scheduled visit due now or missed (Home shows the first), page by page."""
    today = timezone.localdate()
    page = paginate(request, selectors.schedule_alerts(request.user, today), LIST_PAGE_SIZE)
    return render(request, "trialsite/visits_due.html", {"page": page, "today": today})


#: The visit lists Home's panels link to: their selector, title and what an empty list says.
VISIT_LISTS = {
    "out_of_window": (
        selectors.out_of_window_visits,
        gettext_lazy("Visits out of window (protocol deviations)"),
        gettext_lazy("No visit is out of its window."),
    ),
    "in_progress": (
        selectors.incomplete_visits,
        gettext_lazy("Data entry in progress"),
        gettext_lazy("No visit's data entry is in progress."),
    ),
}


def visit_list(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """Every visit out of window, or with its entry in progress, page by page."""
    if kind not in VISIT_LISTS:
        raise Http404
    select, title, empty = VISIT_LISTS[kind]
    page = paginate(request, select(request.user), LIST_PAGE_SIZE)
    return render(
        request,
        "trialsite/visit_list.html",
        {"page": page, "kind": kind, "title": title, "empty": empty},
    )


def participant_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    site = request.GET.get("site", "")
    status = request.GET.get("status", "")
    dose = _whole_number(request.GET.get("dose", ""))
    sort, order_by = sort_order(
        request, selectors.PARTICIPANT_SORTS, selectors.DEFAULT_PARTICIPANT_SORT
    )
    participants = selectors.participant_list(
        request.user, search=search, site=site, status=status, dose=dose, order_by=order_by
    )
    return render(
        request,
        "trialsite/participant_list.html",
        {
            "page": paginate(request, participants, LIST_PAGE_SIZE),
            "sort": sort_columns(request, list(selectors.PARTICIPANT_SORTS), sort),
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


#: Changes shown at a time on a visit's page and on a participant's changes page.
CHANGES_PER_PAGE = 30


def participant_changes(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Every change of the participant's records (the participant, their visits and each
    visit's records, sign-offs, queries, safety records, medication courses), newest or oldest
    first, a page at a time: their part of the audit trail, in the reader's language."""
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    sort, _order_by = sort_order(request, {"when": ()}, "-when")
    this_participant = Participant.objects.filter(pk=participant.pk).values("pk")
    lines = list(audit_lines(this_participant, request.user, administration=False))
    if sort == "-when":
        lines.reverse()
    return render(
        request,
        "trialsite/participant_changes.html",
        {
            "participant": participant,
            "page": paginate(request, lines, CHANGES_PER_PAGE),
            "sort": sort_columns(request, ["when"], sort),
        },
    )


def participant_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # The treatment record comes along (no database query of its own).
    participant = get_object_or_404(
        selectors.participants_visible_to(request.user).select_related("treatment_record"), pk=pk
    )
    today = timezone.localdate()
    rows = selectors.participant_timeline(participant, today)
    treatment = getattr(participant, "treatment_record", None)
    # One query: the courses; the doses at the visits are read from the rows' visits.
    medications = medication_selectors.participant_medications(
        participant,
        visits=[(row.definition.code, row.visit.visit_date) for row in rows if row.visit],
        today=today,
    )
    courses = [row.course for row in medications.rows]
    # One query: the sign-offs of the courses and the treatment record.
    panels = sign_off_views.participant_sign_off_panels(
        request, participant.pk, [*courses, *([treatment] if treatment is not None else [])]
    )
    return render(
        request,
        "trialsite/participant_detail.html",
        {
            "participant": participant,
            "rows": rows,
            "endpoints": Endpoint.choices,
            "bilag_systems": BILAG_SYSTEMS,
            # Two queries however many episodes: their confirming investigators come along.
            "safety_rows": safety_display.episode_rows(
                participant,
                crs=participant.crs_episodes.select_related("confirmed_by").order_by("pk"),
                icans=participant.icans_episodes.select_related("confirmed_by").order_by("pk"),
            ),
            # One query: the adverse events with who acknowledged the serious ones.
            "adverse_event_rows": safety_display.adverse_event_rows(
                participant, participant.adverse_events.select_related("acknowledged_by")
            ),
            "treatment": safety_display.treatment_summary(participant, treatment),
            "treatment_sign_offs": panels[-1] if treatment is not None else None,
            # One query: the B cells and immunoglobulins of the participant's visits.
            "b_cells": participant_b_cells(participant),
            "medications": medications,
            "course_sign_offs": {
                course.pk: panel for course, panel in zip(courses, panels, strict=False)
            },
            # The queries on the records above (the visits' are on the visit pages).
            "record_queries": query_views.participant_record_queries(request, participant),
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


def _refuse_frozen(request: AuthenticatedHttpRequest, visit: Visit) -> HttpResponse | None:
    """Send the user back to the visit's page when it is signed or locked (its data cannot
    change); None when it may be changed. The services refuse such a change too."""
    message = services.visit_frozen_message(visit, services.sign_offs_in_force(visit))
    if message is None:
        return None
    messages.error(request, message)
    return redirect("visit_detail", pk=visit.pk)


@permission_required("trialsite.change_visit", raise_exception=True)
def visit_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(selectors.visits_visible_to(request.user), pk=pk)
    if (refused := _refuse_frozen(request, visit)) is not None:
        return refused
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


#: The message that lists the endpoint results whose outcome a save changed.
RESULT_CHANGES_TEMPLATE = "trialsite/includes/result_changes.html"


@permission_required("trialsite.change_visit", raise_exception=True)
def visit_entry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(
        selectors.visits_visible_to(request.user).select_related("sledai", "pga", "bilag", "labs"),
        pk=pk,
    )
    if (refused := _refuse_frozen(request, visit)) is not None:
        return refused
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
        messages.success(
            request,
            _("Visit saved and scored.")
            if form.marks_complete
            else _(
                "Saved in progress: blanks are allowed; the visit does not count for the "
                "endpoints until it is saved as complete."
            ),
        )
        # The results a visit gets at its first entry are on its page, not news; a correction's
        # are, at this visit as at the others.
        changes = [c for c in saved.changes if c.visit_id != visit.pk or form.saved]
        if changes:
            html = render_to_string(RESULT_CHANGES_TEMPLATE, {"changes": changes})
            messages.info(request, html)
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
            "field_queries": query_views.entry_field_queries(request, visit),
        },
    )


def visit_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(
        selectors.with_record_status(
            selectors.visits_visible_to(request.user).select_related(
                "sledai", "pga", "bilag", "labs", "score"
            )
        ),
        pk=pk,
    )
    status = selectors.record_status(visit)
    return render(
        request,
        "trialsite/visit_detail.html",
        {
            "visit": visit,
            "status": status,
            "frozen": status in FROZEN_STATUSES,
            "actions": sign_off_actions(
                request.user, status, lambda step: reverse(f"visit_{step}", args=[visit.pk])
            ),
            "sign_offs": visit.sign_offs.select_related("given_by", "voided_by"),
            "summary": selectors.visit_summary(visit),
            **_results_by_kind(visit),
            "changes": paginate(request, visit_changes(visit, request.user), CHANGES_PER_PAGE),
            "query_panel": query_views.visit_query_panel(request, visit),
        },
    )


def _results_by_kind(visit: Visit) -> dict[str, list]:
    """Split a visit's stored results: comparisons with baseline (SRI-X, BICLA), each with the
    baseline values it compares against, and states at the visit (LLDAS, DORIS remission), each
    in the order of the endpoints."""
    order = {endpoint: index for index, endpoint in enumerate(Endpoint.values)}
    results = sorted(visit.endpoint_results.all(), key=lambda result: order[result.endpoint])
    compared: list[EndpointResult] = [r for r in results if r.endpoint not in STATE_ENDPOINTS]
    return {
        "results": compared,
        "comparisons": selectors.baseline_comparisons(visit, compared),
        "states": [r for r in results if r.endpoint in STATE_ENDPOINTS],
    }


SIGN_OFF_PAGES = {
    "visit_verify": SignOffPage(
        VerifyForm,
        gettext_lazy("Source data verification"),
        gettext_lazy(
            "Confirm that this visit's data match the source documents. A later change to the "
            "data voids the verification."
        ),
        gettext_lazy("Record verification"),
        lambda visit, request, data: services.visit_verify(
            visit=visit, author=request.user, verified_fields=data["verified_fields"]
        ),
        gettext_lazy("Source verification recorded."),
    ),
    "visit_sign": SignOffPage(
        SignForm,
        gettext_lazy("Sign the visit"),
        gettext_lazy(SIGNATURE_MEANING),
        gettext_lazy("Sign"),
        lambda visit, request, data: services.visit_sign(
            visit=visit, author=request.user, password=data["password"], request=request
        ),
        gettext_lazy("Visit signed."),
    ),
    "visit_lock": SignOffPage(
        LockForm,
        gettext_lazy("Lock the visit"),
        gettext_lazy("A locked visit's data cannot change until a data manager unlocks it."),
        gettext_lazy("Lock"),
        lambda visit, request, data: services.visit_lock(visit=visit, author=request.user),
        gettext_lazy("Visit locked."),
    ),
    "visit_unlock": SignOffPage(
        UnlockForm,
        gettext_lazy("Unlock the visit"),
        gettext_lazy(
            "Unlocking reopens the visit for changes and voids its signature and source "
            "verification; they stay in the audit trail, marked voided."
        ),
        gettext_lazy("Unlock"),
        lambda visit, request, data: services.visit_unlock(
            visit=visit, author=request.user, reason=data["reason"]
        ),
        gettext_lazy("Visit unlocked: its signature and verification are void."),
    ),
}


def _sign_off_view(name: str, permission: str) -> Callable[..., HttpResponse]:
    page = SIGN_OFF_PAGES[name]

    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        # Another site's visit is not found, whatever the user's rights: a guessed URL tells
        # nothing about it.
        visit = get_object_or_404(selectors.visits_visible_to(request.user), pk=pk)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = page.form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                page.act(visit, request, form.cleaned_data)
            except ValidationError as error:
                add_refusal(form, error)
            else:
                messages.success(request, str(page.done))
                return redirect("visit_detail", pk=visit.pk)
        return render(
            request,
            "trialsite/sign_off_form.html",
            {
                "form": form,
                "page": page,
                "participant": visit.participant,
                "subject": f"{visit.visit_definition.code} {visit.visit_definition.name}",
                "subject_date": visit.visit_date,
                "back_url": reverse("visit_detail", args=[visit.pk]),
            },
        )

    return view


visit_verify = _sign_off_view("visit_verify", "trialsite.verify_visit")
visit_sign = _sign_off_view("visit_sign", "trialsite.sign_visit")
visit_lock = _sign_off_view("visit_lock", "trialsite.lock_visit")
visit_unlock = _sign_off_view("visit_unlock", "trialsite.lock_visit")


def record_status(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The record status dashboard: participants by scheduled visits, one coloured cell each,
    a page of participants at a time; the legend counts the cells of every page."""
    site = request.GET.get("site", "")
    study = selectors.current_study()
    participants = selectors.record_status_participants(request.user, study=study, site=site)
    definitions = selectors.record_status_definitions(study)
    page = paginate(request, participants, LIST_PAGE_SIZE)
    return render(
        request,
        "trialsite/record_status.html",
        {
            "grid": selectors.RecordStatusGrid(
                definitions, selectors.record_status_rows(page, definitions)
            ),
            "counts": selectors.record_status_counts(
                participants, definitions, participant_count=page.paginator.count
            ),
            "page": page,
            "site": site,
            "sites": selectors.sites_visible_to(request.user).order_by("code"),
            "statuses": list(VisitStatus),
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
