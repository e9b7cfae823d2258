"""Medication courses saved while the participant's visits are saved, on PostgreSQL: every save
takes the participant's lock before it reads what it derives from, so the last rescoring sees
every committed course and answer and no stored result is stale (tests/trialsite/
test_concurrency.py explains the setup: a thread per connection, a pause that widens the race)."""

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from medications import services as medication_services
from medications.models import MedicationCourse
from responses import services as responses_services
from responses.services import stale_results
from tests.factories import ALL_E, NONE_PRESENT, ParticipantFactory, SiteFactory, record_visit
from tests.trialsite.test_concurrency import PAUSE_SECONDS, run_together
from trialsite import services
from trialsite.models import Participant, Visit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
    ),
]

VISITS = {"BL": date(2026, 2, 2), "M1": date(2026, 3, 11), "M2": date(2026, 4, 10)}
VISITS_AFTER_BL = {"M3": date(2026, 5, 10), "M6": date(2026, 8, 9)}


@pytest.fixture
def participant(reference_data) -> Participant:
    """S01-001 (infused 2026-02-09) with BL (arthritis) and M1 to M6 (nothing present)."""
    participant = ParticipantFactory(site=SiteFactory(code="S01"), participant_id="S01-001")
    for code, visit_date in {**VISITS, **VISITS_AFTER_BL}.items():
        record_visit(
            participant, code, visit_date, pga="0.20", sledai={"arthritis"} if code == "BL" else ()
        )
    return participant


@pytest.fixture
def slow_rescore(monkeypatch) -> None:
    """Pause between computing a participant's results and storing them."""
    compute = responses_services.compute_participant

    def compute_then_pause(**kwargs):
        fresh = compute(**kwargs)
        time.sleep(PAUSE_SECONDS)
        return fresh

    monkeypatch.setattr(responses_services, "compute_participant", compute_then_pause)


def save_course(
    participant: Participant, drug: str, dose: str, start: date, route: str = "oral"
) -> Callable[[], None]:
    """Record the course, or change the dose of the one recorded with this drug and start."""

    def save() -> None:
        course = MedicationCourse.objects.filter(
            participant=participant, drug=drug, start_date=start
        ).first() or MedicationCourse(
            participant=participant, drug=drug, route=route, start_date=start
        )
        course.daily_dose_mg = Decimal(dose)
        medication_services.medication_course_save(course=course, author=None, reason="race")

    return save


def save_pga(visit: Visit, pga: str) -> Callable[[], None]:
    return lambda: services.visit_save_assessments(
        visit=Visit.objects.get(pk=visit.pk),
        sledai=NONE_PRESENT,
        pga=Decimal(pga),
        bilag=ALL_E,
        author=None,
        reason="race",
    )


def test_courses_and_visits_saved_at_once_leave_no_stale_result(participant, slow_rescore):
    m3, m6 = (
        Visit.objects.get(participant=participant, visit_definition__code=code)
        for code in VISITS_AFTER_BL
    )
    for round_number in range(5):
        dose = ("10", "5", "7.5", "4", "12")[round_number]
        raised = run_together(
            [
                save_course(participant, "prednisolone", dose, date(2026, 5, 1)),
                save_course(participant, "prednisolone", dose, date(2026, 8, 1)),
                save_course(
                    participant, "rituximab", "500", date(2026, 4, 20 + round_number), "iv"
                ),
                save_pga(m3, f"0.{round_number + 1}0"),
                save_pga(m6, f"0.{round_number + 3}0"),
            ]
        )
        assert raised == []
        assert stale_results() == []
