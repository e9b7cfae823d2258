"""The plots' data: each infused participant's SLEDAI-2K and PGA by study day, and the median at
each scheduled visit, as of a data cut."""

from datetime import date
from decimal import Decimal

from responses.selectors.trajectories import Trajectory, VisitMedian, score_trajectories
from tests.factories import ParticipantRow, enrol, record_visit
from trialsite.models import Participant

D = Decimal
INFUSED = date(2025, 3, 3)
CUT = date(2025, 4, 30)


def person(study, participant_id: str, infused: date = INFUSED) -> Participant:
    return enrol(
        study, participant_id, ParticipantRow("S01", "F", 12, None, date(2025, 1, 6), infused)
    )


def test_points_by_study_day_and_medians_at_the_scheduled_visits_only(study):
    first = person(study, "S01-001")
    record_visit(first, "BL", date(2025, 2, 24), sledai={"arthritis", "rash"}, pga="1.50")  # -7: 6
    record_visit(first, "UNS", date(2025, 3, 20), sledai={"arthritis"}, pga="1.00")  # 17: 4
    record_visit(first, "M1", date(2025, 3, 31), sledai=(), pga="0.50")  # day 28: 0
    record_visit(first, "M2", date(2025, 4, 28), pga="0.40", complete=False)  # in progress
    second = person(study, "S01-002")
    record_visit(second, "BL", date(2025, 2, 25), sledai={"arthritis"}, pga="2.00")  # -6: 4
    record_visit(second, "M1", date(2025, 4, 1), sledai={"fever"}, pga="1.00")  # day 29: 1
    record_visit(second, "M2", date(2025, 5, 2), sledai=(), pga="0.20")  # after the cut
    late = person(study, "S01-003", infused=date(2025, 5, 5))  # infused after the cut
    record_visit(late, "BL", date(2025, 4, 28), sledai={"rash"})

    data = score_trajectories(
        study=study, as_of=CUT, participants=Participant.objects.filter(study=study)
    )

    # The unscheduled visit is a point of its participant's line, not a place on the median line.
    assert data.sledai.trajectories == (
        Trajectory("S01-001", ((-7, D(6)), (17, D(4)), (28, D(0)))),
        Trajectory("S01-002", ((-6, D(4)), (29, D(1)))),
    )
    assert data.sledai.medians == (
        VisitMedian("BL", -7, D(5), 2),
        VisitMedian("M1", 28, D("0.5"), 2),
    )
    assert data.pga.trajectories == (
        Trajectory("S01-001", ((-7, D("1.50")), (17, D("1.00")), (28, D("0.50")))),
        Trajectory("S01-002", ((-6, D("2.00")), (29, D("1.00")))),
    )
    assert data.pga.medians == (
        VisitMedian("BL", -7, D("1.75"), 2),
        VisitMedian("M1", 28, D("0.75"), 2),
    )
