"""Django admin of medication courses. As everywhere in admin, a change asks for a reason; the
save and the deletion go through medications.services, which store the drug's generic name.
Whether a treatment-failure proposal was dismissed is read-only here: the participant page
answers proposals."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from medications import services
from medications.forms import DrugNameMixin, clean_course_dates
from medications.models import MedicationCourse
from trialsite.admin import (
    CHANGE_REASON_FIELD,
    AuditedAdminForm,
    ParticipantRecordAdminForm,
    RecordAdmin,
    deletion_reason,
)
from trialsite.http import AuthenticatedHttpRequest


class MedicationCourseAdminForm(DrugNameMixin, ParticipantRecordAdminForm):
    """Lock the course's participant, then show on the fields what the services would refuse
    (admin cannot show a refusal raised while saving)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        participant = self.recorded_participant()
        if participant is not None:
            self.instance.participant = participant
            clean_course_dates(self, course=self.instance)
        return cleaned


@admin.register(MedicationCourse)
class MedicationCourseAdmin(RecordAdmin[MedicationCourse]):
    form = MedicationCourseAdminForm
    list_display = [
        "participant",
        "drug",
        "daily_dose_mg",
        "route",
        "start_date",
        "stop_date",
        "failure_proposal_dismissed",
    ]
    list_filter = ["route", "participant__site"]
    search_fields = ["participant__participant_id", "drug"]
    date_hierarchy = "start_date"
    list_select_related = ["participant"]
    autocomplete_fields = ["participant"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: MedicationCourse | None = None
    ) -> list[str]:
        # A recorded course stays with its participant (record another one instead).
        dismissed = ["failure_proposal_dismissed"]
        return dismissed if obj is None else ["participant", *dismissed]

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: MedicationCourse,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.medication_course_save(
            course=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )

    def delete_model(self, request: AuthenticatedHttpRequest, obj: MedicationCourse) -> None:
        services.medication_course_delete(
            course=obj, author=request.user, reason=deletion_reason(request)
        )
