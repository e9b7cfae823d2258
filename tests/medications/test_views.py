"""The medication pages: recording a course, changing it with a reason, the participant page's
medications section and its treatment-failure proposal with confirm and dismiss, what is refused
(404 for another site, 403 without the right), and the participant page's query budget."""

from datetime import date

import pytest
from django.urls import reverse

from medications import services
from medications.models import MedicationCourse
from responses.models import EndpointResult
from tests.factories import UserFactory
from tests.medications.conftest import record_course
from tests.pages import opened_version

CYCLOPHOSPHAMIDE = {
    "drug": "Cyclophosphamide",
    "daily_dose_mg": "500",
    "route": "iv",
    "start_date": "2026-05-02",
    "stop_date": "2026-05-02",
}
PREDNISOLONE = {
    "drug": "prednisolone",
    "daily_dose_mg": "7.5",
    "route": "oral",
    "start_date": "2026-02-01",
    "stop_date": "",
}
PROPOSAL = (
    "Cyclophosphamide started on 2026-05-02, after the infusion: protocol-prohibited. Record "
    "2026-05-02 as the treatment failure date?"
)


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def participant_page(client, participant) -> str:
    return page_text(client.get(reverse("participant_detail", args=[participant.pk])))


# --------------------------------------------------------------------------------------------
# Recording and changing a course
# --------------------------------------------------------------------------------------------


def test_coordinator_records_a_course_and_sees_it_on_the_participant_page(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    data = {**PREDNISOLONE, "drug": "  Prednisolone "}
    response = client.post(reverse("medication_course_create", args=[participant_a.pk]), data)
    assert response.status_code == 302
    assert response.url == reverse("participant_detail", args=[participant_a.pk]) + "#medications"
    course = MedicationCourse.objects.get()
    assert course.drug == "prednisolone"
    record = course.history.get()
    assert (record.history_user, record.history_change_reason) == (coordinator_a, "Initial entry")
    page = participant_page(client, participant_a)
    assert "Medication course saved." in page
    section = page[page.index('id="medications"') :]
    assert '<th scope="row">prednisolone</th>' in section
    assert "<td>glucocorticoid</td>" in section
    assert '<td class="text-end">7.5</td>' in section
    assert '<td class="text-end">-8</td>' in section  # study day of the start
    assert "ongoing" in section
    assert 'id="prednisolone-today">7.50</dd>' in section
    assert reverse("medication_course_edit", args=[course.pk]) in section
    assert 'id="failure-proposals"' not in page


@pytest.mark.parametrize(("typed", "warned"), [("rituximb", True), ("MabThera", False)])
def test_a_drug_the_site_does_not_know_is_saved_with_a_warning(
    client, coordinator_a, participant_a, typed, warned
):
    client.force_login(coordinator_a)
    data = {**PREDNISOLONE, "drug": typed}
    client.post(reverse("medication_course_create", args=[participant_a.pk]), data)

    page = participant_page(client, participant_a)

    warning = f"{typed.lower()} is not one of the drugs the site knows (its class is other)"
    assert (warning in page) is warned


def test_a_new_course_form_asks_no_reason_chooses_no_route_and_suggests_drugs(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse("medication_course_create", args=[participant_a.pk])))
    assert 'list="known-drugs"' in page
    assert '<option value="mycophenolate"></option>' in page
    assert 'type="text" name="start_date"' in page
    assert 'name="route" value="iv"' in page
    assert "checked" not in page
    assert 'name="change_reason" class="textinput form-control" required' not in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"stop_date": "2026-01-31"},
            "stop_date",
            "The stop date cannot be before the start date.",
            id="stop-before-start",
        ),
        pytest.param({"daily_dose_mg": "0"}, "daily_dose_mg", "more than 0 mg", id="dose-zero"),
        pytest.param({"route": ""}, "route", "This field is required.", id="no-route"),
        pytest.param({"drug": " "}, "drug", "This field is required.", id="no-drug"),
        pytest.param(
            {"start_date": "2099-01-01"}, "start_date", "This date is in the future.", id="future"
        ),
    ],
)
def test_wrong_entries_are_refused_on_their_fields(
    client, coordinator_a, participant_a, change, field, message
):
    client.force_login(coordinator_a)
    url = reverse("medication_course_create", args=[participant_a.pk])
    page = page_text(client.post(url, {**PREDNISOLONE, **change}))
    assert "1 field needs attention" in page
    assert message in page
    assert not MedicationCourse.objects.exists()


def test_a_second_course_of_the_same_drug_and_start_is_refused_on_the_start_date(
    client, coordinator_a, participant_a
):
    record_course(participant_a, "mycophenolate", start=date(2026, 2, 1))
    client.force_login(coordinator_a)
    data = {**PREDNISOLONE, "drug": "Mycophenolate Mofetil"}
    page = page_text(
        client.post(reverse("medication_course_create", args=[participant_a.pk]), data)
    )
    assert "S01-001 already has a course of mycophenolate starting on this date" in page
    assert MedicationCourse.objects.count() == 1


def test_changing_a_course_needs_a_reason(client, coordinator_a, participant_a):
    course = record_course(participant_a, dose="7.5", start=date(2026, 2, 1)).course
    client.force_login(coordinator_a)
    url = reverse("medication_course_edit", args=[course.pk])
    data = {
        **PREDNISOLONE,
        "stop_date": "2026-03-01",
        "opened_version": opened_version(client, url),
    }
    page = page_text(client.post(url, data))
    assert "This field is required." in page
    course.refresh_from_db()
    assert course.stop_date is None

    response = client.post(url, {**data, "change_reason": "Stopped at the March visit"})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.stop_date == date(2026, 3, 1)
    changed = course.history.latest()
    assert (changed.history_user, changed.history_change_reason) == (
        coordinator_a,
        "Stopped at the March visit",
    )


def test_a_change_from_a_page_opened_before_another_change_is_refused(
    client, coordinator_a, participant_a
):
    course = record_course(participant_a, dose="7.5", start=date(2026, 2, 1)).course
    client.force_login(coordinator_a)
    url = reverse("medication_course_edit", args=[course.pk])
    version = opened_version(client, url)
    record = MedicationCourse.objects.get(pk=course.pk)
    record.daily_dose_mg = 5
    services.medication_course_save(course=record, author=None, reason="someone else")
    data = {**PREDNISOLONE, "change_reason": "typo", "opened_version": version}
    page = page_text(client.post(url, {**data, "stop_date": "2026-03-01"}))
    assert "another user changed this record after you opened it" in page
    course.refresh_from_db()
    assert course.stop_date is None


# --------------------------------------------------------------------------------------------
# The treatment-failure proposal: shown, confirmed, dismissed
# --------------------------------------------------------------------------------------------


def test_cyclophosphamide_after_infusion_is_proposed_and_confirmed(
    client, coordinator_a, with_visits
):
    client.force_login(coordinator_a)
    client.post(reverse("medication_course_create", args=[with_visits.pk]), CYCLOPHOSPHAMIDE)
    course = MedicationCourse.objects.get()
    page = participant_page(client, with_visits)
    banner = page[page.index('id="failure-proposals"') : page.index("Visit schedule")]
    assert PROPOSAL in banner
    assert "Confirm treatment failure from 2026-05-02" in banner
    assert "prohibited after infusion" in page
    with_visits.refresh_from_db()
    assert with_visits.treatment_failure_date is None  # proposed, not recorded

    response = client.post(
        reverse("medication_failure_confirm", args=[course.pk]), {"proposed": "2026-05-02"}
    )
    assert response.status_code == 302
    with_visits.refresh_from_db()
    assert with_visits.treatment_failure_date == date(2026, 5, 2)
    assert with_visits.history.latest().history_change_reason == (
        "treatment failure: cyclophosphamide from 2026-05-02 (confirmed by coord_a)"
    )
    m3 = EndpointResult.objects.get(visit__visit_definition__code="M3", endpoint="sri4")
    assert m3.outcome == "non-responder"
    page = participant_page(client, with_visits)
    assert "Treatment failure recorded from 2026-05-02" in page
    assert 'id="failure-proposals"' not in page


def test_the_proposal_survives_leaving_the_page(client, coordinator_a, participant_a):
    record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2))
    client.force_login(coordinator_a)
    client.get(reverse("home"))
    assert PROPOSAL in participant_page(client, participant_a)


def test_a_proposal_that_changed_is_not_confirmed(client, coordinator_a, participant_a):
    course = record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(coordinator_a)
    response = client.post(
        reverse("medication_failure_confirm", args=[course.pk]), {"proposed": "2026-05-01"}
    )
    assert response.status_code == 302
    page = participant_page(client, participant_a)
    assert "This proposal is no longer current" in page
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None


def test_confirming_takes_a_post(client, coordinator_a, participant_a):
    course = record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(coordinator_a)
    response = client.get(
        reverse("medication_failure_confirm", args=[course.pk]), {"proposed": "2026-05-02"}
    )
    assert response.status_code == 302
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None


def test_dismissing_needs_a_reason_and_then_hides_the_proposal(
    client, coordinator_a, participant_a
):
    course = record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(coordinator_a)
    url = reverse("medication_failure_dismiss", args=[course.pk])
    client.post(url, {"proposed": "2026-05-02", "reason": ""})
    page = participant_page(client, participant_a)
    assert "Say why this is not a treatment failure" in page
    assert PROPOSAL in page

    client.post(url, {"proposed": "2026-05-02", "reason": "lymphodepletion entered by mistake"})
    page = participant_page(client, participant_a)
    assert "Proposal dismissed" in page
    assert 'id="failure-proposals"' not in page
    course.refresh_from_db()
    assert course.failure_proposal_dismissed is True
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None


def test_a_monitor_sees_the_courses_and_the_proposal_without_buttons(
    client, monitor, participant_a
):
    course = record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(monitor)
    page = participant_page(client, participant_a)
    assert PROPOSAL in page
    assert "Confirm treatment failure" not in page
    assert reverse("medication_failure_dismiss", args=[course.pk]) not in page
    assert "Record a medication course" not in page
    assert reverse("medication_course_edit", args=[course.pk]) not in page


# --------------------------------------------------------------------------------------------
# Site boundary (404) and rights (403)
# --------------------------------------------------------------------------------------------

COURSE_PAGES = [
    "medication_course_edit",
    "medication_failure_confirm",
    "medication_failure_dismiss",
]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_another_sites_participant_is_not_found(client, site_a, participant_b, role, method):
    client.force_login(UserFactory(role=role, sites=[site_a]))
    url = reverse("medication_course_create", args=[participant_b.pk])
    response = getattr(client, method)(url, CYCLOPHOSPHAMIDE)
    assert response.status_code == 404
    assert not MedicationCourse.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", COURSE_PAGES)
@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_another_sites_course_is_not_found(client, site_a, participant_b, role, name, method):
    course = record_course(participant_b, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(UserFactory(role=role, sites=[site_a]))
    data = {**CYCLOPHOSPHAMIDE, "change_reason": "x", "proposed": "2026-05-02", "reason": "x"}
    response = getattr(client, method)(reverse(name, args=[course.pk]), data)
    assert response.status_code == 404
    participant_b.refresh_from_db()
    assert participant_b.treatment_failure_date is None
    assert course.history.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ["medication_course_create", *COURSE_PAGES])
def test_a_monitor_records_and_answers_nothing(client, monitor, participant_a, name, method):
    course = record_course(participant_a, "cyclophosphamide", start=date(2026, 5, 2)).course
    client.force_login(monitor)
    target = participant_a if name.endswith("create") else course
    data = {**CYCLOPHOSPHAMIDE, "change_reason": "x", "proposed": "2026-05-02", "reason": "x"}
    response = getattr(client, method)(reverse(name, args=[target.pk]), data)
    assert response.status_code == 403
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None
    assert MedicationCourse.objects.count() == 1


def test_a_user_without_a_role_cannot_open_a_course_of_their_site(client, site_a, participant_a):
    course = record_course(participant_a).course
    client.force_login(UserFactory(sites=[site_a]))
    assert client.get(reverse("medication_course_edit", args=[course.pk])).status_code == 403
    page = participant_page(client, participant_a)
    assert 'id="medications"' not in page


# --------------------------------------------------------------------------------------------
# The participant page's query budget
# --------------------------------------------------------------------------------------------


def test_the_participant_page_reads_the_courses_in_one_query(
    client, coordinator_a, with_visits, django_assert_max_num_queries
):
    client.force_login(coordinator_a)
    counts = []
    for count in (1, 8):
        MedicationCourse.objects.all().delete()
        for day in range(count):
            record_course(with_visits, "prednisolone", start=date(2026, 1, 5 + day))
            record_course(with_visits, "rituximab", start=date(2026, 3, 1 + day))
        # The page's whole budget is tests/trialsite/test_views.py's; here the courses are read
        # in one query however many there are, and the page's count does not grow with them.
        with django_assert_max_num_queries(40) as captured:
            page = participant_page(client, with_visits)
        assert page.count('<th scope="row">rituximab') == count
        assert page.count("Record 2026-03-") == count  # one proposal per course
        counts.append(len(captured))
        courses = [q["sql"] for q in captured.captured_queries if "medicationcourse" in q["sql"]]
        assert len(courses) == 1
    assert counts[0] == counts[1]
