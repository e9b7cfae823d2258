"""Data-entry forms. They validate input and hand it to trialsite.services; they save nothing."""

import copy
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from itertools import chain
from typing import Any, TypeVar, cast

from django import forms
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEM_LABELS, BILAG_SYSTEMS
from responses.scoring.labs import LAB_FIELDS, Labs
from responses.scoring.sledai import SLEDAI_DESCRIPTORS, SLEDAI_FIELDS, SledaiDescriptor
from safety.checks import participant_safety_errors
from trialsite import selectors, services, versions
from trialsite.formfields import PgaField, formfield_for_model_field
from trialsite.history import HistorySource
from trialsite.i18n import StrOrPromise
from trialsite.locks import lock_participants
from trialsite.models import (
    AGE_MAX,
    AGE_MIN,
    ANSWERS,
    BILAG_GRADE_CHOICES,
    IMMUNE_LAB_FIELDS,
    NOT_DONE,
    QUERY_FIELD_LABELS,
    SLEDAI_LOOKBACK_CHOICES,
    STORED_LAB_FIELDS,
    EntryStatus,
    LabResult,
    MissedVisit,
    NotDoneAnswer,
    Participant,
    SignOffKind,
    Site,
    Study,
    Visit,
    VisitDefinition,
    dose_label,
)
from trialsite.validators import validate_single_line_text

#: What a write service returns to save_under_lock.
Saved = TypeVar("Saved")

INITIAL_ENTRY_REASON = _("Initial entry")


class DateInput(forms.DateInput):
    """A date typed as YYYY-MM-DD in a text box: a browser's date input reorders the digits as
    its locale does (mm/dd/yyyy) and can swallow a typed year (0001-10-01). The form field
    (trialsite.formfields.DateField) reads that format only. No numeric keyboard: a phone's
    number pad may have no "-"."""

    input_type = "text"

    def __init__(self) -> None:
        super().__init__(
            format="%Y-%m-%d",
            attrs={
                "placeholder": _("YYYY-MM-DD"),
                "maxlength": "10",
                "autocomplete": "off",
                "pattern": r"\d{4}-\d{2}-\d{2}",
            },
        )


class ChangeReasonMixin(forms.BaseForm):
    """Ask for a reason whenever existing data are changed; first entry needs none.

    A mixin for forms, listed before the form class (the MRO is unchanged: BaseForm is already
    a base of every form it is mixed into).
    """

    def add_change_reason(self, *, editing: bool) -> None:
        self.fields["change_reason"] = forms.CharField(
            label=_("Reason for change"),
            required=editing,
            widget=forms.TextInput(),
            help_text=_("Recorded in the audit trail with your name and the time."),
            validators=[validate_single_line_text],
        )

    def change_reason(self) -> str:
        return self.cleaned_data.get("change_reason") or str(INITIAL_ENTRY_REASON)

    def ask_change_reason_only_for_changes(self) -> None:
        """Make the reason optional where it is shown: ``require_change_reason`` asks for it
        when a saved value is changed (a first entry of a blank needs none)."""
        if "change_reason" in self.fields:
            field = self.fields["change_reason"]
            field.required = False
            field.help_text = _(
                "Recorded in the audit trail with your name and the time (only needed when you "
                "change a saved value)."
            )

    def require_change_reason(self, changed: list[StrOrPromise]) -> None:
        """Ask for the reason when the saved values labelled ``changed`` are changed."""
        if changed == [] or "change_reason" not in self.fields:
            return
        if self.cleaned_data.get("change_reason") or "change_reason" in self.errors:
            return
        self.add_error(
            "change_reason",
            _("Give the reason for changing what was saved: %(fields)s.")
            % {"fields": ", ".join(str(label) for label in changed)},
        )


#: The dose the participant form gives as an example: 1 x 10^5 CAR+ cells/kg.
EXAMPLE_DOSE = 100_000


def check_visit_order(
    form: forms.BaseForm,
    *,
    visit: Visit,
    participant: Participant | None,
    definition: VisitDefinition | None,
    visit_date: date | None,
) -> None:
    """Show on the form a visit recorded as missed, and on the visit date a scheduled visit dated
    out of the schedule's order or a baseline visit on or after the infusion (the service refuses
    them too)."""
    if participant is None or definition is None or visit_date is None:
        return
    if visit_date < participant.enrollment_date:
        return  # the visit's own check says so, more plainly
    proposed = Visit(
        pk=visit.pk, participant=participant, visit_definition=definition, visit_date=visit_date
    )
    for message in services.visit_missed_errors(proposed):
        form.add_error("visit_definition", message)
    for message in services.visit_order_errors(participant, proposed_visit=proposed):
        form.add_error("visit_date", message)


def check_infusion_order(
    form: forms.BaseForm, *, participant: Participant, infusion_date: date | None
) -> None:
    """Show on the infusion date a recorded baseline visit that would no longer precede it."""
    for message in services.baseline_infusion_errors(participant, infusion_date=infusion_date):
        form.add_error("infusion_date", message)


def check_participant_episodes(
    form: forms.BaseForm, *, participant: Participant, cleaned: Mapping[str, Any]
) -> None:
    """Show on their fields the CRS or ICANS episodes that the participant's new infusion date,
    age or enrolment date would contradict (the participant service refuses them)."""
    if participant.pk is None:
        return
    proposed = copy.copy(participant)
    for field in ("infusion_date", "age_at_enrollment", "enrollment_date", "dose_cells_per_kg"):
        if field in cleaned:  # a field that did not validate keeps its stored value
            setattr(proposed, field, cleaned[field])
    if proposed.enrollment_date is None or proposed.age_at_enrollment is None:
        return
    for field, messages in participant_safety_errors(proposed).items():
        if field == "age_at_enrollment" and proposed.enrollment_date != participant.enrollment_date:
            field = "enrollment_date"  # the enrolment date moved the age at onset
        form.add_error(field if field in form.fields else None, messages)


def check_participant_dose(
    form: forms.BaseForm,
    *,
    study_id: int | None,
    cleaned: Mapping[str, Any],
    participant_id: int | None = None,
) -> None:
    """Show on the dose a dose that is not one of the study's dose levels (the participant
    service refuses it)."""
    if study_id is None or cleaned.get("dose_cells_per_kg") is None:
        return
    for message in services.participant_dose_errors(
        study_id=study_id,
        dose_cells_per_kg=cleaned["dose_cells_per_kg"],
        participant_id=participant_id,
    ):
        form.add_error("dose_cells_per_kg", message)


def dose_level_field(
    field: forms.Field, *, levels: list[int], stored: int | None
) -> forms.TypedChoiceField:
    """Return the dose as a choice of the study's dose levels (labels as the protocol writes
    them), optional like the dose itself. A stored dose that is not a level stays shown, so that
    the refusal names it rather than the form dropping it."""
    doses = sorted({*levels, stored}) if stored is not None else levels
    return forms.TypedChoiceField(
        label=field.label,
        choices=[("", "---------"), *((dose, dose_label(dose)) for dose in doses)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("One of the study's dose levels, in CAR+ cells/kg."),
        error_messages={"invalid_choice": services.dose_level_refusal(levels)},
    )


def add_refusal(
    form: forms.BaseForm,
    error: ValidationError,
    *,
    field_for: Callable[[str], str | None] | None = None,
) -> None:
    """Show a service's refusal on the form, each message on the field it names where the form
    has it (``field_for`` maps a service's key to the form's field), else on the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, messages in error.message_dict.items():
        field = key if field_for is None else field_for(key)
        form.add_error(field if field in form.fields else None, messages)


OPENED_VERSION = "opened_version"


class OpenedVersionMixin(forms.BaseForm):
    """Refuse a save from a form opened before another user changed its record.

    The form carries the version of the rows it shows (trialsite.versions) in a hidden field.
    ``check_opened_version`` runs in ``clean()``, while the caller holds the participant's lock,
    so no change can come in between the check and the save.

    A mixin for forms, listed before the form class (as ChangeReasonMixin).
    """

    version_sources: list[HistorySource] | None = None

    def add_opened_version(self, sources: list[HistorySource]) -> None:
        self.version_sources = sources
        # Not required: a form without it (opened before this site kept versions) is refused
        # as out of date by check_opened_version, which then gives it the current version.
        self.fields[OPENED_VERSION] = forms.CharField(
            widget=forms.HiddenInput,
            initial=lambda: versions.current_version(sources),
            required=False,
        )

    def check_opened_version(self) -> None:
        if self.version_sources is None or OPENED_VERSION not in self.cleaned_data:
            return
        changes = versions.changes_since(self.version_sources, self.cleaned_data[OPENED_VERSION])
        if changes == []:
            return
        self.add_error(None, versions.conflict_messages(changes))
        # The page now shows what changed: saving it again replaces those values on purpose.
        # A bound form's data is request.POST (a QueryDict) or a dict: both copy to a mutable
        # mapping of the same kind (the stubs type data as a read-only Mapping).
        data = cast(QueryDict | dict[str, Any], self.data).copy()
        self.data = data
        data[self.add_prefix(OPENED_VERSION)] = versions.current_version(self.version_sources)

    def field_for(self, key: str) -> str | None:
        """Return the form field that shows a service's error about ``key`` (None: the form)."""
        return key if key in self.fields else None

    @property
    def field_error_count(self) -> int:
        """Count the fields with an error (the form's own errors are not a field's)."""
        return sum(1 for name in self.errors if name != NON_FIELD_ERRORS)

    def add_refusal(self, error: ValidationError) -> None:
        """Show a service's refusal on the form, each message on its field where it has one."""
        add_refusal(self, error, field_for=self.field_for)


def save_under_lock(
    form: OpenedVersionMixin, *, participant: Participant, save: Callable[[], Saved]
) -> Saved | None:
    """Validate the form and ``save`` while holding the participant's lock, the participant
    read again under it, so the form's checks see the participant (its dates, its records) as
    stored; a service's refusal goes on the form. Return what ``save`` returned, None when the
    form was invalid or refused."""
    try:
        with transaction.atomic():
            lock_participants([participant.pk])
            participant.refresh_from_db()
            if form.is_valid():
                return save()
    except ValidationError as error:
        form.add_refusal(error)
    return None


def model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """Return a model form's field for a ForeignKey, to narrow the choices it offers."""
    # A ForeignKey's form field is a ModelChoiceField (formfield_for_model_field keeps it).
    return cast(forms.ModelChoiceField, form.fields[name])


class ParticipantForm(ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    class Meta:
        model = Participant
        fields = [
            "site",
            "participant_id",
            "sex",
            "age_at_enrollment",
            "enrollment_date",
            "infusion_date",
            "not_infused_reason",
            "not_infused_note",
            "dose_cells_per_kg",
            "treatment_failure_date",
            "withdrawal_date",
            "withdrawal_reason",
        ]
        widgets = {
            "enrollment_date": DateInput(),
            "infusion_date": DateInput(),
            "not_infused_note": forms.Textarea(attrs={"rows": 2}),
            "treatment_failure_date": DateInput(),
            "withdrawal_date": DateInput(),
            "withdrawal_reason": forms.Textarea(attrs={"rows": 2}),
        }
        formfield_callback = formfield_for_model_field

    #: What only happens after enrolment: the enrolment form leaves them out.
    EDIT_ONLY_FIELDS = ("treatment_failure_date", "withdrawal_date", "withdrawal_reason")

    def __init__(self, *args, user: User, study: Study, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.study = study
        sites = selectors.sites_visible_to(user)
        model_choice_field(self, "site").queryset = sites
        if self.instance.pk is None:
            for name in self.EDIT_ONLY_FIELDS:
                del self.fields[name]
            self.suggest_site_and_id(list(sites.order_by("code")[:2]), study)
        self.fields["age_at_enrollment"].widget.attrs.update({"min": AGE_MIN, "max": AGE_MAX})
        self.fields["dose_cells_per_kg"].help_text = _(
            "CAR+ cells per kg, e.g. %(cells)s for %(dose)s."
        ) % {"cells": EXAMPLE_DOSE, "dose": dose_label(EXAMPLE_DOSE)}
        levels = list(study.dose_levels.values_list("cells_per_kg", flat=True))
        if levels:
            self.fields["dose_cells_per_kg"] = dose_level_field(
                self.fields["dose_cells_per_kg"],
                levels=levels,
                stored=self.instance.dose_cells_per_kg,
            )
        if self.instance.pk is not None:
            self.add_change_reason(editing=True)  # a first entry needs no reason
            self.add_opened_version(versions.participant_sources(self.instance.pk))

    def suggest_site_and_id(self, sites: list[Site], study: Study) -> None:
        """Preselect the site of a user who can enrol at one site only, with the next
        participant ID there (still editable; a taken ID is refused)."""
        if len(sites) != 1:
            return
        self.initial.setdefault("site", sites[0].pk)
        self.initial.setdefault("participant_id", selectors.next_participant_id(study, sites[0]))
        self.fields["participant_id"].help_text = _(
            "Suggested: the next number at this site. You can change it."
        )

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        cleaned = self.cleaned_data
        if cleaned.get("withdrawal_date") is not None and not cleaned.get("withdrawal_reason"):
            self.add_error("withdrawal_reason", _("Give the reason for the withdrawal."))
        participant_id = cleaned.get("participant_id")
        taken = Participant.objects.filter(
            study=self.instance.study, participant_id=participant_id
        ).exclude(pk=self.instance.pk)
        if participant_id and taken.exists():
            self.add_error(
                "participant_id", _("This participant ID is already used in this study.")
            )
        check_infusion_order(
            self, participant=self.instance, infusion_date=cleaned.get("infusion_date")
        )
        check_participant_episodes(self, participant=self.instance, cleaned=cleaned)
        check_participant_dose(
            self,
            study_id=self.instance.study_id,
            cleaned=cleaned,
            participant_id=self.instance.pk,
        )
        self.check_opened_version()
        return cleaned


def already_recorded_message(visit: Visit) -> SafeString:
    """Say that a scheduled visit is already recorded, with a link to its page (the message is
    markup: its texts are escaped)."""
    code = visit.visit_definition.code
    return format_html(
        '{} <a href="{}">{}</a>',
        _("%(code)s is already recorded for this participant (%(date)s).")
        % {"code": code, "date": visit.visit_date.isoformat()},
        reverse("visit_detail", args=[visit.pk]),
        _("Open %(code)s to change it.") % {"code": code},
    )


class VisitForm(ChangeReasonMixin, OpenedVersionMixin, forms.ModelForm):
    """Record a visit (which one, and when) or correct its date."""

    class Meta:
        model = Visit
        fields = ["visit_definition", "visit_date"]
        widgets = {"visit_date": DateInput()}
        formfield_callback = formfield_for_model_field

    def __init__(self, *args, participant: Participant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.participant = participant
        definitions = participant.study.visit_definitions.order_by("order")
        model_choice_field(self, "visit_definition").queryset = definitions
        if self.instance.pk is not None:
            self.fields["visit_definition"].disabled = True
            self.add_opened_version(versions.visit_date_sources(self.instance.pk))
        self.add_change_reason(editing=self.instance.pk is not None)

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data
        cleaned = self.cleaned_data
        self.check_opened_version()
        definition = cleaned.get("visit_definition")
        visit_date = cleaned.get("visit_date")
        if definition is None:
            return cleaned
        check_visit_order(
            self,
            visit=self.instance,
            participant=self.instance.participant,
            definition=definition,
            visit_date=visit_date,
        )
        others = self.instance.participant.visits.filter(visit_definition=definition).exclude(
            pk=self.instance.pk
        )
        recorded = None if definition.repeatable else others.first()
        if recorded is not None:
            self.add_error("visit_definition", already_recorded_message(recorded))
        elif definition.repeatable and others.filter(visit_date=visit_date).exists():
            self.add_error(
                "visit_date", _("An unscheduled visit is already recorded on this date.")
            )
        bilag = getattr(self.instance, "bilag", None)
        if visit_date is not None and bilag is not None:
            # A new date can put a grade E after an involved grade at another visit.
            self.instance.visit_date = visit_date
            errors = services.bilag_history_errors(
                self.instance.participant,
                proposed_visit=self.instance,
                proposed_grades=bilag.grades(),
            )
            for message in chain.from_iterable(errors.values()):
                self.add_error("visit_date", message)
        return cleaned


class MissedVisitForm(OpenedVersionMixin, forms.ModelForm):
    """Record that a scheduled visit did not take place, and why."""

    class Meta:
        model = MissedVisit
        fields = ["visit_definition", "reason", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, participant: Participant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.participant = participant
        model_choice_field(self, "visit_definition").queryset = (
            participant.study.visit_definitions.filter(repeatable=False)
            .exclude(visits__participant=participant)
            .exclude(missed_visits__participant=participant)
            .order_by("order")
        )


PRESENT, ABSENT = "1", "0"
#: Absent first: the commonest answer, chosen with Space when Tab enters a descriptor's radios
#: (an arrow key then chooses present or not done).
SLEDAI_CHOICES = [(ABSENT, _("absent")), (PRESENT, _("present")), (NOT_DONE, _("not done"))]
NULL_BOOLEAN_CHOICES = [("", _("not done")), ("true", _("yes")), ("false", _("no"))]


#: A SLEDAI-2K descriptor's bound field, the descriptor, and the field of its reason not done.
SledaiItem = tuple[forms.BoundField, SledaiDescriptor, forms.BoundField]


def sledai_field_name(field: str) -> str:
    return f"sledai_{field}"


def bilag_field_name(system: str) -> str:
    return f"bilag_{system}"


def lab_field_name(field: str) -> str:
    return f"lab_{field}"


def not_done_reason_name(answer: str) -> str:
    return f"{answer}_not_done_reason"


def lab_form_fields(names: tuple[str, ...] = STORED_LAB_FIELDS) -> dict[str, forms.Field]:
    """Return the form fields of the lab values (every stored one unless ``names`` says which),
    named lab_<field>, labelled from the model."""
    fields: dict[str, forms.Field] = {}
    for field in names:
        # The names are value columns of LabResult: get_field gives a model Field (not a
        # relation), and its form field is never None (only the likes of AutoField have none).
        model_field = cast(models.Field, LabResult._meta.get_field(field))
        form_field: forms.Field
        if field == "urinary_casts":
            form_field = forms.TypedChoiceField(
                choices=NULL_BOOLEAN_CHOICES,
                coerce=lambda value: value == "true",
                empty_value=None,
                required=False,
            )
        elif field == "upcr_unit":
            form_field = cast(forms.Field, model_field.formfield(required=False))
        else:
            form_field = cast(
                forms.Field,
                formfield_for_model_field(model_field, required=False, min_value=Decimal("0")),
            )
            form_field.widget.attrs.update({"min": "0", "step": "any"})
        form_field.label = capfirst(model_field.verbose_name)
        form_field.help_text = model_field.help_text
        fields[lab_field_name(field)] = form_field
    return fields


class LabValuesForm(forms.Form):
    """The lab values that suggest SLEDAI-2K descriptors, for asking which they suggest as they
    are typed (the B cells and immunoglobulins suggest none)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(lab_form_fields(LAB_FIELDS))

    def valid_values(self) -> dict[str, object]:
        """Return the values that are valid so far, keyed by LabResult field."""
        self.is_valid()
        return {
            field: self.cleaned_data[lab_field_name(field)]
            for field in LAB_FIELDS
            if lab_field_name(field) in self.cleaned_data
        }


class AssessmentForm(ChangeReasonMixin, OpenedVersionMixin, forms.Form):
    """PGA, the 24 SLEDAI-2K descriptors, the nine BILAG-2004 systems and the labs of a visit."""

    pga = PgaField(
        label=_("Physician Global Assessment (PGA)"),
        required=False,
        help_text=_("0 none, 1 mild, 2 moderate, 3 severe. Rate it before adding up SLEDAI-2K."),
    )
    pga_not_done = forms.BooleanField(label=_("PGA not done"), required=False)
    lookback_days = forms.TypedChoiceField(
        label=_("SLEDAI-2K look-back window"), choices=SLEDAI_LOOKBACK_CHOICES, coerce=int
    )

    def __init__(self, *args, visit: Visit, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.visit = visit
        for descriptor in SLEDAI_DESCRIPTORS:
            self.fields[sledai_field_name(descriptor.field)] = forms.ChoiceField(
                label=_(descriptor.label),
                choices=SLEDAI_CHOICES,
                required=False,
                widget=forms.RadioSelect(attrs={"data-weight": descriptor.weight}),
                help_text=_(descriptor.definition),
            )
        for system in BILAG_SYSTEMS:
            self.fields[bilag_field_name(system)] = forms.ChoiceField(
                label=_(BILAG_SYSTEM_LABELS[system]),
                choices=[("", _("not answered")), *BILAG_GRADE_CHOICES, (NOT_DONE, _("not done"))],
                required=False,
            )
        for answer in ANSWERS:
            subject = _("PGA") if answer == "pga" else self.fields[answer].label
            self.fields[not_done_reason_name(answer)] = forms.CharField(
                label=_("Reason not done: %(answer)s") % {"answer": subject},
                required=False,
                max_length=NotDoneAnswer._meta.get_field("reason").max_length,
                validators=[validate_single_line_text],
            )
        self.fields.update(lab_form_fields())
        self.saved = self.saved_values(visit)
        if self.saved != {}:  # a first entry needs no reason, nor a field for it
            self.add_change_reason(editing=True)
            self.ask_change_reason_only_for_changes()
        self.add_opened_version(versions.visit_entry_sources(visit.pk))
        self.order_fields(self.page_order())

    @classmethod
    def saved_values(cls, visit: Visit) -> dict[str, Any]:
        """Return the form's values that the visit has stored (a blank is not stored; the
        look-back window is stored with the SLEDAI-2K)."""
        saved = {
            name: value
            for name, value in cls.initial_for(visit).items()
            if value is not None and value != ""
        }
        if not hasattr(visit, "sledai"):
            saved.pop("lookback_days", None)
        return saved

    def changed_saved_values(self) -> list[StrOrPromise]:
        """Return the labels of the stored values this form changes or removes. Taking a
        complete entry back to in progress changes its status (the visit leaves the endpoints);
        on a source-verified visit, whose verification any change voids, a first entry of a
        blank is a change too."""
        changed: list[StrOrPromise] = [
            self.fields[name].label or name
            for name, value in self.saved.items()
            if name in self.fields and self.fields[name].has_changed(value, self[name].data)
        ]
        if self.visit.entry_status == EntryStatus.COMPLETE and not self.marks_complete:
            changed.append(Visit._meta.get_field("entry_status").verbose_name)
        if changed == [] and self.first_entries() and self.visit_is_verified():
            changed.append(_("the source verification (any change voids it)"))
        return changed

    def first_entries(self) -> list[str]:
        """Return the fields the form fills that were blank (none of the saved values)."""
        return [
            name
            for name in self.changed_data
            if name not in self.saved and name not in ("change_reason", OPENED_VERSION)
        ]

    def visit_is_verified(self) -> bool:
        return SignOffKind.VERIFIED in services.sign_offs_in_force(self.visit)

    @staticmethod
    def page_order() -> list[str]:
        """Return the field names in the order the entry page shows them (the error summary
        lists the problems in this order): PGA, labs, SLEDAI-2K, BILAG-2004, each answer
        followed by its reason not done."""
        names = ["pga", "pga_not_done", not_done_reason_name("pga")]
        names += [lab_field_name(field) for field in STORED_LAB_FIELDS]
        names.append("lookback_days")
        for name in [
            *(sledai_field_name(field) for field in SLEDAI_FIELDS),
            *(bilag_field_name(system) for system in BILAG_SYSTEMS),
        ]:
            names += [name, not_done_reason_name(name)]
        return [*names, "change_reason"]

    def sledai_answers(self) -> dict[str, bool | None]:
        # Only "1" and "0" answer; "", NOT_DONE and None (a field that failed) give None.
        present: dict[str | None, bool] = {PRESENT: True, ABSENT: False}
        answers: dict[str, bool | None] = {}
        for field in SLEDAI_FIELDS:
            value = self.cleaned_data.get(sledai_field_name(field))
            answers[field] = present.get(value)
        return answers

    def bilag_grades(self) -> dict[str, str | None]:
        grades = {}
        for system in BILAG_SYSTEMS:
            grade = self.cleaned_data.get(bilag_field_name(system))
            grades[system] = grade if grade in BILAG_GRADES else None
        return grades

    def marked_not_done(self, answer: str) -> bool:
        """Say whether the form marks an answer not done (named as ANSWERS names them)."""
        if answer == "pga":
            return self.cleaned_data.get("pga_not_done") is True
        return self.cleaned_data.get(answer) == NOT_DONE

    def not_done(self) -> dict[str, str]:
        """Return the answers marked not done, each with the reason typed for it."""
        return {
            answer: self.cleaned_data.get(not_done_reason_name(answer)) or ""
            for answer in ANSWERS
            if self.marked_not_done(answer)
        }

    def labs(self) -> dict[str, object]:
        labs = {field: self.cleaned_data.get(lab_field_name(field)) for field in STORED_LAB_FIELDS}
        labs["upcr_unit"] = labs["upcr_unit"] or ""
        return labs

    def not_done_reason(self, answer: str) -> forms.BoundField:
        return self[not_done_reason_name(answer)]

    def sledai_groups(self) -> list[tuple[StrOrPromise, list[SledaiItem]]]:
        """Return the descriptors grouped by organ (its label translated lazily), in form order,
        each with its bound field and the field of its reason not done."""
        groups: dict[str, list[SledaiItem]] = {}
        for descriptor in SLEDAI_DESCRIPTORS:
            name = sledai_field_name(descriptor.field)
            groups.setdefault(descriptor.organ, []).append(
                (self[name], descriptor, self.not_done_reason(name))
            )
        return [(_(organ), items) for organ, items in groups.items()]

    def bilag_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """Return each system's bound field with the field of its reason not done."""
        return [
            (self[bilag_field_name(system)], self.not_done_reason(bilag_field_name(system)))
            for system in BILAG_SYSTEMS
        ]

    def lab_fields(self) -> list[forms.BoundField]:
        """Return the labs that suggest SLEDAI-2K descriptors, in form order."""
        return [self[lab_field_name(field)] for field in LAB_FIELDS]

    def immune_lab_fields(self) -> list[forms.BoundField]:
        """Return the B cells and immunoglobulins, in form order."""
        return [self[lab_field_name(field)] for field in IMMUNE_LAB_FIELDS]

    @classmethod
    def labs_from_query(cls, query: QueryDict) -> Labs:
        return selectors.scoring_labs(LabValuesForm(query).valid_values())

    @property
    def marks_complete(self) -> bool:
        return self.data.get("entry_status") == EntryStatus.COMPLETE

    def clean(self) -> dict[str, Any]:
        super().clean()  # Form.clean returns self.cleaned_data
        cleaned = self.cleaned_data
        grades = self.bilag_grades()
        errors = services.bilag_history_errors(
            self.visit.participant, proposed_visit=self.visit, proposed_grades=grades
        )
        for system, messages in errors.items():
            for message in messages:
                self.add_error(bilag_field_name(system), message)
        if cleaned.get(lab_field_name("upcr")) is not None and not cleaned.get(
            lab_field_name("upcr_unit")
        ):
            self.add_error(lab_field_name("upcr_unit"), _("Give the unit of the ratio."))
        not_done = self.not_done()
        answers = services.answer_values(self.sledai_answers(), cleaned.get("pga"), grades)
        for answer, message in services.not_done_errors(answers, not_done).items():
            if self.marked_not_done(answer) and not not_done[answer]:
                self.add_error(not_done_reason_name(answer), _("Give the reason it was not done."))
            elif answer not in self.errors:
                self.add_error(answer, message)
        if self.marks_complete:
            missing = services.missing_answers(
                self.sledai_answers(), cleaned.get("pga"), grades, not_done
            )
            for answer in missing:
                if answer not in self.errors:
                    self.add_error(answer, services.ANSWER_NEEDED)
        self.require_change_reason(self.changed_saved_values())
        self.check_opened_version()
        return cleaned

    def field_for(self, key: str) -> str | None:
        names = {"score": "pga", "lookback_days": "lookback_days"}
        for name in (
            names.get(key),
            sledai_field_name(key),
            bilag_field_name(key),
            lab_field_name(key),
            key,
        ):
            if name in self.fields:
                return name
        return None

    def save(self, *, author: AbstractBaseUser) -> services.SavedAssessments:
        """Save the assessments; the result names the outcomes the save changed."""
        return services.visit_save_assessments(
            visit=self.visit,
            sledai=self.sledai_answers(),
            sledai_lookback_days=self.cleaned_data["lookback_days"],
            pga=self.cleaned_data.get("pga"),
            bilag=self.bilag_grades(),
            not_done=self.not_done(),
            labs=self.labs(),
            complete=self.marks_complete,
            author=author,
            reason=self.change_reason(),
        )

    @classmethod
    def initial_for(cls, visit: Visit) -> dict:
        """Fill the form from the stored assessments."""
        initial: dict = {"lookback_days": visit.participant.study.sledai_lookback_days}
        sledai = getattr(visit, "sledai", None)
        if sledai is not None:
            initial["lookback_days"] = sledai.lookback_days
            for field, present in sledai.answers().items():
                if present is not None:
                    initial[sledai_field_name(field)] = PRESENT if present else ABSENT
        pga = getattr(visit, "pga", None)
        if pga is not None:
            initial["pga"] = pga.score
        bilag = getattr(visit, "bilag", None)
        if bilag is not None:
            for system, grade in bilag.grades().items():
                initial[bilag_field_name(system)] = grade or ""
        for answer, reason in visit.not_done_answers.values_list("answer", "reason"):
            if answer == "pga":
                initial["pga_not_done"] = True
            else:
                initial[answer] = NOT_DONE
            initial[not_done_reason_name(answer)] = reason
        labs = getattr(visit, "labs", None)
        if labs is not None:
            for field in STORED_LAB_FIELDS:
                value = getattr(labs, field)
                if field == "urinary_casts" and value is not None:
                    value = "true" if value else "false"
                initial[lab_field_name(field)] = value
        return initial


class VerifyForm(forms.Form):
    """The monitor's source verification of a visit: the whole visit, or the fields ticked."""

    verified_fields = forms.MultipleChoiceField(
        label=_("Fields checked against the source"),
        choices=[(name, capfirst(label)) for name, label in QUERY_FIELD_LABELS.items() if name],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave every box empty when the whole visit was checked."),
    )


class SignForm(forms.Form):
    """The investigator's electronic signature: the password entered again."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LockForm(forms.Form):
    """A step with nothing to fill in: a data manager's lock, a record's verification."""


class UnlockForm(forms.Form):
    """A data manager's unlocking of a signed or locked visit, with the reason."""

    reason = forms.CharField(
        label=_("Reason for unlocking"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Recorded in the audit trail with your name and the time. Unlocking voids the "
            "signature and the source verification."
        ),
    )
