"""Writes go through the services: validated, atomic, and recorded with author and reason."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import UserFactory
from trialsite import services
from trialsite.models import Participant, Visit, VisitDefinition

ALL_ABSENT = dict.fromkeys(SLEDAI_FIELDS, False)
ALL_E = dict.fromkeys(BILAG_SYSTEMS, "E")


@pytest.fixture
def author(db):
    return UserFactory(username="author", role="Coordinator")


def definition(study, code: str) -> VisitDefinition:
    return VisitDefinition.objects.get(study=study, code=code)


@pytest.fixture
def bl_visit(participant_a, study, author) -> Visit:
    """participant_a's baseline visit on 2026-02-02, recorded without assessments."""
    return services.visit_create(
        participant=participant_a,
        visit_definition=definition(study, "BL"),
        visit_date=date(2026, 2, 2),
        author=author,
        reason="r",
    )


def enrol(study, site, author, participant_id: str, *, reason: str, **details) -> Participant:
    """Enrol a 9-year-old girl on 2026-03-01 through the service (``details``: other fields)."""
    return services.participant_create(
        study=study,
        site=site,
        participant_id=participant_id,
        sex="F",
        age_at_enrollment=9,
        enrollment_date=date(2026, 3, 1),
        author=author,
        reason=reason,
        **details,
    )


def test_participant_create_records_author_and_reason(study, site_a, author):
    participant = enrol(study, site_a, author, "S01-010", reason="Enrolled at screening visit")
    record = participant.history.get()
    assert record.history_type == "+"
    assert record.history_user == author
    assert record.history_change_reason == "Enrolled at screening visit"


#: Enrolling a participant without a dose: the savepoint and its release, the study locked, the
#: related-row and unique checks of full_clean (three), the insert and its audit entry. Nothing
#: stored refers to a participant not enrolled yet, so no episode, event, record or visit is read.
ENROL_QUERY_BUDGET = 8


def test_enrolling_reads_nothing_that_could_refer_to_the_participant(
    study, site_a, author, django_assert_max_num_queries
):
    with django_assert_max_num_queries(ENROL_QUERY_BUDGET) as captured:
        enrol(
            study,
            site_a,
            author,
            "S01-012",
            reason="Enrolled at screening visit",
            infusion_date=date(2026, 3, 20),
        )
    read = " ".join(query["sql"] for query in captured.captured_queries)
    for table in ("episode", "adverseevent", "treatmentrecord", "trialsite_visit"):
        assert table not in read


def test_a_change_without_reason_is_refused(study, site_a, author):
    with pytest.raises(ValidationError, match="Every change needs a reason"):
        enrol(study, site_a, author, "S01-011", reason="  ")
    assert not Participant.objects.filter(participant_id="S01-011").exists()


def test_scheduled_visit_twice_is_refused(participant_a, study, author):
    bl = definition(study, "BL")
    services.visit_create(
        participant=participant_a,
        visit_definition=bl,
        visit_date=date(2026, 2, 2),
        author=author,
        reason="r",
    )
    with pytest.raises(ValidationError, match="This participant already has this visit"):
        services.visit_create(
            participant=participant_a,
            visit_definition=bl,
            visit_date=date(2026, 2, 3),
            author=author,
            reason="r",
        )


def test_unscheduled_visits_repeat_one_per_date(participant_a, study, author):
    uns = definition(study, "UNS")
    first, second = (
        services.visit_create(
            participant=participant_a,
            visit_definition=uns,
            visit_date=day,
            author=author,
            reason="r",
        )
        for day in (date(2026, 3, 1), date(2026, 3, 9))
    )
    assert (first.occurrence, second.occurrence) == (1, 2)
    with pytest.raises(ValidationError, match="already has this visit on this date"):
        services.visit_create(
            participant=participant_a,
            visit_definition=uns,
            visit_date=date(2026, 3, 9),
            author=author,
            reason="r",
        )


def test_visit_before_enrolment_is_refused(participant_a, study, author):
    with pytest.raises(ValidationError, match="before the enrolment date"):
        services.visit_create(
            participant=participant_a,
            visit_definition=definition(study, "SCR"),
            visit_date=participant_a.enrollment_date - timedelta(days=1),
            author=author,
            reason="r",
        )


def test_visit_in_the_future_is_refused(participant_a, study, author):
    with pytest.raises(ValidationError, match="in the future"):
        services.visit_create(
            participant=participant_a,
            visit_definition=definition(study, "M12"),
            visit_date=timezone.localdate() + timedelta(days=1),
            author=author,
            reason="r",
        )


@pytest.mark.parametrize(
    ("study_day", "in_window"),
    [(75, False), (76, True), (90, True), (104, True), (105, False)],
)
def test_out_of_window_visit_is_kept_and_flagged(
    participant_a, study, author, study_day, in_window
):
    visit = services.visit_create(
        participant=participant_a,
        visit_definition=definition(study, "M3"),
        visit_date=participant_a.infusion_date + timedelta(days=study_day),
        author=author,
        reason="r",
    )
    visit.refresh_from_db()
    assert visit.study_day == study_day
    assert visit.in_window is in_window


def test_study_day_is_negative_before_infusion_and_unknown_without_it(participant_a, study):
    visit = Visit(
        participant=participant_a,
        visit_definition=definition(study, "BL"),
        visit_date=participant_a.infusion_date - timedelta(days=7),
    )
    assert visit.study_day == -7
    participant_a.infusion_date = None
    assert visit.study_day is None
    assert visit.in_window is None


def test_saving_assessments_twice_updates_them_and_keeps_history(bl_visit, author):
    services.visit_save_assessments(
        visit=bl_visit,
        sledai=ALL_ABSENT,
        pga=Decimal("1.20"),
        bilag=ALL_E,
        author=author,
        reason="first",
    )
    services.visit_save_assessments(
        visit=bl_visit,
        sledai={**ALL_ABSENT, "arthritis": True},
        pga=Decimal("1.50"),
        bilag={**ALL_E, "musculoskeletal": "B"},
        author=author,
        reason="Source document verified: arthritis",
    )
    bl_visit.refresh_from_db()
    assert bl_visit.pga.score == Decimal("1.50")
    assert bl_visit.sledai.arthritis is True
    assert bl_visit.sledai.lookback_days == 10
    assert bl_visit.bilag.musculoskeletal == "B"
    assert [h.score for h in bl_visit.pga.history.order_by("history_date")] == [
        Decimal("1.20"),
        Decimal("1.50"),
    ]
    latest = bl_visit.sledai.history.latest("history_date")
    assert latest.history_change_reason == "Source document verified: arthritis"
    assert latest.history_user == author


def test_a_save_writes_only_the_rows_it_changes(bl_visit, author):
    saved = {"sledai": ALL_ABSENT, "bilag": ALL_E, "author": author}
    services.visit_save_assessments(visit=bl_visit, pga=Decimal("1.20"), reason="first", **saved)
    services.visit_save_assessments(
        visit=bl_visit,
        pga=Decimal("1.5"),
        not_done={"sledai_seizure": "EEG not available"},
        reason="PGA corrected",
        **{**saved, "sledai": {**ALL_ABSENT, "seizure": None}},
    )
    services.visit_save_assessments(
        visit=bl_visit,
        pga=Decimal("1.50"),  # the same value, written with another precision
        not_done={"sledai_seizure": "EEG not available"},
        reason="saved again unchanged",
        **{**saved, "sledai": {**ALL_ABSENT, "seizure": None}},
    )

    bl_visit.refresh_from_db()
    assert [h.history_change_reason for h in bl_visit.pga.history.order_by("history_id")] == [
        "first",
        "PGA corrected",
    ]
    assert [h.history_change_reason for h in bl_visit.bilag.history.all()] == ["first"]
    assert [h.history_change_reason for h in bl_visit.sledai.history.order_by("history_id")] == [
        "first",
        "PGA corrected",
    ]
    (not_done,) = bl_visit.not_done_answers.all()
    assert [h.history_change_reason for h in not_done.history.all()] == ["PGA corrected"]


def test_a_row_equal_to_its_values_as_read_is_neither_validated_nor_saved(
    bl_visit, author, django_assert_num_queries
):
    stored = services.row_values(bl_visit)

    with django_assert_num_queries(0):
        assert (
            services.save_with_audit(bl_visit, author=author, reason="none", stored=stored) is False
        )

    bl_visit.visit_date = "2026-02-02"  # the same date as text: equal once validated
    assert services.save_with_audit(bl_visit, author=author, reason="text", stored=stored) is False
    assert bl_visit.history.count() == 1

    bl_visit.visit_date = date(2026, 2, 3)
    assert services.save_with_audit(bl_visit, author=author, reason="date", stored=stored) is True
    assert Visit.objects.get(pk=bl_visit.pk).visit_date == date(2026, 2, 3)
    assert bl_visit.history.latest("history_id").history_change_reason == "date"
    bl_visit.visit_date = date(2100, 1, 1)
    with pytest.raises(ValidationError):  # a changed row is validated as before
        services.save_with_audit(bl_visit, author=author, reason="future", stored=stored)


def test_not_assessed_is_stored_as_missing_not_as_absent(bl_visit, author):
    services.visit_save_assessments(
        visit=bl_visit,
        sledai={"seizure": False},
        pga=None,
        bilag={},
        author=author,
        reason="partial",
    )
    bl_visit.refresh_from_db()
    assert bl_visit.sledai.seizure is False
    assert bl_visit.sledai.psychosis is None
    assert bl_visit.pga.score is None
    assert bl_visit.bilag.grades()["renal"] is None


def test_invalid_pga_rolls_back_the_whole_save(bl_visit, author):
    with pytest.raises(ValidationError, match=r"PGA is between 0\.00 and 3\.00"):
        services.visit_save_assessments(
            visit=bl_visit,
            sledai=ALL_ABSENT,
            pga=Decimal("3.10"),
            bilag=ALL_E,
            author=author,
            reason="r",
        )
    assert not hasattr(Visit.objects.get(pk=bl_visit.pk), "sledai")
