"""The trial's data: studies and their visit schedule, sites, participants, visits, assessments.

Models hold fields, constraints and simple properties only. Every write goes through
trialsite.services; every clinical model keeps its audit history (django-simple-history).
"""

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from simple_history import register
from simple_history.models import HistoricalRecords

from responses.scoring.bilag import (
    BILAG_GRADE_LABELS,
    BILAG_GRADES,
    BILAG_SYSTEM_LABELS,
    BILAG_SYSTEMS,
)
from responses.scoring.labs import LAB_DECIMAL_FIELDS, LAB_FIELDS
from responses.scoring.pga import PGA_MAX, PGA_MIN
from responses.scoring.sledai import SLEDAI_DESCRIPTORS
from safety.grading.b_cells import DEFAULT_APLASIA_THRESHOLD_PER_UL
from trialsite.constraints import CheckConstraint
from trialsite.i18n import RECORD_LANGUAGE, StrOrPromise
from trialsite.records import RecordKind, kind_of, view_permission
from trialsite.validators import (
    STUDY_DAY_MAX,
    STUDY_DAY_MIN,
    study_day_range_message,
    study_day_validators,
    validate_multiline_text,
    validate_single_line_text,
    validate_trial_date,
)

if TYPE_CHECKING:
    # The manager class django-modeltranslation gives Site and VisitDefinition, for django-stubs.
    import modeltranslation.manager  # noqa: F401

SLEDAI_BY_FIELD = {descriptor.field: descriptor for descriptor in SLEDAI_DESCRIPTORS}

SLEDAI_LOOKBACK_CHOICES = [(10, _("10 days (SLEDAI-2K)")), (30, _("30 days (validated variant)"))]
AGE_MIN, AGE_MAX = 0, 21


def audit_history() -> HistoricalRecords:
    """Return the audit history of a clinical model: author, time and reason of each change."""
    return HistoricalRecords(
        history_change_reason_field=models.TextField(null=True),
        cascade_delete_history=False,
    )


class Study(models.Model):
    """A trial protocol with its settings, editable in admin."""

    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line_text])
    protocol_number = models.CharField(
        _("protocol number"), max_length=50, unique=True, validators=[validate_single_line_text]
    )
    baseline_visit = models.ForeignKey(
        "VisitDefinition",
        verbose_name=_("baseline visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The visit every change-from-baseline endpoint compares with."),
    )
    primary_visit = models.ForeignKey(
        "VisitDefinition",
        verbose_name=_("primary timepoint"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The visit the primary endpoint is reported at."),
    )
    sledai_lookback_days = models.PositiveSmallIntegerField(
        _("SLEDAI-2K look-back window (days)"), choices=SLEDAI_LOOKBACK_CHOICES, default=10
    )
    exclude_out_of_window_visits = models.BooleanField(
        _("exclude out-of-window visits from the analysis"),
        default=False,
        help_text=_(
            "When on, a visit dated outside its window counts as not recorded in the observed "
            "and infused (mITT) cohort results; when off, it counts at its visit code. Either "
            "way the reports show how many visits were out of window."
        ),
    )
    b_cell_aplasia_threshold_per_ul = models.DecimalField(
        _("B-cell aplasia threshold (CD19+ cells/µL)"),
        max_digits=8,
        decimal_places=2,
        default=DEFAULT_APLASIA_THRESHOLD_PER_UL,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "B-cell aplasia: a CD19+ B-cell count below this. B-cell reconstitution: the first "
            "visit after the infusion, following aplasia, with a count at or above it."
        ),
    )
    history = audit_history()

    class Meta:
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        ordering = ["protocol_number"]
        permissions = [
            ("import_data", _("Can import CSV data")),
            ("export_audit_trail", _("Can export the audit trail")),
        ]
        constraints = [
            CheckConstraint(
                condition=Q(sledai_lookback_days__in=[10, 30]),
                name="study_sledai_lookback_10_or_30",
                violation_error_message=_("The SLEDAI-2K look-back window is 10 or 30 days."),
            ),
            CheckConstraint(
                condition=Q(b_cell_aplasia_threshold_per_ul__gt=0),
                name="study_b_cell_aplasia_threshold_positive",
                violation_error_message=_("The B-cell aplasia threshold must be more than 0."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol_number} {self.name}"

    def clean(self) -> None:
        errors: dict[str, StrOrPromise] = {}
        for field in ("baseline_visit", "primary_visit"):
            definition = getattr(self, field)
            if definition is not None and definition.study_id != self.pk:
                errors[field] = _("Choose a visit of this study's schedule.")
        if errors:
            raise ValidationError(errors)


class NamedInTwoLanguages(models.Model):
    """A row whose name is kept in English and Chinese (name_en, name_zh_hans: the translated
    fields of trialsite/translation.py). ``name`` reads the reader's language, falling back to
    English; the name column itself always holds the English name.

    Its audit history is made in trialsite/translation.py (``audit_translated_history``), after
    the translated fields, so that the history holds them too."""

    #: The translated fields (added by django-modeltranslation when the apps are ready).
    name_en: str | None
    name_zh_hans: str | None
    history: ClassVar[Any]

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The name column, and the name in the audit history, are the English name whatever
        # the language of the page that saves the row.
        with translation.override(RECORD_LANGUAGE):
            super().save(*args, **kwargs)


class Site(NamedInTwoLanguages):
    """A participating hospital."""

    code = models.CharField(
        _("code"), max_length=20, unique=True, validators=[validate_single_line_text]
    )
    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line_text])

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["code"]
        permissions = [("view_all_sites", _("Can see the data of every site"))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SiteMembership(models.Model):
    """A user's access to one site's data (coordinators and investigators see only their sites)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="site_memberships",
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="memberships"
    )
    history = audit_history()

    class Meta:
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")
        ordering = ["site__code", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "site"],
                name="site_membership_unique",
                violation_error_message=_("This user is already a member of this site."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site.code}"


class VisitDefinition(NamedInTwoLanguages):
    """One visit of a study's schedule; study day 0 is the CAR-T infusion date."""

    study = models.ForeignKey(
        Study, verbose_name=_("study"), on_delete=models.PROTECT, related_name="visit_definitions"
    )
    code = models.CharField(_("code"), max_length=10, validators=[validate_single_line_text])
    name = models.CharField(_("name"), max_length=100, validators=[validate_single_line_text])
    target_day = models.IntegerField(
        _("target study day"), null=True, blank=True, validators=study_day_validators
    )
    window_low = models.IntegerField(
        _("window from (study day)"), null=True, blank=True, validators=study_day_validators
    )
    window_high = models.IntegerField(
        _("window to (study day)"), null=True, blank=True, validators=study_day_validators
    )
    order = models.PositiveSmallIntegerField(_("order"))
    repeatable = models.BooleanField(
        _("repeatable"),
        default=False,
        help_text=_("Unscheduled visits may repeat (one per date) and have no target day."),
    )

    class Meta:
        verbose_name = _("visit definition")
        verbose_name_plural = _("visit schedule")
        ordering = ["study", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "code"],
                name="visit_definition_code_unique",
                violation_error_message=_("This study already has a visit with this code."),
            ),
            models.UniqueConstraint(
                fields=["study", "order"],
                name="visit_definition_order_unique",
                violation_error_message=_("This study already has a visit in this position."),
            ),
            CheckConstraint(
                condition=Q(repeatable=True)
                | Q(target_day__isnull=False, window_low__isnull=False, window_high__isnull=False),
                name="visit_definition_scheduled_has_window",
                violation_error_message=_(
                    "A scheduled visit needs a target study day and a window."
                ),
            ),
            CheckConstraint(
                condition=Q(window_low__lte=models.F("target_day"))
                & Q(target_day__lte=models.F("window_high")),
                name="visit_definition_target_within_window",
                violation_error_message=_("The target study day must lie within the window."),
            ),
            CheckConstraint(
                condition=Q(
                    *(
                        Q(**{f"{field}__gte": STUDY_DAY_MIN, f"{field}__lte": STUDY_DAY_MAX})
                        for field in ("target_day", "window_low", "window_high")
                    )
                ),
                name="visit_definition_study_days_in_range",
                violation_error_message=study_day_range_message,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def is_in_window(self, study_day: int | None) -> bool | None:
        """Say whether a study day is in this visit's window (None when it cannot be known)."""
        if self.repeatable:
            return True
        if study_day is None or self.window_low is None or self.window_high is None:
            return None
        return self.window_low <= study_day <= self.window_high


NOT_INFUSED_REASON_WITH_INFUSION = _(
    "An infusion date is recorded, so the participant was infused: clear the reason not "
    "infused (or the infusion date)."
)


class NotInfusedReason(models.TextChoices):
    """Why an enrolled participant was never infused, when it is not a withdrawal (a withdrawal
    date before any infusion says that by itself)."""

    MANUFACTURING_FAILURE = "manufacturing_failure", _("manufacturing failure")
    OTHER = "other", _("other")


class ParticipantStatus(models.TextChoices):
    """Where a participant stands, as the participant pages show it (read from the dates)."""

    WITHDRAWN = "withdrawn", _("withdrawn")
    INFUSED = "infused", _("infused")
    NOT_INFUSED = "not_infused", _("enrolled, not infused")


def dose_mantissa(cells_per_kg: int) -> str:
    """Return a dose in units of 10^5 CAR+ cells/kg, as the protocol writes it: 30000 -> "0.3"."""
    return f"{(Decimal(cells_per_kg) / Decimal(100_000)).normalize():f}"


def dose_label(cells_per_kg: int | None) -> str:
    """Show a dose as plain text, as the protocol writes it: 100000 -> "1 (times) 10 (superscript
    5)", with the multiplication sign and a superscript five (pages show a real superscript: the
    template filter ``dose``)."""
    if cells_per_kg is None:
        return ""
    return f"{dose_mantissa(cells_per_kg)} \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"


class StudyDoseLevel(models.Model):
    """One of a study's CAR-T dose levels (CAR+ cells/kg): a participant's dose is one of them
    when the study has any."""

    study = models.ForeignKey(
        Study, verbose_name=_("study"), on_delete=models.PROTECT, related_name="dose_levels"
    )
    cells_per_kg = models.PositiveIntegerField(
        _("dose (CAR+ cells/kg)"), validators=[MinValueValidator(1)]
    )
    history = audit_history()

    class Meta:
        verbose_name = _("dose level")
        verbose_name_plural = _("dose levels")
        ordering = ["study", "cells_per_kg"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "cells_per_kg"],
                name="study_dose_level_unique",
                violation_error_message=_("This study already has this dose level."),
            ),
            CheckConstraint(
                condition=Q(cells_per_kg__gt=0),
                name="study_dose_level_positive",
                violation_error_message=_("The dose must be more than 0 cells/kg."),
            ),
        ]

    def __str__(self) -> str:
        return dose_label(self.cells_per_kg)


class Participant(models.Model):
    """A child enrolled in the study."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    study = models.ForeignKey(
        Study, verbose_name=_("study"), on_delete=models.PROTECT, related_name="participants"
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="participants"
    )
    participant_id = models.CharField(
        _("participant ID"), max_length=30, validators=[validate_single_line_text]
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    age_at_enrollment = models.PositiveSmallIntegerField(_("age at enrolment (years)"))
    enrollment_date = models.DateField(_("enrolment date"), validators=[validate_trial_date])
    infusion_date = models.DateField(
        _("CAR-T infusion date"),
        null=True,
        blank=True,
        help_text=_("Study day 0."),
        validators=[validate_trial_date],
    )
    dose_cells_per_kg = models.PositiveIntegerField(
        _("dose (CAR+ cells/kg)"), null=True, blank=True
    )
    not_infused_reason = models.CharField(
        _("reason not infused"),
        max_length=30,
        choices=NotInfusedReason.choices,
        blank=True,
        help_text=_(
            "Only for a participant who will not be infused: manufacturing failure or other. "
            "Leave it empty for a participant who withdrew before infusion (the withdrawal date "
            "says so) or is still waiting for the infusion."
        ),
    )
    not_infused_note = models.TextField(
        _("note on the reason not infused"),
        blank=True,
        validators=[validate_multiline_text],
        help_text=_("Required when the reason is other."),
    )
    treatment_failure_date = models.DateField(
        _("treatment failure date"),
        null=True,
        blank=True,
        help_text=_(
            "First protocol-prohibited medication or rescue therapy; "
            "visits on or after it are non-responders."
        ),
        validators=[validate_trial_date],
    )
    withdrawal_date = models.DateField(
        _("withdrawal date"), null=True, blank=True, validators=[validate_trial_date]
    )
    withdrawal_reason = models.TextField(
        _("withdrawal reason"), blank=True, validators=[validate_multiline_text]
    )
    history = audit_history()

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["participant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "participant_id"],
                name="participant_id_unique_in_study",
                violation_error_message=_("This participant ID is already used in this study."),
            ),
            CheckConstraint(
                condition=Q(sex__in=["F", "M"]),
                name="participant_sex_f_or_m",
                violation_error_message=_("Sex is F or M."),
            ),
            CheckConstraint(
                condition=Q(age_at_enrollment__gte=AGE_MIN, age_at_enrollment__lte=AGE_MAX),
                name="participant_age_0_to_21",
                violation_error_message=_("Age at enrolment is 0 to 21 years."),
            ),
            CheckConstraint(
                condition=Q(dose_cells_per_kg__gt=0),
                name="participant_dose_positive",
                violation_error_message=_("The dose must be more than 0 cells/kg."),
            ),
            CheckConstraint(
                condition=Q(infusion_date__gte=models.F("enrollment_date")),
                name="participant_infusion_after_enrollment",
                violation_error_message=_("The infusion date cannot be before enrolment."),
            ),
            CheckConstraint(
                condition=Q(treatment_failure_date__gte=models.F("enrollment_date")),
                name="participant_failure_after_enrollment",
                violation_error_message=_("The treatment failure date cannot be before enrolment."),
            ),
            CheckConstraint(
                condition=Q(withdrawal_date__gte=models.F("enrollment_date")),
                name="participant_withdrawal_after_enrollment",
                violation_error_message=_("The withdrawal date cannot be before enrolment."),
            ),
            CheckConstraint(
                condition=Q(not_infused_reason__in=["", *NotInfusedReason.values]),
                name="participant_not_infused_reason_known",
                violation_error_message=_("Unknown reason for not infusing."),
            ),
            CheckConstraint(
                condition=Q(infusion_date__isnull=True) | Q(not_infused_reason=""),
                name="participant_not_infused_reason_only_without_infusion",
                violation_error_message=NOT_INFUSED_REASON_WITH_INFUSION,
            ),
        ]

    def __str__(self) -> str:
        return self.participant_id

    def get_absolute_url(self) -> str:
        return reverse("participant_detail", args=[self.pk])

    def clean(self) -> None:
        # The constraints hold these too; here each error names its field for forms and imports.
        errors = self._not_infused_errors()
        for field, message in (
            ("infusion_date", _("The infusion date cannot be before enrolment.")),
            ("treatment_failure_date", _("The treatment failure date cannot be before enrolment.")),
            ("withdrawal_date", _("The withdrawal date cannot be before enrolment.")),
        ):
            value = getattr(self, field)
            enrolled = self.enrollment_date
            if value is not None and enrolled is not None and value < enrolled:
                errors[field] = message
        if errors:
            raise ValidationError(errors)

    def _not_infused_errors(self) -> dict[str, Promise]:
        """Check the reason not infused against the infusion date and its note."""
        if self.not_infused_reason == "":
            if self.not_infused_note.strip() != "":
                return {"not_infused_note": _("Choose the reason not infused, or clear the note.")}
            return {}
        if self.infusion_date is not None:
            return {"not_infused_reason": NOT_INFUSED_REASON_WITH_INFUSION}
        note_missing = self.not_infused_note.strip() == ""
        if self.not_infused_reason == NotInfusedReason.OTHER and note_missing:
            return {"not_infused_note": _("Say why the participant was not infused.")}
        return {}

    def study_day(self, on: date) -> int | None:
        """Return the study day of a date (infusion = day 0), or None before infusion is known."""
        if self.infusion_date is None:
            return None
        return (on - self.infusion_date).days

    @property
    def status(self) -> ParticipantStatus:
        """Withdrawn once a withdrawal date is recorded, else infused or enrolled, not infused."""
        if self.withdrawal_date is not None:
            return ParticipantStatus.WITHDRAWN
        if self.infusion_date is not None:
            return ParticipantStatus.INFUSED
        return ParticipantStatus.NOT_INFUSED


class MissedVisitReason(models.TextChoices):
    MISSED = "missed", _("missed")
    UNREACHABLE = "unreachable", _("participant unreachable")
    WITHDRAWN = "withdrawn", _("withdrawn")
    OTHER = "other", _("other")


class MissedVisit(models.Model):
    """A scheduled visit that did not take place, and why (it counts as missing in the mITT set)."""

    Reason = MissedVisitReason

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="missed_visits",
    )
    visit_definition = models.ForeignKey(
        VisitDefinition,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="missed_visits",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.TextField(
        _("note"),
        blank=True,
        validators=[validate_multiline_text],
        help_text=_("Required when the reason is other."),
    )
    history = audit_history()

    class Meta:
        verbose_name = _("missed visit")
        verbose_name_plural = _("missed visits")
        ordering = ["participant", "visit_definition__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_definition"],
                name="missed_visit_unique_per_participant_and_code",
                violation_error_message=_("This visit is already recorded as missed."),
            ),
            CheckConstraint(
                condition=Q(reason__in=MissedVisitReason.values),
                name="missed_visit_reason_known",
                violation_error_message=_("Unknown reason for a missed visit."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id} {self.visit_definition.code}: {self.reason}"

    def clean(self) -> None:
        if self.participant_id is None or self.visit_definition_id is None:
            return
        errors: dict[str, StrOrPromise] = {}
        if self.visit_definition.study_id != self.participant.study_id:
            errors["visit_definition"] = _("This visit is not in the participant's schedule.")
        elif self.visit_definition.repeatable:
            errors["visit_definition"] = _("Only a scheduled visit can be missed.")
        if self.reason == self.Reason.OTHER and not self.note.strip():
            errors["note"] = _("Say why the visit was missed.")
        if errors:
            raise ValidationError(errors)


class EntryStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETE = "complete", _("complete")


class Visit(models.Model):
    """One visit of a participant. A visit outside its window is kept and flagged."""

    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="visits"
    )
    visit_definition = models.ForeignKey(
        VisitDefinition, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="visits"
    )
    visit_date = models.DateField(_("visit date"), validators=[validate_trial_date])
    occurrence = models.PositiveSmallIntegerField(
        _("occurrence"),
        default=1,
        help_text=_("1 for scheduled visits; numbers repeated (unscheduled) visits."),
    )
    entry_status = models.CharField(
        _("data entry"),
        max_length=20,
        choices=EntryStatus.choices,
        default=EntryStatus.IN_PROGRESS,
        help_text=_("Only a visit whose entry is complete feeds the endpoints."),
    )
    history = audit_history()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["participant", "visit_date", "visit_definition__order"]
        permissions = [
            ("verify_visit", "Can source-verify visits"),
            ("sign_visit", "Can sign visits"),
            ("lock_visit", "Can lock and unlock visits"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_definition", "occurrence"],
                name="visit_unique_per_participant_and_code",
                violation_error_message=_("This participant already has this visit."),
            ),
            models.UniqueConstraint(
                fields=["participant", "visit_definition", "visit_date"],
                name="visit_unique_per_participant_code_and_date",
                violation_error_message=_("This participant already has this visit on this date."),
            ),
            CheckConstraint(
                condition=Q(entry_status__in=EntryStatus.values),
                name="visit_entry_status_known",
                violation_error_message=_("Data entry is in progress or complete."),
            ),
            CheckConstraint(
                condition=Q(occurrence__gte=1),
                name="visit_occurrence_positive",
                violation_error_message=_("The occurrence starts at 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id} {self.label}"

    @property
    def label(self) -> str:
        """The visit within its participant: its code, with the date of a repeatable visit."""
        if self.visit_definition.repeatable:
            return f"{self.visit_definition.code} {self.visit_date.isoformat()}"
        return self.visit_definition.code

    def clean(self) -> None:
        if self.participant_id is None or self.visit_definition_id is None:
            return
        errors: dict[str, StrOrPromise] = {}
        if self.visit_definition.study_id != self.participant.study_id:
            errors["visit_definition"] = _("This visit is not in the participant's schedule.")
        elif not self.visit_definition.repeatable and self.occurrence != 1:
            errors["visit_definition"] = _("A scheduled visit takes place once.")
        if self.visit_date is not None and self.visit_date < self.participant.enrollment_date:
            errors["visit_date"] = _("The visit date is before the enrolment date (%(date)s).") % {
                "date": self.participant.enrollment_date.isoformat()
            }
        if errors:
            raise ValidationError(errors)

    @property
    def study_day(self) -> int | None:
        return self.participant.study_day(self.visit_date)

    @property
    def in_window(self) -> bool | None:
        return self.visit_definition.is_in_window(self.study_day)

    @property
    def entry_complete(self) -> bool:
        """Say whether data entry is complete (else it is in progress)."""
        return self.entry_status == EntryStatus.COMPLETE


def sledai_descriptor_field(field: str) -> models.BooleanField:
    """Return the model field for one SLEDAI-2K descriptor, labelled from the scoring table."""
    descriptor = SLEDAI_BY_FIELD[field]
    return models.BooleanField(
        _(descriptor.label),
        null=True,
        blank=True,
        help_text=_(descriptor.definition),
    )


class SledaiAssessment(models.Model):
    """SLEDAI-2K at a visit: each descriptor present (True), absent (False) or not given (None:
    not entered yet, or not done, as a NotDoneAnswer records).

    Score only features attributable to active lupus, not to damage, infection or drugs.
    """

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="sledai"
    )
    lookback_days = models.PositiveSmallIntegerField(
        _("look-back window (days)"), choices=SLEDAI_LOOKBACK_CHOICES, default=10
    )
    seizure = sledai_descriptor_field("seizure")
    psychosis = sledai_descriptor_field("psychosis")
    organic_brain_syndrome = sledai_descriptor_field("organic_brain_syndrome")
    visual_disturbance = sledai_descriptor_field("visual_disturbance")
    cranial_nerve_disorder = sledai_descriptor_field("cranial_nerve_disorder")
    lupus_headache = sledai_descriptor_field("lupus_headache")
    cva = sledai_descriptor_field("cva")
    vasculitis = sledai_descriptor_field("vasculitis")
    arthritis = sledai_descriptor_field("arthritis")
    myositis = sledai_descriptor_field("myositis")
    urinary_casts = sledai_descriptor_field("urinary_casts")
    hematuria = sledai_descriptor_field("hematuria")
    proteinuria = sledai_descriptor_field("proteinuria")
    pyuria = sledai_descriptor_field("pyuria")
    rash = sledai_descriptor_field("rash")
    alopecia = sledai_descriptor_field("alopecia")
    mucosal_ulcers = sledai_descriptor_field("mucosal_ulcers")
    pleurisy = sledai_descriptor_field("pleurisy")
    pericarditis = sledai_descriptor_field("pericarditis")
    low_complement = sledai_descriptor_field("low_complement")
    increased_dna_binding = sledai_descriptor_field("increased_dna_binding")
    fever = sledai_descriptor_field("fever")
    thrombocytopenia = sledai_descriptor_field("thrombocytopenia")
    leukopenia = sledai_descriptor_field("leukopenia")
    history = audit_history()

    class Meta:
        verbose_name = _("SLEDAI-2K assessment")
        verbose_name_plural = _("SLEDAI-2K assessments")
        constraints = [
            CheckConstraint(
                condition=Q(lookback_days__in=[10, 30]),
                name="sledai_lookback_10_or_30",
                violation_error_message=_("The SLEDAI-2K look-back window is 10 or 30 days."),
            ),
        ]

    def __str__(self) -> str:
        return f"SLEDAI-2K {self.visit}"

    def answers(self) -> dict[str, bool | None]:
        """Return the 24 answers keyed by descriptor field name."""
        return {d.field: getattr(self, d.field) for d in SLEDAI_DESCRIPTORS}


class PgaAssessment(models.Model):
    """Physician Global Assessment at a visit, 0.00 (none) to 3.00 (severe); None = not given."""

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="pga"
    )
    score = models.DecimalField(_("PGA"), max_digits=3, decimal_places=2, null=True, blank=True)
    history = audit_history()

    class Meta:
        verbose_name = _("physician global assessment")
        verbose_name_plural = _("physician global assessments")
        constraints = [
            CheckConstraint(
                condition=Q(score__gte=PGA_MIN, score__lte=PGA_MAX),
                name="pga_score_0_to_3",
                violation_error_message=_("PGA is between 0.00 and 3.00."),
            ),
        ]

    def __str__(self) -> str:
        return f"PGA {self.visit}"


BILAG_GRADE_CHOICES = [(grade, _(BILAG_GRADE_LABELS[grade])) for grade in BILAG_GRADES]


def bilag_system_field(system: str) -> models.CharField:
    """Return the model field for one BILAG-2004 system's grade."""
    return models.CharField(
        _(BILAG_SYSTEM_LABELS[system]), max_length=1, choices=BILAG_GRADE_CHOICES, blank=True
    )


class BilagAssessment(models.Model):
    """BILAG-2004 grades at a visit, one per organ system; "" = not given."""

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="bilag"
    )
    constitutional = bilag_system_field("constitutional")
    mucocutaneous = bilag_system_field("mucocutaneous")
    neuropsychiatric = bilag_system_field("neuropsychiatric")
    musculoskeletal = bilag_system_field("musculoskeletal")
    cardiorespiratory = bilag_system_field("cardiorespiratory")
    gastrointestinal = bilag_system_field("gastrointestinal")
    ophthalmic = bilag_system_field("ophthalmic")
    renal = bilag_system_field("renal")
    haematological = bilag_system_field("haematological")
    history = audit_history()

    class Meta:
        verbose_name = _("BILAG-2004 assessment")
        verbose_name_plural = _("BILAG-2004 assessments")
        constraints = [
            CheckConstraint(
                condition=Q(
                    *(Q(**{f"{system}__in": [*BILAG_GRADES, ""]}) for system in BILAG_SYSTEMS)
                ),
                name="bilag_grades_a_to_e",
                violation_error_message=_("A BILAG-2004 grade is A, B, C, D or E."),
            ),
        ]

    def __str__(self) -> str:
        return f"BILAG-2004 {self.visit}"

    def grades(self) -> dict[str, str | None]:
        """Return the nine grades keyed by system, None where not given."""
        return {system: getattr(self, system) or None for system in BILAG_SYSTEMS}


#: Every answer of a visit's assessments, by the name the visit form and visits.csv give it:
#: the PGA, the 24 SLEDAI-2K descriptors and the nine BILAG-2004 systems.
ANSWER_LABELS: dict[str, StrOrPromise] = {
    "pga": _("PGA"),
    **{
        f"sledai_{descriptor.field}": format_lazy("SLEDAI-2K: {}", _(descriptor.label))
        for descriptor in SLEDAI_DESCRIPTORS
    },
    **{
        f"bilag_{system}": format_lazy("BILAG-2004: {}", _(BILAG_SYSTEM_LABELS[system]))
        for system in BILAG_SYSTEMS
    },
}
ANSWERS: tuple[str, ...] = tuple(ANSWER_LABELS)
#: How the visit form and visits.csv write an answer not done.
NOT_DONE = "ND"


class NotDoneAnswer(models.Model):
    """An answer documented as not done, with the reason (a missing-data code).

    The visit's entry can be complete with it; the endpoints treat the answer as missing
    (clinical-rules.md section 4, O5 and O6). The answer itself stays empty.
    """

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="not_done_answers"
    )
    answer = models.CharField(_("answer"), max_length=40, choices=list(ANSWER_LABELS.items()))
    reason = models.CharField(
        _("reason not done"), max_length=200, validators=[validate_single_line_text]
    )
    history = audit_history()

    class Meta:
        verbose_name = _("answer not done")
        verbose_name_plural = _("answers not done")
        ordering = ["visit", "answer"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "answer"],
                name="not_done_answer_unique_per_visit",
                violation_error_message=_("This answer is already marked not done."),
            ),
            CheckConstraint(
                condition=Q(answer__in=ANSWERS),
                name="not_done_answer_known",
                violation_error_message=_("Unknown answer."),
            ),
            CheckConstraint(
                condition=~Q(reason=""),
                name="not_done_answer_has_reason",
                violation_error_message=_("Give the reason it was not done."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit} {self.get_answer_display()}: ND"


def lab_field(label: StrOrPromise, unit: StrOrPromise) -> models.DecimalField:
    """Return a lab value field: a Decimal measurement, None when not done."""
    return models.DecimalField(
        label, max_digits=8, decimal_places=2, null=True, blank=True, help_text=unit
    )


#: The B-cell and immunoglobulin values of a visit's labs. They follow B-cell aplasia after the
#: CAR-T infusion (clinical-rules.md section 6) and suggest no SLEDAI-2K descriptor, so they stay
#: out of responses.scoring.labs (``Labs``, ``LAB_FIELDS``) and its suggestions.
IMMUNE_LAB_FIELDS: tuple[str, ...] = ("cd19_per_ul", "igg_g_l", "iga_g_l", "igm_g_l")
#: Every value LabResult stores, in form order: the labs that suggest SLEDAI-2K descriptors,
#: then the B cells and immunoglobulins. Saving, showing and querying labs go through these.
STORED_LAB_FIELDS: tuple[str, ...] = (*LAB_FIELDS, *IMMUNE_LAB_FIELDS)
#: The stored lab values that are numbers (each can be queried and corrected).
LAB_VALUE_FIELDS: tuple[str, ...] = (*LAB_DECIMAL_FIELDS, *IMMUNE_LAB_FIELDS)


class LabResult(models.Model):
    """The lab values of a visit, with the local lab's limits; most suggest SLEDAI-2K items.

    The B cells and immunoglobulins (IMMUNE_LAB_FIELDS) suggest none: they follow B-cell aplasia
    after the infusion (safety.grading.b_cells).
    """

    class UpcrUnit(models.TextChoices):
        G_PER_G = "g/g", _("g/g")
        MG_PER_MMOL = "mg/mmol", _("mg/mmol")

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="labs"
    )
    platelets = lab_field(_("platelets"), _("x10^9/L"))
    wbc = lab_field(_("white cells"), _("x10^9/L"))
    max_temperature_c = lab_field(_("maximum temperature"), _("°C"))
    urine_rbc_per_hpf = lab_field(_("urine red cells"), _("per high-power field"))
    urine_wbc_per_hpf = lab_field(_("urine white cells"), _("per high-power field"))
    urinary_casts = models.BooleanField(_("heme-granular or red-cell casts"), null=True, blank=True)
    protein_24h_g = lab_field(_("24-hour urine protein"), _("g/24 h"))
    upcr = lab_field(_("urine protein:creatinine ratio"), _("in the unit chosen"))
    upcr_unit = models.CharField(
        _("UPCR unit"), max_length=10, choices=UpcrUnit.choices, blank=True
    )
    c3 = lab_field(_("C3"), _("lab units"))
    c3_lower_limit = lab_field(_("C3 lower limit of normal"), _("lab units"))
    c4 = lab_field(_("C4"), _("lab units"))
    c4_lower_limit = lab_field(_("C4 lower limit of normal"), _("lab units"))
    anti_dsdna = lab_field(_("anti-dsDNA"), _("lab units"))
    anti_dsdna_upper_limit = lab_field(_("anti-dsDNA upper limit of normal"), _("lab units"))
    cd19_per_ul = lab_field(_("CD19+ B cells"), _("cells/µL"))
    igg_g_l = lab_field(_("IgG"), _("g/L"))
    iga_g_l = lab_field(_("IgA"), _("g/L"))
    igm_g_l = lab_field(_("IgM"), _("g/L"))
    history = audit_history()

    class Meta:
        verbose_name = _("lab results")
        verbose_name_plural = _("lab results")
        constraints = [
            CheckConstraint(
                condition=Q(upcr_unit__in=["", "g/g", "mg/mmol"]),
                name="lab_upcr_unit_known",
                violation_error_message=_("The UPCR unit is g/g or mg/mmol."),
            ),
            CheckConstraint(
                condition=Q(upcr__isnull=True) | ~Q(upcr_unit=""),
                name="lab_upcr_has_unit",
                violation_error_message=_("Give the unit of the urine protein:creatinine ratio."),
            ),
            CheckConstraint(
                condition=Q(*(Q(**{f"{field}__gte": 0}) for field in LAB_DECIMAL_FIELDS)),
                name="lab_values_not_negative",
                violation_error_message=_("A lab value cannot be negative."),
            ),
            CheckConstraint(
                condition=Q(*(Q(**{f"{field}__gte": 0}) for field in IMMUNE_LAB_FIELDS)),
                name="lab_b_cells_and_immunoglobulins_not_negative",
                violation_error_message=_(
                    "A B-cell count or an immunoglobulin level cannot be negative."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Labs {self.visit}"


#: The records of a visit's data, each linked by its ``visit`` field, in the order the audit
#: trail and the version a form carries list them. Deleting a visit deletes these first
#: (trialsite.services.visit_delete); a new kind of visit record is added here.
VISIT_RECORD_MODELS: tuple[type[models.Model], ...] = (
    PgaAssessment,
    SledaiAssessment,
    BilagAssessment,
    LabResult,
    NotDoneAnswer,
)


class SignOffKind(models.TextChoices):
    """The steps that follow a complete entry, in their order (a step needs the one before)."""

    VERIFIED = "verified", _("source-verified")
    SIGNED = "signed", _("signed")
    LOCKED = "locked", _("locked")


#: The sign-offs under which a visit's or record's data cannot change.
FREEZING_STEPS = (SignOffKind.SIGNED, SignOffKind.LOCKED)

#: What an investigator's signature means; stored with each signature, shown translated.
SIGNATURE_MEANING = gettext_noop("I confirm these assessments are accurate.")


class SignOff(models.Model):
    """What every sign-off holds: a monitor's source verification, an investigator's signature
    or a data manager's lock, with who gave it (their name as it was then) and when. Unlocking
    voids it, with who voided it, when and why; it is deleted only with what it signs off
    (entered in error), and its audit history keeps every version. What it signs off has at
    most one of each kind in force."""

    kind = models.CharField(_("step"), max_length=20, choices=SignOffKind.choices)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    given_by_name = models.CharField(
        _("name"),
        max_length=300,
        validators=[validate_single_line_text],
        help_text=_("The full name of who gave it, as it was when they gave it."),
    )
    given_at = models.DateTimeField(_("at"))
    meaning = models.CharField(
        _("meaning"), max_length=200, blank=True, validators=[validate_single_line_text]
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    void_reason = models.TextField(
        _("reason voided"), blank=True, validators=[validate_multiline_text]
    )

    class Meta:
        abstract = True

    @property
    def in_force(self) -> bool:
        return self.voided_at is None


def sign_off_constraints(
    prefix: str, *, subject: list[str], already: StrOrPromise
) -> list[models.BaseConstraint]:
    """Return the rules every kind of sign-off keeps, named ``prefix_...``: one of each kind in
    force per ``subject`` (its fields), a known kind, a signature's meaning, a voiding's author
    and reason. ``already`` says that the subject already has the sign-off."""
    return [
        models.UniqueConstraint(
            fields=[*subject, "kind"],
            condition=Q(voided_at__isnull=True),
            name=f"{prefix}_one_in_force_per_kind",
            violation_error_message=already,
        ),
        CheckConstraint(
            condition=Q(kind__in=SignOffKind.values),
            name=f"{prefix}_kind_known",
            violation_error_message=_("Unknown sign-off."),
        ),
        CheckConstraint(
            condition=Q(kind=SignOffKind.SIGNED, meaning=SIGNATURE_MEANING)
            | (~Q(kind=SignOffKind.SIGNED) & Q(meaning="")),
            name=f"{prefix}_signature_has_its_meaning",
            violation_error_message=_("A signature, and only a signature, has a meaning."),
        ),
        CheckConstraint(
            condition=(
                Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False, voided_by__isnull=False) & ~Q(void_reason=""))
            ),
            name=f"{prefix}_voided_with_author_and_reason",
            violation_error_message=_("A voided sign-off names who voided it and why."),
        ),
    ]


class VisitSignOff(SignOff):
    """A sign-off of a visit; a source verification may name the answers it checked."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="sign_offs"
    )
    verified_fields = models.JSONField(
        _("fields verified"),
        default=list,
        blank=True,
        help_text=_("The answers ticked as checked against the source; empty for a whole visit."),
    )
    history = audit_history()

    class Meta:
        verbose_name = _("visit sign-off")
        verbose_name_plural = _("visit sign-offs")
        ordering = ["visit", "given_at"]
        constraints = sign_off_constraints(
            "visit_sign_off",
            subject=["visit"],
            already=_("This visit already has this sign-off."),
        )

    def __str__(self) -> str:
        return f"{self.visit} {self.get_kind_display()}"

    @property
    def verified_field_labels(self) -> list[StrOrPromise]:
        return [QUERY_FIELD_LABELS[name] for name in self.verified_fields]


class RecordSignOff(SignOff):
    """A sign-off of one of a participant's records beside the visits (trialsite.records: the
    CAR-T treatment record, a CRS or ICANS episode, an adverse event, a medication course), with
    the steps and rules of a visit's; its source verification is of the whole record."""

    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="+"
    )
    record_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.PROTECT, related_name="+"
    )
    record_id = models.PositiveBigIntegerField(_("record"))
    record = GenericForeignKey("record_type", "record_id")
    history = audit_history()

    class Meta:
        verbose_name = _("record sign-off")
        verbose_name_plural = _("record sign-offs")
        ordering = ["record_type", "record_id", "given_at"]
        constraints = sign_off_constraints(
            "record_sign_off",
            subject=["record_type", "record_id"],
            already=_("This record already has this sign-off."),
        )
        indexes = [models.Index(fields=["record_type", "record_id"])]

    def __str__(self) -> str:
        return f"{self.record_type.model} {self.record_id} {self.get_kind_display()}"


class VisitStatus(models.TextChoices):
    """Where a scheduled visit stands, as the record status dashboard colours it."""

    NOT_STARTED = "not_started", _("not started")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETE = "complete", _("complete")
    VERIFIED = "verified", _("source-verified")
    SIGNED = "signed", _("signed")
    LOCKED = "locked", _("locked")
    MISSED = "missed", _("missed")


def visit_status(*, entry_complete: bool, sign_offs_in_force: Collection[str]) -> VisitStatus:
    """Return the status of a recorded visit: its latest sign-off in force, else its entry's."""
    for kind in reversed(SignOffKind.values):
        if kind in sign_offs_in_force:
            return VisitStatus(kind)
    return VisitStatus.COMPLETE if entry_complete else VisitStatus.IN_PROGRESS


#: What a query can be about: the whole visit (""), its date, one of its answers or a lab value.
QUERY_FIELD_LABELS: dict[str, StrOrPromise] = {
    "": _("the whole visit"),
    "visit_date": _("visit date"),
    **ANSWER_LABELS,
    **{f.name: f.verbose_name for f in LabResult._meta.fields if f.name in LAB_VALUE_FIELDS},
}


def queried_record_kind(record_type_id: int | None) -> RecordKind | None:
    """Return the kind of record of a query's record type (None: the query is on a visit)."""
    if record_type_id is None:
        return None
    model = ContentType.objects.get_for_id(record_type_id).model_class()
    assert model is not None, "a query's record type is always a registered model"
    return kind_of(model)


def query_about(field: str, record_type_id: int | None) -> StrOrPromise:
    """Name what a query is about, from its field and record type (of a query or one of its
    audit versions): a field, or the whole visit or record."""
    kind = queried_record_kind(record_type_id)
    if kind is None:
        return QUERY_FIELD_LABELS.get(field, field)
    return kind.field_label(field)


class QueryStatus(models.TextChoices):
    OPEN = "open", _("open: awaiting the site")
    ANSWERED = "answered", _("answered: awaiting review")
    CLOSED = "closed", _("closed")


class DataQuery(models.Model):
    """A question a monitor or data manager raises on a visit or one of its fields, or on one of
    the participant's other records (trialsite.records: an episode, an adverse event, ...) or
    one of its fields. The site answers it; whoever raised it closes it or re-opens it. The
    conversation is its messages."""

    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="queries",
        null=True,
        blank=True,
    )
    record_type = models.ForeignKey(
        ContentType,
        verbose_name=_("record type"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    record_id = models.PositiveBigIntegerField(_("record"), null=True, blank=True)
    #: The record queried when the query is not on a visit.
    record = GenericForeignKey("record_type", "record_id")
    #: A visit's field as QUERY_FIELD_LABELS names it, or a field of the record; "" for all.
    field = models.CharField(
        _("about"), max_length=40, blank=True, validators=[validate_single_line_text]
    )
    status = models.CharField(
        _("status"), max_length=20, choices=QueryStatus.choices, default=QueryStatus.OPEN
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised at"))
    history = audit_history()

    class Meta:
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        ordering = ["raised_at", "pk"]
        permissions = [
            ("raise_query", "Can raise, close and re-open queries"),
            ("answer_query", "Can answer queries"),
        ]
        constraints = [
            CheckConstraint(
                condition=Q(status__in=QueryStatus.values),
                name="data_query_status_known",
                violation_error_message=_("Unknown query status."),
            ),
            CheckConstraint(
                condition=Q(visit__isnull=True) | Q(field__in=list(QUERY_FIELD_LABELS)),
                name="data_query_field_known",
                violation_error_message=_("Unknown field."),
            ),
            CheckConstraint(
                condition=(
                    Q(visit__isnull=False, record_type__isnull=True, record_id__isnull=True)
                    | Q(visit__isnull=True, record_type__isnull=False, record_id__isnull=False)
                ),
                name="data_query_on_a_visit_or_a_record",
                violation_error_message=_("A query is on a visit or on a record."),
            ),
        ]
        indexes = [models.Index(fields=["record_type", "record_id"])]

    def __str__(self) -> str:
        return f"{self.visit or self.participant} Q{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("query_detail", args=[self.pk])

    @property
    def record_kind(self) -> RecordKind | None:
        """The kind of record queried (None for a query on a visit)."""
        return queried_record_kind(self.record_type_id)

    @property
    def about(self) -> StrOrPromise:
        """Name what the query is about: a field, or the whole visit or record."""
        return query_about(self.field, self.record_type_id)

    @property
    def subject(self) -> StrOrPromise:
        """Name the visit or record queried, as the lists show it beside the participant."""
        kind = self.record_kind
        if kind is None:
            return self.visit.visit_definition.code if self.visit else ""
        record = self.record
        return kind.describe(record) if record is not None else kind.label

    @property
    def subject_url(self) -> str:
        """The page of the visit or record queried."""
        kind = self.record_kind
        if kind is None:
            return reverse("visit_detail", args=[self.visit_id])
        record = self.record
        return (
            kind.url(record)
            if record is not None
            else reverse("participant_detail", args=[self.participant_id])
        )

    @property
    def is_open(self) -> bool:
        """Say whether the query still waits for someone (the site, or its raiser)."""
        return self.status != QueryStatus.CLOSED


#: The right to see queries and their messages, wherever a page or the audit trail shows them.
VIEW_QUERIES = view_permission(DataQuery)


class QueryAction(models.TextChoices):
    RAISED = "raised", _("raised")
    ANSWERED = "answered", _("answered")
    CLOSED = "closed", _("closed")
    REOPENED = "reopened", _("re-opened")


class QueryMessage(models.Model):
    """One step of a query's conversation: its question, an answer, its closing or re-opening."""

    query = models.ForeignKey(
        DataQuery, verbose_name=_("query"), on_delete=models.PROTECT, related_name="messages"
    )
    action = models.CharField(_("action"), max_length=20, choices=QueryAction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    written_at = models.DateTimeField(_("written at"))
    text = models.TextField(_("text"), validators=[validate_multiline_text])
    history = audit_history()

    class Meta:
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")
        ordering = ["written_at", "pk"]
        constraints = [
            CheckConstraint(
                condition=Q(action__in=QueryAction.values),
                name="query_message_action_known",
                violation_error_message=_("Unknown query action."),
            ),
            CheckConstraint(
                condition=~Q(text=""),
                name="query_message_has_text",
                violation_error_message=_("Write the message."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.query} {self.get_action_display()}"


# Who may do what is audited like the data: the users (active, staff, their roles) and the
# roles' permissions, each with the author and time of the change. The password hash and the
# last login time stay out of the history.
register(
    User,
    app="trialsite",
    excluded_fields=["password", "last_login"],
    m2m_fields=["groups"],
    history_change_reason_field=models.TextField(null=True),
)
register(
    Group,
    app="trialsite",
    m2m_fields=["permissions"],
    history_change_reason_field=models.TextField(null=True),
)
