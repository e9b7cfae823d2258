"""Django admin: studies, the visit schedule, sites, users and their sites, and the trial's data.

Every change made here asks for a reason, which goes into the audit history with the author.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ForeignKey, Model, QuerySet
from django.forms.models import BaseInlineFormSet, ModelChoiceField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline
from simple_history.admin import SimpleHistoryAdmin

from jobs.models import ScheduleChange
from jobs.services import pending_schedule_change, schedule_change_start
from responses.models import EndpointResult, VisitScore
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.labs import LAB_FIELDS
from responses.scoring.sledai import SLEDAI_FIELDS
from trialsite import services, versions
from trialsite.formfields import DIGIT_FIELD_OVERRIDES
from trialsite.forms import (
    OpenedVersionMixin,
    check_infusion_order,
    check_participant_dose,
    check_participant_episodes,
    check_visit_order,
)
from trialsite.http import AuthenticatedHttpRequest
from trialsite.imports import PARTICIPANT_COLUMNS
from trialsite.locks import lock_participant_save, lock_participants, lock_record, lock_study
from trialsite.models import (
    IMMUNE_LAB_FIELDS,
    BilagAssessment,
    LabResult,
    MissedVisit,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    Site,
    SiteMembership,
    SledaiAssessment,
    Study,
    StudyDoseLevel,
    Visit,
    VisitDefinition,
)
from trialsite.schedule_changes import admin_operations, study_has_participants
from trialsite.two_factor import admin as two_factor_admin  # noqa: F401  # registers its admin
from trialsite.validators import validate_multiline_text

CHANGE_REASON_FIELD = "change_reason"
#: The field of the delete confirmation page that asks why the record is deleted.
DELETE_REASON_FIELD = "delete_reason"


def deletion_reason(request: HttpRequest) -> str:
    """Return the reason given on the delete confirmation page."""
    return request.POST.get(DELETE_REASON_FIELD, "").strip()


SITE_ACCESS_CHANGED = _("Site access changed on the user's admin page")

#: The model of an AuditedAdmin.
ModelT = TypeVar("ModelT", bound=Model)


class ChangeReasonForm(forms.ModelForm):
    """A model form that asks why the change is made."""

    change_reason = forms.CharField(
        label=_("Reason for this change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail with your name and the time."),
        validators=[validate_multiline_text],
    )


class AuditedAdminForm(OpenedVersionMixin, ChangeReasonForm):
    """An admin form that asks why, and refuses a save from a page opened before another user
    changed the record. Admin validates and saves in one transaction, so the lock taken here
    holds until the save is committed."""

    # Declared here so that admin lays it out (as a hidden input); a stored record's form
    # replaces it with its version in __init__.
    opened_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.add_opened_version(versions.record_sources(self.instance))

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        cleaned = self.cleaned_data
        self.lock()
        self.check_opened_version()
        return cleaned

    def lock(self) -> None:
        """Lock what this save changes (trialsite.locks)."""
        if self.instance.pk is not None:
            lock_record(self.instance)


class AuditedAdmin(SimpleHistoryAdmin, Generic[ModelT]):
    """Admin whose every save and delete goes through the services with a reason.

    Generic in its model, as django-stubs' ModelAdmin is (SimpleHistoryAdmin has no types). Admin
    lets in only active staff users, so a method recording ``request.user`` as the author takes
    an AuthenticatedHttpRequest.
    """

    form = AuditedAdminForm
    # Numbers and dates take the digits 0-9 only, here and in every inline (each sets these).
    formfield_overrides = DIGIT_FIELD_OVERRIDES

    def save_model(
        self, request: AuthenticatedHttpRequest, obj: ModelT, form: AuditedAdminForm, change: bool
    ) -> None:
        services.save_with_audit(
            obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )

    def save_formset(
        self,
        request: HttpRequest,
        form: AuditedAdminForm,
        formset: BaseInlineFormSet,
        change: bool,
    ) -> None:
        reason = form.cleaned_data[CHANGE_REASON_FIELD]
        for inline_form in formset.forms:
            inline_form.instance._change_reason = reason
        super().save_formset(request, form, formset, change)

    delete_confirmation_template = "admin/trialsite/delete_confirmation.html"

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Ask why on the confirmation page: a deletion without a valid reason is refused and
        the page shown again with the message (the audit trail keeps the reason)."""
        if request.method == "POST" and "post" in request.POST:
            try:
                services.check_reason(deletion_reason(request))
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: AuthenticatedHttpRequest, obj: ModelT) -> None:
        services.delete_with_audit(obj, author=request.user, reason=deletion_reason(request))

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # An old version is shown, never saved back: reverting would skip the services (no
        # reason, no lock, no rescoring).
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_actions(
        self, request: HttpRequest
    ) -> dict[str, tuple[Callable[..., str], str, str] | None]:
        # Bulk deletion would skip the reason and the rescoring.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class VisitDefinitionInline(TranslationTabularInline[VisitDefinition, Study]):
    """The schedule on the study's page; the name in English and Chinese side by side."""

    model = VisitDefinition
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    extra = 0
    fields = ["order", "code", "name", "target_day", "window_low", "window_high", "repeatable"]


class StudyDoseLevelInline(admin.TabularInline):
    model = StudyDoseLevel
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    extra = 0
    fields = ["cells_per_kg"]


class ScheduleAdminForm(AuditedAdminForm):
    """A change of a study, its schedule or its dose levels alters the stored results of the
    study's participants: once it has any, a worker applies it with their rescoring
    (trialsite.schedule_changes), one change of a study at a time."""

    #: Set by clean(): whether the change waits for a worker (the study has participants).
    applies_later = False

    def study_id(self) -> int | None:
        """Return the key of the study changed (None for a new study)."""
        if isinstance(self.instance, Study):
            return self.instance.pk
        study = self.cleaned_data.get("study")
        return study.pk if study is not None else self.instance.study_id

    def lock(self) -> None:
        study_id = self.study_id()
        if study_id is None:
            return
        # Checked before the lock too: a change being applied holds the study's lock for as
        # long as the rescoring takes, and this page should say so at once.
        refuse_while_pending(study_id)
        lock_study(study_id)
        refuse_while_pending(study_id)
        self.applies_later = study_has_participants(study_id)


def refuse_while_pending(study_id: int) -> None:
    """Refuse a change of a study while another waits to be applied or is being applied."""
    pending = pending_schedule_change(study_id)
    if pending is not None:
        raise ValidationError(
            _(
                "A change of this study, asked by %(user)s at %(time)s, is being applied "
                "with the rescoring of its participants. Wait until it has finished, then "
                "make yours."
            ),
            params={
                "user": pending.created_by.get_username(),
                "time": timezone.localtime(pending.created_at).strftime("%Y-%m-%d %H:%M"),
            },
            code="pending",
        )


def _applies_later(form: AuditedAdminForm) -> bool:
    return isinstance(form, ScheduleAdminForm) and form.applies_later


def _logged_by_the_worker(obj: Model, flag: int, message: Any) -> LogEntry:
    """Return, unsaved, the admin history entry of a queued change: the worker saves it once the
    change is applied (jobs.tasks.apply_schedule_change), so the history never tells of a change
    that was not made."""
    return LogEntry(object_repr=str(obj)[:200], action_flag=flag, change_message=message)


#: The schedule change queued by an admin request, for its response (the admin's hooks that
#: answer the request do not receive the form).
_queued_changes: WeakKeyDictionary[HttpRequest, ScheduleChange] = WeakKeyDictionary()


class RescoringAdmin(AuditedAdmin[ModelT]):
    """An admin of what every stored result depends on: the study's baseline visit decides each
    change from baseline, and without one the schedule's order decides the follow-up visits.

    A study without participants is changed at once (nothing to rescore). Once it has any, a save
    queues a schedule change, which a worker writes with the rescoring of the study's
    participants in one transaction; the admin then shows the change's progress page."""

    form = ScheduleAdminForm

    def _study_of(self, request: HttpRequest, object_id: str) -> int | None:
        """Return the key of the study of the record (None when there is no such record)."""
        record = self.get_object(request, unquote(object_id))
        if record is None:
            return None
        return record.pk if isinstance(record, Study) else getattr(record, "study_id", None)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            self._tell_of_pending_change(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        study_id = self._study_of(request, object_id)
        if request.method != "POST" or "post" not in request.POST or study_id is None:
            return super().delete_view(request, object_id, extra_context)
        # A deletion waits for no pending change of the study, which would write the row again.
        with transaction.atomic():
            try:
                refuse_while_pending(study_id)
                lock_study(study_id)
                refuse_while_pending(study_id)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            return super().delete_view(request, object_id, extra_context)

    def _tell_of_pending_change(self, request: HttpRequest, object_id: str) -> None:
        study_id = self._study_of(request, object_id)
        pending = pending_schedule_change(study_id) if study_id is not None else None
        if pending is not None:
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _(
                        "A change of this study is being applied with the rescoring of its "
                        "participants: the page shows the values before it, and takes no "
                        "change until it has finished."
                    ),
                    pending.get_absolute_url(),
                    _("Follow it"),
                ),
                messages.WARNING,
            )

    def save_model(
        self, request: AuthenticatedHttpRequest, obj: ModelT, form: AuditedAdminForm, change: bool
    ) -> None:
        if not _applies_later(form):
            super().save_model(request, obj, form, change)

    def save_related(
        self,
        request: AuthenticatedHttpRequest,
        form: AuditedAdminForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        if not _applies_later(form):
            super().save_related(request, form, formsets, change)
            return
        assert isinstance(form, ScheduleAdminForm)
        study_id = form.study_id()
        assert study_id is not None  # a study with participants is stored
        operations = admin_operations(form, formsets)
        _queued_changes[request] = schedule_change_start(
            author=request.user,
            study_id=study_id,
            record=str(form.instance),
            change_message=json.dumps(
                self.construct_change_message(request, form, formsets, not change)
            ),
            reason=form.cleaned_data[CHANGE_REASON_FIELD],
            operations=operations,
            language=get_language(),
        )

    def log_addition(self, request: HttpRequest, obj: ModelT, message: Any) -> LogEntry:
        if request not in _queued_changes:
            return super().log_addition(request, obj, message)
        return _logged_by_the_worker(obj, ADDITION, message)

    def log_change(self, request: HttpRequest, obj: ModelT, message: Any) -> LogEntry:
        if request not in _queued_changes:
            return super().log_change(request, obj, message)
        return _logged_by_the_worker(obj, CHANGE, message)

    def response_add(
        self, request: HttpRequest, obj: ModelT, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._queued_response(request) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request: HttpRequest, obj: ModelT) -> HttpResponse:
        return self._queued_response(request) or super().response_change(request, obj)

    def _queued_response(self, request: HttpRequest) -> HttpResponse | None:
        change = _queued_changes.pop(request, None)
        if change is None:
            return None
        self.message_user(
            request,
            _(
                "The change of %(record)s is saved. It is written together with the rescoring "
                "of the study's participants; this page follows it."
            )
            % {"record": change.record},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change.get_absolute_url())


@admin.register(Study)
class StudyAdmin(RescoringAdmin[Study]):
    list_display = [
        "protocol_number",
        "name",
        "baseline_visit",
        "primary_visit",
        "sledai_lookback_days",
        "b_cell_aplasia_threshold_per_ul",
    ]
    search_fields = ["protocol_number", "name"]
    inlines = [VisitDefinitionInline, StudyDoseLevelInline]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name in {"baseline_visit", "primary_visit"}:
            match = request.resolver_match
            study_id = match.kwargs.get("object_id") if match is not None else None
            # The add page offers no visit yet: the study has no schedule before it is saved.
            kwargs["queryset"] = (
                VisitDefinition.objects.filter(study_id=study_id)
                if study_id is not None
                else VisitDefinition.objects.none()
            )
            # A study being edited has its schedule: every endpoint needs these two.
            kwargs["required"] = study_id is not None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# SimpleHistoryAdmin has no types, so only here are AuditedAdmin's attributes (its form, its
# template, its formfield_overrides) compared with ModelAdmin's declared types.
@admin.register(VisitDefinition)
class VisitDefinitionAdmin(  # type: ignore[misc]
    TranslationAdmin[VisitDefinition], RescoringAdmin[VisitDefinition]
):
    """A visit of the schedule, its name in English (required) and Chinese (optional, the
    English shows where it is empty) side by side."""

    list_display = [
        "code",
        "name",
        "study",
        "order",
        "target_day",
        "window_low",
        "window_high",
        "repeatable",
    ]
    list_filter = ["study", "repeatable"]
    search_fields = ["code", "name_en", "name_zh_hans"]
    ordering = ["study", "order"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: VisitDefinition | None = None
    ) -> list[str]:
        # A visit stays in its study: its visits and its study's results depend on it.
        return ["study"] if obj is not None else []


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    extra = 1
    autocomplete_fields = ["site"]


@admin.register(Site)
class SiteAdmin(TranslationAdmin[Site], AuditedAdmin[Site]):  # type: ignore[misc]  # as above
    """A site, its name in English (required) and Chinese (optional) side by side."""

    list_display = ["code", "name"]
    search_fields = ["code", "name_en", "name_zh_hans"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(AuditedAdmin[SiteMembership]):
    list_display = ["user", "site"]
    list_filter = ["site"]
    search_fields = ["user__username", "site__code"]
    autocomplete_fields = ["site"]


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(SimpleHistoryAdmin, GroupAdmin):
    """The roles; the History button shows every change of a role's permissions."""


@admin.register(User)
class TrialUserAdmin(SimpleHistoryAdmin, UserAdmin):
    """Users with their roles (groups) and the sites they belong to; the History button shows
    every change of a user's flags and roles (trialsite.models registers their history)."""

    inlines = [SiteMembershipInline]
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "site_codes",
        "is_active",
    ]
    list_filter = ["groups", "site_memberships__site", "is_active", "is_staff", "is_superuser"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthUser]:
        return super().get_queryset(request).prefetch_related("groups", "site_memberships__site")

    def has_delete_permission(self, request: HttpRequest, obj: AuthUser | None = None) -> bool:
        # The audit trail names its authors: deactivate a user who leaves, never delete one.
        return False

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formset: BaseInlineFormSet,
        change: bool,
    ) -> None:
        for inline_form in formset.forms:
            inline_form.instance._change_reason = str(SITE_ACCESS_CHANGED)
        super().save_formset(request, form, formset, change)

    @admin.display(description=_("roles"))
    def roles(self, user: AuthUser) -> str:
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description=_("sites"))
    def site_codes(self, user: AuthUser) -> str:
        return ", ".join(membership.site.code for membership in user.site_memberships.all())


class ParticipantAdminForm(AuditedAdminForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_infusion_order(
            self, participant=self.instance, infusion_date=cleaned.get("infusion_date")
        )
        check_participant_episodes(self, participant=self.instance, cleaned=cleaned)
        study = cleaned.get("study")
        check_participant_dose(
            self,
            study_id=study.pk if study is not None else self.instance.study_id,
            cleaned=cleaned,
            participant_id=self.instance.pk,
        )
        return cleaned

    def lock(self) -> None:
        # A stored participant is locked itself; a new one locks the study it is enrolled in.
        if self.instance.pk is not None:
            lock_participant_save(study_id=self.instance.study_id, participant_id=self.instance.pk)
            return
        study = self.cleaned_data.get("study")
        if study is not None:
            lock_participant_save(study_id=study.pk, participant_id=None)


@admin.register(Participant)
class ParticipantAdmin(AuditedAdmin[Participant]):
    form = ParticipantAdminForm
    #: The columns of participants.csv.
    list_display = list(PARTICIPANT_COLUMNS)
    list_filter = ["study", "site", "sex", "dose_cells_per_kg"]
    search_fields = ["participant_id"]
    date_hierarchy = "enrollment_date"
    list_select_related = ["site"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Participant | None = None
    ) -> list[str]:
        # A participant stays in its study: its visits follow that study's schedule, and its
        # results were computed against it.
        return ["study"] if obj is not None else []

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: Participant,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.participant_save(
            participant=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )


class AnswerFormSet(BaseInlineFormSet):
    """Refuse a value for an answer the visit records as not done (set on its data-entry page).

    ``answer_of`` names the answer (as trialsite.models.ANSWERS does) of each of the inline's
    fields.
    """

    answer_of: dict[str, str] = {}

    def clean(self) -> None:
        super().clean()
        visit = self.instance
        if visit.pk is None:
            return
        not_done = dict(visit.not_done_answers.values_list("answer", "reason"))
        for form in self.forms:
            if not form.is_valid():
                continue
            for field, answer in self.answer_of.items():
                if answer in not_done and form.cleaned_data.get(field) not in (None, ""):
                    form.add_error(
                        field,
                        _(
                            "Recorded as not done (%(reason)s). Change that on the visit's "
                            "data-entry page, where the answer and its reason are entered."
                        )
                        % {"reason": not_done[answer]},
                    )


class SledaiFormSet(AnswerFormSet):
    answer_of = {field: f"sledai_{field}" for field in SLEDAI_FIELDS}


def _visit_frozen(visit: Visit | None) -> bool:
    """Say whether a recorded visit is signed or locked: its data cannot change, in admin too."""
    return visit is not None and visit.pk is not None and services.visit_is_frozen(visit)


class RecordAdmin(AuditedAdmin[ModelT]):
    """Admin of a participant's record beside the visits (trialsite.records): read-only, and
    not deleted, while it is signed or locked (a data manager unlocks it on its page first)."""

    def _frozen(self, obj: ModelT | None) -> bool:
        return obj is not None and obj.pk is not None and services.record_is_frozen(obj)

    def has_change_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class VisitRecordInline(admin.StackedInline):
    """A record of a visit's data, read-only while the visit is signed or locked."""

    def has_add_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return not _visit_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return not _visit_frozen(obj) and super().has_change_permission(request, obj)


class SledaiInline(VisitRecordInline):
    model = SledaiAssessment
    formset = SledaiFormSet
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    can_delete = False


class PgaFormSet(AnswerFormSet):
    answer_of = {"score": "pga"}


class PgaInline(VisitRecordInline):
    model = PgaAssessment
    formset = PgaFormSet
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    can_delete = False


class BilagFormSet(AnswerFormSet):
    """Refuse a grade E after the system was graded A..D at an earlier visit."""

    answer_of = {system: f"bilag_{system}" for system in BILAG_SYSTEMS}

    def clean(self) -> None:
        super().clean()
        visit = self.instance
        if visit.participant_id is None or visit.visit_date is None:
            return
        for form in self.forms:
            if not form.is_valid() or (not form.has_changed() and form.instance.pk is None):
                continue
            grades = {system: form.cleaned_data.get(system) or None for system in BILAG_SYSTEMS}
            errors = services.bilag_history_errors(
                visit.participant, proposed_visit=visit, proposed_grades=grades
            )
            for system, system_messages in errors.items():
                for message in system_messages:
                    form.add_error(system, message)


class BilagInline(VisitRecordInline):
    model = BilagAssessment
    formset = BilagFormSet
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    can_delete = False


class LabInline(VisitRecordInline):
    """The visit's labs: those that suggest SLEDAI-2K descriptors, then the B cells and
    immunoglobulins."""

    model = LabResult
    formfield_overrides = DIGIT_FIELD_OVERRIDES
    can_delete = False
    fieldsets = [
        (_("Labs that suggest SLEDAI-2K descriptors"), {"fields": list(LAB_FIELDS)}),
        (_("B cells and immunoglobulins"), {"fields": list(IMMUNE_LAB_FIELDS)}),
    ]


class NotDoneInline(admin.TabularInline):
    """Answers recorded as not done, with the reason; they are set on the data-entry page, where
    the entry is checked as a whole."""

    model = NotDoneAnswer
    fields = ["answer", "reason"]
    readonly_fields = ["answer", "reason"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return False


class ParticipantRecordAdminForm(AuditedAdminForm):
    """A record of one participant's (a visit, a missed visit), locked by its participant."""

    def recorded_or_chosen(self, field: str) -> Any:
        """A stored record keeps its participant and visit (read-only here); a new one takes
        what was chosen. (Any: the field named decides the type; the two methods below give it.)
        """
        if self.instance.pk is not None:
            return getattr(self.instance, field)
        return self.cleaned_data.get(field)

    def recorded_participant(self) -> Participant | None:
        """The record's participant, or the one chosen (None if none valid was)."""
        return self.recorded_or_chosen("participant")

    def recorded_visit_definition(self) -> VisitDefinition | None:
        """The record's visit, or the one chosen (None if none valid was)."""
        return self.recorded_or_chosen("visit_definition")

    def lock(self) -> None:
        participant = self.recorded_participant()
        if participant is not None:
            lock_participants([participant.pk])


class VisitAdminForm(ParticipantRecordAdminForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_visit_order(
            self,
            visit=self.instance,
            participant=self.recorded_participant(),
            definition=self.recorded_visit_definition(),
            visit_date=cleaned.get("visit_date"),
        )
        return cleaned


@admin.register(Visit)
class VisitAdmin(AuditedAdmin[Visit]):
    form = VisitAdminForm
    list_display = ["participant", "visit_definition", "occurrence", "visit_date", "entry_status"]
    list_filter = ["visit_definition__code", "participant__site"]
    search_fields = ["participant__participant_id"]
    date_hierarchy = "visit_date"
    list_select_related = ["participant", "visit_definition"]
    autocomplete_fields = ["participant"]
    inlines = [PgaInline, SledaiInline, BilagInline, LabInline, NotDoneInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Visit | None = None) -> list[str]:
        # The services number repeated visits and set the entry status from the answers; a
        # recorded visit stays with its participant and visit (record another one instead).
        if obj is None:
            return ["occurrence", "entry_status"]
        return ["participant", "visit_definition", "occurrence", "entry_status"]

    def has_change_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return not _visit_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Visit | None = None) -> bool:
        return not _visit_frozen(obj) and super().has_delete_permission(request, obj)

    def get_deleted_objects(
        self, objs: Sequence[Visit] | QuerySet[Visit], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # Only a visit's own records (trialsite.models.VISIT_RECORD_MODELS), sign-offs and
        # queries protect it, and visit_delete removes them first (each audited).
        deletable, model_count, _perms_needed, _protected = super().get_deleted_objects(
            objs, request
        )
        return deletable, model_count, set(), []

    def save_model(
        self, request: AuthenticatedHttpRequest, obj: Visit, form: AuditedAdminForm, change: bool
    ) -> None:
        services.visit_save(
            visit=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )

    def save_related(
        self,
        request: AuthenticatedHttpRequest,
        form: AuditedAdminForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        reason = form.cleaned_data[CHANGE_REASON_FIELD]
        if any(formset.has_changed() for formset in formsets):
            # Voids a source verification; a signed or locked visit never gets here (above).
            services.visit_data_changed(visit=form.instance, author=request.user, reason=reason)
        super().save_related(request, form, formsets, change)
        # The inlines saved the assessments: the entry status follows the answers, then the
        # participant's BILAG-2004 history is checked and everything rescored.
        services.visit_recheck_entry(visit=form.instance, author=request.user, reason=reason)

    def delete_model(self, request: AuthenticatedHttpRequest, obj: Visit) -> None:
        services.visit_delete(visit=obj, author=request.user, reason=deletion_reason(request))


class MissedVisitAdminForm(ParticipantRecordAdminForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        participant = self.recorded_participant()
        definition = self.recorded_visit_definition()
        if self.instance.pk is None and participant is not None and definition is not None:
            for message in services.missed_visit_errors(
                participant=participant, visit_definition=definition
            ):
                self.add_error("visit_definition", message)
        return cleaned


@admin.register(MissedVisit)
class MissedVisitAdmin(AuditedAdmin[MissedVisit]):
    form = MissedVisitAdminForm
    list_display = ["participant", "visit_definition", "reason", "note"]
    list_filter = ["reason", "visit_definition__code", "participant__site"]
    search_fields = ["participant__participant_id"]
    list_select_related = ["participant", "visit_definition"]
    autocomplete_fields = ["participant"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: MissedVisit | None = None
    ) -> list[str]:
        return [] if obj is None else ["participant", "visit_definition"]

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: MissedVisit,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        reason = form.cleaned_data[CHANGE_REASON_FIELD]
        if change:
            services.save_with_audit(obj, author=request.user, reason=reason)
        else:
            services.missed_visit_record(
                participant=obj.participant,
                visit_definition=obj.visit_definition,
                reason=obj.reason,
                note=obj.note,
                author=request.user,
                audit_reason=reason,
            )

    def delete_model(self, request: AuthenticatedHttpRequest, obj: MissedVisit) -> None:
        services.missed_visit_remove(
            missed=obj, author=request.user, reason=deletion_reason(request)
        )


@admin.register(VisitScore)
class VisitScoreAdmin(admin.ModelAdmin):
    list_display = [
        "visit",
        "sledai_total",
        "clinical_sledai_total",
        "bilag_numeric",
        "computed_at",
    ]
    search_fields = ["visit__participant__participant_id"]
    list_select_related = ["visit__participant", "visit__visit_definition"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: VisitScore | EndpointResult | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: VisitScore | EndpointResult | None = None
    ) -> bool:
        return False


@admin.register(EndpointResult)
class EndpointResultAdmin(VisitScoreAdmin):
    list_display = [
        "visit",
        "endpoint",
        "outcome",
        "reason",
        "sledai_change",
        "new_bilag_a",
        "new_bilag_b",
        "pga_change",
        "treatment_failure",
        "computed_at",
    ]
    list_filter = ["endpoint", "outcome", "visit__visit_definition__code"]
