"""Why an enrolled participant was not infused: set in the web form and in admin, checked against
the infusion date, and shown on the participant's page (clinical-rules.md section 4a)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.factories import ParticipantFactory, UserFactory
from tests.pages import opened_version
from trialsite import services
from trialsite.models import Participant, Study

ENROLMENT = {
    "participant_id": "S01-050",
    "sex": "F",
    "age_at_enrollment": 10,
    "enrollment_date": "2026-03-01",
}
WITH_INFUSION = "An infusion date is recorded, so the participant was infused"


def test_a_coordinator_records_a_manufacturing_failure(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("participant_create"),
        {**ENROLMENT, "site": site_a.pk, "not_infused_reason": "manufacturing_failure"},
    )
    assert response.status_code == 302, response.content.decode()
    participant = Participant.objects.get(participant_id="S01-050")
    assert (participant.infusion_date, participant.not_infused_reason) == (
        None,
        "manufacturing_failure",
    )
    assert participant.history.get().history_user == coordinator_a
    page = client.get(participant.get_absolute_url()).content.decode()
    assert "not yet (not infused: manufacturing failure)" in page


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        pytest.param(
            {"infusion_date": "2026-03-20", "not_infused_reason": "manufacturing_failure"},
            "not_infused_reason",
            WITH_INFUSION,
            id="reason-with-an-infusion-date",
        ),
        pytest.param(
            {"not_infused_reason": "other", "not_infused_note": "  "},
            "not_infused_note",
            "Say why the participant was not infused.",
            id="other-without-a-note",
        ),
        pytest.param(
            {"not_infused_note": "Product out of specification"},
            "not_infused_note",
            "Choose the reason not infused, or clear the note.",
            id="a-note-without-a-reason",
        ),
    ],
)
def test_the_form_refuses_a_reason_that_does_not_fit(
    client, coordinator_a, site_a, extra, field, message
):
    client.force_login(coordinator_a)
    response = client.post(reverse("participant_create"), {**ENROLMENT, "site": site_a.pk, **extra})
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not Participant.objects.filter(participant_id="S01-050").exists()


def test_editing_an_infusion_date_in_asks_to_clear_the_reason(client, coordinator_a, study, site_a):
    participant = ParticipantFactory(
        study=study, site=site_a, infusion_date=None, not_infused_reason="other",
        not_infused_note="Family chose another treatment",
    )  # fmt: skip
    client.force_login(coordinator_a)
    url = reverse("participant_edit", args=[participant.pk])
    response = client.post(
        url,
        {
            **ENROLMENT,
            "participant_id": participant.participant_id,
            "enrollment_date": participant.enrollment_date.isoformat(),
            "site": site_a.pk,
            "infusion_date": "2026-03-20",
            "not_infused_reason": "other",
            "not_infused_note": "Family chose another treatment",
            "change_reason": "Infused after all",
            "opened_version": opened_version(client, url),
        },
    )
    assert response.status_code == 200
    assert WITH_INFUSION in response.context["form"].errors["not_infused_reason"][0]


def test_the_service_and_the_database_refuse_a_reason_with_an_infusion(study, site_a):
    participant = ParticipantFactory.build(
        study=study, site=site_a, not_infused_reason="manufacturing_failure"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.participant_save(participant=participant, author=None, reason="test")
    assert list(excinfo.value.message_dict) == ["not_infused_reason"]
    stored = ParticipantFactory(study=study, site=site_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=stored.pk).update(not_infused_reason="other")
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=stored.pk).update(
            infusion_date=None, not_infused_reason="lost"
        )


@pytest.fixture
def superuser(client, site_a):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_sets_the_reason_through_the_service_and_refuses_it_with_an_infusion(
    superuser, study, site_a
):
    participant = ParticipantFactory(study=study, site=site_a, infusion_date=None)
    url = reverse("admin:trialsite_participant_change", args=[participant.pk])
    data = {
        "study": study.pk,
        "site": site_a.pk,
        "participant_id": participant.participant_id,
        "sex": "F",
        "age_at_enrollment": 12,
        "enrollment_date": participant.enrollment_date.isoformat(),
        "infusion_date": "2026-02-09",
        "not_infused_reason": "manufacturing_failure",
        "not_infused_note": "",
        "withdrawal_reason": "",
        "change_reason": "From the manufacturing report",
        "opened_version": opened_version(superuser, url),
    }
    response = superuser.post(url, data)
    assert response.status_code == 200
    assert WITH_INFUSION in response.content.decode()
    response = superuser.post(url, {**data, "infusion_date": ""})
    assert response.status_code == 302, response.content.decode()
    participant.refresh_from_db()
    assert participant.not_infused_reason == "manufacturing_failure"
    record = participant.history.latest("history_date")
    assert record.history_change_reason == "From the manufacturing report"


def test_admin_edits_the_out_of_window_setting_of_the_study(superuser, study):
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    page = superuser.get(url).content.decode()
    assert 'name="exclude_out_of_window_visits"' in page
    assert Study._meta.get_field("exclude_out_of_window_visits").default is False
