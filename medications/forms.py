"""Entry form of a medication course, and the coordinator's answer to a proposed
treatment-failure date. They validate and show on the field at fault what
medications.services would refuse; the services save."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from medications.models import MedicationCourse
from safety.grading.drugs import DRUG_CLASSES, normalise_drug
from trialsite import versions
from trialsite.formfields import formfield_for_model_field
from trialsite.forms import ChangeReasonMixin, DateInput, OpenedVersionMixin
from trialsite.models import Participant
from trialsite.validators import validate_single_line_text

#: The id of the list of known generic names the drug field suggests.
DRUG_LIST_ID = "known-drugs"
KNOWN_DRUGS = sorted(DRUG_CLASSES)


def clean_course_dates(form: forms.BaseForm, *, course: MedicationCourse) -> None:
    """Show on the fields a stop before the start, and a second course of the same drug with
    the same start date (the services refuse both)."""
    cleaned = form.cleaned_data
    start, stop = cleaned.get("start_date"), cleaned.get("stop_date")
    if start is not None and stop is not None and stop < start:
        form.add_error("stop_date", _("The stop date cannot be before the start date."))
    drug, participant = cleaned.get("drug"), getattr(course, "participant", None)
    if drug and start is not None and participant is not None:
        others = MedicationCourse.objects.filter(
            participant=participant, drug=drug, start_date=start
        ).exclude(pk=course.pk)
        if others.exists():
            form.add_error(
                "start_date",
                _(
                    "%(participant)s already has a course of %(drug)s starting on this date; "
                    "open it to change it."
                )
                % {"participant": participant, "drug": drug},
            )


class DrugNameMixin(forms.BaseForm):
    """Store the drug as its generic name (safety.grading.drugs), so a synonym finds the course
    it duplicates. A mixin for model forms, listed before the form class."""

    def clean_drug(self) -> str:
        return normalise_drug(self.cleaned_data["drug"])


class MedicationCourseForm(DrugNameMixin, ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    class Meta:
        model = MedicationCourse
        fields = ["drug", "daily_dose_mg", "route", "start_date", "stop_date"]
        widgets = {
            "drug": forms.TextInput(attrs={"list": DRUG_LIST_ID, "autocomplete": "off"}),
            "route": forms.RadioSelect,
            "start_date": DateInput(),
            "stop_date": DateInput(),
        }
        formfield_callback = formfield_for_model_field

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.instance.participant = participant
        # A model field with choices has a choice field; every course has a route, so none is
        # offered blank or chosen in advance.
        route = cast(forms.ChoiceField, self.fields["route"])
        routes = cast(list[tuple[str, str]], route.choices)
        route.choices = [(value, label) for value, label in routes if value != ""]
        dose = self.fields["daily_dose_mg"]
        dose.widget.attrs.update({"step": "any", "min": "0", "inputmode": "decimal"})
        if self.editing:
            self.add_opened_version(versions.record_sources(self.instance))
        self.add_change_reason(editing=self.editing)

    @property
    def editing(self) -> bool:
        return self.instance.pk is not None

    def known_drugs(self) -> list[str]:
        return KNOWN_DRUGS

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        clean_course_dates(self, course=self.instance)
        self.check_opened_version()
        return self.cleaned_data


class ProposalAnswerForm(forms.Form):
    """The date a proposal showed, posted back: the answer is refused when the proposal changed
    since (the date confirmed is always the date seen)."""

    proposed = forms.DateField(widget=forms.HiddenInput)


class ProposalDismissForm(ProposalAnswerForm):
    reason = forms.CharField(
        label=_("Why is this not a treatment failure?"),
        max_length=500,
        validators=[validate_single_line_text],
        help_text=_("Recorded in the audit trail with your name and the time."),
    )
