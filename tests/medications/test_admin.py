"""Medication courses in admin: saved and deleted through medications.services with a reason, the
drug stored as its generic name, a duplicate shown on the field, the dismissal read-only."""

from datetime import date

from django.urls import reverse

from medications.models import MedicationCourse
from tests.medications.conftest import record_course
from tests.pages import opened_version

ENTRIES = {
    "drug": "Cyclosporine",
    "daily_dose_mg": "100",
    "route": "oral",
    "start_date": "2026-01-10",
    "stop_date": "",
}


def test_admin_records_a_course_through_the_service(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:medications_medicationcourse_add"),
        {**ENTRIES, "participant": participant_a.pk, "change_reason": "Entered from chart"},
    )
    assert response.status_code == 302, response.content.decode()
    course = MedicationCourse.objects.get()
    assert course.drug == "ciclosporin"
    record = course.history.get()
    assert record.history_change_reason == "Entered from chart"
    assert record.history_user.username == "root"


def test_admin_shows_a_duplicate_under_another_name_on_the_field(superuser_client, participant_a):
    record_course(participant_a, "ciclosporin", start=date(2026, 1, 10))
    response = superuser_client.post(
        reverse("admin:medications_medicationcourse_add"),
        {**ENTRIES, "participant": participant_a.pk, "change_reason": "again"},
    )
    assert response.status_code == 200
    assert "already has a course of ciclosporin starting on this date" in response.content.decode()
    assert MedicationCourse.objects.count() == 1


def test_admin_change_needs_a_reason_and_keeps_the_participant(superuser_client, participant_a):
    course = record_course(participant_a, "ciclosporin", start=date(2026, 1, 10)).course
    url = reverse("admin:medications_medicationcourse_change", args=[course.pk])
    page = superuser_client.get(url).content.decode()
    assert 'name="participant"' not in page  # read-only once recorded
    assert 'name="failure_proposal_dismissed"' not in page
    data = {
        **ENTRIES,
        "stop_date": "2026-03-01",
        "opened_version": opened_version(superuser_client, url),
    }
    response = superuser_client.post(url, data)
    assert response.status_code == 200  # the reason is required
    response = superuser_client.post(url, {**data, "change_reason": "Stopped in March"})
    assert response.status_code == 302, response.content.decode()
    course.refresh_from_db()
    assert course.stop_date == date(2026, 3, 1)
    assert course.history.latest().history_change_reason == "Stopped in March"


def test_admin_deletes_a_course_with_a_reason(superuser_client, participant_a):
    course = record_course(participant_a).course
    url = reverse("admin:medications_medicationcourse_delete", args=[course.pk])
    response = superuser_client.post(url, {"post": "yes", "delete_reason": "entered twice"})
    assert response.status_code == 302
    assert not MedicationCourse.objects.exists()
    assert MedicationCourse.history.latest().history_change_reason == "entered twice"


def test_admin_lists_and_filters_courses(superuser_client, participant_a):
    record_course(participant_a, "rituximab", route="iv", start=date(2026, 3, 1))
    url = reverse("admin:medications_medicationcourse_changelist")
    page = superuser_client.get(url, {"route": "iv", "q": "ritux"}).content.decode()
    assert "rituximab" in page
    assert "S01-001" in page
