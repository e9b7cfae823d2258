"""Django admin of CRS and ICANS episodes and of adverse events. As everywhere in admin, a change
asks for a reason; the save and the deletion go through safety.services, which grade an episode
(the grade and its confirmation are read-only here) and withdraw a confirmation when an entry
changes, and withdraw an adverse event's acknowledgement when its term, grade or seriousness
changes (the acknowledgement is read-only here). The CAR-T treatment record is saved through
its service too, checked against the participant's infusion date and dose."""

from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest

from safety import services
from safety.forms import (
    check_adverse_event,
    check_episode_dates,
    check_icans_encephalopathy,
    check_treatment_record,
)
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, SafetyEpisode, TreatmentRecord
from trialsite.admin import (
    CHANGE_REASON_FIELD,
    AuditedAdminForm,
    ParticipantRecordAdminForm,
    RecordAdmin,
    deletion_reason,
)
from trialsite.http import AuthenticatedHttpRequest
from trialsite.models import Participant

#: The model of an EpisodeAdmin.
EpisodeT = TypeVar("EpisodeT", bound=SafetyEpisode)
#: Computed by the services, or set by an investigator's confirmation on the episode's page.
GRADE_FIELDS = ["grade", "grade_drivers", "confirmed_by", "confirmed_at"]


class EpisodeAdminForm(ParticipantRecordAdminForm):
    """Lock the episode's participant, then show on the fields what the services would refuse
    (admin cannot show a refusal raised while saving)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        participant = self.recorded_participant()
        if participant is not None:
            participant.refresh_from_db()  # the dates as stored, now that it is locked
            self.check_entries(participant)
        return cleaned

    def check_entries(self, participant: Participant) -> None:
        check_episode_dates(self, episode=self.instance, participant=participant)


class IcansEpisodeAdminForm(EpisodeAdminForm):
    def check_entries(self, participant: Participant) -> None:
        onset = check_episode_dates(self, episode=self.instance, participant=participant)
        check_icans_encephalopathy(self, participant=participant, onset=onset)


class EpisodeAdmin(RecordAdmin[EpisodeT]):
    form = EpisodeAdminForm
    list_display = [
        "participant",
        "onset_date",
        "resolution_date",
        "grade",
        "grade_drivers",
        "confirmed_by",
        "confirmed_at",
    ]
    list_filter = ["grade", "participant__site"]
    search_fields = ["participant__participant_id"]
    date_hierarchy = "onset_date"
    list_select_related = ["participant", "confirmed_by"]
    autocomplete_fields = ["participant"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: SafetyEpisode | None = None
    ) -> list[str]:
        # A recorded episode stays with its participant (record another one instead).
        return GRADE_FIELDS if obj is None else ["participant", *GRADE_FIELDS]

    def delete_model(self, request: AuthenticatedHttpRequest, obj: EpisodeT) -> None:
        services.episode_delete(episode=obj, author=request.user, reason=deletion_reason(request))


@admin.register(CrsEpisode)
class CrsEpisodeAdmin(EpisodeAdmin[CrsEpisode]):
    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: CrsEpisode,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.crs_episode_save(
            episode=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )


@admin.register(IcansEpisode)
class IcansEpisodeAdmin(EpisodeAdmin[IcansEpisode]):
    form = IcansEpisodeAdminForm

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: IcansEpisode,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.icans_episode_save(
            episode=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )


class AdverseEventAdminForm(ParticipantRecordAdminForm):
    """Lock the event's participant, then show on the fields what the service would refuse."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        participant = self.recorded_participant()
        if participant is not None:
            participant.refresh_from_db()  # the dates as stored, now that it is locked
            check_adverse_event(self, event=self.instance, participant=participant)
        return cleaned


@admin.register(AdverseEvent)
class AdverseEventAdmin(RecordAdmin[AdverseEvent]):
    form = AdverseEventAdminForm
    list_display = [
        "participant",
        "term",
        "grade",
        "start_date",
        "end_date",
        "serious",
        "outcome",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = ["grade", "serious", "outcome", "participant__site"]
    search_fields = ["participant__participant_id", "term", "term_specify"]
    date_hierarchy = "start_date"
    list_select_related = ["participant", "acknowledged_by"]
    autocomplete_fields = ["participant"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: AdverseEvent | None = None
    ) -> list[str]:
        # A recorded event stays with its participant (record another one instead).
        acknowledgement = ["acknowledged_by", "acknowledged_at"]
        return acknowledgement if obj is None else ["participant", *acknowledgement]

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: AdverseEvent,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.adverse_event_save(
            event=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )

    def delete_model(self, request: AuthenticatedHttpRequest, obj: AdverseEvent) -> None:
        services.adverse_event_delete(
            event=obj, author=request.user, reason=deletion_reason(request)
        )


class TreatmentRecordAdminForm(ParticipantRecordAdminForm):
    """Lock the record's participant, then show on the fields what the service would refuse."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        participant = self.recorded_participant()
        if participant is not None:
            participant.refresh_from_db()  # the infusion date and dose as stored, now locked
            check_treatment_record(self, record=self.instance, participant=participant)
        return cleaned


@admin.register(TreatmentRecord)
class TreatmentRecordAdmin(RecordAdmin[TreatmentRecord]):
    form = TreatmentRecordAdminForm
    list_display = [
        "participant",
        "leukapheresis_date",
        "lymphodepletion_start_date",
        "lymphodepletion_days",
        "dose_reduced",
        "weight_kg",
        "total_car_cells",
    ]
    list_filter = ["dose_reduced", "participant__site"]
    search_fields = ["participant__participant_id"]
    list_select_related = ["participant"]
    autocomplete_fields = ["participant"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: TreatmentRecord | None = None
    ) -> list[str]:
        # A recorded treatment stays with its participant.
        return [] if obj is None else ["participant"]

    def save_model(
        self,
        request: AuthenticatedHttpRequest,
        obj: TreatmentRecord,
        form: AuditedAdminForm,
        change: bool,
    ) -> None:
        services.treatment_record_save(
            record=obj, author=request.user, reason=form.cleaned_data[CHANGE_REASON_FIELD]
        )

    def delete_model(self, request: AuthenticatedHttpRequest, obj: TreatmentRecord) -> None:
        services.treatment_record_delete(
            record=obj, author=request.user, reason=deletion_reason(request)
        )
