"""Medication courses as records monitor queries can be about (trialsite.records), registered
when the app is ready, with the fields of their entry form; their page is the participant's."""

from django.utils.translation import gettext as _

from medications.forms import MedicationCourseForm
from medications.models import MedicationCourse
from trialsite import records


def _course(course: MedicationCourse) -> str:
    return _("%(drug)s course from %(date)s") % {
        "drug": course.drug,
        "date": course.start_date.isoformat(),
    }


def register() -> None:
    records.register(
        MedicationCourse,
        fields=MedicationCourseForm.Meta.fields,
        describe=_course,
        url=lambda course: records.participant_page(course.participant_id, "medications"),
    )
