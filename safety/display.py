"""How the pages show a CRS or ICANS episode (its grade and why, whether an investigator
confirmed it, its entries) and an adverse event (its term, grade, seriousness with its criteria,
relatedness and acknowledgement), the participant's CAR-T treatment, and the participant page's
rows. Plain functions of stored
records: no query beyond what the caller loaded (``confirmed_by`` and ``acknowledged_by`` with
``select_related``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safety.checks import expected_total_cells, lymphodepletion_end
from safety.ctcae import CTCAE_SOC_OF_TERM
from safety.grading.crs import CRS_FEVER_THRESHOLD_C, CrsDomain
from safety.grading.icans import EncephalopathyTool, IcansDomain
from safety.models import (
    CRS_DOMAIN_LABELS,
    ICANS_DOMAIN_LABELS,
    AdverseEvent,
    CrsEpisode,
    IcansEpisode,
    SafetyEpisode,
    TreatmentRecord,
)
from trialsite.i18n import StrOrPromise
from trialsite.models import Participant

#: The badge of each grade: none light, mild blue, moderate yellow, severe red, death dark.
GRADE_BADGES = {
    0: "text-bg-light border",
    1: "text-bg-info",
    2: "text-bg-warning",
    3: "text-bg-danger",
    4: "text-bg-danger",
    5: "text-bg-dark",
}
CONFIRMATION_WITHDRAWN_ON_CHANGE = gettext_lazy(
    "Changing any entry withdraws the investigator's confirmation: the new grade then awaits "
    "confirmation again."
)


def temperature(value: Decimal) -> str:
    return _("%(temperature)s °C") % {"temperature": value}


def _level(domain: StrOrPromise, level: StrOrPromise) -> str:
    return _("%(domain)s: %(level)s") % {"domain": domain, "level": level}


def _explained(kind: str, grade: int, phrases: Iterable[str]) -> str:
    return _("Grade %(grade)s %(kind)s — driven by %(drivers)s") % {
        "grade": grade,
        "kind": kind,
        "drivers": "; ".join(phrases),
    }


def _crs_driver(episode: CrsEpisode, domain: CrsDomain) -> str:
    label = CRS_DOMAIN_LABELS[domain]
    if domain == CrsDomain.FEVER:
        highest = episode.max_temp_c
        if highest >= CRS_FEVER_THRESHOLD_C:
            return _level(label, temperature(highest))
        return _level(label, _("masked by antipyretic or anti-cytokine therapy"))
    if domain == CrsDomain.HYPOTENSION:
        return _level(label, episode.get_hypotension_display())
    if domain == CrsDomain.OXYGEN:
        return _level(label, episode.get_oxygen_display())
    return str(label)  # death from CRS


def crs_grade_explanation(episode: CrsEpisode) -> str:
    """Say the episode's stored grade and why, from the domains that drove it and the levels
    entered: "Grade 3 CRS — driven by hypotension: needing one vasopressor (...)"."""
    if episode.grade == 0:
        threshold = temperature(CRS_FEVER_THRESHOLD_C)
        return _("No CRS: no fever (%(temperature)s: below %(threshold)s and not masked)") % {
            "temperature": temperature(episode.max_temp_c),
            "threshold": threshold,
        }
    return _explained(
        "CRS", episode.grade, (_crs_driver(episode, CrsDomain(name)) for name in episode.drivers)
    )


def encephalopathy_result(episode: IcansEpisode) -> str:
    """Show the encephalopathy assessment: "CAPD 4", "ICE 10", "ICE: unable to perform"."""
    tool = EncephalopathyTool(episode.tool).name
    if episode.unable_to_perform:
        return _("%(tool)s: unable to perform") % {"tool": tool}
    return f"{tool} {episode.tool_score}"


def _icans_driver(episode: IcansEpisode, domain: IcansDomain) -> str:
    label = ICANS_DOMAIN_LABELS[domain]
    levels = {
        IcansDomain.ENCEPHALOPATHY: encephalopathy_result,
        IcansDomain.CONSCIOUSNESS: IcansEpisode.get_consciousness_display,
        IcansDomain.SEIZURE: IcansEpisode.get_seizure_display,
        IcansDomain.MOTOR: IcansEpisode.get_motor_display,
        IcansDomain.RAISED_INTRACRANIAL_PRESSURE: IcansEpisode.get_raised_icp_display,
    }
    if domain not in levels:
        return str(label)  # death from ICANS
    return _level(label, levels[domain](episode))


def icans_grade_explanation(episode: IcansEpisode) -> str:
    """Say the episode's stored grade and why: "Grade 1 ICANS — driven by encephalopathy
    score: CAPD 4"."""
    if episode.grade == 0:
        return _(
            "No ICANS: %(encephalopathy)s, alert, and no seizure, motor finding or raised "
            "intracranial pressure"
        ) % {"encephalopathy": encephalopathy_result(episode)}
    return _explained(
        "ICANS",
        episode.grade,
        (_icans_driver(episode, IcansDomain(name)) for name in episode.drivers),
    )


def grade_explanation(episode: SafetyEpisode) -> str:
    if isinstance(episode, CrsEpisode):
        return crs_grade_explanation(episode)
    if isinstance(episode, IcansEpisode):
        return icans_grade_explanation(episode)
    raise TypeError(f"Not a CRS or ICANS episode: {episode!r}")


def driver_labels(episode: SafetyEpisode) -> list[StrOrPromise]:
    """Name the domains that drove the grade (none for grade 0)."""
    if isinstance(episode, CrsEpisode):
        return [CRS_DOMAIN_LABELS[CrsDomain(name)] for name in episode.drivers]
    return [ICANS_DOMAIN_LABELS[IcansDomain(name)] for name in episode.drivers]


def grade_label(episode: SafetyEpisode) -> str:
    """Show the grade on a badge: "Grade 3", or "No CRS" / "No ICANS" for grade 0."""
    if episode.grade == 0:
        return _("No CRS") if isinstance(episode, CrsEpisode) else _("No ICANS")
    return _("Grade %(grade)s") % {"grade": episode.grade}


def confirmed_on(episode: SafetyEpisode) -> date | None:
    """Return the day (local time) the investigator confirmed the grade, None if not confirmed."""
    if episode.confirmed_at is None:
        return None
    return timezone.localtime(episode.confirmed_at).date()


def confirmation_status(episode: SafetyEpisode) -> str:
    """Say whether the grade is the site's proposal or an investigator confirmed it, and who."""
    day = confirmed_on(episode)
    if day is None or episode.confirmed_by is None:
        return _("proposed by the site — awaiting the investigator's confirmation")
    user = episode.confirmed_by
    return _("confirmed by %(name)s on %(date)s") % {
        "name": user.get_full_name() or user.get_username(),
        "date": day.isoformat(),
    }


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _label(model: type[SafetyEpisode], field: str) -> str:
    # The entries are value columns of the episode: get_field gives a model Field.
    return str(capfirst(cast(models.Field, model._meta.get_field(field)).verbose_name))


def episode_entries(episode: SafetyEpisode) -> list[tuple[str, str]]:
    """Return the episode's entries as (label, value) pairs, in the form's order, after its
    dates."""
    model = type(episode)
    if isinstance(episode, CrsEpisode):
        highest = episode.max_temp_c
        return [
            (
                _label(model, "max_temp_c"),
                temperature(highest) if highest is not None else _("not recorded"),
            ),
            (_label(model, "fever_masked"), _yes_no(episode.fever_masked)),
            (_label(model, "hypotension"), episode.get_hypotension_display()),
            (_label(model, "oxygen"), episode.get_oxygen_display()),
            (_label(model, "tocilizumab"), _yes_no(episode.tocilizumab)),
            (_label(model, "corticosteroids"), _yes_no(episode.corticosteroids)),
            (_label(model, "died_of_crs"), _yes_no(episode.died_of_crs)),
        ]
    if isinstance(episode, IcansEpisode):
        return [
            (_label(model, "tool"), episode.get_tool_display()),
            (_label(model, "tool_score"), encephalopathy_result(episode)),
            (_label(model, "consciousness"), episode.get_consciousness_display()),
            (_label(model, "seizure"), episode.get_seizure_display()),
            (_label(model, "motor"), episode.get_motor_display()),
            (_label(model, "raised_icp"), episode.get_raised_icp_display()),
            (_label(model, "died_of_icans"), _yes_no(episode.died_of_icans)),
        ]
    raise TypeError(f"Not a CRS or ICANS episode: {episode!r}")


def url_prefix(episode: SafetyEpisode) -> str:
    """Return the start of the names of the episode's pages (safety.urls): crs or icans."""
    return "crs" if isinstance(episode, CrsEpisode) else "icans"


@dataclass(frozen=True)
class EpisodeRow:
    """One episode as the participant page lists it."""

    syndrome: str
    episode: SafetyEpisode
    study_day: int | None
    grade_label: str
    badge: str
    drivers: str
    explanation: str
    confirmed: bool
    status: str
    detail_url: str
    edit_url: str


def episode_row(participant: Participant, episode: SafetyEpisode) -> EpisodeRow:
    prefix = url_prefix(episode)
    return EpisodeRow(
        syndrome="CRS" if prefix == "crs" else "ICANS",
        episode=episode,
        study_day=participant.study_day(episode.onset_date),
        grade_label=grade_label(episode),
        badge=GRADE_BADGES[episode.grade],
        drivers=", ".join(str(label) for label in driver_labels(episode)),
        explanation=grade_explanation(episode),
        confirmed=episode.confirmed_at is not None,
        status=confirmation_status(episode),
        detail_url=reverse(f"{prefix}_episode_detail", args=[episode.pk]),
        edit_url=reverse(f"{prefix}_episode_edit", args=[episode.pk]),
    )


def episode_rows(
    participant: Participant, *, crs: Iterable[CrsEpisode], icans: Iterable[IcansEpisode]
) -> list[EpisodeRow]:
    """Return a participant's CRS and ICANS episodes as the participant page lists them, by
    onset date (CRS first on the same day)."""
    episodes: list[SafetyEpisode] = [*crs, *icans]
    episodes.sort(key=lambda episode: (episode.onset_date, url_prefix(episode) != "crs"))
    return [episode_row(participant, episode) for episode in episodes]


# --------------------------------------------------------------------------------------------
# Adverse events
# --------------------------------------------------------------------------------------------

CRITERIA_NOT_RECORDED = gettext_lazy("criteria not recorded")
ACKNOWLEDGEMENT_WITHDRAWN_ON_CHANGE = gettext_lazy(
    "Changing the term, the grade, the start date, the seriousness or the relatedness withdraws "
    "the acknowledgement: the event then awaits acknowledgement again."
)


def _field_label(field: str) -> str:
    # The criteria are value columns of the event: get_field gives a model Field.
    return str(cast(models.Field, AdverseEvent._meta.get_field(field)).verbose_name)


def seriousness_criteria(event: AdverseEvent) -> str:
    """Name a serious event's criteria ("requires hospitalisation or prolongs it"), or say they
    were not recorded (an imported event: the file has no column for them); empty when the
    event is not serious."""
    if not event.serious:
        return ""
    names = event.criteria
    if not names:
        return str(CRITERIA_NOT_RECORDED)
    return "; ".join(_field_label(name) for name in names)


def acknowledged_on(event: AdverseEvent) -> date | None:
    """Return the day (local time) the event was acknowledged, None if not acknowledged."""
    if event.acknowledged_at is None:
        return None
    return timezone.localtime(event.acknowledged_at).date()


def acknowledgement_status(event: AdverseEvent) -> str:
    """Say whether a serious event was acknowledged, by whom and when (empty when not
    serious)."""
    if not event.serious:
        return ""
    day = acknowledged_on(event)
    if day is None or event.acknowledged_by is None:
        return _("awaiting acknowledgement by a monitor or data manager")
    user = event.acknowledged_by
    return _("acknowledged by %(name)s on %(date)s") % {
        "name": user.get_full_name() or user.get_username(),
        "date": day.isoformat(),
    }


def relatedness(event: AdverseEvent) -> str:
    """Say how the event relates to the treatments: "CAR-T: possibly related; lymphodepletion:
    not related"."""
    return _("CAR-T: %(cart)s; lymphodepletion: %(ld)s") % {
        "cart": event.get_related_cart_display(),
        "ld": event.get_related_ld_display(),
    }


def adverse_event_grade_label(event: AdverseEvent) -> str:
    return _("Grade %(grade)s") % {"grade": event.grade}


@dataclass(frozen=True)
class AdverseEventRow:
    """One adverse event as the participant page, its own page and Home show it."""

    event: AdverseEvent
    term: str
    soc: str
    study_day: int | None
    grade_label: str
    badge: str
    serious: bool
    criteria: str
    acknowledged: bool
    status: str
    relatedness: str
    detail_url: str
    edit_url: str


def adverse_event_row(participant: Participant, event: AdverseEvent) -> AdverseEventRow:
    return AdverseEventRow(
        event=event,
        term=event.term_label,
        soc=CTCAE_SOC_OF_TERM.get(event.term, ""),
        study_day=participant.study_day(event.start_date),
        grade_label=adverse_event_grade_label(event),
        badge=GRADE_BADGES[event.grade],
        serious=event.serious,
        criteria=seriousness_criteria(event),
        acknowledged=event.acknowledged_at is not None,
        status=acknowledgement_status(event),
        relatedness=relatedness(event),
        detail_url=reverse("adverse_event_detail", args=[event.pk]),
        edit_url=reverse("adverse_event_edit", args=[event.pk]),
    )


def adverse_event_rows(
    participant: Participant, events: Iterable[AdverseEvent]
) -> list[AdverseEventRow]:
    """Return a participant's adverse events as the participant page lists them, by start
    date then term."""
    ordered = sorted(events, key=lambda event: (event.start_date, event.term_label, event.pk))
    return [adverse_event_row(participant, event) for event in ordered]


def adverse_event_entries(event: AdverseEvent) -> list[tuple[str, str]]:
    """Return the event's entries as (label, value) pairs, in the form's order."""

    def label(field: str) -> str:
        return str(capfirst(_field_label(field)))

    soc = CTCAE_SOC_OF_TERM.get(event.term, "")
    entries = [
        (label("term"), event.term),
        (_("System organ class"), soc),
    ]
    if event.term_specify:
        entries.append((label("term_specify"), event.term_specify))
    entries += [
        (label("grade"), event.get_grade_display()),
        (label("start_date"), event.start_date.isoformat()),
        (
            label("end_date"),
            event.end_date.isoformat() if event.end_date is not None else _("ongoing"),
        ),
        (label("serious"), _yes_no(event.serious)),
    ]
    if event.serious:
        entries.append((_("Seriousness criteria"), seriousness_criteria(event)))
    entries += [
        (label("related_cart"), event.get_related_cart_display()),
        (label("related_ld"), event.get_related_ld_display()),
        (label("action"), event.get_action_display()),
        (label("outcome"), event.get_outcome_display()),
    ]
    return entries


@dataclass(frozen=True)
class TreatmentSummary:
    """A participant's CAR-T treatment as the participant page shows it, with the study days
    (None before the infusion date is known) and the total cells the dose per kg gives."""

    record: TreatmentRecord
    leukapheresis_day: int | None
    lymphodepletion_end: date
    lymphodepletion_first_day: int | None
    lymphodepletion_last_day: int | None
    expected_cells: Decimal | None


def treatment_summary(
    participant: Participant, record: TreatmentRecord | None
) -> TreatmentSummary | None:
    """Summarise the participant's treatment record (None when none is recorded)."""
    if record is None:
        return None
    end = lymphodepletion_end(record)
    dose = participant.dose_cells_per_kg
    return TreatmentSummary(
        record=record,
        leukapheresis_day=participant.study_day(record.leukapheresis_date),
        lymphodepletion_end=end,
        lymphodepletion_first_day=participant.study_day(record.lymphodepletion_start_date),
        lymphodepletion_last_day=participant.study_day(end),
        expected_cells=None if dose is None else expected_total_cells(dose, record.weight_kg),
    )
