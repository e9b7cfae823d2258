"""The demo's medications: a prednisolone (or prednisone) taper and hydroxychloroquine for every
child, slower for three who reached Month 3, mycophenolate stopped before lymphodepletion for the
renal ones, tocilizumab for the treated CRS, and rituximab after infusion for S03-005 only, whose
proposed treatment failure is left for the coordinator (so the SRI figures of test_demo.py stay
as they are)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from medications.models import MedicationCourse
from medications.selectors import participant_medications
from trialsite.demo import load_demo
from trialsite.models import Participant

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo_cohort(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(today=TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_cohort, db):
    return None


def section(participant_id: str):
    participant = Participant.objects.get(participant_id=participant_id)
    visits = [
        (visit.visit_definition.code, visit.visit_date)
        for visit in participant.visits.select_related("visit_definition").order_by("visit_date")
    ]
    return participant, participant_medications(participant, visits=visits, today=TODAY)


def test_only_s03_005s_rituximab_proposes_a_treatment_failure_and_none_is_recorded(demo):
    for participant in Participant.objects.exclude(participant_id="S03-005"):
        _participant, medications = section(participant.participant_id)
        assert medications.proposals == [], participant
        assert not any(row.prohibited_after_infusion for row in medications.rows)
    participant, medications = section("S03-005")  # infused 125 days before TODAY
    infusion = participant.infusion_date
    # Two doses of rituximab, on days 64 and 78: each course proposes its own day.
    assert [(p.course.drug, p.failure_date) for p in medications.proposals] == [
        ("rituximab", infusion + timedelta(days=64)),
        ("rituximab", infusion + timedelta(days=78)),
    ]
    assert not Participant.objects.exclude(treatment_failure_date=None).exists()


def test_the_demo_taper_shows_at_the_visits(demo):
    _participant, medications = section("S01-001")  # infused 130 days before TODAY
    doses = {dose.visit_code: dose.prednisolone_mg for dose in medications.visit_doses}
    # S01-001's visits are on their target days; 20 mg/day to day 13, 10 to day 41, 7.5 to day
    # 69, then 5 (ongoing).
    assert doses == {
        "SCR": Decimal("20.00"),
        "BL": Decimal("20.00"),
        "D0": Decimal("20.00"),
        "D7": Decimal("20.00"),
        "D14": Decimal("10.00"),
        "M1": Decimal("10.00"),
        "M2": Decimal("7.50"),
        "M3": Decimal("5.00"),
    }
    assert medications.prednisolone_mg_today == Decimal("5.00")
    classes = {row.course.drug: row.drug_class for row in medications.rows}
    assert classes == {
        "prednisolone": "glucocorticoid",
        "hydroxychloroquine": "maintenance immunosuppressant",
    }


@pytest.mark.parametrize(
    ("participant_id", "drug", "month_3_day", "month_3_mg"),
    [
        # Month 3 one day after its target; 7.5 mg/day from day 42 to day 104.
        pytest.param("S01-002", "prednisolone", 91, Decimal("7.50"), id="S01-002"),
        # Month 3 one day before its target; prednisone 10 mg/day from day 49 to day 97.
        pytest.param("S02-003", "prednisone", 89, Decimal("10.00"), id="S02-003"),
        # The usual taper: 5 mg/day to day 89, none from day 90.
        pytest.param("S02-004", "prednisolone", 90, Decimal("0.00"), id="S02-004"),
        pytest.param("S03-005", "prednisolone", 91, Decimal("0.00"), id="S03-005"),
    ],
)
def test_the_month_3_doses_follow_each_childs_taper(
    demo, participant_id, drug, month_3_day, month_3_mg
):
    participant, medications = section(participant_id)
    month_3 = next(dose for dose in medications.visit_doses if dose.visit_code == "M3")
    assert participant.study_day(month_3.visit_date) == month_3_day
    assert month_3.prednisolone_mg == month_3_mg
    assert MedicationCourse.objects.filter(participant=participant, drug=drug).count() >= 3


def test_a_child_infused_ten_days_ago_is_still_on_the_first_step(demo):
    participant, medications = section("S03-011")
    infusion = participant.infusion_date
    assert infusion == TODAY - timedelta(days=10)
    assert medications.prednisolone_mg_today == Decimal("20.00")
    prednisolone = MedicationCourse.objects.get(participant=participant, drug="prednisolone")
    assert prednisolone.stop_date is None  # ongoing: its step ends on day 13
    mycophenolate = MedicationCourse.objects.get(participant=participant, drug="mycophenolate")
    assert mycophenolate.stop_date == infusion - timedelta(days=8)


def test_tocilizumab_was_given_on_the_first_day_of_the_treated_crs(demo):
    given = MedicationCourse.objects.filter(drug="tocilizumab").select_related("participant")
    assert {course.participant.participant_id for course in given} == {"S02-003", "S01-007"}
    for course in given:
        episode = course.participant.crs_episodes.get()
        assert episode.tocilizumab is True
        assert (course.route, course.start_date, course.stop_date) == (
            "iv",
            episode.onset_date,
            episode.onset_date,
        )


def test_the_demo_courses_carry_the_demo_reason(demo):
    reasons = set(MedicationCourse.history.values_list("history_change_reason", flat=True))
    assert reasons == {"Demo cohort (manage.py load_demo)"}
