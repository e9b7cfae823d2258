"""medications.services: a course is validated, stored with its generic name and audited; a drug
prohibited after infusion proposes a treatment-failure date that only the coordinator's
confirmation records (rescoring the endpoints), or a dismissal with a reason sets aside."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from medications import services
from medications.models import MedicationCourse
from responses.models import EndpointResult
from tests.factories import ParticipantFactory
from tests.medications.conftest import record_course
from trialsite.models import Participant

CYCLOPHOSPHAMIDE_DAY = date(2026, 5, 2)  # study day 82 of participant_a (infused 2026-02-09)


def sri4_outcome(participant: Participant, code: str) -> str:
    return EndpointResult.objects.get(
        visit__participant=participant, visit__visit_definition__code=code, endpoint="sri4"
    ).outcome


# --------------------------------------------------------------------------------------------
# Recording a course
# --------------------------------------------------------------------------------------------


def test_a_course_is_stored_with_its_generic_name_and_audited(participant_a, coordinator_a):
    saved = record_course(
        participant_a, "  Mycophenolate Mofetil ", dose="1000", author=coordinator_a
    )
    course = MedicationCourse.objects.get()
    assert course.drug == "mycophenolate"
    assert course.daily_dose_mg == Decimal("1000")
    assert saved.course == course
    assert saved.proposal is None
    record = course.history.get()
    assert (record.history_user, record.history_change_reason) == (coordinator_a, "test")


@pytest.mark.parametrize(
    ("dose", "field"),
    [
        pytest.param("0", "daily_dose_mg", id="zero"),
        pytest.param("-5", "daily_dose_mg", id="negative"),
        pytest.param("0.0001", "daily_dose_mg", id="four-decimals"),
    ],
)
def test_a_dose_of_zero_or_less_is_refused(participant_a, dose, field):
    with pytest.raises(ValidationError) as refused:
        record_course(participant_a, dose=dose)
    assert field in refused.value.message_dict
    assert not MedicationCourse.objects.exists()


def test_the_smallest_dose_is_a_thousandth_of_a_mg(participant_a):
    record_course(participant_a, "dexamethasone", dose="0.001")
    assert MedicationCourse.objects.get().daily_dose_mg == Decimal("0.001")


def test_a_stop_before_the_start_is_refused(participant_a):
    with pytest.raises(ValidationError, match="stop date cannot be before the start date"):
        record_course(participant_a, start=date(2026, 3, 1), stop=date(2026, 2, 28))


def test_a_stop_on_the_start_day_is_a_one_day_course(participant_a):
    saved = record_course(participant_a, start=date(2026, 3, 1), stop=date(2026, 3, 1))
    assert saved.course.stop_date == date(2026, 3, 1)


def test_an_unknown_route_is_refused(participant_a):
    with pytest.raises(ValidationError) as refused:
        record_course(participant_a, route="intravenous")
    assert "route" in refused.value.message_dict


def test_a_second_course_of_a_drug_with_the_same_start_is_refused_under_any_name(participant_a):
    record_course(participant_a, "mycophenolate", start=date(2026, 1, 5))
    with pytest.raises(ValidationError, match="already has a course of this drug"):
        record_course(participant_a, "Mycophenolic acid", start=date(2026, 1, 5))
    record_course(participant_a, "mycophenolate", start=date(2026, 1, 6))
    assert MedicationCourse.objects.count() == 2


def test_an_unknown_drug_is_kept_as_typed_but_normalised(participant_a):
    saved = record_course(participant_a, "  Vitamin   D ")
    assert saved.course.drug == "vitamin d"


def test_a_blank_drug_is_refused(participant_a):
    with pytest.raises(ValidationError) as refused:
        record_course(participant_a, "   ")
    assert "drug" in refused.value.message_dict


def test_a_recorded_course_stays_with_its_participant(participant_a, study, site_a):
    other = ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    course = record_course(participant_a).course
    course.participant = other
    with pytest.raises(ValidationError, match="stays with its participant"):
        services.medication_course_save(course=course, author=None, reason="moved")


def test_a_deleted_course_keeps_its_history(participant_a, coordinator_a):
    course = record_course(participant_a).course
    services.medication_course_delete(course=course, author=coordinator_a, reason="duplicate")
    assert not MedicationCourse.objects.exists()
    deleted = MedicationCourse.history.latest()
    assert (deleted.history_type, deleted.history_change_reason) == ("-", "duplicate")


# --------------------------------------------------------------------------------------------
# Proposals: a drug prohibited after infusion never sets the treatment failure date
# --------------------------------------------------------------------------------------------


def test_cyclophosphamide_after_infusion_proposes_its_start_and_writes_nothing(participant_a):
    versions = participant_a.history.count()
    saved = record_course(
        participant_a, "Cyclophosphamide", dose="500", route="iv", start=CYCLOPHOSPHAMIDE_DAY
    )
    assert saved.proposal is not None
    assert saved.proposal.failure_date == CYCLOPHOSPHAMIDE_DAY
    assert saved.proposal.message == (
        "Cyclophosphamide started on 2026-05-02, after the infusion: protocol-prohibited. "
        "Record 2026-05-02 as the treatment failure date?"
    )
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None
    assert participant_a.history.count() == versions


def test_a_biologic_going_on_from_before_infusion_proposes_day_1(participant_a):
    saved = record_course(participant_a, "rituximab", route="iv", start=date(2026, 1, 20))
    assert saved.proposal is not None
    assert saved.proposal.failure_date == date(2026, 2, 10)
    assert saved.proposal.message.startswith(
        "Rituximab was still given on 2026-02-10, after the infusion: protocol-prohibited."
    )


@pytest.mark.parametrize(
    ("drug", "start", "stop"),
    [
        pytest.param("rituximab", date(2026, 1, 20), date(2026, 2, 9), id="stopped-on-day-0"),
        pytest.param("tocilizumab", date(2026, 2, 11), None, id="crs-treatment"),
        pytest.param("mycophenolate", date(2026, 3, 1), None, id="maintenance"),
        pytest.param("voclosporin", date(2026, 3, 1), None, id="voclosporin"),
    ],
)
def test_allowed_courses_propose_nothing(participant_a, drug, start, stop):
    assert record_course(participant_a, drug, start=start, stop=stop).proposal is None


def test_a_participant_not_infused_gets_no_proposal(study, site_a):
    participant = ParticipantFactory(
        study=study, site=site_a, participant_id="S01-009", infusion_date=None
    )
    assert record_course(participant, "rituximab", start=date(2026, 3, 1)).proposal is None


@pytest.mark.parametrize(
    ("recorded", "proposed"),
    [
        pytest.param(None, True, id="no-failure-yet"),
        pytest.param(date(2026, 5, 3), True, id="recorded-a-day-later"),
        pytest.param(date(2026, 5, 2), False, id="recorded-the-same-day"),
        pytest.param(date(2026, 5, 1), False, id="recorded-a-day-earlier"),
    ],
)
def test_only_a_date_earlier_than_the_recorded_failure_is_proposed(
    participant_a, recorded, proposed
):
    participant_a.treatment_failure_date = recorded
    participant_a.save()
    saved = record_course(participant_a, "cyclophosphamide", start=CYCLOPHOSPHAMIDE_DAY)
    assert (saved.proposal is not None) is proposed


# --------------------------------------------------------------------------------------------
# Confirming and dismissing
# --------------------------------------------------------------------------------------------


def test_confirming_records_the_date_with_the_drug_and_rescores(with_visits, coordinator_a):
    coordinator_a.first_name, coordinator_a.last_name = "Ana", "Lima"
    coordinator_a.save()
    assert sri4_outcome(with_visits, "M3") == "responder"
    course = record_course(with_visits, "cyclophosphamide", start=CYCLOPHOSPHAMIDE_DAY).course

    services.treatment_failure_confirm(
        course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a
    )

    with_visits.refresh_from_db()
    assert with_visits.treatment_failure_date == CYCLOPHOSPHAMIDE_DAY
    record = with_visits.history.latest()
    assert record.history_user == coordinator_a
    assert record.history_change_reason == (
        "treatment failure: cyclophosphamide from 2026-05-02 (confirmed by Ana Lima)"
    )
    result = EndpointResult.objects.get(visit__visit_definition__code="M3", endpoint="sri4")
    assert result.outcome == "non-responder"
    assert "treatment failure" in result.reason


def test_a_confirmed_proposal_is_no_longer_proposed(participant_a, coordinator_a):
    course = record_course(participant_a, "rituximab", start=CYCLOPHOSPHAMIDE_DAY).course
    services.treatment_failure_confirm(
        course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a
    )
    course.refresh_from_db()
    assert services.medication_course_save(course=course, author=None, reason="x").proposal is None
    with pytest.raises(ValidationError, match="no longer current"):
        services.treatment_failure_confirm(
            course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a
        )


def test_a_proposal_changed_since_the_page_was_shown_is_not_confirmed(participant_a, coordinator_a):
    course = record_course(participant_a, "rituximab", start=CYCLOPHOSPHAMIDE_DAY).course
    course.start_date = date(2026, 5, 5)
    services.medication_course_save(course=course, author=None, reason="corrected")
    with pytest.raises(ValidationError, match="no longer current"):
        services.treatment_failure_confirm(
            course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a
        )
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None


def test_only_a_user_who_may_change_the_participant_confirms(participant_a, monitor):
    course = record_course(participant_a, "rituximab", start=CYCLOPHOSPHAMIDE_DAY).course
    with pytest.raises(PermissionDenied):
        services.treatment_failure_confirm(
            course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=monitor
        )


def test_dismissing_keeps_the_participant_and_records_why(participant_a, coordinator_a):
    course = record_course(participant_a, "cyclophosphamide", start=CYCLOPHOSPHAMIDE_DAY).course
    services.treatment_failure_dismiss(
        course=course,
        proposed=CYCLOPHOSPHAMIDE_DAY,
        author=coordinator_a,
        reason="entered in error: the lymphodepletion dose",
    )
    course.refresh_from_db()
    assert course.failure_proposal_dismissed is True
    record = course.history.latest()
    assert record.history_user == coordinator_a
    assert record.history_change_reason == (
        "treatment failure proposal dismissed: entered in error: the lymphodepletion dose"
    )
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None
    assert services.medication_course_save(course=course, author=None, reason="x").proposal is None


def test_a_dismissal_needs_a_reason(participant_a, coordinator_a):
    course = record_course(participant_a, "rituximab", start=CYCLOPHOSPHAMIDE_DAY).course
    with pytest.raises(ValidationError, match="needs a reason"):
        services.treatment_failure_dismiss(
            course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a, reason="  "
        )
    course.refresh_from_db()
    assert course.failure_proposal_dismissed is False


def test_a_monitor_does_not_dismiss(participant_a, monitor):
    course = record_course(participant_a, "rituximab", start=CYCLOPHOSPHAMIDE_DAY).course
    with pytest.raises(PermissionDenied):
        services.treatment_failure_dismiss(
            course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=monitor, reason="no"
        )


@pytest.mark.parametrize(
    ("change", "proposed_again"),
    [
        pytest.param({"start_date": date(2026, 5, 1)}, True, id="start-changed"),
        pytest.param({"stop_date": date(2026, 5, 9)}, True, id="stop-changed"),
        pytest.param({"drug": "rituximab"}, True, id="drug-changed"),
        pytest.param({"daily_dose_mg": Decimal("750")}, False, id="dose-changed"),
    ],
)
def test_a_change_of_drug_route_or_dates_proposes_a_dismissed_failure_again(
    participant_a, coordinator_a, change, proposed_again
):
    course = record_course(participant_a, "cyclophosphamide", start=CYCLOPHOSPHAMIDE_DAY).course
    services.treatment_failure_dismiss(
        course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=coordinator_a, reason="not ours"
    )
    for field, value in change.items():
        setattr(course, field, value)
    saved = services.medication_course_save(course=course, author=coordinator_a, reason="fix")
    assert (saved.proposal is not None) is proposed_again
    assert saved.course.failure_proposal_dismissed is not proposed_again


def test_an_investigator_of_the_site_may_confirm(participant_a, investigator_a):
    course = record_course(participant_a, "belimumab", start=CYCLOPHOSPHAMIDE_DAY).course
    services.treatment_failure_confirm(
        course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=investigator_a
    )
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date == CYCLOPHOSPHAMIDE_DAY


def test_a_data_manager_may_confirm(participant_a, data_manager):
    course = record_course(participant_a, "anifrolumab", start=CYCLOPHOSPHAMIDE_DAY).course
    services.treatment_failure_confirm(
        course=course, proposed=CYCLOPHOSPHAMIDE_DAY, author=data_manager
    )
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date == CYCLOPHOSPHAMIDE_DAY
