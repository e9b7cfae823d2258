"""The safety records monitor queries can be about (trialsite.records), registered when the app
is ready: the CAR-T treatment record, CRS and ICANS episodes and adverse events, each with the
fields of its entry form and its page."""

from django.urls import reverse
from django.utils.translation import gettext as _

from safety import display
from safety.forms import (
    TREATMENT_RECORD_ENTRIES,
    AdverseEventForm,
    CrsEpisodeForm,
    IcansEpisodeForm,
)
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, TreatmentRecord
from trialsite import records


def _crs(episode: CrsEpisode) -> str:
    return _("CRS episode from %(date)s") % {"date": episode.onset_date.isoformat()}


def _icans(episode: IcansEpisode) -> str:
    return _("ICANS episode from %(date)s") % {"date": episode.onset_date.isoformat()}


def _adverse_event(event: AdverseEvent) -> str:
    return _("adverse event %(term)s from %(date)s") % {
        "term": event.term_label,
        "date": event.start_date.isoformat(),
    }


def _treatment(record: TreatmentRecord) -> str:
    return _("CAR-T treatment record")


def _shown_as_on_the_page(record: CrsEpisode | IcansEpisode, field: str) -> str | None:
    """Show an episode's temperature with its unit and an ICANS score with its tool ("CAPD 4",
    "ICE: unable to perform"), as the episode's page does."""
    if field == "max_temp_c" and isinstance(record, CrsEpisode) and record.max_temp_c is not None:
        return display.temperature(record.max_temp_c)
    if field == "tool_score" and isinstance(record, IcansEpisode):
        return display.encephalopathy_result(record)
    return None


def _grade_confirmed(episode: CrsEpisode | IcansEpisode) -> str | None:
    """An episode's signature covers its grade: the investigator confirms the grade first."""
    if episode.confirmed_at is None:
        return _("Confirm the episode's grade before signing it.")
    return None


def register() -> None:
    records.register(
        TreatmentRecord,
        fields=TREATMENT_RECORD_ENTRIES,
        describe=_treatment,
        url=lambda record: records.participant_page(record.participant_id, "treatment"),
    )
    records.register(
        CrsEpisode,
        fields=CrsEpisodeForm.Meta.fields,
        describe=_crs,
        url=lambda episode: reverse("crs_episode_detail", args=[episode.pk]),
        show=_shown_as_on_the_page,
        before_signing=_grade_confirmed,
    )
    records.register(
        IcansEpisode,
        fields=IcansEpisodeForm.Meta.fields,
        describe=_icans,
        url=lambda episode: reverse("icans_episode_detail", args=[episode.pk]),
        show=_shown_as_on_the_page,
        before_signing=_grade_confirmed,
    )
    records.register(
        AdverseEvent,
        fields=AdverseEventForm.Meta.fields,
        describe=_adverse_event,
        url=lambda event: reverse("adverse_event_detail", args=[event.pk]),
    )
