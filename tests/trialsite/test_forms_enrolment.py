"""The enrolment and visit forms at a coordinator's speed (issue 14): ISO dates typed in a text
box, the site and the next participant ID suggested, the fields of a later change left out of
the enrolment, and a duplicate visit's message linking to the visit already recorded."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import ParticipantFactory, UserFactory
from trialsite import selectors, services
from trialsite.formfields import DateField
from trialsite.forms import ParticipantForm, VisitForm
from trialsite.models import Participant, Visit

ISO_MESSAGE = "Enter the date as YYYY-MM-DD, e.g. 2026-03-14."
EDIT_ONLY = ["treatment_failure_date", "withdrawal_date", "withdrawal_reason", "change_reason"]


@pytest.fixture
def coordinator_client(client, coordinator_a):
    client.force_login(coordinator_a)
    return client


def enrolment(site_pk: int, participant_id: str, **extra: str) -> dict[str, object]:
    return {
        "site": site_pk,
        "participant_id": participant_id,
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
        **extra,
    }


# --------------------------------------------------------------------------------------------
# 1. Dates: a text box for YYYY-MM-DD, and that format only
# --------------------------------------------------------------------------------------------


def test_a_date_is_a_text_box_that_asks_for_yyyy_mm_dd(coordinator_a, study):
    html = str(ParticipantForm(user=coordinator_a, study=study)["enrollment_date"])
    assert 'type="text"' in html
    assert 'type="date"' not in html
    assert "inputmode" not in html  # a phone's number pad may have no "-"
    for attribute in (
        'placeholder="YYYY-MM-DD"',
        'maxlength="10"',
        'autocomplete="off"',
        r'pattern="\d{4}-\d{2}-\d{2}"',
    ):
        assert attribute in html


def test_a_stored_date_is_shown_as_yyyy_mm_dd(coordinator_a, study, participant_a):
    form = ParticipantForm(instance=participant_a, user=coordinator_a, study=study)
    assert 'value="2026-01-05"' in str(form["enrollment_date"])  # the factory's enrolment


@pytest.mark.parametrize(
    "typed",
    [
        "2026-3-14",  # strptime reads a one-digit month or day
        "2026-03-4",
        "14/03/2026",
        "03/14/2026",
        "2026/03/14",
        "20260314",
        "26-03-14",
        "0001-10-01x",
        "2026-02-30",  # the format, not a day
        "2026-13-01",
    ],
)
def test_a_date_not_written_yyyy_mm_dd_is_refused_naming_the_format(typed):
    with pytest.raises(ValidationError) as refused:
        DateField().clean(typed)
    assert refused.value.messages == [ISO_MESSAGE]


@pytest.mark.parametrize(("typed", "read"), [("2026-03-14", date(2026, 3, 14)), ("", None)])
def test_a_date_written_yyyy_mm_dd_is_read(typed, read):
    assert DateField(required=False).clean(typed) == read


def test_the_enrolment_form_names_the_format_on_the_date_field(coordinator_client, site_a):
    response = coordinator_client.post(
        reverse("participant_create"),
        {**enrolment(site_a.pk, "S01-950"), "enrollment_date": "01/05/2026"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["enrollment_date"] == [ISO_MESSAGE]
    assert not Participant.objects.filter(participant_id="S01-950").exists()


def test_the_visit_form_names_the_format_on_the_visit_date(coordinator_client, participant_a):
    unscheduled = participant_a.study.visit_definitions.get(repeatable=True)
    response = coordinator_client.post(
        reverse("visit_create", args=[participant_a.pk]),
        {"visit_definition": unscheduled.pk, "visit_date": "2026-3-1"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["visit_date"] == [ISO_MESSAGE]
    assert not Visit.objects.exists()


# --------------------------------------------------------------------------------------------
# 2. Enrolment: the site and the next ID suggested, the fields of later changes left out
# --------------------------------------------------------------------------------------------


def test_one_site_is_preselected_with_its_next_participant_id(coordinator_a, study, site_a):
    ParticipantFactory(study=study, site=site_a, participant_id="S01-001")
    form = ParticipantForm(user=coordinator_a, study=study)
    assert form["site"].value() == site_a.pk
    assert form["participant_id"].value() == "S01-002"


def test_two_sites_preselect_nothing(study, site_a, site_b):
    user = UserFactory(username="coord_ab", role="Coordinator", sites=[site_a, site_b])
    form = ParticipantForm(user=user, study=study)
    assert form["site"].value() is None
    assert form["participant_id"].value() is None


def test_a_user_of_every_site_gets_no_preselection(data_manager, study, site_a, site_b):
    form = ParticipantForm(user=data_manager, study=study)
    assert form["site"].value() is None
    assert form["participant_id"].value() is None


def test_the_first_participant_of_a_site_is_number_001(study, site_a):
    assert selectors.next_participant_id(study, site_a) == "S01-001"


def test_the_next_id_follows_the_highest_and_leaves_a_gap(study, site_a):
    for participant_id in ("S01-001", "S01-003"):
        ParticipantFactory(study=study, site=site_a, participant_id=participant_id)
    # Two participants, but S01-003 is taken: the next is after the highest.
    assert selectors.next_participant_id(study, site_a) == "S01-004"


def test_other_sites_ids_and_ids_written_otherwise_do_not_count(study, site_a, site_b):
    ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    ParticipantFactory(study=study, site=site_b, participant_id="S02-007")
    ParticipantFactory(study=study, site=site_a, participant_id="S01-ABC")
    ParticipantFactory(study=study, site=site_a, participant_id="S01-005-B")
    ParticipantFactory(study=study, site=site_a, participant_id="XS01-009")
    assert selectors.next_participant_id(study, site_a) == "S01-003"
    assert selectors.next_participant_id(study, site_b) == "S02-008"


def test_the_number_grows_past_three_digits(study, site_a):
    ParticipantFactory(study=study, site=site_a, participant_id="S01-999")
    assert selectors.next_participant_id(study, site_a) == "S01-1000"


def test_the_enrolment_page_suggests_the_id_and_it_can_be_changed(coordinator_client, site_a):
    page = coordinator_client.get(reverse("participant_create")).content.decode()
    assert 'value="S01-001"' in page
    response = coordinator_client.post(
        reverse("participant_create"), enrolment(site_a.pk, "S01-07")
    )
    assert response.status_code == 302
    assert Participant.objects.filter(participant_id="S01-07").exists()


def test_the_suggested_id_once_taken_is_refused(coordinator_client, coordinator_a, study, site_a):
    suggested = ParticipantForm(user=coordinator_a, study=study)["participant_id"].value()
    ParticipantFactory(study=study, site=site_a, participant_id=suggested)  # enrolled meanwhile
    response = coordinator_client.post(
        reverse("participant_create"), enrolment(site_a.pk, "S01-001")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["participant_id"] == [
        "This participant ID is already used in this study."
    ]


def test_the_enrolment_form_leaves_out_the_fields_of_later_changes(coordinator_a, study):
    form = ParticipantForm(user=coordinator_a, study=study)
    for name in EDIT_ONLY:
        assert name not in form.fields
    assert list(form.fields) == [
        "site",
        "participant_id",
        "sex",
        "age_at_enrollment",
        "enrollment_date",
        "infusion_date",
        "not_infused_reason",
        "not_infused_note",
        "dose_cells_per_kg",
    ]


def test_the_edit_form_shows_them(coordinator_a, study, participant_a):
    form = ParticipantForm(instance=participant_a, user=coordinator_a, study=study)
    for name in EDIT_ONLY:
        assert name in form.fields
    assert form.fields["change_reason"].required


def test_an_enrolment_ignores_a_posted_withdrawal(coordinator_client, site_a):
    data = enrolment(
        site_a.pk,
        "S01-960",
        withdrawal_date="2026-01-06",
        withdrawal_reason="typed anyway",
        treatment_failure_date="2026-01-06",
    )
    response = coordinator_client.post(reverse("participant_create"), data)
    assert response.status_code == 302
    participant = Participant.objects.get(participant_id="S01-960")
    assert participant.withdrawal_date is None
    assert participant.withdrawal_reason == ""
    assert participant.treatment_failure_date is None
    assert participant.history.get().history_change_reason == "Initial entry"


def test_the_enrolment_page_has_no_reason_for_change(coordinator_client):
    page = coordinator_client.get(reverse("participant_create")).content.decode()
    assert "Reason for change" not in page
    assert 'name="withdrawal_date"' not in page


def test_the_dose_is_a_choice_of_the_study_levels(coordinator_a, study):
    # The migrations give the default study 0.3, 1 and 3 x 10^5 CAR+ cells/kg.
    form = ParticipantForm(user=coordinator_a, study=study)
    assert form.fields["dose_cells_per_kg"].choices == [
        ("", "---------"),
        (30000, "0.3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
        (100000, "1 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
        (300000, "3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
    ]


# --------------------------------------------------------------------------------------------
# 3. A visit recorded twice: the message links to the one recorded
# --------------------------------------------------------------------------------------------


def test_a_duplicate_visit_links_to_the_recorded_one(coordinator_client, study, participant_a):
    baseline = services.visit_create(
        participant=participant_a,
        visit_definition=study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )
    response = coordinator_client.post(
        reverse("visit_create", args=[participant_a.pk]),
        {"visit_definition": study.baseline_visit.pk, "visit_date": "2026-02-03"},
    )
    assert response.status_code == 200
    url = reverse("visit_detail", args=[baseline.pk])
    [message] = response.context["form"].errors["visit_definition"]
    assert message == (
        f'BL is already recorded for this participant (2026-02-02). <a href="{url}">Open BL to '
        "change it.</a>"
    )
    page = response.content.decode()
    assert f'<a href="{url}">Open BL to change it.</a>' in page  # a link, not escaped text
    assert Visit.objects.filter(participant=participant_a).count() == 1


def test_the_duplicate_message_escapes_the_visit_code(study, participant_a):
    baseline = study.baseline_visit
    visit = services.visit_create(
        participant=participant_a,
        visit_definition=baseline,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )
    baseline.code = "<b>"  # a code is data: it must not become markup
    baseline.save()
    form = VisitForm(
        {"visit_definition": baseline.pk, "visit_date": "2026-02-03"}, participant=participant_a
    )
    assert not form.is_valid()
    [message] = form.errors["visit_definition"]
    assert "&lt;b&gt; is already recorded" in message
    assert "<b>" not in message
    assert reverse("visit_detail", args=[visit.pk]) in message


def test_two_sites_users_get_no_site_suggestion_on_the_page(client, study, site_a, site_b):
    client.force_login(UserFactory(username="coord_2", role="Coordinator", sites=[site_a, site_b]))
    page = client.get(reverse("participant_create")).content.decode()
    assert 'name="participant_id" value=' not in page
    assert "selected>S01" not in page
