"""Django admin: studies, the visit schedule, sites, users and their sites, and the trial's data.

Every change made here asks for a reason, which goes into the audit history with the author.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from trialsite.models import (
    BilagAssessment,
    Participant,
    PgaAssessment,
    Site,
    SiteMembership,
    SledaiAssessment,
    Study,
    Visit,
    VisitDefinition,
)

CHANGE_REASON_FIELD = "change_reason"
DELETED_IN_ADMIN = _("Deleted in admin")


class ChangeReasonForm(forms.ModelForm):
    """A model form that asks why the change is made."""

    change_reason = forms.CharField(
        label=_("Reason for this change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail with your name and the time."),
    )


class AuditedAdmin(SimpleHistoryAdmin):
    """Admin whose every save and delete records a reason in the audit history."""

    form = ChangeReasonForm

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data[CHANGE_REASON_FIELD]
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data[CHANGE_REASON_FIELD]
        for inline_form in formset.forms:
            inline_form.instance._change_reason = reason
        super().save_formset(request, form, formset, change)

    def delete_model(self, request, obj):
        obj._change_reason = str(DELETED_IN_ADMIN)
        super().delete_model(request, obj)


class VisitDefinitionInline(admin.TabularInline):
    model = VisitDefinition
    extra = 0
    fields = ["order", "code", "name", "target_day", "window_low", "window_high", "repeatable"]


@admin.register(Study)
class StudyAdmin(AuditedAdmin):
    list_display = [
        "protocol_number",
        "name",
        "baseline_visit",
        "primary_visit",
        "sledai_lookback_days",
    ]
    search_fields = ["protocol_number", "name"]
    inlines = [VisitDefinitionInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in {"baseline_visit", "primary_visit"}:
            study_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = VisitDefinition.objects.filter(study_id=study_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(AuditedAdmin):
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
    search_fields = ["code", "name"]
    ordering = ["study", "order"]


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 1
    autocomplete_fields = ["site"]


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(AuditedAdmin):
    list_display = ["user", "site"]
    list_filter = ["site"]
    search_fields = ["user__username", "site__code"]
    autocomplete_fields = ["site"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class TrialUserAdmin(UserAdmin):
    """Users with their roles (groups) and the sites they belong to."""

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

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups", "site_memberships__site")

    @admin.display(description=_("roles"))
    def roles(self, user) -> str:
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description=_("sites"))
    def site_codes(self, user) -> str:
        return ", ".join(membership.site.code for membership in user.site_memberships.all())


@admin.register(Participant)
class ParticipantAdmin(AuditedAdmin):
    list_display = [
        "participant_id",
        "site",
        "sex",
        "age_at_enrollment",
        "enrollment_date",
        "infusion_date",
        "dose_cells_per_kg",
        "treatment_failure_date",
        "withdrawal_date",
    ]
    list_filter = ["study", "site", "sex", "dose_cells_per_kg"]
    search_fields = ["participant_id"]
    date_hierarchy = "enrollment_date"
    list_select_related = ["site"]


class SledaiInline(admin.StackedInline):
    model = SledaiAssessment
    can_delete = False


class PgaInline(admin.StackedInline):
    model = PgaAssessment
    can_delete = False


class BilagInline(admin.StackedInline):
    model = BilagAssessment
    can_delete = False


@admin.register(Visit)
class VisitAdmin(AuditedAdmin):
    list_display = ["participant", "visit_definition", "occurrence", "visit_date"]
    list_filter = ["visit_definition__code", "participant__site"]
    search_fields = ["participant__participant_id"]
    date_hierarchy = "visit_date"
    list_select_related = ["participant", "visit_definition"]
    autocomplete_fields = ["participant"]
    inlines = [PgaInline, SledaiInline, BilagInline]
