"""Django admin of CRS and ICANS episodes. As everywhere in admin, a change asks for a reason; the
save and the deletion go through safety.services, which grade the episode (the grade and its
confirmation are read-only here) and withdraw a confirmation when an entry changes."""

from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest

from safety import services
from safety.forms import check_episode_dates, check_icans_encephalopathy
from safety.models import CrsEpisode, IcansEpisode, SafetyEpisode
from trialsite.admin import (
    CHANGE_REASON_FIELD,
    AuditedAdmin,
    AuditedAdminForm,
    ParticipantRecordAdminForm,
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


class EpisodeAdmin(AuditedAdmin[EpisodeT]):
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
