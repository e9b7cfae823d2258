"""Pages of CRS and ICANS episodes: record one, see its grade and why, change it with a reason,
and an investigator's confirmation of the grade. Pages of adverse events: record one, see it,
change it with a reason, and a monitor's or data manager's acknowledgement of a serious one (on
its page or on Home). The participant's CAR-T treatment record: record it, change it with a
reason. Every page starts from the user's sites (another site's participant,
episode or event is not found), then checks the user's right (403)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safety import display, selectors, services
from safety.forms import (
    AcknowledgeSaeForm,
    AdverseEventForm,
    ConfirmGradeForm,
    CrsEpisodeForm,
    EpisodeForm,
    IcansEpisodeForm,
    TreatmentRecordForm,
)
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, SafetyEpisode, TreatmentRecord
from trialsite.forms import save_under_lock
from trialsite.http import AuthenticatedHttpRequest
from trialsite.i18n import StrOrPromise
from trialsite.locks import lock_participants
from trialsite.models import Participant
from trialsite.query_views import record_query_panel
from trialsite.selectors import participants_visible_to
from trialsite.services import require_permission
from trialsite.sign_off_views import record_sign_off_panel


@dataclass(frozen=True)
class EpisodeKind:
    """What the pages of one kind of episode differ in."""

    model: type[CrsEpisode] | type[IcansEpisode]
    form_class: type[EpisodeForm]
    #: The service that validates, grades and saves (safety.services).
    save: Callable[..., SafetyEpisode]
    #: The start of the URL names and permission codenames: crs or icans.
    prefix: str
    template: str
    new_title: StrOrPromise
    saved: StrOrPromise

    def permission(self, action: str) -> str:
        return f"safety.{action}_{self.prefix}episode"

    def url_name(self, page: str) -> str:
        return f"{self.prefix}_episode_{page}"


CRS = EpisodeKind(
    model=CrsEpisode,
    form_class=CrsEpisodeForm,
    save=services.crs_episode_save,
    prefix="crs",
    template="safety/crs_episode_form.html",
    new_title=gettext_lazy("Record a CRS episode"),
    saved=gettext_lazy("CRS episode saved and graded."),
)
ICANS = EpisodeKind(
    model=IcansEpisode,
    form_class=IcansEpisodeForm,
    save=services.icans_episode_save,
    prefix="icans",
    template="safety/icans_episode_form.html",
    new_title=gettext_lazy("Record an ICANS episode"),
    saved=gettext_lazy("ICANS episode saved and graded."),
)
CHANGED_BEFORE_CONFIRMATION = gettext_lazy(
    "Not confirmed: the episode changed after you opened it. Check its grade, then confirm again."
)
CONFIRMATION_WITHDRAWN = gettext_lazy(
    "The entries changed, so the investigator's confirmation was withdrawn: the new grade awaits "
    "confirmation."
)


def _episodes_visible_to(request: AuthenticatedHttpRequest, kind: EpisodeKind) -> QuerySet:
    return kind.model._default_manager.filter(
        participant__in=participants_visible_to(request.user)
    ).select_related("participant__site", "participant__study", "confirmed_by")


def _visible_episode(request: AuthenticatedHttpRequest, kind: EpisodeKind, pk: int) -> Any:
    return get_object_or_404(_episodes_visible_to(request, kind), pk=pk)


def _episode_form(
    request: AuthenticatedHttpRequest,
    kind: EpisodeKind,
    participant: Participant,
    episode: SafetyEpisode | None,
) -> HttpResponse:
    # As stored: a refused save leaves the episode object with the entries sent.
    was_confirmed = episode is not None and episode.confirmed_at is not None
    status = display.confirmation_status(episode) if episode is not None else ""
    form = kind.form_class(request.POST or None, instance=episode, participant=participant)
    if request.method == "POST":
        saved = save_under_lock(
            form,
            participant=participant,
            save=lambda: kind.save(
                episode=form.save(commit=False), author=request.user, reason=form.change_reason()
            ),
        )
        if saved is not None:
            messages.success(request, str(kind.saved))
            if was_confirmed and saved.confirmed_at is None:
                messages.warning(request, str(CONFIRMATION_WITHDRAWN))
            return redirect(kind.url_name("detail"), pk=saved.pk)
    return render(
        request,
        kind.template,
        {
            "form": form,
            "participant": participant,
            "episode": episode,
            "title": kind.new_title,
            "status": status,
            "was_confirmed": was_confirmed,
            "withdrawn_on_change": display.CONFIRMATION_WITHDRAWN_ON_CHANGE,
        },
    )


def _create(kind: EpisodeKind) -> Callable[..., HttpResponse]:
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        participant = get_object_or_404(participants_visible_to(request.user), pk=pk)
        require_permission(request.user, kind.permission("add"))
        return _episode_form(request, kind, participant, None)

    return view


def _edit(kind: EpisodeKind) -> Callable[..., HttpResponse]:
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        episode = _visible_episode(request, kind, pk)
        require_permission(request.user, kind.permission("change"))
        return _episode_form(request, kind, episode.participant, episode)

    return view


def _detail(kind: EpisodeKind) -> Callable[..., HttpResponse]:
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        episode = _visible_episode(request, kind, pk)
        require_permission(request.user, kind.permission("view"))
        participant = episode.participant
        return render(
            request,
            "safety/episode_detail.html",
            {
                "episode": episode,
                "participant": participant,
                "row": display.episode_row(participant, episode),
                "entries": display.episode_entries(episode),
                "withdrawn_on_change": display.CONFIRMATION_WITHDRAWN_ON_CHANGE,
                "can_change": request.user.has_perm(kind.permission("change")),
                "confirm_url": reverse(kind.url_name("confirm"), args=[episode.pk]),
                "confirm_form": (
                    ConfirmGradeForm(episode=episode)
                    if episode.confirmed_at is None and services.may_confirm(request.user, episode)
                    else None
                ),
                "query_panel": record_query_panel(request, episode),
                "sign_off_panel": record_sign_off_panel(request, episode),
            },
        )

    return view


def _confirm(kind: EpisodeKind) -> Callable[..., HttpResponse]:
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        episode = _visible_episode(request, kind, pk)
        require_permission(request.user, services.CONFIRM_PERMISSION)
        if request.method == "POST":
            form = ConfirmGradeForm(request.POST, episode=episode)
            try:
                with transaction.atomic():
                    lock_participants([episode.participant_id])
                    episode.refresh_from_db()
                    # A grade confirmed already is said so by the service; any other change
                    # since the page was opened means the grade seen may not be the one stored.
                    if episode.confirmed_at is None and not form.is_valid():
                        raise ValidationError(CHANGED_BEFORE_CONFIRMATION)
                    services.episode_confirm(episode=episode, author=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Grade confirmed."))
        return redirect(kind.url_name("detail"), pk=episode.pk)

    return view


crs_episode_create = _create(CRS)
crs_episode_detail = _detail(CRS)
crs_episode_edit = _edit(CRS)
crs_episode_confirm = _confirm(CRS)
icans_episode_create = _create(ICANS)
icans_episode_detail = _detail(ICANS)
icans_episode_edit = _edit(ICANS)
icans_episode_confirm = _confirm(ICANS)


# --------------------------------------------------------------------------------------------
# Adverse events
# --------------------------------------------------------------------------------------------

AE_SAVED = gettext_lazy("Adverse event saved.")
ACKNOWLEDGEMENT_WITHDRAWN = gettext_lazy(
    "The term, grade or seriousness changed, so the acknowledgement was withdrawn: the serious "
    "event awaits acknowledgement again."
)
CHANGED_BEFORE_ACKNOWLEDGEMENT = gettext_lazy(
    "Not acknowledged: the event changed after you opened the page. Check it, then acknowledge "
    "it again."
)
#: Home lists at most this many serious adverse events awaiting acknowledgement.
HOME_SAE_LIMIT = 10


def _visible_event(request: AuthenticatedHttpRequest, pk: int) -> AdverseEvent:
    events = AdverseEvent.objects.filter(
        participant__in=participants_visible_to(request.user)
    ).select_related("participant__site", "participant__study", "acknowledged_by")
    return get_object_or_404(events, pk=pk)


def _adverse_event_form(
    request: AuthenticatedHttpRequest, participant: Participant, event: AdverseEvent | None
) -> HttpResponse:
    # As stored: a refused save leaves the event object with the entries sent.
    was_acknowledged = event is not None and event.acknowledged_at is not None
    status = display.acknowledgement_status(event) if event is not None else ""
    form = AdverseEventForm(request.POST or None, instance=event, participant=participant)
    if request.method == "POST":
        saved = save_under_lock(
            form,
            participant=participant,
            save=lambda: services.adverse_event_save(
                event=form.save(commit=False), author=request.user, reason=form.change_reason()
            ),
        )
        if saved is not None:
            messages.success(request, str(AE_SAVED))
            if was_acknowledged and saved.acknowledged_at is None:
                messages.warning(request, str(ACKNOWLEDGEMENT_WITHDRAWN))
            return redirect("adverse_event_detail", pk=saved.pk)
    return render(
        request,
        "safety/adverse_event_form.html",
        {
            "form": form,
            "participant": participant,
            "event": event,
            "status": status,
            "was_acknowledged": was_acknowledged,
            "withdrawn_on_change": display.ACKNOWLEDGEMENT_WITHDRAWN_ON_CHANGE,
        },
    )


def adverse_event_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(participants_visible_to(request.user), pk=pk)
    require_permission(request.user, "safety.add_adverseevent")
    return _adverse_event_form(request, participant, None)


def adverse_event_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    event = _visible_event(request, pk)
    require_permission(request.user, "safety.change_adverseevent")
    return _adverse_event_form(request, event.participant, event)


def adverse_event_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    event = _visible_event(request, pk)
    require_permission(request.user, "safety.view_adverseevent")
    participant = event.participant
    return render(
        request,
        "safety/adverse_event_detail.html",
        {
            "event": event,
            "participant": participant,
            "row": display.adverse_event_row(participant, event),
            "entries": display.adverse_event_entries(event),
            "withdrawn_on_change": display.ACKNOWLEDGEMENT_WITHDRAWN_ON_CHANGE,
            "can_change": request.user.has_perm("safety.change_adverseevent"),
            "acknowledge_form": (
                AcknowledgeSaeForm(event=event)
                if event.awaits_acknowledgement
                and request.user.has_perm(services.ACKNOWLEDGE_PERMISSION)
                else None
            ),
            "query_panel": record_query_panel(request, event),
            "sign_off_panel": record_sign_off_panel(request, event),
        },
    )


def adverse_event_acknowledge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    event = _visible_event(request, pk)
    require_permission(request.user, services.ACKNOWLEDGE_PERMISSION)
    form = AcknowledgeSaeForm(request.POST or None, event=event)
    if request.method == "POST":
        try:
            with transaction.atomic():
                lock_participants([event.participant_id])
                event.refresh_from_db()
                # An acknowledgement given already is said so by the service; any other change
                # since the page was opened means what was seen may not be what is stored.
                if event.awaits_acknowledgement and not form.is_valid():
                    raise ValidationError(CHANGED_BEFORE_ACKNOWLEDGEMENT)
                services.sae_acknowledge(event=event, author=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Serious adverse event acknowledged: %(participant)s, %(term)s.")
                % {"participant": event.participant.participant_id, "term": event.term_label},
            )
        if form.back_to_home():
            return redirect("home")
    return redirect("adverse_event_detail", pk=event.pk)


@dataclass(frozen=True)
class HomeSeriousEvents:
    """Home's panel of the serious adverse events awaiting acknowledgement: the gravest, then the
    newest, first,
    at most HOME_SAE_LIMIT, with how many there are and whether the user may acknowledge."""

    rows: list[selectors.UnacknowledgedSae]
    total: int
    can_acknowledge: bool


def home_serious_adverse_events(request: AuthenticatedHttpRequest) -> HomeSeriousEvents | None:
    """Return Home's panel of the serious adverse events of the user's sites awaiting
    acknowledgement (None without the right to see adverse events). One query, two when more
    than HOME_SAE_LIMIT await."""
    user = request.user
    if not user.has_perm("safety.view_adverseevent"):
        return None
    awaiting = selectors.unacknowledged_saes(participants_visible_to(user))
    rows = selectors.unacknowledged_sae_rows(awaiting, limit=HOME_SAE_LIMIT)
    total = len(rows) if len(rows) < HOME_SAE_LIMIT else awaiting.count()
    return HomeSeriousEvents(
        rows=rows, total=total, can_acknowledge=user.has_perm(services.ACKNOWLEDGE_PERMISSION)
    )


# --------------------------------------------------------------------------------------------
# CAR-T treatment record
# --------------------------------------------------------------------------------------------

TREATMENT_SAVED = gettext_lazy("CAR-T treatment saved.")


def _treatment_record_form(
    request: AuthenticatedHttpRequest, participant: Participant, record: TreatmentRecord | None
) -> HttpResponse:
    form = TreatmentRecordForm(request.POST or None, instance=record, participant=participant)
    if request.method == "POST":
        saved = save_under_lock(
            form,
            participant=participant,
            save=lambda: services.treatment_record_save(
                record=form.save(commit=False), author=request.user, reason=form.change_reason()
            ),
        )
        if saved is not None:
            messages.success(request, str(TREATMENT_SAVED))
            return redirect(f"{participant.get_absolute_url()}#treatment")
    return render(
        request,
        "safety/treatment_record_form.html",
        {"form": form, "participant": participant, "record": record},
    )


def treatment_record_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(participants_visible_to(request.user), pk=pk)
    require_permission(request.user, "safety.add_treatmentrecord")
    if TreatmentRecord.objects.filter(participant=participant).exists():
        return redirect("treatment_record_edit", pk=participant.pk)
    return _treatment_record_form(request, participant, None)


def treatment_record_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(participants_visible_to(request.user), pk=pk)
    require_permission(request.user, "safety.change_treatmentrecord")
    record = get_object_or_404(TreatmentRecord, participant=participant)
    return _treatment_record_form(request, participant, record)
