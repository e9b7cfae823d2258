"""CRS and ICANS episodes in admin: saved and deleted through the safety services with a reason,
graded there (the grade and its confirmation read-only), refusals shown on the fields."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from safety import services
from safety.models import CrsEpisode, IcansEpisode
from tests.pages import opened_version

CRS_ENTRIES = {
    "onset_date": "2026-02-12",
    "resolution_date": "",
    "max_temp_c": "38.5",
    "hypotension": "one_vasopressor",
    "oxygen": "low_flow",
}
ICANS_ENTRIES = {
    "onset_date": "2026-02-14",
    "resolution_date": "",
    "tool": "capd",
    "tool_score": "4",
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "raised_icp": "none",
}


def crs_episode(participant) -> CrsEpisode:
    episode = CrsEpisode(
        participant=participant,
        onset_date=date(2026, 2, 12),
        max_temp_c=Decimal("38.5"),
        hypotension="one_vasopressor",
        oxygen="low_flow",
    )
    return services.crs_episode_save(episode=episode, author=None, reason="test")


def test_admin_records_a_crs_episode_graded_by_the_service(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_crsepisode_add"),
        {**CRS_ENTRIES, "participant": participant_a.pk, "change_reason": "Entered from chart"},
    )
    assert response.status_code == 302, response.content.decode()
    episode = CrsEpisode.objects.get()
    assert (episode.grade, episode.grade_drivers) == (3, "hypotension")
    record = episode.history.get()
    assert record.history_change_reason == "Entered from chart"
    assert record.history_user.username == "root"


def test_admin_change_withdraws_a_confirmation_and_regrades(
    superuser_client, participant_a, investigator_a
):
    episode = crs_episode(participant_a)
    services.episode_confirm(episode=episode, author=investigator_a)
    url = reverse("admin:safety_crsepisode_change", args=[episode.pk])
    page = superuser_client.get(url).content.decode()
    assert 'name="grade"' not in page  # read-only: computed by the services
    assert "inv_a" in page  # who confirmed it, shown
    response = superuser_client.post(
        url,
        {
            **CRS_ENTRIES,
            "oxygen": "positive_pressure",
            "change_reason": "Intubated on day 4",
            "opened_version": opened_version(superuser_client, url),
        },
    )
    assert response.status_code == 302, response.content.decode()
    episode.refresh_from_db()
    assert (episode.grade, episode.grade_drivers) == (4, "oxygen")
    assert (episode.confirmed_by, episode.confirmed_at) == (None, None)
    assert episode.history.latest().history_change_reason == "Intubated on day 4"


def test_admin_refuses_the_wrong_tool_on_its_field(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_icansepisode_add"),
        {
            **ICANS_ENTRIES,
            "tool": "ice",
            "tool_score": "8",
            "participant": participant_a.pk,
            "change_reason": "Entered from chart",
        },
    )
    assert response.status_code == 200
    assert "children aged 12 or under are assessed with CAPD, not ICE" in response.content.decode()
    assert not IcansEpisode.objects.exists()


def test_admin_refuses_an_onset_before_infusion_on_its_field(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_crsepisode_add"),
        {
            **CRS_ENTRIES,
            "onset_date": "2026-02-01",
            "participant": participant_a.pk,
            "change_reason": "Entered from chart",
        },
    )
    assert response.status_code == 200
    assert "The onset cannot be before the infusion (2026-02-09)." in response.content.decode()
    assert not CrsEpisode.objects.exists()


def test_admin_records_an_icans_episode(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_icansepisode_add"),
        {**ICANS_ENTRIES, "participant": participant_a.pk, "change_reason": "Entered from chart"},
    )
    assert response.status_code == 302, response.content.decode()
    assert IcansEpisode.objects.get().grade == 1


def test_admin_deletion_asks_why_and_keeps_the_episode_in_the_history(
    superuser_client, participant_a
):
    episode = crs_episode(participant_a)
    url = reverse("admin:safety_crsepisode_delete", args=[episode.pk])
    assert 'name="delete_reason"' in superuser_client.get(url).content.decode()
    refused = superuser_client.post(url, {"post": "yes", "delete_reason": " "}, follow=True)
    assert "Every change needs a reason." in refused.content.decode()
    assert CrsEpisode.objects.filter(pk=episode.pk).exists()

    response = superuser_client.post(url, {"post": "yes", "delete_reason": "Entered twice"})
    assert response.status_code == 302
    assert not CrsEpisode.objects.filter(pk=episode.pk).exists()
    deleted = CrsEpisode.history.filter(id=episode.pk).latest()
    assert (deleted.history_type, deleted.history_change_reason) == ("-", "Entered twice")


def test_admin_history_of_an_episode_opens(superuser_client, participant_a):
    episode = crs_episode(participant_a)
    url = reverse("admin:safety_crsepisode_history", args=[episode.pk])
    assert superuser_client.get(url).status_code == 200


def participant_admin_data(client, participant, url, **changes) -> dict:
    return {
        "study": participant.study_id,
        "site": participant.site_id,
        "participant_id": participant.participant_id,
        "sex": participant.sex,
        "age_at_enrollment": participant.age_at_enrollment,
        "enrollment_date": participant.enrollment_date.isoformat(),
        "infusion_date": participant.infusion_date.isoformat(),
        "dose_cells_per_kg": participant.dose_cells_per_kg,
        "not_infused_reason": "",
        "not_infused_note": "",
        "withdrawal_reason": "",
        "change_reason": "Corrected from the source",
        "opened_version": opened_version(client, url),
        **changes,
    }


def test_admin_shows_on_the_field_an_infusion_date_after_an_episode(
    superuser_client, participant_a
):
    crs_episode(participant_a)  # onset 2026-02-12; infused 2026-02-09
    url = reverse("admin:trialsite_participant_change", args=[participant_a.pk])

    response = superuser_client.post(
        url,
        participant_admin_data(superuser_client, participant_a, url, infusion_date="2026-02-13"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["infusion_date"] == [
        "A CRS or ICANS episode starts on 2026-02-12: The onset cannot be before the infusion "
        "(2026-02-13)."
    ]
    participant_a.refresh_from_db()
    assert participant_a.infusion_date == date(2026, 2, 9)


def test_admin_shows_on_the_field_an_age_that_changes_an_icans_tool(
    superuser_client, participant_a
):
    services.icans_episode_save(
        episode=IcansEpisode(
            participant=participant_a, **{**ICANS_ENTRIES, "resolution_date": None}
        ),
        author=None,
        reason="test",
    )
    url = reverse("admin:trialsite_participant_change", args=[participant_a.pk])

    response = superuser_client.post(
        url, participant_admin_data(superuser_client, participant_a, url, age_at_enrollment=13)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["age_at_enrollment"]
    assert "participants over 12 are assessed with ICE, not CAPD" in errors["age_at_enrollment"][0]
