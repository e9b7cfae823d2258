"""Every invariant the database can hold is a named constraint with a message."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import ParticipantFactory
from trialsite.models import BilagAssessment, PgaAssessment, Visit, VisitDefinition


def assert_refused(instance, message: str) -> None:
    """The model validation names the problem, and the database refuses the row by itself."""
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    assert message in str(excinfo.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()


@pytest.fixture
def visit(participant_a, study):
    return Visit.objects.create(
        participant=participant_a,
        visit_definition=study.baseline_visit,
        visit_date=date(2026, 2, 2),
    )


@pytest.mark.parametrize("age", [-1, 22])
def test_age_outside_0_to_21_is_refused(study, site_a, age):
    participant = ParticipantFactory.build(study=study, site=site_a, age_at_enrollment=age)
    if age < 0:
        # A negative number never reaches the check: the field itself is unsigned.
        with pytest.raises(ValidationError):
            participant.full_clean()
        return
    assert_refused(participant, "Age at enrolment is 0 to 21 years.")


@pytest.mark.parametrize("age", [0, 21])
def test_age_at_the_bounds_is_accepted(study, site_a, age):
    ParticipantFactory.build(study=study, site=site_a, age_at_enrollment=age).full_clean()


def test_sex_other_than_f_or_m_is_refused(study, site_a):
    # The form names the field; the named database constraint stops any other path.
    participant = ParticipantFactory.build(study=study, site=site_a, sex="X")
    assert_refused(participant, "Value 'X' is not a valid choice.")


def test_participant_id_is_unique_within_the_study(participant_a, site_a, study):
    duplicate = ParticipantFactory.build(study=study, site=site_a, participant_id="S01-001")
    assert_refused(duplicate, "This participant ID is already used in this study.")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("infusion_date", "The infusion date cannot be before enrolment."),
        ("treatment_failure_date", "The treatment failure date cannot be before enrolment."),
        ("withdrawal_date", "The withdrawal date cannot be before enrolment."),
    ],
)
def test_participant_dates_cannot_precede_enrolment(study, site_a, field, message):
    participant = ParticipantFactory.build(
        study=study, site=site_a, enrollment_date=date(2026, 1, 5), **{field: date(2026, 1, 4)}
    )
    assert_refused(participant, message)


def test_dose_must_be_positive(study, site_a):
    participant = ParticipantFactory.build(study=study, site=site_a, dose_cells_per_kg=0)
    assert_refused(participant, "The dose must be more than 0 cells/kg.")


@pytest.mark.parametrize("score", ["3.01", "-0.01"])
def test_pga_outside_0_to_3_is_refused(visit, score):
    assert_refused(
        PgaAssessment(visit=visit, score=Decimal(score)), "PGA is between 0.00 and 3.00."
    )


@pytest.mark.parametrize("score", ["0.00", "3.00"])
def test_pga_at_the_bounds_is_accepted(visit, score):
    PgaAssessment(visit=visit, score=Decimal(score)).full_clean()


def test_bilag_grade_outside_a_to_e_is_refused(visit):
    assert_refused(BilagAssessment(visit=visit, renal="F"), "Value 'F' is not a valid choice.")


def test_one_assessment_per_visit(visit):
    PgaAssessment.objects.create(visit=visit, score=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PgaAssessment.objects.create(visit=visit, score=Decimal("2.00"))


def test_one_visit_per_participant_and_code(visit):
    second = Visit(
        participant=visit.participant,
        visit_definition=visit.visit_definition,
        visit_date=date(2026, 2, 3),
    )
    assert_refused(second, "This participant already has this visit.")


def test_visit_definition_target_must_lie_in_its_window(study):
    definition = VisitDefinition(
        study=study, code="X1", name="X", target_day=10, window_low=11, window_high=20, order=99
    )
    assert_refused(definition, "The target study day must lie within the window.")


def test_scheduled_visit_definition_needs_a_window(study):
    definition = VisitDefinition(study=study, code="X2", name="X", order=98, target_day=10)
    assert_refused(definition, "A scheduled visit needs a target study day and a window.")


def test_visit_codes_are_unique_within_a_study(study):
    definition = VisitDefinition(
        study=study, code="BL", name="Again", target_day=1, window_low=0, window_high=2, order=97
    )
    assert_refused(definition, "This study already has a visit with this code.")


def test_lookback_window_is_10_or_30_days(study):
    study.sledai_lookback_days = 20
    assert_refused(study, "Value 20 is not a valid choice.")
