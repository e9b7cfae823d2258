"""Entry forms of CRS and ICANS episodes and of adverse events. They validate the entries and
show, on the field at fault, what safety.services would refuse; the services save and grade."""

from datetime import date
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from safety.checks import (
    adverse_event_errors,
    icans_age_at_onset,
    icans_entry_errors,
    onset_errors,
    treatment_record_errors,
)
from safety.ctcae import CTCAE_TERMS_BY_SOC, listed_spelling
from safety.grading.icans import (
    CAPD_MAX_SCORE,
    ICE_MAX_SCORE,
    ICE_MIN_AGE_EXCLUSIVE,
    EncephalopathyTool,
    tool_for_age,
)
from safety.models import (
    SERIOUSNESS_CRITERIA,
    AdverseEvent,
    CrsEpisode,
    IcansEpisode,
    SafetyEpisode,
    TreatmentRecord,
)
from trialsite import versions
from trialsite.formfields import formfield_for_model_field
from trialsite.forms import ChangeReasonMixin, DateInput, OpenedVersionMixin
from trialsite.i18n import StrOrPromise
from trialsite.models import Participant

#: The encephalopathy score's label and highest value for each tool.
TOOL_SCORE_LABELS: dict[str, StrOrPromise] = {
    EncephalopathyTool.ICE: _("ICE score (0-10; 10 is normal)"),
    EncephalopathyTool.CAPD: _("CAPD score (0-32; 0 is normal)"),
}
TOOL_MAX_SCORES = {EncephalopathyTool.ICE: ICE_MAX_SCORE, EncephalopathyTool.CAPD: CAPD_MAX_SCORE}
#: What the ICANS form says once the age at onset is known.
TOOL_ADVICE: dict[str, StrOrPromise] = {
    EncephalopathyTool.ICE: _("Age %(age)s at onset: assess with ICE (0-10)"),
    EncephalopathyTool.CAPD: _("Age %(age)s at onset: assess with CAPD (0-32)"),
}
TOOL_ADVICE_WITHOUT_ONSET = _(
    "The tool follows the age at onset: ICE (0-10) over 12 years, CAPD (0-32) for children "
    "aged 12 or under. Enter the onset date to see which one applies."
)
TOOL_ADVICE_BEFORE_ENROLMENT = _("The onset date is before enrolment: check it.")


def check_episode_dates(
    form: forms.BaseForm, *, episode: CrsEpisode | IcansEpisode, participant: Participant
) -> date | None:
    """Show on the dates what the services refuse: an onset before infusion, a second episode
    with the same onset, a resolution before onset. Return the onset when it is acceptable."""
    cleaned = form.cleaned_data
    onset = cleaned.get("onset_date")
    if onset is None:
        return None
    errors = onset_errors(participant, onset)
    for field, message in errors.items():
        form.add_error(field, message)
    others = type(episode)._default_manager.filter(participant=participant, onset_date=onset)
    if others.exclude(pk=episode.pk).exists():
        form.add_error(
            "onset_date",
            _(
                "%(participant)s already has a %(episode)s with this onset date; open it to "
                "change it."
            )
            % {"participant": participant, "episode": episode._meta.verbose_name},
        )
        return None
    resolution = cleaned.get("resolution_date")
    if resolution is not None and resolution < onset:
        form.add_error("resolution_date", _("The resolution date cannot be before the onset date."))
    return None if errors else onset


def check_icans_encephalopathy(
    form: forms.BaseForm, *, participant: Participant, onset: date | None
) -> None:
    """Show on the score or the tool what the services refuse: a score and "unable to perform"
    together (or neither), the tool the age at onset does not ask for, an ICE score over 10."""
    cleaned = form.cleaned_data
    score = cleaned.get("tool_score")
    unable = cleaned.get("unable_to_perform", False)
    if "tool_score" in cleaned:  # the score was read: say what is wrong with it
        if unable and score is not None:
            form.add_error(
                "tool_score",
                _("Leave the score empty when the assessment could not be performed."),
            )
        elif not unable and score is None:
            form.add_error(
                "tool_score", _("Enter the score, or tick that the assessment was not possible.")
            )
    tool = cleaned.get("tool")
    if onset is None or not tool or onset < participant.enrollment_date:
        return
    probe = IcansEpisode(participant=participant, onset_date=onset, tool=tool, tool_score=score)
    for field, message in icans_entry_errors(probe).items():
        if field in cleaned:
            form.add_error(field, message)


class EpisodeForm(ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    """What the CRS and ICANS forms share: the participant, dates, the levels asked as radio
    buttons with no level chosen in advance, the opened version and the reason for a change."""

    #: The fields whose levels are radio buttons.
    level_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.instance.participant = participant
        for name in self.level_fields:
            # A model field with choices has a choice field; every level must be answered, so
            # none is offered blank or chosen in advance.
            field = cast(forms.ChoiceField, self.fields[name])
            levels = cast(list[tuple[str, str]], field.choices)
            field.choices = [(value, label) for value, label in levels if value != ""]
        editing = self.instance.pk is not None
        if editing:
            self.add_opened_version(versions.record_sources(self.instance))
        self.add_change_reason(editing=editing)

    @property
    def editing(self) -> bool:
        return self.instance.pk is not None

    def check_dates(self) -> date | None:
        return check_episode_dates(self, episode=self.instance, participant=self.participant)


class CrsEpisodeForm(EpisodeForm):
    level_fields = ("hypotension", "oxygen")

    class Meta:
        model = CrsEpisode
        fields = [
            "onset_date",
            "resolution_date",
            "max_temp_c",
            "fever_masked",
            "hypotension",
            "oxygen",
            "tocilizumab",
            "corticosteroids",
            "died_of_crs",
        ]
        widgets = {
            "onset_date": DateInput(),
            "resolution_date": DateInput(),
            "hypotension": forms.RadioSelect,
            "oxygen": forms.RadioSelect,
        }
        formfield_callback = formfield_for_model_field

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, participant=participant, **kwargs)
        self.fields["max_temp_c"].widget.attrs.update({"step": "0.1", "inputmode": "decimal"})

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        self.check_dates()
        self.check_opened_version()
        return self.cleaned_data


class IcansEpisodeForm(EpisodeForm):
    level_fields = ("consciousness", "seizure", "motor", "raised_icp")

    class Meta:
        model = IcansEpisode
        fields = [
            "onset_date",
            "resolution_date",
            "tool",
            "tool_score",
            "unable_to_perform",
            "consciousness",
            "seizure",
            "motor",
            "raised_icp",
            "died_of_icans",
        ]
        widgets = {
            "onset_date": DateInput(),
            "resolution_date": DateInput(),
            "consciousness": forms.RadioSelect,
            "seizure": forms.RadioSelect,
            "motor": forms.RadioSelect,
            "raised_icp": forms.RadioSelect,
        }
        formfield_callback = formfield_for_model_field

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, participant=participant, **kwargs)
        score = self.fields["tool_score"]
        score.widget.attrs.update({"min": "0", "inputmode": "numeric"})
        tool = self.chosen_tool()
        if tool is not None:
            score.label = TOOL_SCORE_LABELS[tool]
            score.widget.attrs["max"] = str(TOOL_MAX_SCORES[tool])

    def chosen_tool(self) -> EncephalopathyTool | None:
        """Return the tool sent with the form, or the stored one (None when neither is known)."""
        value = self.data.get(self.add_prefix("tool")) if self.is_bound else self.instance.tool
        return EncephalopathyTool(value) if value in TOOL_MAX_SCORES else None

    def shown_onset(self) -> date | None:
        """Return the onset date the page shows: the one sent when it is a valid date, else the
        stored one."""
        if not self.is_bound:
            return self.instance.onset_date
        field = self.fields["onset_date"]
        try:
            return field.clean(
                field.widget.value_from_datadict(self.data, self.files, "onset_date")
            )
        except forms.ValidationError:
            return None

    def tool_advice(self) -> StrOrPromise:
        """Say which tool the age at the shown onset date asks for (the page's script says it
        again as the onset date changes)."""
        onset = self.shown_onset()
        if onset is None:
            return TOOL_ADVICE_WITHOUT_ONSET
        if onset < self.participant.enrollment_date:
            return TOOL_ADVICE_BEFORE_ENROLMENT
        age = icans_age_at_onset(self.participant, onset)
        return TOOL_ADVICE[tool_for_age(age)] % {"age": age}

    def tool_script_settings(self) -> dict[str, Any]:
        """Return what the page's script needs to show the tool of the age at onset."""
        return {
            "ageAtEnrolment": self.participant.age_at_enrollment,
            "enrolmentDate": self.participant.enrollment_date.isoformat(),
            "iceOverAge": ICE_MIN_AGE_EXCLUSIVE,
            "withoutOnset": str(TOOL_ADVICE_WITHOUT_ONSET),
            "beforeEnrolment": str(TOOL_ADVICE_BEFORE_ENROLMENT),
            "tools": {
                str(tool): {
                    "advice": str(TOOL_ADVICE[tool]),
                    "label": str(TOOL_SCORE_LABELS[tool]),
                    "max": TOOL_MAX_SCORES[tool],
                }
                for tool in EncephalopathyTool
            },
        }

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        onset = self.check_dates()
        check_icans_encephalopathy(self, participant=self.participant, onset=onset)
        self.check_opened_version()
        return self.cleaned_data


class ConfirmGradeForm(OpenedVersionMixin, forms.Form):
    """An investigator's confirmation of the grade the page showed: refused when the episode
    changed after the page was opened (the grade confirmed is always the grade seen)."""

    def __init__(self, *args: Any, episode: SafetyEpisode, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_opened_version(versions.record_sources(episode))

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.check_opened_version()
        return self.cleaned_data


# --------------------------------------------------------------------------------------------
# Adverse events
# --------------------------------------------------------------------------------------------

#: The id of the page's list of CTCAE terms, which the term's input offers as it is typed.
CTCAE_TERM_LIST_ID = "ctcae-terms"
CRITERION_NEEDED = _("A serious event needs at least one seriousness criterion: tick it below.")


class AdverseEventForm(ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    """Record or change an adverse event: the term typed with the CTCAE list offered as it is
    typed, grade, dates, seriousness with its criteria, relatedness, action and outcome. The
    levels are radio buttons with none chosen in advance."""

    #: The fields whose levels are radio buttons.
    level_fields = ("grade", "related_cart", "related_ld", "action", "outcome")

    class Meta:
        model = AdverseEvent
        fields = [
            "term",
            "term_specify",
            "grade",
            "start_date",
            "end_date",
            "serious",
            "results_in_death",
            "life_threatening",
            "hospitalisation",
            "disability",
            "congenital_anomaly",
            "important_medical_event",
            "related_cart",
            "related_ld",
            "action",
            "outcome",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "grade": forms.RadioSelect,
            "related_cart": forms.RadioSelect,
            "related_ld": forms.RadioSelect,
            "action": forms.RadioSelect,
            "outcome": forms.RadioSelect,
        }
        help_texts = {
            "term": _(
                "Type to search the CTCAE v5.0 terms. CRS and ICANS are not adverse events here: "
                "record them as CRS or ICANS episodes, graded by ASTCT."
            ),
        }
        formfield_callback = formfield_for_model_field

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.instance.participant = participant
        for name in self.level_fields:
            field = cast(forms.ChoiceField, self.fields[name])
            levels = cast(list[tuple[object, str]], field.choices)
            field.choices = [(value, label) for value, label in levels if value != ""]
        self.fields["term"].widget.attrs.update(
            {"list": CTCAE_TERM_LIST_ID, "autocomplete": "off", "spellcheck": "false"}
        )
        editing = self.instance.pk is not None
        if editing:
            self.add_opened_version(versions.record_sources(self.instance))
        self.add_change_reason(editing=editing)

    @property
    def editing(self) -> bool:
        return self.instance.pk is not None

    @staticmethod
    def ctcae_terms() -> list[tuple[str, tuple[str, ...]]]:
        """Return the CTCAE terms by system organ class, for the page's list of terms."""
        return list(CTCAE_TERMS_BY_SOC.items())

    def clean_term(self) -> str:
        """Take the term in CTCAE's own spelling whatever its letter case and spacing."""
        term = " ".join(str(self.cleaned_data["term"]).split())
        return listed_spelling(term) or term

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        check_adverse_event(self, event=self.instance, participant=self.participant)
        cleaned = self.cleaned_data
        # The form asks for the criteria a file cannot carry (safety.imports).
        ticked = [name for name in SERIOUSNESS_CRITERIA if cleaned.get(name) is True]
        if cleaned.get("serious") is True and not ticked:
            self.add_error("serious", CRITERION_NEEDED)
        self.check_opened_version()
        return cleaned


#: The entries of an adverse event that its forms (the page's and admin's) take.
ADVERSE_EVENT_ENTRIES: tuple[str, ...] = (
    "term",
    "term_specify",
    "grade",
    "start_date",
    "end_date",
    "serious",
    *SERIOUSNESS_CRITERIA,
    "related_cart",
    "related_ld",
    "action",
    "outcome",
)
_FLAGS = frozenset(("serious", *SERIOUSNESS_CRITERIA))


def check_adverse_event(
    form: forms.BaseForm, *, event: AdverseEvent, participant: Participant
) -> None:
    """Show on the fields what the service would refuse (safety.checks.adverse_event_errors):
    the entries as sent, checked against each other and the participant as stored. A field
    that did not read keeps its own message only."""
    cleaned = form.cleaned_data
    proposed = AdverseEvent(pk=event.pk, participant=participant)
    for name in ADVERSE_EVENT_ENTRIES:
        value = cleaned.get(name)
        if name in _FLAGS:
            value = value is True
        elif value is None and name in ("term", "term_specify"):
            value = ""
        setattr(proposed, name, value)
    for field, messages in adverse_event_errors(proposed, participant).items():
        if field in cleaned:
            for message in messages:
                form.add_error(field, message)


class AcknowledgeSaeForm(OpenedVersionMixin, forms.Form):
    """A monitor's or data manager's acknowledgement of the serious adverse event they saw:
    refused when the event changed after the page was opened. ``return_to`` names the page the
    acknowledgement was given on (Home or the event's page), where the user goes back."""

    return_to = forms.ChoiceField(
        choices=[("detail", "detail"), ("home", "home")],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, event: AdverseEvent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_opened_version(versions.record_sources(event))

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.check_opened_version()
        return self.cleaned_data

    def back_to_home(self) -> bool:
        return self.data.get("return_to") == "home"


#: What the treatment record's form and admin ask for, in their order.
TREATMENT_RECORD_ENTRIES = [
    "leukapheresis_date",
    "lymphodepletion_start_date",
    "lymphodepletion_days",
    "fludarabine_mg_m2_per_day",
    "cyclophosphamide_mg_m2_per_day",
    "dose_reduced",
    "dose_reduction_reason",
    "bsa_m2",
    "weight_kg",
    "infusion_time",
    "total_car_cells",
]


def check_treatment_record(
    form: forms.BaseForm, *, record: TreatmentRecord, participant: Participant
) -> None:
    """Show on the fields what the service would refuse (safety.checks.treatment_record_errors):
    the entries as sent, checked against each other and the participant as stored. A field
    that did not read keeps its own message only."""
    cleaned = form.cleaned_data
    proposed = TreatmentRecord(pk=record.pk, participant=participant)
    for name in TREATMENT_RECORD_ENTRIES:
        value = cleaned.get(name)
        if name == "dose_reduced":
            value = value is True
        elif name == "dose_reduction_reason" and value is None:
            value = ""
        setattr(proposed, name, value)
    for field, messages in treatment_record_errors(proposed, participant).items():
        if field in cleaned:
            for message in messages:
                form.add_error(field, message)


class TreatmentRecordForm(ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    """A participant's CAR-T treatment: the entries, the opened version and the reason for a
    change. The infusion date and the dose per kg are the participant's."""

    class Meta:
        model = TreatmentRecord
        fields = TREATMENT_RECORD_ENTRIES
        widgets = {
            "leukapheresis_date": DateInput(),
            "lymphodepletion_start_date": DateInput(),
            "infusion_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        formfield_callback = formfield_for_model_field

    def __init__(self, *args: Any, participant: Participant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.instance.participant = participant
        for name in ("fludarabine_mg_m2_per_day", "cyclophosphamide_mg_m2_per_day", "weight_kg"):
            self.fields[name].widget.attrs.update({"step": "0.1", "inputmode": "decimal"})
        self.fields["bsa_m2"].widget.attrs.update({"step": "0.01", "inputmode": "decimal"})
        editing = self.instance.pk is not None
        if editing:
            self.add_opened_version(versions.record_sources(self.instance))
        self.add_change_reason(editing=editing)

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        check_treatment_record(self, record=self.instance, participant=self.participant)
        self.check_opened_version()
        return self.cleaned_data
