"""The rules that tie a CRS or ICANS episode to its participant and its grade: the onset follows
the infusion, an ICANS episode is assessed with the tool of the participant's age at onset, and
the grade is safety.grading's grade of the stored entries. And the rules of an adverse event:
a listed CTCAE term (never CRS or ICANS), a start on or after enrolment, and entries that agree
with each other (grade 5 and a fatal outcome, seriousness, the end date and the outcome).

They only read, so the episode and adverse event services, their forms,
``trialsite.services.participant_save`` (a changed infusion date, age or enrolment date) and
``recompute_responses --check`` all use them.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django.utils.translation import gettext as _

from safety.ctcae import astct_syndrome, is_ctcae_term, listed_spelling, needs_specification
from safety.grading.crs import CrsEntries, CrsGrade, Hypotension, Oxygen, grade_crs
from safety.grading.icans import (
    ICE_MAX_SCORE,
    UNABLE_TO_PERFORM,
    Consciousness,
    EncephalopathyTool,
    IcansEntries,
    IcansGrade,
    Motor,
    RaisedIntracranialPressure,
    Seizure,
    age_at_onset,
    grade_icans,
    tool_for_age,
)
from safety.models import (
    AE_DEATH_GRADE,
    ENDED_OUTCOMES,
    ONGOING_OUTCOMES,
    AdverseEvent,
    AeAction,
    AeOutcome,
    CrsEpisode,
    IcansEpisode,
    Relatedness,
    TreatmentRecord,
)
from trialsite.models import FREEZING_STEPS, Participant, RecordSignOff, dose_label
from trialsite.records import of_record


def onset_errors(participant: Participant, onset: date | None) -> dict[str, str]:
    """Check that an episode's onset follows the participant's infusion (CRS and ICANS are
    reactions to the CAR-T cells)."""
    if onset is None:
        return {}
    if participant.infusion_date is None:
        return {
            "onset_date": _(
                "%(participant)s has no infusion date: CRS and ICANS are recorded after infusion."
            )
            % {"participant": participant}
        }
    if onset < participant.infusion_date:
        return {
            "onset_date": _("The onset cannot be before the infusion (%(date)s).")
            % {"date": participant.infusion_date.isoformat()}
        }
    return {}


def icans_age_at_onset(participant: Participant, onset: date) -> int:
    """Return the participant's age in whole years on the onset date (clinical-rules.md 6)."""
    return age_at_onset(participant.age_at_enrollment, participant.enrollment_date, onset)


def icans_tool_for(participant: Participant, onset: date) -> EncephalopathyTool:
    """Return the encephalopathy tool the age at onset asks for: ICE over 12, CAPD otherwise."""
    return tool_for_age(icans_age_at_onset(participant, onset))


def _wrong_tool_message(age: int, expected: EncephalopathyTool) -> str:
    if expected == EncephalopathyTool.CAPD:
        message = _(
            "The participant was %(age)d at onset: children aged 12 or under are assessed with "
            "CAPD, not ICE. Enter the CAPD score."
        )
    else:
        message = _(
            "The participant was %(age)d at onset: participants over 12 are assessed with ICE, "
            "not CAPD. Enter the ICE score."
        )
    return message % {"age": age}


def icans_entry_errors(episode: IcansEpisode) -> dict[str, str]:
    """Check the encephalopathy entries against the age at onset, naming the field at fault.

    Run once the onset date is known to follow the infusion (so it follows enrolment).
    """
    age = icans_age_at_onset(episode.participant, episode.onset_date)
    expected = tool_for_age(age)
    if episode.tool != expected:
        return {"tool": _wrong_tool_message(age, expected)}
    ice_score = episode.tool_score if episode.tool == EncephalopathyTool.ICE else None
    if ice_score is not None and ice_score > ICE_MAX_SCORE:
        return {"tool_score": _("The ICE score is 0 to 10.")}
    return {}


def participant_safety_errors(participant: Participant) -> dict[str, list[str]]:
    """Check a participant's new dates, age and dose against the stored CRS and ICANS episodes,
    adverse events (participant_adverse_event_errors) and CAR-T treatment record
    (participant_treatment_errors).

    An infusion date after an episode's onset (or removed) is refused on the infusion date; an age
    or enrolment date that changes the tool an ICANS episode's age at onset asks for is refused on
    the age at enrolment: the episode is corrected first.
    """
    if participant.pk is None:
        return {}
    errors: dict[str, list[str]] = {}
    crs = CrsEpisode.objects.filter(participant=participant).order_by("onset_date")
    icans = IcansEpisode.objects.filter(participant=participant).order_by("onset_date")
    first_onsets = [
        episodes.values_list("onset_date", flat=True).first() for episodes in (crs, icans)
    ]
    onsets = [onset for onset in first_onsets if onset is not None]
    if onsets:
        message = onset_errors(participant, min(onsets)).get("onset_date")
        if message is not None:
            errors["infusion_date"] = [
                _("A CRS or ICANS episode starts on %(date)s: %(problem)s")
                % {"date": min(onsets).isoformat(), "problem": message}
            ]
    if "infusion_date" not in errors:
        for episode in icans:
            episode.participant = participant
            wrong = icans_entry_errors(episode).get("tool")
            if wrong is not None:
                errors.setdefault("age_at_enrollment", []).append(
                    _("The ICANS episode from %(date)s would be wrong: %(problem)s")
                    % {"date": episode.onset_date.isoformat(), "problem": wrong}
                )
    for found in (
        participant_adverse_event_errors(participant),
        participant_treatment_errors(participant),
    ):
        for field, messages in found.items():
            errors.setdefault(field, []).extend(messages)
    return errors


def _first_adverse_event_start(participant: Participant, **conditions: object) -> date | None:
    return (
        AdverseEvent.objects.filter(participant=participant, **conditions)
        .order_by("start_date")
        .values_list("start_date", flat=True)
        .first()
    )


def participant_adverse_event_errors(participant: Participant) -> dict[str, list[str]]:
    """Check a participant's new enrolment and infusion dates against the stored adverse events:
    an event may not start before enrolment, and one related to the CAR-T cells in any degree
    may not start before the infusion (nor exist without one). The event is corrected first."""
    if participant.pk is None:
        return {}
    errors: dict[str, list[str]] = {}
    first = _first_adverse_event_start(participant)
    if first is not None and first < participant.enrollment_date:
        errors["enrollment_date"] = [
            _("An adverse event starts on %(date)s, before this enrolment date.")
            % {"date": first.isoformat()}
        ]
    related = _first_adverse_event_start(participant, related_cart__in=CART_RELATED)
    if related is not None and (
        participant.infusion_date is None or related < participant.infusion_date
    ):
        errors["infusion_date"] = [
            _(
                "An adverse event from %(date)s is recorded as related to the CAR-T cells: it "
                "cannot start before the infusion. Correct the event first."
            )
            % {"date": related.isoformat()}
        ]
    return errors


# --------------------------------------------------------------------------------------------
# Adverse events
# --------------------------------------------------------------------------------------------

#: Relatedness to the CAR-T cells other than "not related".
CART_RELATED = tuple(value for value in Relatedness.values if value != Relatedness.NOT)


def astct_refusal(syndrome: str) -> str:
    """Say that CRS or ICANS is recorded as an episode, not as an adverse event."""
    if syndrome == "CRS":
        return _(
            "Cytokine release syndrome is recorded as a CRS episode (graded by ASTCT 2019 on the "
            "participant's page), not as an adverse event."
        )
    return _(
        "ICANS is recorded as an ICANS episode (graded by ASTCT 2019 on the participant's "
        "page), not as an adverse event."
    )


def term_errors(term: str, specification: str) -> dict[str, str]:
    """Check the term against the CTCAE v5.0 list (safety.ctcae) and its description: required
    for an "Other, specify" term and only for one, and never naming CRS or ICANS."""
    errors: dict[str, str] = {}
    if not term:
        return errors  # the field is required: its own check says so
    syndrome = astct_syndrome(term)
    if syndrome is not None:
        return {"term": astct_refusal(syndrome)}
    if not is_ctcae_term(term):
        spelling = listed_spelling(term)
        if spelling is not None:
            errors["term"] = _('Write the term as CTCAE spells it: "%(term)s".') % {
                "term": spelling
            }
        else:
            errors["term"] = _(
                'Not a CTCAE v5.0 term of the list: choose one, or the "Other, specify" term of '
                "its system organ class and describe the event."
            )
        return errors
    if needs_specification(term) and not specification.strip():
        errors["term_specify"] = _('Describe the event: the term is "Other, specify".')
    elif specification and not needs_specification(term):
        errors["term_specify"] = _(
            'Leave the description empty: only an "Other, specify" term takes one.'
        )
    elif specification and (syndrome := astct_syndrome(specification)) is not None:
        errors["term_specify"] = astct_refusal(syndrome)
    return errors


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _date_errors(event: AdverseEvent, participant: Participant) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    start = event.start_date
    if start is None:
        return errors
    if start < participant.enrollment_date:
        _add(
            errors,
            "start_date",
            _("The start date cannot be before enrolment (%(date)s).")
            % {"date": participant.enrollment_date.isoformat()},
        )
    if event.end_date is not None and event.end_date < start:
        _add(errors, "end_date", _("The end date cannot be before the start date."))
    infusion = participant.infusion_date
    if event.related_cart in CART_RELATED and (infusion is None or start < infusion):
        if infusion is None:
            message = _(
                "%(participant)s has no infusion date: the event cannot be related to the "
                'CAR-T cells. Choose "not related".'
            ) % {"participant": participant}
        else:
            message = _(
                "The event started before the CAR-T infusion (%(date)s): it cannot be related to "
                'the CAR-T cells. Choose "not related".'
            ) % {"date": infusion.isoformat()}
        _add(errors, "related_cart", message)
    return errors


def _outcome_errors(event: AdverseEvent) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    # Both are required: without one of them, its own check says so.
    if event.grade is not None and event.outcome:
        if event.grade == AE_DEATH_GRADE and event.outcome != AeOutcome.FATAL:
            _add(errors, "outcome", _("A grade 5 event is fatal: choose the outcome fatal."))
        if event.outcome == AeOutcome.FATAL and event.grade != AE_DEATH_GRADE:
            _add(errors, "grade", _("A fatal event is grade 5 (death)."))
    if event.end_date is not None and event.outcome in ONGOING_OUTCOMES:
        _add(
            errors,
            "end_date",
            _(
                "The outcome says the event is still going on (%(outcome)s): leave the end date "
                "empty, or give the outcome it ended with."
            )
            % {"outcome": event.get_outcome_display()},
        )
    if event.end_date is None and event.outcome in ENDED_OUTCOMES:
        _add(
            errors,
            "end_date",
            _("The outcome says the event has ended (%(outcome)s): give its end date.")
            % {"outcome": event.get_outcome_display()},
        )
    return errors


def _seriousness_errors(event: AdverseEvent) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if event.grade == AE_DEATH_GRADE and not event.serious:
        _add(errors, "serious", _("An event that results in death is serious: tick serious."))
    elif event.action == AeAction.HOSPITALISATION and not event.serious:
        _add(
            errors,
            "serious",
            _(
                "An event that led to hospitalisation (initial or prolonged) is serious: tick "
                "serious."
            ),
        )
    elif not event.serious and event.criteria:
        _add(errors, "serious", _("Tick serious, or clear the seriousness criteria."))
    if event.results_in_death and event.grade != AE_DEATH_GRADE:
        _add(
            errors,
            "results_in_death",
            _('"Results in death" is the criterion of a grade 5 (fatal) event.'),
        )
    return errors


def adverse_event_errors(event: AdverseEvent, participant: Participant) -> dict[str, list[str]]:
    """Check an adverse event's entries against each other and against its participant as
    stored, each error on the field at fault: what the model's constraints hold, said where the
    user can correct it, and the rules only the participant's dates can tell."""
    errors: dict[str, list[str]] = {}
    for field, message in term_errors(event.term, event.term_specify).items():
        _add(errors, field, message)
    for found in (
        _date_errors(event, participant),
        _outcome_errors(event),
        _seriousness_errors(event),
    ):
        for field, messages in found.items():
            errors.setdefault(field, []).extend(messages)
    if event.start_date is not None and "term" not in errors:
        same = AdverseEvent.objects.filter(
            participant=participant,
            term=event.term,
            term_specify=event.term_specify,
            start_date=event.start_date,
        )
        if same.exclude(pk=event.pk).exists():
            _add(
                errors,
                "start_date",
                _(
                    '%(participant)s already has an adverse event "%(term)s" starting on this '
                    "date; open it to change it."
                )
                % {"participant": participant, "term": event.term_label},
            )
    return errors


def crs_grade(episode: CrsEpisode) -> CrsGrade:
    """Return the ASTCT grade of a CRS episode's entries."""
    return grade_crs(
        CrsEntries(
            highest_temperature_c=episode.max_temp_c,
            fever_masked=episode.fever_masked,
            hypotension=Hypotension(episode.hypotension),
            oxygen=Oxygen(episode.oxygen),
            died_of_crs=episode.died_of_crs,
        )
    )


def icans_grade(episode: IcansEpisode) -> IcansGrade:
    """Return the ASTCT grade of an ICANS episode's entries (checked by icans_entry_errors)."""
    return grade_icans(
        IcansEntries(
            age_at_onset=icans_age_at_onset(episode.participant, episode.onset_date),
            encephalopathy_tool=EncephalopathyTool(episode.tool),
            # The model's constraint holds a score unless the assessment could not be performed.
            encephalopathy_score=UNABLE_TO_PERFORM
            if episode.unable_to_perform
            else cast(int, episode.tool_score),
            consciousness=Consciousness(episode.consciousness),
            seizure=Seizure(episode.seizure),
            motor=Motor(episode.motor),
            raised_intracranial_pressure=RaisedIntracranialPressure(episode.raised_icp),
            died_of_icans=episode.died_of_icans,
        )
    )


def fresh_grades() -> Iterator[tuple[CrsEpisode | IcansEpisode, CrsGrade | IcansGrade]]:
    """Yield every stored CRS episode, then every ICANS episode, with a fresh grading of its
    entries."""
    for crs in CrsEpisode.objects.select_related("participant"):
        yield crs, crs_grade(crs)
    for icans in IcansEpisode.objects.select_related("participant"):
        yield icans, icans_grade(icans)


def stale_grades() -> list[str]:
    """Name every stored CRS or ICANS episode whose grade or drivers differ from a fresh grading
    of its entries (empty when every stored grade is right)."""
    problems = []
    for episode, fresh in fresh_grades():
        stored = (episode.grade, episode.drivers)
        expected = (fresh.grade, [str(driver) for driver in fresh.drivers])
        if stored != expected:
            problems.append(
                f"{episode}: stored grade {stored}, fresh grading {expected} "
                "(manage.py regrade_episodes stores it; a signed or locked episode is unlocked "
                "first, a verified one is regraded when it is saved again)"
            )
    return problems


# --------------------------------------------------------------------------------------------
# CAR-T treatment record
# --------------------------------------------------------------------------------------------

#: The seed protocol's lymphodepletion (clinical-rules.md section 7): fludarabine 30 mg/m² and
#: cyclophosphamide 300 mg/m² a day; any other dose is a reduction with its reason.
PROTOCOL_FLUDARABINE_MG_M2 = Decimal("30")
PROTOCOL_CYCLOPHOSPHAMIDE_MG_M2 = Decimal("300")
#: How far the total CAR+ cells may differ from the dose per kg times the weight (either side,
#: inclusive): the two are recorded separately and checked against each other.
TOTAL_CELLS_TOLERANCE = Decimal("0.10")


def lymphodepletion_end(record: TreatmentRecord) -> date:
    """Return the last day of lymphodepletion (its first day counts as day one)."""
    return record.lymphodepletion_start_date + timedelta(days=record.lymphodepletion_days - 1)


def expected_total_cells(dose_cells_per_kg: int, weight_kg: Decimal) -> Decimal:
    """Return the CAR+ cells a dose per kg gives at a weight."""
    return dose_cells_per_kg * weight_kg


def _cells(value: Decimal) -> str:
    return f"{value.quantize(Decimal(1)):,}"


def _total_cells_error(total: int | None, dose: int | None, weight: Decimal | None) -> str | None:
    if total is None or dose is None or weight is None:
        return None
    expected = expected_total_cells(dose, weight)
    if abs(total - expected) <= expected * TOTAL_CELLS_TOLERANCE:
        return None
    return _(
        "%(total)s CAR+ cells differ by more than 10%% from the dose: %(dose)s/kg times "
        "%(weight)s kg is %(expected)s cells. Check the total, the weight and the dose per kg."
    ) % {
        "total": _cells(Decimal(total)),
        "dose": dose_label(dose),
        "weight": weight,
        "expected": _cells(expected),
    }


def _lymphodepletion_error(record: TreatmentRecord, infusion: date) -> str | None:
    start, days = record.lymphodepletion_start_date, record.lymphodepletion_days
    if start is None or days is None:
        return None
    end = lymphodepletion_end(record)
    if end < infusion:
        return None
    return _(
        "The lymphodepletion (%(start)s to %(end)s) must end before the infusion (%(date)s): "
        "by the day before at the latest."
    ) % {"start": start.isoformat(), "end": end.isoformat(), "date": infusion.isoformat()}


def _protocol_dose_errors(record: TreatmentRecord) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    doses = (
        ("fludarabine_mg_m2_per_day", _("fludarabine"), PROTOCOL_FLUDARABINE_MG_M2),
        ("cyclophosphamide_mg_m2_per_day", _("cyclophosphamide"), PROTOCOL_CYCLOPHOSPHAMIDE_MG_M2),
    )
    for field, drug, protocol in doses:
        given = getattr(record, field)
        if given is not None and given != protocol and not record.dose_reduced:
            _add(
                errors,
                field,
                _(
                    "The protocol gives %(drug)s %(dose)s mg/m² per day: tick that the dose was "
                    "reduced and give the reason."
                )
                % {"drug": drug, "dose": protocol},
            )
    reason = record.dose_reduction_reason.strip()
    if record.dose_reduced and not reason:
        _add(errors, "dose_reduction_reason", _("Give the reason for the dose reduction."))
    elif reason and not record.dose_reduced:
        _add(
            errors,
            "dose_reduction_reason",
            _("Tick that the dose was reduced, or clear the reason."),
        )
    return errors


def treatment_record_errors(
    record: TreatmentRecord, participant: Participant
) -> dict[str, list[str]]:
    """Check a treatment record's entries against each other and against its participant's
    infusion date and dose per kg as stored, each error on the field at fault
    (clinical-rules.md section 6)."""
    errors: dict[str, list[str]] = {}
    leukapheresis, start = record.leukapheresis_date, record.lymphodepletion_start_date
    if leukapheresis is not None and start is not None and leukapheresis >= start:
        _add(
            errors,
            "leukapheresis_date",
            _("The leukapheresis comes before the lymphodepletion starts (%(date)s).")
            % {"date": start.isoformat()},
        )
    if participant.infusion_date is None:
        _add(
            errors,
            "infusion_time",
            _(
                "%(participant)s has no infusion date: record it on the participant first "
                "(it is day 0)."
            )
            % {"participant": participant},
        )
    else:
        message = _lymphodepletion_error(record, participant.infusion_date)
        if message is not None:
            _add(errors, "lymphodepletion_start_date", message)
    if participant.dose_cells_per_kg is None:
        _add(
            errors,
            "total_car_cells",
            _("%(participant)s has no dose per kg: record it on the participant first.")
            % {"participant": participant},
        )
    else:
        message = _total_cells_error(
            record.total_car_cells, participant.dose_cells_per_kg, record.weight_kg
        )
        if message is not None:
            _add(errors, "total_car_cells", message)
    for field, messages in _protocol_dose_errors(record).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def participant_treatment_errors(participant: Participant) -> dict[str, list[str]]:
    """Check a participant's new infusion date and dose per kg against the stored treatment
    record: the lymphodepletion still ends before the infusion, the total cells still agree with
    the dose. The treatment record is corrected first."""
    if participant.pk is None:
        return {}
    record = TreatmentRecord.objects.filter(participant_id=participant.pk).first()
    if record is None:
        return {}
    errors: dict[str, list[str]] = {}
    if participant.infusion_date is None:
        message: str | None = _(
            "A CAR-T treatment record gives the infusion time: the infusion date stays."
        )
    else:
        message = _lymphodepletion_error(record, participant.infusion_date)
    if message is not None:
        errors["infusion_date"] = [
            _("The CAR-T treatment record would be wrong: %(problem)s") % {"problem": message}
        ]
    if participant.dose_cells_per_kg is None:
        message = _("A CAR-T treatment record gives the total cells: the dose stays.")
    else:
        message = _total_cells_error(
            record.total_car_cells, participant.dose_cells_per_kg, record.weight_kg
        )
    if message is not None:
        errors["dose_cells_per_kg"] = [
            _("The CAR-T treatment record would be wrong: %(problem)s") % {"problem": message}
        ]
    for field in _changed_under_signed_treatment(participant, record):
        errors.setdefault(field, []).append(
            _(
                "The CAR-T treatment record, which depends on it, is signed or locked: a data "
                "manager unlocks the record first."
            )
        )
    return errors


#: The participant's fields a CAR-T treatment record depends on: its infusion time is on the
#: infusion date, its total cells follow the dose per kg.
TREATMENT_PARTICIPANT_FIELDS = ("infusion_date", "dose_cells_per_kg")


def _changed_under_signed_treatment(participant: Participant, record: TreatmentRecord) -> list[str]:
    """Name the fields of TREATMENT_PARTICIPANT_FIELDS that differ from the stored participant
    while the treatment record is signed or locked."""
    stored = (
        Participant.objects.filter(pk=participant.pk).values(*TREATMENT_PARTICIPANT_FIELDS).first()
    )
    changed = [
        field
        for field in TREATMENT_PARTICIPANT_FIELDS
        if stored is not None and stored[field] != getattr(participant, field)
    ]
    if not changed:
        return []
    frozen = RecordSignOff.objects.filter(
        **of_record(record), voided_at__isnull=True, kind__in=FREEZING_STEPS
    ).exists()
    return changed if frozen else []
