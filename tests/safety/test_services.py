"""CRS and ICANS episodes are written through the safety services: validated against the
participant, graded on every save, audited, and confirmed by an investigator."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from safety import services
from safety.grading.crs import Hypotension, Oxygen
from safety.grading.icans import (
    Consciousness,
    EncephalopathyTool,
    Motor,
    RaisedIntracranialPressure,
    Seizure,
)
from safety.models import (
    ConsciousnessChoice,
    CrsEpisode,
    HypotensionChoice,
    IcansEpisode,
    MotorChoice,
    OxygenChoice,
    RaisedIcpChoice,
    SeizureChoice,
    ToolChoice,
)
from tests.factories import ParticipantFactory, UserFactory
from trialsite import services as trialsite_services

REASON = "Entered from the ward chart"


@pytest.fixture
def author(site_a):
    return UserFactory(username="author", role="Coordinator", sites=[site_a])


def crs(participant, **entries) -> CrsEpisode:
    values = {
        "onset_date": date(2026, 2, 10),
        "resolution_date": date(2026, 2, 12),
        "max_temp_c": Decimal("38.5"),
        "fever_masked": False,
        "hypotension": "none",
        "oxygen": "none",
        "tocilizumab": False,
        "corticosteroids": False,
        "died_of_crs": False,
    }
    return CrsEpisode(participant=participant, **{**values, **entries})


def icans(participant, **entries) -> IcansEpisode:
    values = {
        "onset_date": date(2026, 2, 14),
        "resolution_date": None,
        "tool": "capd",
        "tool_score": 4,
        "unable_to_perform": False,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "raised_icp": "none",
        "died_of_icans": False,
    }
    return IcansEpisode(participant=participant, **{**values, **entries})


def test_a_crs_episode_is_graded_on_save_and_audited(participant_a, author):
    episode = services.crs_episode_save(
        episode=crs(participant_a, hypotension="one_vasopressor", oxygen="low_flow"),
        author=author,
        reason=REASON,
    )

    stored = CrsEpisode.objects.get(pk=episode.pk)
    # Fever with one vasopressor (grade 3) and low-flow oxygen (grade 2): the worse, 3.
    assert (stored.grade, stored.drivers) == (3, ["hypotension"])
    version = stored.history.get()
    assert (version.history_user, version.history_change_reason) == (author, REASON)
    assert version.grade == 3


def test_a_change_of_entries_regrades_the_episode(participant_a, author):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    assert (episode.grade, episode.drivers) == (1, ["fever"])

    episode.max_temp_c = Decimal("37.9")
    services.crs_episode_save(episode=episode, author=author, reason="Chart re-read")

    # 37.9 °C is below the 38.0 threshold and nothing masked it: no CRS.
    assert CrsEpisode.objects.get(pk=episode.pk).grade == 0
    assert CrsEpisode.objects.get(pk=episode.pk).drivers == []


def test_the_onset_must_follow_the_infusion(participant_a, author):
    with pytest.raises(ValidationError) as error:
        services.crs_episode_save(
            episode=crs(participant_a, onset_date=date(2026, 2, 8)), author=author, reason=REASON
        )

    assert error.value.message_dict == {
        "onset_date": ["The onset cannot be before the infusion (2026-02-09)."]
    }
    assert not CrsEpisode.objects.exists()


def test_a_participant_not_infused_has_no_episodes(study, site_a, author):
    waiting = ParticipantFactory(study=study, site=site_a, infusion_date=None)

    with pytest.raises(ValidationError) as error:
        services.crs_episode_save(episode=crs(waiting), author=author, reason=REASON)

    assert list(error.value.message_dict) == ["onset_date"]
    assert "no infusion date" in error.value.message_dict["onset_date"][0]


def test_the_resolution_cannot_precede_the_onset(participant_a, author):
    with pytest.raises(ValidationError) as error:
        services.crs_episode_save(
            episode=crs(participant_a, resolution_date=date(2026, 2, 9)),
            author=author,
            reason=REASON,
        )

    assert "The resolution date cannot be before the onset date." in error.value.messages


def test_one_episode_per_participant_and_onset_date(participant_a, author):
    services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)

    with pytest.raises(ValidationError) as error:
        services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)

    assert "already has an episode with this onset date" in str(error.value)


def test_every_change_needs_a_reason(participant_a, author):
    with pytest.raises(ValidationError):
        services.crs_episode_save(episode=crs(participant_a), author=author, reason="  ")
    assert not CrsEpisode.objects.exists()


@pytest.mark.parametrize(
    ("age_at_enrolment", "tool", "score", "grade"),
    [(10, "capd", 4, 1), (10, "capd", 9, 3), (13, "ice", 8, 1), (13, "ice", 2, 3)],
    ids=["capd-4", "capd-9", "ice-8", "ice-2"],
)
def test_an_icans_episode_is_graded_with_the_tool_of_its_age(
    study, site_a, author, age_at_enrolment, tool, score, grade
):
    participant = ParticipantFactory(study=study, site=site_a, age_at_enrollment=age_at_enrolment)

    episode = services.icans_episode_save(
        episode=icans(participant, tool=tool, tool_score=score), author=author, reason=REASON
    )

    assert (episode.grade, episode.drivers) == (grade, ["encephalopathy"])


def test_ice_for_a_child_of_ten_is_refused_on_the_tool(study, site_a, author):
    participant = ParticipantFactory(study=study, site=site_a, age_at_enrollment=10)

    with pytest.raises(ValidationError) as error:
        services.icans_episode_save(
            episode=icans(participant, tool="ice", tool_score=9), author=author, reason=REASON
        )

    assert error.value.message_dict == {
        "tool": [
            "The participant was 10 at onset: children aged 12 or under are assessed with CAPD, "
            "not ICE. Enter the CAPD score."
        ]
    }


def test_the_age_at_onset_counts_the_birthdays_since_enrolment(study, site_a, author):
    # Enrolled at 12 on 2025-06-01: 12 until 2026-05-31, 13 (ICE) from 2026-06-01.
    participant = ParticipantFactory(
        study=study,
        site=site_a,
        age_at_enrollment=12,
        enrollment_date=date(2025, 6, 1),
        infusion_date=date(2025, 7, 1),
    )
    day_before = icans(participant, onset_date=date(2026, 5, 31), tool="ice", tool_score=9)
    with pytest.raises(ValidationError) as error:
        services.icans_episode_save(episode=day_before, author=author, reason=REASON)
    assert list(error.value.message_dict) == ["tool"]

    on_the_day = icans(participant, onset_date=date(2026, 6, 1), tool="ice", tool_score=9)
    assert services.icans_episode_save(episode=on_the_day, author=author, reason=REASON).grade == 1


def test_an_ice_score_above_ten_is_refused(study, site_a, author):
    participant = ParticipantFactory(study=study, site=site_a, age_at_enrollment=15)

    with pytest.raises(ValidationError) as error:
        services.icans_episode_save(
            episode=icans(participant, tool="ice", tool_score=11), author=author, reason=REASON
        )

    # The database's constraint refuses it too, so the model's checks say it first.
    assert error.value.messages == ["The ICE score is 0 to 10 and the CAPD score 0 to 32."]


def test_a_score_or_unable_to_perform_not_both(participant_a, author):
    with pytest.raises(ValidationError) as error:
        services.icans_episode_save(
            episode=icans(participant_a, unable_to_perform=True), author=author, reason=REASON
        )
    assert "Enter the encephalopathy score, or tick unable to perform (not both)." in (
        error.value.messages
    )

    unable = icans(participant_a, tool_score=None, unable_to_perform=True)
    episode = services.icans_episode_save(episode=unable, author=author, reason=REASON)
    assert (episode.grade, episode.drivers) == (4, ["encephalopathy"])


def test_an_investigator_confirms_the_grade_and_a_change_withdraws_it(
    participant_a, author, investigator_a
):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)

    services.episode_confirm(episode=episode, author=investigator_a)
    episode.refresh_from_db()
    assert episode.confirmed_by == investigator_a
    assert episode.confirmed_at is not None
    assert episode.history.first().history_change_reason == "grade confirmed by the investigator"

    # Saving the same entries again keeps the confirmation; a changed entry withdraws it.
    services.crs_episode_save(episode=episode, author=author, reason="Saved again")
    episode.refresh_from_db()
    assert episode.confirmed_by == investigator_a
    episode.oxygen = "low_flow"
    services.crs_episode_save(episode=episode, author=author, reason="Oxygen was given")
    episode.refresh_from_db()
    assert (episode.grade, episode.confirmed_by, episode.confirmed_at) == (2, None, None)


def test_only_an_investigator_confirms(participant_a, author):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)

    with pytest.raises(PermissionDenied):
        services.episode_confirm(episode=episode, author=author)


def test_a_confirmed_grade_is_not_confirmed_twice(participant_a, author, investigator_a):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    services.episode_confirm(episode=episode, author=investigator_a)

    with pytest.raises(ValidationError):
        services.episode_confirm(episode=episode, author=investigator_a)


def test_a_deleted_episode_stays_in_the_history(participant_a, author):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    episode_id = episode.pk

    services.episode_delete(episode=episode, author=author, reason="Entered for the wrong child")

    assert not CrsEpisode.objects.exists()
    deleted = CrsEpisode.history.filter(id=episode_id).first()
    assert (deleted.history_type, deleted.history_change_reason) == (
        "-",
        "Entered for the wrong child",
    )


def test_an_infusion_date_after_an_episode_is_refused(participant_a, author):
    services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    participant_a.infusion_date = date(2026, 2, 11)

    with pytest.raises(ValidationError) as error:
        trialsite_services.participant_save(
            participant=participant_a, author=author, reason="Infusion date corrected"
        )

    assert error.value.message_dict == {
        "infusion_date": [
            "A CRS or ICANS episode starts on 2026-02-10: The onset cannot be before the "
            "infusion (2026-02-11)."
        ]
    }
    participant_a.refresh_from_db()
    assert participant_a.infusion_date == date(2026, 2, 9)


def test_an_age_that_changes_an_icans_episodes_tool_is_refused(study, site_a, author):
    participant = ParticipantFactory(study=study, site=site_a, age_at_enrollment=10)
    services.icans_episode_save(episode=icans(participant), author=author, reason=REASON)
    participant.age_at_enrollment = 13

    with pytest.raises(ValidationError) as error:
        trialsite_services.participant_save(
            participant=participant, author=author, reason="Age corrected"
        )

    assert error.value.message_dict == {
        "age_at_enrollment": [
            "The ICANS episode from 2026-02-14 would be wrong: The participant was 13 at onset: "
            "participants over 12 are assessed with ICE, not CAPD. Enter the ICE score."
        ]
    }
    # An age that keeps the tool is saved.
    participant.age_at_enrollment = 11
    trialsite_services.participant_save(participant=participant, author=author, reason="Age")


def test_recompute_check_finds_a_tampered_grade(participant_a, author):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    call_command("recompute_responses", "--check", stdout=io.StringIO())

    CrsEpisode.objects.filter(pk=episode.pk).update(grade=2)

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 stored result differs"):
        call_command("recompute_responses", "--check", stdout=out)
    assert out.getvalue() == (
        "CRS S01-001 2026-02-10: stored grade (2, ['fever']), fresh grading (1, ['fever']) "
        "(manage.py regrade_episodes stores it; a signed or locked episode is unlocked first, "
        "a verified one is regraded when it is saved again)\n"
    )


def test_the_model_choices_are_the_grading_rules_names():
    pairs = [
        (HypotensionChoice, Hypotension),
        (OxygenChoice, Oxygen),
        (ToolChoice, EncephalopathyTool),
        (ConsciousnessChoice, Consciousness),
        (SeizureChoice, Seizure),
        (MotorChoice, Motor),
        (RaisedIcpChoice, RaisedIntracranialPressure),
    ]
    for choices, names in pairs:
        assert choices.values == [name.value for name in names], choices


@pytest.mark.parametrize("who", ["superuser", "other-site investigator"])
def test_only_an_investigator_of_the_participants_site_confirms(participant_a, author, site_b, who):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    if who == "superuser":
        user = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        user = UserFactory(username="inv_b", role="Investigator", sites=[site_b])

    with pytest.raises(ValidationError) as error:
        services.episode_confirm(episode=episode, author=user)

    assert error.value.messages == ["Only an investigator of site S01 confirms its grades."]
    episode.refresh_from_db()
    assert episode.confirmed_by is None


def test_regrade_stores_the_fresh_grade_and_withdraws_the_confirmation(
    participant_a, author, investigator_a
):
    episode = services.crs_episode_save(episode=crs(participant_a), author=author, reason=REASON)
    untouched = services.crs_episode_save(
        episode=crs(participant_a, onset_date=date(2026, 2, 20), resolution_date=None),
        author=author,
        reason=REASON,
    )
    services.episode_confirm(episode=episode, author=investigator_a)
    services.episode_confirm(episode=untouched, author=investigator_a)
    CrsEpisode.objects.filter(pk=episode.pk).update(grade=2, grade_drivers="oxygen")

    out = io.StringIO()
    call_command("regrade_episodes", stdout=out)

    assert out.getvalue() == "CRS S01-001 2026-02-10\nRegraded 1 episode.\n"
    episode.refresh_from_db()
    assert (episode.grade, episode.drivers, episode.confirmed_by) == (1, ["fever"], None)
    version = episode.history.first()
    assert (version.history_user, version.history_change_reason) == (
        None,
        "regraded by the site's grading rules",
    )
    untouched.refresh_from_db()
    assert untouched.confirmed_by == investigator_a
    call_command("recompute_responses", "--check", stdout=io.StringIO())
