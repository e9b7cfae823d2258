"""The CRS and ICANS pages: recording an episode, its grade and why, a change with a reason, the
investigator's confirmation and its withdrawal, the encephalopathy tool by age at onset, the
participant page's safety section, what is refused (404 for another site, 403 without the
right), and the participant page's query budget."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from safety import services
from safety.models import CrsEpisode, IcansEpisode
from tests.factories import ParticipantFactory, UserFactory
from tests.pages import opened_version

ONSET = date(2026, 2, 12)  # study day 3 of participant_a (infused 2026-02-09)

#: A CRS episode as the form posts it: 38.5 °C, one vasopressor, low-flow oxygen (grade 3).
CRS_GRADE_3 = {
    "onset_date": "2026-02-12",
    "resolution_date": "",
    "max_temp_c": "38.5",
    "hypotension": "one_vasopressor",
    "oxygen": "low_flow",
    "tocilizumab": "on",
}
#: An ICANS episode of a child aged 12 at onset: CAPD 4, alert, nothing else (grade 1).
ICANS_CAPD_4 = {
    "onset_date": "2026-02-14",
    "resolution_date": "",
    "tool": "capd",
    "tool_score": "4",
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "raised_icp": "none",
}


def record_crs(participant, *, onset=ONSET, author=None, **entries) -> CrsEpisode:
    values = {
        "max_temp_c": Decimal("38.5"),
        "hypotension": "one_vasopressor",
        "oxygen": "low_flow",
        **entries,
    }
    episode = CrsEpisode(participant=participant, onset_date=onset, **values)
    return services.crs_episode_save(episode=episode, author=author, reason="test")


def record_icans(participant, *, onset=ONSET, author=None, **entries) -> IcansEpisode:
    values = {
        "tool": "capd",
        "tool_score": 4,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "raised_icp": "none",
        **entries,
    }
    episode = IcansEpisode(participant=participant, onset_date=onset, **values)
    return services.icans_episode_save(episode=episode, author=author, reason="test")


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --------------------------------------------------------------------------------------------
# Recording and changing a CRS episode
# --------------------------------------------------------------------------------------------


def test_coordinator_records_a_crs_episode_and_sees_the_grade_and_why(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    response = client.post(reverse("crs_episode_create", args=[participant_a.pk]), CRS_GRADE_3)
    episode = CrsEpisode.objects.get(participant=participant_a)
    assert response.status_code == 302
    assert response.url == reverse("crs_episode_detail", args=[episode.pk])
    assert (episode.grade, episode.drivers) == (3, ["hypotension"])
    assert episode.tocilizumab is True
    created = episode.history.get()
    assert (created.history_user, created.history_change_reason) == (coordinator_a, "Initial entry")
    page = page_text(client.get(response.url))
    assert "CRS episode saved and graded." in page
    assert (
        "Grade 3 CRS — driven by hypotension: needing one vasopressor (with or without "
        "vasopressin)" in page
    )
    assert "Proposed by the site — awaiting the investigator&#x27;s confirmation" in page
    assert "(study day 3) · ongoing" in page
    assert "Confirm this grade" not in page  # a coordinator does not confirm


def test_a_new_episode_form_asks_no_reason_and_chooses_no_level(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse("crs_episode_create", args=[participant_a.pk])))
    assert 'type="text" name="onset_date"' in page
    assert 'name="change_reason"' in page
    assert 'name="change_reason" class="textinput form-control" required' not in page
    assert 'name="hypotension" value="none"' in page
    assert "checked" not in page  # no level is chosen for the user


def test_unanswered_levels_are_refused_on_their_fields(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    data = {key: value for key, value in CRS_GRADE_3.items() if key not in {"oxygen"}}
    page = page_text(client.post(reverse("crs_episode_create", args=[participant_a.pk]), data))
    assert "1 field needs attention" in page
    assert not CrsEpisode.objects.exists()


def test_changing_an_episode_needs_a_reason(client, coordinator_a, participant_a):
    episode = record_crs(participant_a)
    client.force_login(coordinator_a)
    url = reverse("crs_episode_edit", args=[episode.pk])
    data = {**CRS_GRADE_3, "oxygen": "high_flow", "opened_version": opened_version(client, url)}
    page = page_text(client.post(url, data))
    assert "This field is required." in page
    episode.refresh_from_db()
    assert episode.oxygen == "low_flow"

    response = client.post(url, {**data, "change_reason": "Oxygen checked in the chart"})
    assert response.status_code == 302
    episode.refresh_from_db()
    assert (episode.oxygen, episode.grade, episode.drivers) == (
        "high_flow",
        3,
        ["hypotension", "oxygen"],
    )
    changed = episode.history.latest()
    assert changed.history_change_reason == "Oxygen checked in the chart"
    assert changed.history_user == coordinator_a


def test_a_change_from_a_page_opened_before_another_change_is_refused(
    client, coordinator_a, participant_a
):
    episode = record_crs(participant_a)
    client.force_login(coordinator_a)
    url = reverse("crs_episode_edit", args=[episode.pk])
    version = opened_version(client, url)
    record = CrsEpisode.objects.get(pk=episode.pk)
    record.oxygen = "none"
    services.crs_episode_save(episode=record, author=None, reason="someone else")
    data = {**CRS_GRADE_3, "change_reason": "typo", "opened_version": version}
    page = page_text(client.post(url, {**data, "max_temp_c": "39.0"}))
    assert "another user changed this record after you opened it" in page
    episode.refresh_from_db()
    assert episode.max_temp_c == Decimal("38.5")


@pytest.mark.parametrize(
    ("entries", "explanation"),
    [
        pytest.param(
            {"max_temp_c": Decimal("37.9"), "hypotension": "none", "oxygen": "none"},
            "No CRS: no fever (37.9 °C: below 38.0 °C and not masked)",
            id="37.9-no-fever",
        ),
        pytest.param(
            {"max_temp_c": Decimal("38.0"), "hypotension": "none", "oxygen": "none"},
            "Grade 1 CRS — driven by fever: 38.0 °C",
            id="38.0-fever-alone",
        ),
        pytest.param(
            {
                "max_temp_c": Decimal("37.2"),
                "fever_masked": True,
                "hypotension": "none",
                "oxygen": "none",
            },
            "Grade 1 CRS — driven by fever: masked by antipyretic or anti-cytokine therapy",
            id="masked-fever",
        ),
        pytest.param(
            {"hypotension": "no_vasopressor", "oxygen": "low_flow"},
            "Grade 2 CRS — driven by hypotension: not needing vasopressors; oxygen: low-flow "
            "nasal cannula (≤ 6 L/min) or blow-by",
            id="grade-2-both-domains",
        ),
        pytest.param(
            {"hypotension": "none", "oxygen": "positive_pressure"},
            "Grade 4 CRS — driven by oxygen: positive pressure (CPAP, BiPAP, intubation and "
            "mechanical ventilation)",
            id="grade-4-oxygen",
        ),
        pytest.param({"died_of_crs": True}, "Grade 5 CRS — driven by death from CRS", id="death"),
    ],
)
def test_the_crs_page_says_why_the_grade_is_what_it_is(
    client, monitor, participant_a, entries, explanation
):
    episode = record_crs(participant_a, **entries)
    client.force_login(monitor)
    page = page_text(client.get(reverse("crs_episode_detail", args=[episode.pk])))
    assert f'id="grade-explanation">{explanation}</p>' in page


# --------------------------------------------------------------------------------------------
# The investigator's confirmation
# --------------------------------------------------------------------------------------------


def test_investigator_confirms_the_grade_and_a_change_withdraws_it(
    client, coordinator_a, investigator_a, participant_a
):
    episode = record_crs(participant_a, author=coordinator_a)
    detail = reverse("crs_episode_detail", args=[episode.pk])
    investigator_a.first_name, investigator_a.last_name = "Ines", "Ito"
    investigator_a.save()
    client.force_login(investigator_a)
    version = opened_version(client, detail)
    response = client.post(
        reverse("crs_episode_confirm", args=[episode.pk]), {"opened_version": version}
    )
    assert response.status_code == 302
    assert response.url == detail
    episode.refresh_from_db()
    assert episode.confirmed_by == investigator_a
    page = page_text(client.get(detail))
    assert "Grade confirmed." in page
    confirmed_on = timezone.localtime(episode.confirmed_at).date()  # the site's day, not UTC's
    assert f"Confirmed by Ines Ito on {confirmed_on.isoformat()}" in page
    assert "Confirm this grade" not in page

    client.force_login(coordinator_a)
    edit = reverse("crs_episode_edit", args=[episode.pk])
    form_page = page_text(client.get(edit))
    assert "confirmed by Ines Ito" in form_page
    assert "Changing any entry withdraws the investigator&#x27;s confirmation" in form_page
    data = {
        **CRS_GRADE_3,
        "hypotension": "multiple_vasopressors",
        "change_reason": "Second vasopressor started",
        "opened_version": opened_version(client, edit),
    }
    response = client.post(edit, data, follow=True)
    episode.refresh_from_db()
    assert (episode.grade, episode.confirmed_by, episode.confirmed_at) == (4, None, None)
    page = page_text(response)
    assert "the investigator&#x27;s confirmation was withdrawn" in page
    assert "Proposed by the site — awaiting the investigator&#x27;s confirmation" in page


def test_a_change_of_reason_alone_keeps_the_confirmation(
    client, coordinator_a, investigator_a, participant_a
):
    episode = record_crs(participant_a)
    services.episode_confirm(episode=episode, author=investigator_a)
    client.force_login(coordinator_a)
    edit = reverse("crs_episode_edit", args=[episode.pk])
    as_recorded = {key: value for key, value in CRS_GRADE_3.items() if key != "tocilizumab"}
    data = {
        **as_recorded,
        "change_reason": "Reason corrected, entries as they were",
        "opened_version": opened_version(client, edit),
    }
    response = client.post(edit, data, follow=True)
    assert "confirmation was withdrawn" not in page_text(response)
    episode.refresh_from_db()
    assert episode.confirmed_by == investigator_a


def test_the_grade_seen_is_the_grade_confirmed(client, investigator_a, participant_a):
    episode = record_crs(participant_a)
    detail = reverse("crs_episode_detail", args=[episode.pk])
    client.force_login(investigator_a)
    version = opened_version(client, detail)
    changed = CrsEpisode.objects.get(pk=episode.pk)
    changed.hypotension = "multiple_vasopressors"
    services.crs_episode_save(episode=changed, author=None, reason="changed meanwhile")
    response = client.post(
        reverse("crs_episode_confirm", args=[episode.pk]), {"opened_version": version}, follow=True
    )
    assert "Not confirmed: the episode changed after you opened it." in page_text(response)
    episode.refresh_from_db()
    assert episode.confirmed_by is None


def test_a_confirmed_grade_is_not_confirmed_twice(client, investigator_a, participant_a):
    # Two tabs of the page: the grade is confirmed in one, then in the other.
    episode = record_crs(participant_a)
    client.force_login(investigator_a)
    version = opened_version(client, reverse("crs_episode_detail", args=[episode.pk]))
    services.episode_confirm(episode=episode, author=investigator_a)
    response = client.post(
        reverse("crs_episode_confirm", args=[episode.pk]), {"opened_version": version}, follow=True
    )
    assert "This grade is already confirmed." in page_text(response)


def test_confirming_takes_a_post(client, investigator_a, participant_a):
    episode = record_icans(participant_a)
    client.force_login(investigator_a)
    response = client.get(reverse("icans_episode_confirm", args=[episode.pk]))
    assert response.status_code == 302
    assert response.url == reverse("icans_episode_detail", args=[episode.pk])
    episode.refresh_from_db()
    assert episode.confirmed_at is None


@pytest.mark.parametrize("role", ["Coordinator", "Data manager", "Monitor"])
def test_only_an_investigator_confirms(client, site_a, participant_a, role):
    episode = record_crs(participant_a)
    client.force_login(UserFactory(role=role, sites=[site_a]))
    detail = page_text(client.get(reverse("crs_episode_detail", args=[episode.pk])))
    assert "Confirm this grade" not in detail
    response = client.post(reverse("crs_episode_confirm", args=[episode.pk]))
    assert response.status_code == 403
    episode.refresh_from_db()
    assert episode.confirmed_at is None


# --------------------------------------------------------------------------------------------
# ICANS: the encephalopathy tool follows the age at onset
# --------------------------------------------------------------------------------------------


def test_coordinator_records_an_icans_episode_with_capd(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("icans_episode_create", args=[participant_a.pk]), ICANS_CAPD_4, follow=True
    )
    episode = IcansEpisode.objects.get(participant=participant_a)
    assert (episode.grade, episode.drivers) == (1, ["encephalopathy"])
    assert "Grade 1 ICANS — driven by encephalopathy score: CAPD 4" in page_text(response)


def test_ice_for_a_child_aged_12_at_onset_is_refused_naming_the_tool(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    data = {**ICANS_CAPD_4, "tool": "ice", "tool_score": "8"}
    page = page_text(client.post(reverse("icans_episode_create", args=[participant_a.pk]), data))
    assert (
        "The participant was 12 at onset: children aged 12 or under are assessed with CAPD, "
        "not ICE. Enter the CAPD score." in page
    )
    assert not IcansEpisode.objects.exists()


def test_the_tool_changes_on_the_anniversary_of_enrolment(client, coordinator_a, study, site_a):
    # 12 at enrolment on 2024-06-01: 12 at an onset on 2025-05-31, 13 from 2025-06-01.
    participant = ParticipantFactory(
        study=study,
        site=site_a,
        participant_id="S01-013",
        enrollment_date=date(2024, 6, 1),
        infusion_date=date(2024, 7, 1),
    )
    client.force_login(coordinator_a)
    url = reverse("icans_episode_create", args=[participant.pk])
    day_before = {**ICANS_CAPD_4, "onset_date": "2025-05-31"}
    page = page_text(client.post(url, {**day_before, "tool": "ice", "tool_score": "6"}))
    assert "The participant was 12 at onset: children aged 12 or under are assessed with CAPD" in (
        page
    )
    anniversary = {**ICANS_CAPD_4, "onset_date": "2025-06-01"}
    page = page_text(client.post(url, anniversary))
    assert (
        "The participant was 13 at onset: participants over 12 are assessed with ICE, not CAPD. "
        "Enter the ICE score." in page
    )
    page = page_text(client.post(url, {**anniversary, "tool": "ice", "tool_score": "11"}))
    assert "The ICE score is 0 to 10." in page
    assert not IcansEpisode.objects.exists()
    response = client.post(url, {**anniversary, "tool": "ice", "tool_score": "6"}, follow=True)
    assert "Grade 2 ICANS — driven by encephalopathy score: ICE 6" in page_text(response)
    response = client.post(url, day_before, follow=True)
    assert "Grade 1 ICANS — driven by encephalopathy score: CAPD 4" in page_text(response)


def test_the_icans_form_says_which_tool_the_age_at_onset_asks_for(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    new = page_text(client.get(reverse("icans_episode_create", args=[participant_a.pk])))
    assert "Enter the onset date to see which one applies." in new
    assert 'src="/static/safety/icans_form.js"' in new
    assert 'id="icans-tool-settings" type="application/json"' in new
    assert '"enrolmentDate": "2026-01-05"' in new
    assert "<script>" not in new  # the strict CSP runs no inline script
    episode = record_icans(participant_a)
    edit = page_text(client.get(reverse("icans_episode_edit", args=[episode.pk])))
    assert "Age 12 at onset: assess with CAPD (0-32)" in edit
    assert "CAPD score (0-32; 0 is normal)" in edit
    assert 'max="32"' in edit


def test_a_score_and_unable_to_perform_are_not_both_entered(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    url = reverse("icans_episode_create", args=[participant_a.pk])
    page = page_text(client.post(url, {**ICANS_CAPD_4, "unable_to_perform": "on"}))
    assert "Leave the score empty when the assessment could not be performed." in page
    page = page_text(client.post(url, {**ICANS_CAPD_4, "tool_score": ""}))
    assert "Enter the score, or tick that the assessment was not possible." in page
    response = client.post(
        url, {**ICANS_CAPD_4, "tool_score": "", "unable_to_perform": "on"}, follow=True
    )
    assert "Grade 4 ICANS — driven by encephalopathy score: CAPD: unable to perform" in page_text(
        response
    )


@pytest.mark.parametrize(
    ("entries", "explanation"),
    [
        pytest.param(
            {"tool_score": 0},
            "No ICANS: CAPD 0, alert, and no seizure, motor finding or raised intracranial "
            "pressure",
            id="none",
        ),
        pytest.param(
            {"tool_score": 9, "seizure": "resolved"},
            "Grade 3 ICANS — driven by encephalopathy score: CAPD 9; seizure: resolved rapidly, "
            "or non-convulsive on EEG and resolved with intervention",
            id="two-domains-at-grade-3",
        ),
        pytest.param(
            {"consciousness": "awakens_to_voice"},
            "Grade 2 ICANS — driven by level of consciousness: awakens to voice",
            id="consciousness",
        ),
        pytest.param(
            {"raised_icp": "diffuse_oedema"},
            "Grade 4 ICANS — driven by raised intracranial pressure: diffuse oedema, posturing, "
            "cranial nerve VI palsy, papilloedema or Cushing&#x27;s triad",
            id="raised-icp",
        ),
        pytest.param(
            {"died_of_icans": True}, "Grade 5 ICANS — driven by death from ICANS", id="death"
        ),
    ],
)
def test_the_icans_page_says_why_the_grade_is_what_it_is(
    client, monitor, participant_a, entries, explanation
):
    episode = record_icans(participant_a, **entries)
    client.force_login(monitor)
    page = page_text(client.get(reverse("icans_episode_detail", args=[episode.pk])))
    assert f'id="grade-explanation">{explanation}</p>' in page


# --------------------------------------------------------------------------------------------
# Dates the services refuse, shown on their fields
# --------------------------------------------------------------------------------------------


def test_an_onset_before_infusion_is_refused_on_the_field(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    data = {**CRS_GRADE_3, "onset_date": "2026-02-08"}
    page = page_text(client.post(reverse("crs_episode_create", args=[participant_a.pk]), data))
    assert "The onset cannot be before the infusion (2026-02-09)." in page
    assert not CrsEpisode.objects.exists()


def test_a_second_episode_with_the_same_onset_is_refused_on_the_field(
    client, coordinator_a, participant_a
):
    record_crs(participant_a)
    client.force_login(coordinator_a)
    page = page_text(
        client.post(reverse("crs_episode_create", args=[participant_a.pk]), CRS_GRADE_3)
    )
    assert "S01-001 already has a CRS episode with this onset date" in page
    assert CrsEpisode.objects.count() == 1


def test_a_resolution_before_onset_is_refused_on_the_field(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    data = {**CRS_GRADE_3, "resolution_date": "2026-02-11"}
    page = page_text(client.post(reverse("crs_episode_create", args=[participant_a.pk]), data))
    assert "The resolution date cannot be before the onset date." in page
    assert not CrsEpisode.objects.exists()


def test_an_episode_of_a_participant_not_infused_is_refused(client, coordinator_a, study, site_a):
    participant = ParticipantFactory(
        study=study, site=site_a, participant_id="S01-009", infusion_date=None
    )
    client.force_login(coordinator_a)
    detail = page_text(client.get(reverse("participant_detail", args=[participant.pk])))
    assert "Record CRS episode" not in detail
    page = page_text(client.post(reverse("crs_episode_create", args=[participant.pk]), CRS_GRADE_3))
    assert "S01-009 has no infusion date: CRS and ICANS are recorded after infusion." in page
    assert not CrsEpisode.objects.exists()


# --------------------------------------------------------------------------------------------
# Refusals: another site's participant or episode is not found; a missing right is 403
# --------------------------------------------------------------------------------------------


EPISODE_PAGES = [
    "crs_episode_detail",
    "crs_episode_edit",
    "crs_episode_confirm",
    "icans_episode_detail",
    "icans_episode_edit",
    "icans_episode_confirm",
]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ["crs_episode_create", "icans_episode_create"])
@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_another_sites_participant_is_not_found(client, site_a, participant_b, role, name, method):
    client.force_login(UserFactory(role=role, sites=[site_a]))
    data = CRS_GRADE_3 if name.startswith("crs") else ICANS_CAPD_4
    response = getattr(client, method)(reverse(name, args=[participant_b.pk]), data)
    assert response.status_code == 404
    assert not CrsEpisode.objects.exists()
    assert not IcansEpisode.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", EPISODE_PAGES)
@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_another_sites_episode_is_not_found(client, site_a, participant_b, role, name, method):
    episode = (record_crs if name.startswith("crs") else record_icans)(participant_b)
    client.force_login(UserFactory(role=role, sites=[site_a]))
    data = {**(CRS_GRADE_3 if name.startswith("crs") else ICANS_CAPD_4), "change_reason": "x"}
    response = getattr(client, method)(reverse(name, args=[episode.pk]), data)
    assert response.status_code == 404
    episode.refresh_from_db()
    assert episode.confirmed_at is None
    assert episode.history.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "name", ["crs_episode_create", "icans_episode_create", "crs_episode_edit", "icans_episode_edit"]
)
def test_a_monitor_sees_episodes_but_records_none(client, monitor, participant_a, name, method):
    crs, icans = record_crs(participant_a), record_icans(participant_a)
    client.force_login(monitor)
    target = participant_a if name.endswith("create") else crs if "crs" in name else icans
    response = getattr(client, method)(reverse(name, args=[target.pk]))
    assert response.status_code == 403
    for detail, episode in (("crs_episode_detail", crs), ("icans_episode_detail", icans)):
        assert client.get(reverse(detail, args=[episode.pk])).status_code == 200


def test_a_user_without_a_role_cannot_open_an_episode_of_their_site(client, site_a, participant_a):
    episode = record_crs(participant_a)
    client.force_login(UserFactory(sites=[site_a]))
    assert client.get(reverse("crs_episode_detail", args=[episode.pk])).status_code == 403


# --------------------------------------------------------------------------------------------
# The participant page's safety section and its query budget
# --------------------------------------------------------------------------------------------


def test_the_participant_page_lists_the_episodes(
    client, coordinator_a, investigator_a, participant_a
):
    crs = record_crs(participant_a, onset=date(2026, 2, 12), resolution_date=date(2026, 2, 15))
    services.episode_confirm(episode=crs, author=investigator_a)
    icans = record_icans(participant_a, onset=date(2026, 2, 14))
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse("participant_detail", args=[participant_a.pk])))
    safety = page[page.index('id="safety"') :]
    assert "Record CRS episode" in safety
    assert "Record ICANS episode" in safety
    assert safety.index(reverse("crs_episode_detail", args=[crs.pk])) < safety.index(
        reverse("icans_episode_detail", args=[icans.pk])
    )
    assert "2026-02-15" in safety
    assert "ongoing" in safety  # the ICANS episode
    assert '<td class="text-end">3</td>' in safety  # study day of the CRS onset
    assert '<td class="text-end">5</td>' in safety
    assert ">Grade 3</span>" in safety
    assert ">Grade 1</span>" in safety
    assert "<td>hypotension</td>" in safety
    assert "<td>encephalopathy score</td>" in safety
    assert ">confirmed</span>" in safety
    assert ">awaiting confirmation</span>" in safety
    assert reverse("crs_episode_edit", args=[crs.pk]) in safety
    assert reverse("icans_episode_edit", args=[icans.pk]) in safety


def test_a_monitor_sees_the_episodes_without_buttons_to_record_or_edit(
    client, monitor, participant_a
):
    crs = record_crs(participant_a)
    client.force_login(monitor)
    page = page_text(client.get(reverse("participant_detail", args=[participant_a.pk])))
    assert reverse("crs_episode_detail", args=[crs.pk]) in page
    assert "Record CRS episode" not in page
    assert reverse("crs_episode_edit", args=[crs.pk]) not in page


#: The participant page's queries for a participant with no visit: session, user, second factor,
#: rights (2), participant, timeline (3), the CRS and the ICANS episodes with their confirming
#: investigators (1 each), the adverse events with who acknowledged them (1), the medication
#: courses (1), the monitor queries on its records (1), the sign-offs of its treatment record and
#: courses (1), the queries awaiting the user, and the session's save (3): 19, and one to spare.
#: tests/trialsite/test_views.py holds the page with visits to its own budget.
PARTICIPANT_PAGE_BUDGET = 20


def test_the_participant_page_reads_the_episodes_in_a_fixed_number_of_queries(
    client, coordinator_a, investigator_a, participant_a, django_assert_max_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("participant_detail", args=[participant_a.pk])
    counts = []
    for count in (1, 5):
        CrsEpisode.objects.all().delete()
        IcansEpisode.objects.all().delete()
        for day in range(count):
            onset = date(2026, 2, 10 + day)
            services.episode_confirm(
                episode=record_crs(participant_a, onset=onset), author=investigator_a
            )
            record_icans(participant_a, onset=onset)
        with django_assert_max_num_queries(PARTICIPANT_PAGE_BUDGET) as captured:
            page = page_text(client.get(url))
        assert page.count(">Grade 3</span>") == count
        counts.append(len(captured))
    assert counts[0] == counts[1]
