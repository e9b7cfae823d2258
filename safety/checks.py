"""The rules that tie a CRS or ICANS episode to its participant and its grade: the onset follows
the infusion, an ICANS episode is assessed with the tool of the participant's age at onset, and
the grade is safety.grading's grade of the stored entries.

They only read, so the episode services, ``trialsite.services.participant_save`` (a changed
infusion date, age or enrolment date) and ``recompute_responses --check`` all use them.
"""

from datetime import date
from typing import cast

from django.utils.translation import gettext as _

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
from safety.models import CrsEpisode, IcansEpisode
from trialsite.models import Participant


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


def participant_episode_errors(participant: Participant) -> dict[str, list[str]]:
    """Check a participant's new dates and age against the stored CRS and ICANS episodes.

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


def stale_grades() -> list[str]:
    """Name every stored CRS or ICANS episode whose grade or drivers differ from a fresh grading
    of its entries (empty when every stored grade is right)."""
    problems = []
    episodes: list[tuple[CrsEpisode | IcansEpisode, CrsGrade | IcansGrade]] = [
        *(
            (episode, crs_grade(episode))
            for episode in CrsEpisode.objects.select_related("participant")
        ),
        *(
            (episode, icans_grade(episode))
            for episode in IcansEpisode.objects.select_related("participant")
        ),
    ]
    for episode, fresh in episodes:
        stored = (episode.grade, episode.drivers)
        expected = (fresh.grade, [str(driver) for driver in fresh.drivers])
        if stored != expected:
            problems.append(f"{episode}: stored grade {stored}, fresh grading {expected}")
    return problems
