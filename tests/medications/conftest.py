from datetime import date
from decimal import Decimal

import pytest

from medications import services
from medications.models import MedicationCourse
from tests.factories import BL_AND_M3, record_visit


def record_course(
    participant,
    drug: str = "prednisolone",
    *,
    dose: str = "10",
    route: str = "oral",
    start: date = date(2026, 1, 5),
    stop: date | None = None,
    author=None,
    reason: str = "test",
) -> services.CourseSaved:
    """Record a course through the service, as a coordinator would."""
    course = MedicationCourse(
        participant=participant,
        drug=drug,
        daily_dose_mg=Decimal(dose),
        route=route,
        start_date=start,
        stop_date=stop,
    )
    return services.medication_course_save(course=course, author=author, reason=reason)


@pytest.fixture
def with_visits(participant_a):
    """participant_a (enrolled 2026-01-05, infused 2026-02-09) with BL (2026-02-02, SLEDAI-2K 6)
    and M3 (2026-05-10, 0): an SRI-4 responder at M3."""
    for code, visit in BL_AND_M3.items():
        record_visit(participant_a, code, visit.on, sledai=visit.sledai, pga=visit.pga)
    return participant_a


#: participant_a's Month 3 in DORIS remission and LLDAS without any medication: BL (2026-02-02:
#: arthritis 4 + rash 2, PGA 1.00) and M3 (2026-05-10: no descriptor, so clinical SLEDAI-2K 0;
#: PGA 0.20), both complete, every BILAG-2004 system E.
M3_DATE = date(2026, 5, 10)


@pytest.fixture
def in_remission(participant_a):
    """participant_a (infused 2026-02-09) with BL and M3 saved complete through the services:
    M3 is an SRI-4 responder (6 -> 0), in LLDAS and in DORIS remission while no course is
    recorded."""
    record_visit(participant_a, "BL", date(2026, 2, 2), sledai={"arthritis", "rash"}, pga="1.00")
    record_visit(participant_a, "M3", M3_DATE, sledai=set(), pga="0.20")
    return participant_a
