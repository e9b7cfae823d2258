"""Optimistic locking: a save from a form opened before another user's change is refused."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import ALL_E, NONE_PRESENT, UserFactory, record_visit
from tests.pages import admin_visit_form, opened_version
from trialsite import services, versions
from trialsite.models import (
    EntryStatus,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    Visit,
    VisitDefinition,
)

REFUSED = "Not saved: another user changed this record after you opened it."


@pytest.fixture
def m3(participant_a) -> Visit:
    record_visit(participant_a, "BL", date(2026, 2, 2), pga="2.00")
    return record_visit(participant_a, "M3", date(2026, 5, 10), pga="1.00")


@pytest.fixture
def two_coordinators(client, site_a, coordinator_a, django_user_model):
    """Two coordinators of S01, each in a browser of their own."""
    from django.test import Client

    other = Client()
    coordinator_b = UserFactory(username="coord_b", role="Coordinator", sites=[site_a])
    client.force_login(coordinator_a)
    other.force_login(coordinator_b)
    return client, other


def entry_data(version: str, *, pga: str, reason: str) -> dict[str, str]:
    """A complete visit entry form: nothing present, every BILAG system E."""
    data = {
        "opened_version": version,
        "pga": pga,
        "lookback_days": "10",
        "entry_status": EntryStatus.COMPLETE,
        "change_reason": reason,
    }
    data.update({f"sledai_{field}": "0" for field in SLEDAI_FIELDS})
    data.update({f"bilag_{system}": "E" for system in BILAG_SYSTEMS})
    return data


def errors_of(page: str) -> str:
    """The text of the page's error summary and messages, tags removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_visit_entry_changed_by_another_user_since_opening_is_refused(two_coordinators, m3):
    coordinator_a, coordinator_b = two_coordinators
    url = reverse("visit_entry", args=[m3.pk])
    version_a = opened_version(coordinator_a, url)
    version_b = opened_version(coordinator_b, url)

    saved = coordinator_b.post(url, entry_data(version_b, pga="1.50", reason="Source checked"))
    assert saved.status_code == 302

    refused = coordinator_a.post(url, entry_data(version_a, pga="0.40", reason="Typo"))
    assert refused.status_code == 200
    page = errors_of(refused.content.decode())
    assert REFUSED in page
    # By whom, when (a local time stamp) and which field, from what to what.
    assert re.search(r"coord_b, \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}, PGA changed", page)
    assert "PGA: 1.00 → 1.50" in page
    # Coordinator A's entry stays on the page, unsaved.
    assert 'name="pga" id="id_pga" value="0.40"' in refused.content.decode()
    m3.pga.refresh_from_db()
    assert m3.pga.score == Decimal("1.50")

    # Having seen the change, saving again replaces it on purpose.
    version_now = re.search(
        r'name="opened_version" value="([^"]*)"', refused.content.decode()
    ).group(1)
    assert version_now != version_a
    again = coordinator_a.post(url, entry_data(version_now, pga="0.40", reason="Typo"))
    assert again.status_code == 302
    m3.pga.refresh_from_db()
    assert m3.pga.score == Decimal("0.40")


def test_a_save_that_changed_nothing_in_between_does_not_refuse(two_coordinators, m3):
    coordinator_a, coordinator_b = two_coordinators
    url = reverse("visit_entry", args=[m3.pk])
    version_a = opened_version(coordinator_a, url)
    # The other user saves the same values: history rows are written, nothing changes.
    unchanged = coordinator_b.post(
        url, entry_data(opened_version(coordinator_b, url), pga="1.00", reason="Re-saved")
    )
    assert unchanged.status_code == 302
    assert coordinator_a.post(url, entry_data(version_a, pga="0.90", reason="r")).status_code == 302


@pytest.mark.parametrize(
    "version",
    [
        "",  # a page opened before the site kept versions
        "1.2",
        "x.y.z.a.b",
        "\u0661.\u0662.\u0663.\u0664.\u0665",  # Arabic-Indic digits
        "99999999.99999999.99999999.99999999.99999999",  # newer than the rows: made up
    ],
    ids=["missing", "too_short", "not_numbers", "arabic_indic_digits", "newer_than_the_rows"],
)
def test_a_form_whose_version_this_site_did_not_write_is_refused_then_can_be_saved(
    two_coordinators, m3, version
):
    coordinator_a, _coordinator_b = two_coordinators
    url = reverse("visit_entry", args=[m3.pk])
    refused = coordinator_a.post(url, entry_data(version, pga="0.40", reason="r"))
    assert refused.status_code == 200
    assert "Not saved: this form is out of date." in errors_of(refused.content.decode())
    m3.pga.refresh_from_db()
    assert m3.pga.score == Decimal("1.00")
    # The page now carries the current version: the entries kept on it can be saved.
    version_now = re.search(
        r'name="opened_version" value="([^"]*)"', refused.content.decode()
    ).group(1)
    saved = coordinator_a.post(url, entry_data(version_now, pga="0.40", reason="r"))
    assert saved.status_code == 302


def test_participant_changed_since_opening_is_refused(two_coordinators, participant_a, site_a):
    coordinator_a, coordinator_b = two_coordinators
    url = reverse("participant_edit", args=[participant_a.pk])
    data = {
        "site": site_a.pk,
        "participant_id": participant_a.participant_id,
        "sex": "F",
        "age_at_enrollment": "12",
        "enrollment_date": "2026-01-05",
        "infusion_date": "2026-02-09",
        "dose_cells_per_kg": "100000",
        "change_reason": "Corrected from the consent form",
    }
    version_a = opened_version(coordinator_a, url)
    version_b = opened_version(coordinator_b, url)
    saved = coordinator_b.post(
        url, {**data, "dose_cells_per_kg": "300000", "opened_version": version_b}
    )
    assert saved.status_code == 302

    refused = coordinator_a.post(
        url, {**data, "age_at_enrollment": "13", "opened_version": version_a}
    )
    assert refused.status_code == 200
    page = errors_of(refused.content.decode())
    assert REFUSED in page
    assert "dose (CAR+ cells/kg): 100000 → 300000" in page
    participant_a.refresh_from_db()
    assert (participant_a.age_at_enrollment, participant_a.dose_cells_per_kg) == (12, 300_000)


def test_visit_date_changed_since_opening_is_refused(two_coordinators, m3):
    coordinator_a, coordinator_b = two_coordinators
    url = reverse("visit_edit", args=[m3.pk])
    data = {"visit_definition": m3.visit_definition_id, "change_reason": "Date typo"}
    version_a = opened_version(coordinator_a, url)
    version_b = opened_version(coordinator_b, url)
    moved = coordinator_b.post(
        url, {**data, "visit_date": "2026-05-11", "opened_version": version_b}
    )
    assert moved.status_code == 302

    refused = coordinator_a.post(
        url, {**data, "visit_date": "2026-05-12", "opened_version": version_a}
    )
    assert refused.status_code == 200
    page = errors_of(refused.content.decode())
    assert REFUSED in page
    assert "visit date: 2026-05-10 → 2026-05-11" in page
    m3.refresh_from_db()
    assert m3.visit_date == date(2026, 5, 11)


# Admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def admin_participant_data(participant: Participant, version: str) -> dict[str, object]:
    return {
        "opened_version": version,
        "study": participant.study_id,
        "site": participant.site_id,
        "participant_id": participant.participant_id,
        "sex": participant.sex,
        "age_at_enrollment": participant.age_at_enrollment,
        "enrollment_date": participant.enrollment_date.isoformat(),
        "infusion_date": participant.infusion_date.isoformat(),
        "dose_cells_per_kg": participant.dose_cells_per_kg,
        "treatment_failure_date": "",
        "withdrawal_date": "",
        "withdrawal_reason": "",
        "change_reason": "Corrected in admin",
    }


def test_admin_refuses_a_participant_changed_since_the_page_was_opened(admin_client, participant_a):
    url = reverse("admin:trialsite_participant_change", args=[participant_a.pk])
    data = admin_participant_data(participant_a, opened_version(admin_client, url))
    participant_a.age_at_enrollment = 14
    services.participant_save(participant=participant_a, author=None, reason="Another user")

    response = admin_client.post(url, {**data, "dose_cells_per_kg": 30_000})
    assert response.status_code == 200
    page = errors_of(response.content.decode())
    assert REFUSED in page
    assert "age at enrolment (years): 12 → 14" in page
    participant_a.refresh_from_db()
    assert participant_a.dose_cells_per_kg == 100_000


def test_admin_refuses_a_visit_whose_assessments_changed_since_the_page_was_opened(
    admin_client, m3
):
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    data = admin_visit_form(
        admin_client, m3, pga="0.50", sledai=NONE_PRESENT, bilag=ALL_E, reason="Corrected"
    )
    services.visit_save_assessments(
        visit=m3, sledai=NONE_PRESENT, pga=Decimal("1.20"), bilag=ALL_E, author=None, reason="r"
    )

    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = errors_of(response.content.decode())
    assert REFUSED in page
    assert "PGA: 1.00 → 1.20" in page
    m3.pga.refresh_from_db()
    assert m3.pga.score == Decimal("1.20")


def test_admin_sets_the_entry_status_from_the_answers(admin_client, m3):
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    one_blank = {**NONE_PRESENT, "rash": None}
    response = admin_client.post(
        url,
        admin_visit_form(admin_client, m3, pga="1.00", sledai=one_blank, bilag=ALL_E, reason="r"),
    )
    assert response.status_code == 302, errors_of(response.content.decode())[:2000]
    m3.refresh_from_db()
    assert m3.entry_status == EntryStatus.IN_PROGRESS
    assert m3.endpoint_results.get(endpoint="sri4").outcome == "not evaluable"

    m3 = Visit.objects.get(pk=m3.pk)
    response = admin_client.post(
        url,
        admin_visit_form(
            admin_client, m3, pga="1.00", sledai=NONE_PRESENT, bilag=ALL_E, reason="r"
        ),
    )
    assert response.status_code == 302
    m3.refresh_from_db()
    assert m3.entry_status == EntryStatus.COMPLETE


def test_admin_refuses_a_study_whose_schedule_changed_since_the_page_was_opened(
    admin_client, study
):
    # The schedule as the migration created it has no history yet; give each row one version,
    # so the refusal can show the field that changed against the row's own previous version.
    VisitDefinition.history.bulk_history_create(
        list(study.visit_definitions.all()), default_change_reason="Schedule reviewed"
    )
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    version = opened_version(admin_client, url)
    definitions = list(study.visit_definitions.order_by("order"))
    data: dict[str, object] = {
        "opened_version": version,
        "name": "Renamed study",
        "protocol_number": study.protocol_number,
        "baseline_visit": study.baseline_visit_id,
        "primary_visit": study.primary_visit_id,
        "sledai_lookback_days": 10,
        "change_reason": "Title from the protocol",
        "visit_definitions-TOTAL_FORMS": len(definitions),
        "visit_definitions-INITIAL_FORMS": len(definitions),
        "visit_definitions-MIN_NUM_FORMS": 0,
        "visit_definitions-MAX_NUM_FORMS": 1000,
    }
    for number, definition in enumerate(definitions):
        fields = ("id", "order", "code", "name_en", "target_day", "window_low", "window_high")
        for field in fields:
            value = getattr(definition, field)
            data[f"visit_definitions-{number}-{field}"] = "" if value is None else value
        data[f"visit_definitions-{number}-study"] = study.pk
        if definition.repeatable:
            data[f"visit_definitions-{number}-repeatable"] = "on"
    # Meanwhile another admin widens Month 3's window on the schedule page.
    m3 = study.visit_definitions.get(code="M3")
    m3.window_high = 118
    services.save_with_audit(m3, author=None, reason="Window widened")

    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = errors_of(response.content.decode())
    assert REFUSED in page
    assert "window to (study day): 104 → 118" in page
    m3.refresh_from_db()
    assert m3.window_high == 118
    study.refresh_from_db()
    assert study.name != "Renamed study"


def test_admin_shows_old_versions_but_never_saves_one_back(admin_client, participant_a):
    first = participant_a.history.earliest("history_id")
    participant_a.age_at_enrollment = 14
    services.participant_save(participant=participant_a, author=None, reason="Corrected")
    url = reverse(
        "admin:trialsite_participant_simple_history",
        args=[participant_a.pk, first.history_id],
    )
    assert admin_client.get(url).status_code == 200
    data = admin_participant_data(participant_a, "")
    response = admin_client.post(url, {**data, "age_at_enrollment": 12})
    assert response.status_code == 403
    participant_a.refresh_from_db()
    assert participant_a.age_at_enrollment == 14


def test_a_change_to_a_row_without_recorded_history_still_refuses(study):
    """Rows the migrations created have no history: their first change has nothing to compare
    with, and still counts."""
    sources = versions.record_sources(study)
    opened = versions.current_version(sources)
    m3 = study.visit_definitions.get(code="M3")
    m3.window_high = 118
    services.save_with_audit(m3, author=None, reason="Window widened")
    (change,) = versions.changes_since(sources, opened)
    assert (change.what, change.kind, change.changes) == ("visit schedule", "changed", [])


def test_a_version_is_each_historys_latest_id_in_order_and_0_for_none(m3) -> None:
    visit_history = Visit.history.filter(id=m3.pk)
    pga_history = PgaAssessment.history.filter(visit_id=m3.pk)
    no_rows = NotDoneAnswer.history.filter(visit_id=m3.pk)
    latest_visit = visit_history.latest("history_id").history_id
    latest_pga = pga_history.latest("history_id").history_id

    assert latest_visit != latest_pga  # so that their order shows
    sources = [(pga_history, "PGA"), (no_rows, "not done"), (visit_history, "visit")]

    assert versions.current_version(sources) == f"{latest_pga}.0.{latest_visit}"
    assert versions.current_version(sources[2:]) == str(latest_visit)
    assert versions.current_version(sources[1:2]) == "0"
    assert versions.current_version([]) == ""
