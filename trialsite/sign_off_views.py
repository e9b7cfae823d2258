"""What the pages show of sign-offs: the steps a user may take on a visit or a record (the
buttons of the Sign-offs card) and a step's page, shared by the visits (trialsite.views) and by
a participant's records beside the visits (trialsite.records: the CAR-T treatment record, CRS
and ICANS episodes, adverse events, medication courses), which have the visits' steps, rules and
rights (services.record_verify and the others) and whose pages are here."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy

from trialsite import records, selectors, services
from trialsite.forms import LockForm, SignForm, UnlockForm, add_refusal
from trialsite.http import AuthenticatedHttpRequest
from trialsite.i18n import StrOrPromise
from trialsite.models import SIGNATURE_MEANING, RecordSignOff, VisitStatus, visit_status

#: The statuses of a visit whose data cannot change.
FROZEN_STATUSES = frozenset(VisitStatus(kind) for kind in services.FREEZING_STEPS)
#: The sign-off step a visit of each status may take next, and the right it needs.
NEXT_SIGN_OFF = {
    VisitStatus.COMPLETE: ("verify", "trialsite.verify_visit"),
    VisitStatus.VERIFIED: ("sign", "trialsite.sign_visit"),
    VisitStatus.SIGNED: ("lock", "trialsite.lock_visit"),
}


@dataclass(frozen=True)
class SignOffAction:
    """A button of the Sign-offs card: the page of a step the user may take now."""

    url: str
    label: StrOrPromise
    css: str


#: The buttons of the steps, by the step's name (the end of its URL name).
SIGN_OFF_BUTTONS: dict[str, tuple[StrOrPromise, str]] = {
    "verify": (gettext_lazy("Verify against source"), "btn-outline-primary"),
    "sign": (gettext_lazy("Sign"), "btn-success"),
    "lock": (gettext_lazy("Lock"), "btn-dark"),
    "unlock": (gettext_lazy("Unlock"), "btn-outline-danger"),
}


def sign_off_actions(
    user: User, status: VisitStatus, url: Callable[[str], str]
) -> list[SignOffAction]:
    """Return the buttons of the sign-off steps the user may take for a visit or record of this
    status; ``url`` gives the page of a step ("verify", "sign", "lock", "unlock")."""
    steps = []
    step = NEXT_SIGN_OFF.get(status)
    if step is not None and user.has_perm(step[1]):
        steps.append(step[0])
    if status in FROZEN_STATUSES and user.has_perm("trialsite.lock_visit"):
        steps.append("unlock")
    return [SignOffAction(url(name), *SIGN_OFF_BUTTONS[name]) for name in steps]


@dataclass(frozen=True)
class SignOffPage:
    """One sign-off page: its form, what it says, and the service that acts on the form for
    the visit or record."""

    form_class: type[forms.Form]
    title: StrOrPromise
    explanation: StrOrPromise
    button: StrOrPromise
    act: Callable[[Any, AuthenticatedHttpRequest, dict[str, Any]], object]
    done: StrOrPromise


#: The page of each step and the right it needs (the visits' rights).
RECORD_STEPS: dict[str, tuple[SignOffPage, str]] = {
    "verify": (
        SignOffPage(
            LockForm,
            gettext_lazy("Source data verification"),
            gettext_lazy(
                "Confirm that this record's entries match the source documents. A later change "
                "to the record voids the verification."
            ),
            gettext_lazy("Record verification"),
            lambda record, request, data: services.record_verify(
                record=record, author=request.user
            ),
            gettext_lazy("Source verification recorded."),
        ),
        "trialsite.verify_visit",
    ),
    "sign": (
        SignOffPage(
            SignForm,
            gettext_lazy("Sign the record"),
            gettext_lazy(SIGNATURE_MEANING),
            gettext_lazy("Sign"),
            lambda record, request, data: services.record_sign(
                record=record, author=request.user, password=data["password"], request=request
            ),
            gettext_lazy("Record signed."),
        ),
        "trialsite.sign_visit",
    ),
    "lock": (
        SignOffPage(
            LockForm,
            gettext_lazy("Lock the record"),
            gettext_lazy("A locked record's data cannot change until a data manager unlocks it."),
            gettext_lazy("Lock"),
            lambda record, request, data: services.record_lock(record=record, author=request.user),
            gettext_lazy("Record locked."),
        ),
        "trialsite.lock_visit",
    ),
    "unlock": (
        SignOffPage(
            UnlockForm,
            gettext_lazy("Unlock the record"),
            gettext_lazy(
                "Unlocking reopens the record for changes and voids its signature and source "
                "verification; they stay in the audit trail, marked voided."
            ),
            gettext_lazy("Unlock"),
            lambda record, request, data: services.record_unlock(
                record=record, author=request.user, reason=data["reason"]
            ),
            gettext_lazy("Record unlocked: its signature and verification are void."),
        ),
        "trialsite.lock_visit",
    ),
}
FROZEN_TEXT = gettext_lazy(
    "This record's data cannot change while it is signed or locked; a data manager can unlock "
    "it, with a reason."
)


def record_step_url(record: Model, step: str) -> str:
    return reverse("record_sign_off", args=[records.kind_of(type(record)).key, record.pk, step])


@dataclass(frozen=True)
class RecordSignOffPanel:
    """A record's Sign-offs card: its status, its sign-offs (voided ones too), the steps the
    user may take, and why its data cannot change (None when they can)."""

    status: VisitStatus
    sign_offs: list[RecordSignOff]
    actions: list[SignOffAction]
    frozen_text: StrOrPromise | None


def _sign_offs(**lookups: object) -> list[RecordSignOff]:
    return list(
        RecordSignOff.objects.filter(**lookups)
        .select_related("given_by", "voided_by")
        .order_by("given_at", "pk")
    )


def record_sign_off_panel(
    request: AuthenticatedHttpRequest,
    record: Model,
    sign_offs: list[RecordSignOff] | None = None,
) -> RecordSignOffPanel:
    """Return what a record's page shows of its sign-offs (``sign_offs``: the record's, when
    they were read with others: participant_sign_off_panels)."""
    if sign_offs is None:
        sign_offs = _sign_offs(**records.of_record(record))
    status = visit_status(
        entry_complete=True,
        sign_offs_in_force={row.kind for row in sign_offs if row.in_force},
    )
    return RecordSignOffPanel(
        status=status,
        sign_offs=sign_offs,
        actions=sign_off_actions(request.user, status, lambda step: record_step_url(record, step)),
        frozen_text=FROZEN_TEXT if status in FROZEN_STATUSES else None,
    )


def participant_sign_off_panels(
    request: AuthenticatedHttpRequest, participant_id: int, records_: list[Model]
) -> list[RecordSignOffPanel]:
    """Return the Sign-offs cards of some of a participant's records, in their order, reading
    their sign-offs in one query."""
    by_record: dict[tuple[int, int], list[RecordSignOff]] = {}
    for sign_off in _sign_offs(participant_id=participant_id):
        by_record.setdefault((sign_off.record_type_id, sign_off.record_id), []).append(sign_off)
    return [
        record_sign_off_panel(
            request,
            record,
            by_record.get((ContentType.objects.get_for_model(record).pk, record.pk), []),
        )
        for record in records_
    ]


def record_sign_off(
    request: AuthenticatedHttpRequest, kind: str, pk: int, step: str
) -> HttpResponse:
    """The page of one sign-off step of a record: another site's record is not found, a user
    without the step's right (or the record's) is refused."""
    record_kind, record = selectors.record_visible_to(request.user, kind, pk)
    if step not in RECORD_STEPS:
        raise Http404
    page, permission = RECORD_STEPS[step]
    services.require_permission(request.user, record_kind.view_permission)
    services.require_permission(request.user, permission)
    back_url = record_kind.url(record)
    form = page.form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            page.act(record, request, form.cleaned_data)
        except ValidationError as error:
            add_refusal(form, error)
        else:
            messages.success(request, str(page.done))
            return redirect(back_url)
    return render(
        request,
        "trialsite/sign_off_form.html",
        {
            "form": form,
            "page": page,
            "participant": cast(Any, record).participant,
            "subject": record_kind.describe(record),
            "subject_date": None,
            "back_url": back_url,
        },
    )
