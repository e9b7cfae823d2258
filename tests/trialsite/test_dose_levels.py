"""The study's dose levels (clinical-rules.md section 6): a participant's dose, in CAR+ cells/kg,
is one of them when the study has any; the service, the participant form, admin and the import
refuse any other dose on the dose field."""

import csv
from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.factories import ParticipantFactory, UserFactory
from tests.pages import page_forms_data
from trialsite import services
from trialsite.forms import ParticipantForm
from trialsite.history import administration_sources
from trialsite.imports import PARTICIPANT_COLUMNS, import_participants
from trialsite.models import Participant, Study, StudyDoseLevel

#: The default study's levels (migration 0015), as the refusal lists them.
LEVELS_TEXT = (
    "0.3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}, "
    "1 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}, "
    "3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"
)
REFUSAL = f"Choose one of the study&#x27;s dose levels: {LEVELS_TEXT}."


# --------------------------------------------------------------------------------------------
# The levels themselves
# --------------------------------------------------------------------------------------------


def test_the_default_study_has_the_protocol_s_three_dose_levels(study):
    assert list(study.dose_levels.values_list("cells_per_kg", flat=True)) == [
        30_000,
        100_000,
        300_000,
    ]


def test_a_dose_level_appears_once_per_study(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        StudyDoseLevel.objects.create(study=study, cells_per_kg=100_000)


def test_a_dose_level_of_0_is_refused(study):
    with pytest.raises(ValidationError) as refused:
        StudyDoseLevel(study=study, cells_per_kg=0).full_clean()
    assert "cells_per_kg" in refused.value.message_dict


def test_the_dose_level_is_named_as_the_protocol_writes_it_in_the_audit_trail(study):
    level = StudyDoseLevel(study=study, cells_per_kg=60_000)
    services.save_with_audit(level, author=None, reason="Protocol amendment 2")
    source = next(
        source
        for source in administration_sources()
        if source.history.model is StudyDoseLevel.history.model
    )
    record = source.history.filter(id=level.pk).values().get()
    assert source.what(record) == "dose level: 0.6 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"


def test_admin_adds_a_dose_level_inline_with_the_reason_and_author(superuser_client, study):
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(superuser_client, url)
    assert data["dose_levels-TOTAL_FORMS"] == 3
    data.update(
        {
            "dose_levels-TOTAL_FORMS": 4,
            "dose_levels-3-study": study.pk,
            "dose_levels-3-cells_per_kg": "600000",
            "change_reason": "Protocol amendment 2: a fourth dose level",
        }
    )
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    added = study.dose_levels.get(cells_per_kg=600_000)
    record = added.history.get()
    assert record.history_change_reason == "Protocol amendment 2: a fourth dose level"
    assert record.history_user.username == "root"


def test_admin_changes_a_dose_level_inline_with_the_reason(superuser_client, study):
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(superuser_client, url)
    index = next(i for i in range(3) if data[f"dose_levels-{i}-cells_per_kg"] == 300_000)
    data.update(
        {
            f"dose_levels-{index}-cells_per_kg": "250000",
            "change_reason": "Protocol amendment 3: top level lowered",
        }
    )
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    level = study.dose_levels.get(cells_per_kg=250_000)
    assert level.history.latest("history_id").history_change_reason == (
        "Protocol amendment 3: top level lowered"
    )


# --------------------------------------------------------------------------------------------
# The refusals: service, form, admin, import
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "accepted"),
    [
        pytest.param(29_999, False, id="below-0.3"),
        pytest.param(30_000, True, id="0.3"),
        pytest.param(100_000, True, id="1"),
        pytest.param(150_000, False, id="between-1-and-3"),
        pytest.param(300_000, True, id="3"),
        pytest.param(300_001, False, id="above-3"),
        pytest.param(None, True, id="not-recorded"),
    ],
)
def test_the_service_takes_only_a_dose_level_of_the_study(study, site_a, dose, accepted):
    participant = ParticipantFactory.build(study=study, site=site_a, dose_cells_per_kg=dose)
    if accepted:
        services.participant_save(participant=participant, author=None, reason="Initial entry")
        assert Participant.objects.get(pk=participant.pk).dose_cells_per_kg == dose
        return
    with pytest.raises(ValidationError) as refused:
        services.participant_save(participant=participant, author=None, reason="Initial entry")
    assert refused.value.message_dict["dose_cells_per_kg"] == [
        f"Choose one of the study's dose levels: {LEVELS_TEXT}."
    ]
    assert not Participant.objects.exists()


def test_a_study_without_dose_levels_takes_any_positive_dose(site_a):
    study = Study.objects.create(protocol_number="OTHER-1", name="Another protocol")
    participant = ParticipantFactory.build(study=study, site=site_a, dose_cells_per_kg=123_456)
    services.participant_save(participant=participant, author=None, reason="Initial entry")
    assert Participant.objects.get(pk=participant.pk).dose_cells_per_kg == 123_456


def test_the_participant_form_offers_the_levels_as_a_select(coordinator_a, study):
    form = ParticipantForm(user=coordinator_a, study=study)
    field = form.fields["dose_cells_per_kg"]
    assert not field.required
    assert list(field.choices) == [
        ("", "---------"),
        (30_000, "0.3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
        (100_000, "1 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
        (300_000, "3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"),
    ]
    html = str(form["dose_cells_per_kg"])
    assert html.startswith("<select")
    assert '<option value="30000">0.3' in html


def test_the_participant_form_of_a_study_without_levels_takes_a_typed_dose(coordinator_a):
    study = Study.objects.create(protocol_number="OTHER-1", name="Another protocol")
    html = str(ParticipantForm(user=coordinator_a, study=study)["dose_cells_per_kg"])
    assert html.startswith("<input")


ENROLMENT = {
    "participant_id": "S01-950",
    "sex": "F",
    "age_at_enrollment": "11",
    "enrollment_date": "2026-03-01",
    "infusion_date": "2026-04-01",
}


def test_the_participant_form_refuses_a_dose_that_is_not_a_level(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("participant_create"),
        {**ENROLMENT, "site": site_a.pk, "dose_cells_per_kg": "150000"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["dose_cells_per_kg"] == [
        f"Choose one of the study's dose levels: {LEVELS_TEXT}."
    ]
    assert not Participant.objects.filter(participant_id="S01-950").exists()


def test_the_participant_form_enrols_with_a_chosen_level(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("participant_create"),
        {**ENROLMENT, "site": site_a.pk, "dose_cells_per_kg": "300000"},
    )
    assert response.status_code == 302
    assert Participant.objects.get(participant_id="S01-950").dose_cells_per_kg == 300_000


def test_a_stored_dose_that_is_not_a_level_stays_and_never_blocks_another_change(
    client, coordinator_a, participant_a
):
    # Stored before the study had its levels (the database takes any positive dose).
    Participant.objects.filter(pk=participant_a.pk).update(dose_cells_per_kg=150_000)
    client.force_login(coordinator_a)
    url = reverse("participant_edit", args=[participant_a.pk])
    page = client.get(url)
    assert '<option value="150000" selected>1.5' in page.content.decode()
    data = {
        name: value
        for name, value in ((bound.html_name, bound.value()) for bound in page.context["form"])
        if value is not None
    }
    # Recording a withdrawal keeps the dose as it is: only a new or changed dose is checked.
    data["withdrawal_date"] = "2026-06-01"
    data["withdrawal_reason"] = "Moved abroad"
    response = client.post(url, {**data, "change_reason": "Withdrawal recorded late"})
    assert response.status_code == 302, response.content.decode()
    participant_a.refresh_from_db()
    assert (participant_a.dose_cells_per_kg, participant_a.withdrawal_date) == (
        150_000,
        date(2026, 6, 1),
    )
    # Changing it to another dose that is not a level is refused.
    page = client.get(url)
    data = {
        name: value
        for name, value in ((bound.html_name, bound.value()) for bound in page.context["form"])
        if value is not None
    }
    response = client.post(
        url, {**data, "dose_cells_per_kg": "200000", "change_reason": "Dose corrected"}
    )
    assert response.status_code == 200
    assert REFUSAL in response.content.decode()


def test_admin_refuses_a_dose_that_is_not_a_level_on_its_field(superuser_client, participant_a):
    url = reverse("admin:trialsite_participant_change", args=[participant_a.pk])
    data = page_forms_data(superuser_client, url)
    data.update({"dose_cells_per_kg": "150000", "change_reason": "Dose corrected"})
    response = superuser_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["dose_cells_per_kg"] == [
        f"Choose one of the study's dose levels: {LEVELS_TEXT}."
    ]
    participant_a.refresh_from_db()
    assert participant_a.dose_cells_per_kg == 100_000


def test_admin_takes_a_dose_level(superuser_client, participant_a):
    url = reverse("admin:trialsite_participant_change", args=[participant_a.pk])
    data = page_forms_data(superuser_client, url)
    data.update({"dose_cells_per_kg": "30000", "change_reason": "Dose corrected"})
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    participant_a.refresh_from_db()
    assert participant_a.dose_cells_per_kg == 30_000


def participants_csv(*doses: str) -> str:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PARTICIPANT_COLUMNS)
    for number, dose in enumerate(doses, start=1):
        row = {
            "participant_id": f"C-{number:03d}",
            "site": "S01",
            "sex": "F",
            "age_at_enrollment": "9",
            "enrollment_date": "2026-01-05",
            "infusion_date": "2026-02-01",
            "dose_cells_per_kg": dose,
        }
        writer.writerow([row.get(column, "") for column in PARTICIPANT_COLUMNS])
    return out.getvalue()


def test_the_import_refuses_a_dose_that_is_not_a_level_in_its_column(study, site_a):
    data_manager = UserFactory(username="dm", role="Data manager")
    report = import_participants(
        participants_csv("1e5", "150000"),
        file_name="participants.csv",
        study=study,
        author=data_manager,
    )
    assert [(p.row, p.column, p.value, p.message) for p in report.problems] == [
        (
            3,
            "dose_cells_per_kg",
            "150000",
            f"Choose one of the study's dose levels: {LEVELS_TEXT}.",
        )
    ]
