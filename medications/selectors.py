"""What the pages read of a participant's medications: the courses with their class, the
prednisolone-equivalent dose today and at each visit, and the treatment-failure dates that
courses of a drug prohibited after infusion propose.

A proposal is computed from the stored courses and the participant's stored treatment-failure
date whenever a page is shown, so nothing about it is stored until the coordinator confirms it
(``trialsite.services.participant_save``) or dismisses it (the course remembers a dismissal).
Plain functions of what the caller loaded: no query beyond the courses.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from medications.models import DRUG_CLASS_LABELS, MedicationCourse
from safety.grading import drugs, steroids
from trialsite.models import Participant


def pure_course(course: MedicationCourse) -> steroids.MedicationCourse:
    """Return the course as the pure rules of safety.grading take it."""
    return steroids.MedicationCourse(
        drug=course.drug,
        daily_dose_mg=course.daily_dose_mg,
        route=steroids.Route(course.route),
        start_date=course.start_date,
        stop_date=course.stop_date,
    )


def prednisolone_mg_on(courses: Iterable[MedicationCourse], day: date) -> Decimal:
    """Return the prednisolone-equivalent mg/day on ``day``, rounded to show (0.01 mg)."""
    exact = steroids.prednisolone_equivalent_on((pure_course(c) for c in courses), day)
    return steroids.prednisolone_mg_for_display(exact)


@dataclass(frozen=True)
class TreatmentFailureProposal:
    """A treatment-failure date that a course of a prohibited drug proposes."""

    course: MedicationCourse
    failure_date: date

    @property
    def started_after_infusion(self) -> bool:
        return self.course.start_date == self.failure_date

    @property
    def message(self) -> str:
        """Say what was given when, and ask the coordinator to confirm the date."""
        values = {
            "drug": self.course.drug.capitalize(),
            "date": self.failure_date.isoformat(),
        }
        if self.started_after_infusion:
            text = _(
                "%(drug)s started on %(date)s, after the infusion: protocol-prohibited. Record "
                "%(date)s as the treatment failure date?"
            )
        else:
            text = _(
                "%(drug)s was still given on %(date)s, after the infusion: protocol-prohibited. "
                "Record %(date)s as the treatment failure date?"
            )
        return text % values


def treatment_failure_proposal(
    participant: Participant, course: MedicationCourse, *, today: date
) -> TreatmentFailureProposal | None:
    """Return the treatment-failure date the course proposes, or None.

    A course proposes the first day after infusion it was active when its drug is prohibited
    after infusion, the proposal was not dismissed, and the date is earlier than the
    participant's treatment-failure date (or there is none).
    """
    if participant.infusion_date is None or course.failure_proposal_dismissed:
        return None
    first = drugs.first_prohibited_day(
        pure_course(course), infusion_date=participant.infusion_date, today=today
    )
    if first is None:
        return None
    recorded = participant.treatment_failure_date
    if recorded is not None and recorded <= first:
        return None
    return TreatmentFailureProposal(course=course, failure_date=first)


def treatment_failure_proposals(
    participant: Participant, courses: Iterable[MedicationCourse], *, today: date
) -> list[TreatmentFailureProposal]:
    """Return the proposals of the participant's courses, earliest date first."""
    proposals = (treatment_failure_proposal(participant, course, today=today) for course in courses)
    found = [proposal for proposal in proposals if proposal is not None]
    return sorted(found, key=lambda proposal: (proposal.failure_date, proposal.course.drug))


@dataclass(frozen=True)
class CourseRow:
    """One course as the participant page lists it."""

    course: MedicationCourse
    drug_class: str
    #: The study day of the start (None before the infusion date is known).
    start_day: int | None
    prohibited_after_infusion: bool

    @property
    def dose_mg(self) -> str:
        """Show the daily dose without trailing zeros: 20, 7.5, 0.75."""
        return f"{self.course.daily_dose_mg.normalize():f}"


@dataclass(frozen=True)
class VisitDose:
    """The prednisolone-equivalent dose on a visit's date."""

    visit_code: str
    visit_date: date
    prednisolone_mg: Decimal


@dataclass(frozen=True)
class ParticipantMedications:
    """The participant page's medications section."""

    rows: list[CourseRow]
    prednisolone_mg_today: Decimal
    visit_doses: list[VisitDose]
    proposals: list[TreatmentFailureProposal]


def participant_courses(participant: Participant) -> QuerySet[MedicationCourse]:
    """Return the participant's courses, by start date (one query)."""
    return MedicationCourse.objects.filter(participant=participant).order_by(
        "start_date", "drug", "pk"
    )


def participant_medications(
    participant: Participant, *, visits: Sequence[tuple[str, date]], today: date
) -> ParticipantMedications:
    """Return the participant page's medications section: one query, for the courses. The
    visits are the page's own, as (visit code, visit date) pairs."""
    courses = list(participant_courses(participant))
    return ParticipantMedications(
        rows=[
            CourseRow(
                course=course,
                drug_class=str(DRUG_CLASS_LABELS[drugs.drug_class(course.drug)]),
                start_day=participant.study_day(course.start_date),
                prohibited_after_infusion=drugs.is_prohibited_after_infusion(course.drug),
            )
            for course in courses
        ],
        prednisolone_mg_today=prednisolone_mg_on(courses, today),
        visit_doses=[
            VisitDose(code, visit_date, prednisolone_mg_on(courses, visit_date))
            for code, visit_date in visits
        ],
        proposals=treatment_failure_proposals(participant, courses, today=today),
    )
