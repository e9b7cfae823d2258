"""medications.selectors: the participant page's courses, the prednisolone-equivalent dose today
and at each visit (hand-calculated from section 6b's ratios), and the pending proposals, earliest
first."""

from datetime import date
from decimal import Decimal

from medications.selectors import participant_medications
from tests.medications.conftest import record_course

TODAY = date(2026, 6, 1)


def test_the_doses_at_the_visits_follow_the_courses_active_that_day(participant_a):
    # 20 mg prednisolone to 2026-02-15, then 10 mg; methylprednisolone 500 mg iv on 2026-02-10 to
    # 2026-02-12 (625 mg prednisolone); hydrocortisone cream (route other) never counts.
    record_course(
        participant_a, "prednisolone", dose="20", start=date(2026, 1, 5), stop=date(2026, 2, 15)
    )
    record_course(participant_a, "prednisolone", dose="10", start=date(2026, 2, 16))
    record_course(
        participant_a,
        "methylprednisolone",
        dose="500",
        route="iv",
        start=date(2026, 2, 10),
        stop=date(2026, 2, 12),
    )
    record_course(
        participant_a, "hydrocortisone", dose="100", route="other", start=date(2026, 1, 5)
    )
    record_course(
        participant_a, "dexamethasone", dose="0.75", start=date(2026, 5, 1), stop=date(2026, 5, 1)
    )

    section = participant_medications(
        participant_a,
        visits=[
            ("BL", date(2026, 2, 2)),
            ("D0", date(2026, 2, 9)),
            ("D1", date(2026, 2, 10)),
            ("D7", date(2026, 2, 16)),
            ("M3", date(2026, 5, 1)),
        ],
        today=TODAY,
    )

    assert [(dose.visit_code, dose.prednisolone_mg) for dose in section.visit_doses] == [
        ("BL", Decimal("20.00")),
        ("D0", Decimal("20.00")),
        ("D1", Decimal("645.00")),
        ("D7", Decimal("10.00")),
        ("M3", Decimal("15.00")),  # 10 + 0.75 mg dexamethasone (5 mg)
    ]
    assert section.prednisolone_mg_today == Decimal("10.00")


def test_the_rows_show_class_dose_study_day_and_whether_prohibited(participant_a):
    record_course(participant_a, "mycophenolate mofetil", dose="1000.000", start=date(2026, 1, 5))
    record_course(
        participant_a,
        "rituximab",
        dose="375",
        route="iv",
        start=date(2026, 3, 1),
        stop=date(2026, 3, 1),
    )
    record_course(participant_a, "dexamethasone", dose="0.750", start=date(2026, 2, 1))

    rows = participant_medications(participant_a, visits=[], today=TODAY).rows

    assert [
        (row.course.drug, row.drug_class, row.dose_mg, row.start_day, row.prohibited_after_infusion)
        for row in rows
    ] == [
        ("mycophenolate", "maintenance immunosuppressant", "1000", -35, False),
        ("dexamethasone", "glucocorticoid", "0.75", -8, False),
        ("rituximab", "biologic", "375", 20, True),
    ]


def test_the_proposals_are_listed_earliest_first(participant_a):
    record_course(participant_a, "rituximab", start=date(2026, 4, 1), stop=date(2026, 4, 1))
    record_course(participant_a, "cyclophosphamide", start=date(2026, 3, 1))
    record_course(participant_a, "tocilizumab", start=date(2026, 2, 10))

    proposals = participant_medications(participant_a, visits=[], today=TODAY).proposals

    assert [(p.course.drug, p.failure_date) for p in proposals] == [
        ("cyclophosphamide", date(2026, 3, 1)),
        ("rituximab", date(2026, 4, 1)),
    ]
