"""The plots' data: each infused participant's SLEDAI-2K and PGA by study day, and the median at
each scheduled visit, as of a data cut."""

from datetime import date
from decimal import Decimal

from responses.selectors.trajectories import Trajectory, VisitMedian, score_trajectories
from tests.factories import ParticipantRow, enrol, record_visit
from trialsite.models import Participant, Study, VisitDefinition

D = Decimal
INFUSED = date(2025, 3, 3)
CUT = date(2025, 4, 30)


def person(study: Study, participant_id: str, infused: date = INFUSED) -> Participant:
    return enrol(
        study, participant_id, ParticipantRow("S01", "F", 12, None, date(2025, 1, 6), infused)
    )


def trajectories(study: Study, as_of: date = CUT):
    return score_trajectories(
        study=study, as_of=as_of, participants=Participant.objects.filter(study=study)
    )


def test_points_by_study_day_and_medians_at_the_scheduled_visits_only(
    study, django_assert_num_queries
):
    # A target day on the unscheduled visit (admin offers none): only its being repeatable keeps
    # it off the median line.
    VisitDefinition.objects.filter(study=study, code="UNS").update(target_day=17)
    # Enrolled and recorded out of ID and date order: the order is the participant ID's, then
    # the visit date's.
    second = person(study, "S01-002")
    record_visit(second, "BL", date(2025, 2, 25), sledai={"arthritis"}, pga="2.00")  # day -6: 4
    record_visit(second, "M1", date(2025, 4, 1), sledai={"fever"}, pga="1.00")  # day 29: 1
    record_visit(second, "UNS", CUT, sledai={"rash"}, pga="0.90")  # day 58: 2, on the cut
    record_visit(second, "M2", date(2025, 5, 1), sledai=(), pga="0.20")  # after the cut
    first = person(study, "S01-001")
    record_visit(first, "BL", date(2025, 2, 24), sledai={"arthritis", "rash"}, pga="1.50")  # -7: 6
    record_visit(first, "M1", date(2025, 3, 31), sledai=(), pga="0.50")  # day 28: 0
    record_visit(first, "UNS", date(2025, 3, 20), sledai={"arthritis"}, pga="1.00")  # day 17: 4
    record_visit(first, "M2", date(2025, 4, 28), pga="0.40", complete=False)  # in progress
    # First by ID, with Month 1 only: the medians are in schedule order, not in the rows' order.
    zeroth = person(study, "S01-000")
    record_visit(zeroth, "M1", date(2025, 3, 31), sledai=(), pga="0.50")  # day 28: 0
    late = person(study, "S01-003", infused=date(2025, 5, 5))  # infused after the cut
    record_visit(late, "BL", date(2025, 4, 28), sledai={"rash"})

    with django_assert_num_queries(2):  # the schedule, then the visits
        data = trajectories(study)

    assert data.sledai.trajectories == (
        Trajectory("S01-000", ((28, D(0)),)),
        Trajectory("S01-001", ((-7, D(6)), (17, D(4)), (28, D(0)))),
        Trajectory("S01-002", ((-6, D(4)), (29, D(1)), (58, D(2)))),
    )
    # Baseline 6 and 4: 5; Month 1 0, 0 and 1: 0.
    assert data.sledai.medians == (VisitMedian("BL", -7, D(5), 2), VisitMedian("M1", 28, D(0), 3))
    assert data.pga.trajectories == (
        Trajectory("S01-000", ((28, D("0.50")),)),
        Trajectory("S01-001", ((-7, D("1.50")), (17, D("1.00")), (28, D("0.50")))),
        Trajectory("S01-002", ((-6, D("2.00")), (29, D("1.00")), (58, D("0.90")))),
    )
    assert data.pga.medians == (
        VisitMedian("BL", -7, D("1.75"), 2),
        VisitMedian("M1", 28, D("0.50"), 3),
    )


def test_a_participant_infused_on_the_cut_is_drawn(study):
    on_the_cut = person(study, "S01-001", infused=CUT)
    record_visit(on_the_cut, "BL", date(2025, 4, 23), sledai={"fever"}, pga="0.30")  # day -7: 1

    data = trajectories(study)

    assert data.sledai.trajectories == (Trajectory("S01-001", ((-7, D(1)),)),)
    assert data.pga.medians == (VisitMedian("BL", -7, D("0.30"), 1),)
    assert trajectories(study, as_of=date(2025, 4, 29)).sledai.trajectories == ()


def test_the_median_of_two_whole_totals_falls_halfway_as_a_decimal(study):
    arthritis = person(study, "S01-001")
    record_visit(arthritis, "BL", date(2025, 2, 24), sledai={"arthritis"}, pga="1.00")  # 4
    fever = person(study, "S01-002")
    record_visit(fever, "BL", date(2025, 2, 24), sledai={"fever"}, pga="0.25")  # 1
    fever_too = person(study, "S01-003")
    record_visit(fever_too, "BL", date(2025, 2, 24), sledai={"fever"}, pga="0.50")  # 1

    # Three baselines, 4, 1 and 1: the middle one, 1. Without S01-003: (1 + 4) / 2 = 2.5.
    (median,) = trajectories(study).sledai.medians
    assert (median.median, type(median.median), median.n) == (D(1), Decimal, 3)
    Participant.objects.filter(participant_id="S01-003").update(infusion_date=date(2025, 5, 5))
    (median,) = trajectories(study).sledai.medians
    assert (median.median, type(median.median), median.n) == (D("2.5"), Decimal, 2)
    # PGA 1.00 and 0.25: 0.625, exactly.
    assert trajectories(study).pga.medians[0].median == D("0.625")
