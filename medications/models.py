"""Medication courses of a participant (clinical-rules.md section 6b): the drug, its daily dose,
route and dates, from which the site computes the prednisolone-equivalent dose and proposes a
treatment-failure date when a drug prohibited after infusion is given.

Models hold fields, constraints and labels only. Every write goes through medications.services,
which stores the drug's generic name as safety.grading.drugs spells it; every course keeps its
audit history.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from safety.grading.drugs import DrugClass
from safety.grading.steroids import Route
from trialsite.constraints import CheckConstraint
from trialsite.i18n import StrOrPromise
from trialsite.models import Participant, audit_history
from trialsite.validators import validate_single_line_text, validate_trial_date

#: The smallest daily dose a course can hold (three decimals: 0.001 mg); a dose is more than 0.
DOSE_DECIMAL_PLACES = 3
DOSE_MIN_MG = Decimal("0.001")
DOSE_MAX_DIGITS = 10


class RouteChoice(models.TextChoices):
    ORAL = Route.ORAL.value, _("oral")
    INTRAVENOUS = Route.INTRAVENOUS.value, _("intravenous")
    OTHER = Route.OTHER.value, _("other (topical, inhaled, intra-articular)")


#: What each class of drug is called on the pages.
DRUG_CLASS_LABELS: dict[DrugClass, StrOrPromise] = {
    DrugClass.GLUCOCORTICOID: _("glucocorticoid"),
    DrugClass.MAINTENANCE_IMMUNOSUPPRESSANT: _("maintenance immunosuppressant"),
    DrugClass.OTHER_IMMUNOSUPPRESSANT: _("other immunosuppressant"),
    DrugClass.BIOLOGIC: _("biologic"),
    DrugClass.CRS_ICANS_TREATMENT: _("CRS or ICANS treatment"),
    DrugClass.IMMUNOGLOBULIN_REPLACEMENT: _("immunoglobulin replacement"),
    DrugClass.OTHER: _("other"),
}


class MedicationCourse(models.Model):
    """One course of one drug at one daily dose: a change of dose is a new course."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="medication_courses",
    )
    drug = models.CharField(
        _("drug"),
        max_length=100,
        validators=[validate_single_line_text],
        help_text=_(
            "The generic name, e.g. prednisolone, mycophenolate, rituximab; brand names are not "
            "recognised."
        ),
    )
    daily_dose_mg = models.DecimalField(
        _("daily dose (mg)"),
        max_digits=DOSE_MAX_DIGITS,
        decimal_places=DOSE_DECIMAL_PLACES,
        validators=[MinValueValidator(DOSE_MIN_MG, message=_("The daily dose is more than 0 mg."))],
    )
    route = models.CharField(_("route"), max_length=10, choices=RouteChoice.choices)
    start_date = models.DateField(_("start date"), validators=[validate_trial_date])
    stop_date = models.DateField(
        _("stop date"),
        null=True,
        blank=True,
        validators=[validate_trial_date],
        help_text=_("The last day it was given; leave empty while the course is ongoing."),
    )
    #: Set when the coordinator dismissed the treatment-failure date this course proposed
    #: (medications.services); a change of the drug, route or dates proposes it again.
    failure_proposal_dismissed = models.BooleanField(
        _("treatment failure proposal dismissed"), default=False, editable=False
    )
    history = audit_history()

    class Meta:
        verbose_name = _("medication course")
        verbose_name_plural = _("medication courses")
        ordering = ["participant__participant_id", "start_date", "drug"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "drug", "start_date"],
                name="medication_one_course_per_drug_and_start",
                violation_error_message=_(
                    "This participant already has a course of this drug starting on this date."
                ),
            ),
            CheckConstraint(
                condition=~Q(drug=""),
                name="medication_drug_named",
                violation_error_message=_("Name the drug."),
            ),
            CheckConstraint(
                condition=Q(daily_dose_mg__gt=0),
                name="medication_dose_positive",
                violation_error_message=_("The daily dose is more than 0 mg."),
            ),
            CheckConstraint(
                condition=Q(stop_date__gte=models.F("start_date")),
                name="medication_stop_not_before_start",
                violation_error_message=_("The stop date cannot be before the start date."),
            ),
            CheckConstraint(
                condition=Q(route__in=RouteChoice.values),
                name="medication_route_known",
                violation_error_message=_("The route is oral, intravenous or other."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.drug} {self.start_date.isoformat()}"

    def get_absolute_url(self) -> str:
        return reverse("medication_course_edit", args=[self.pk])

    @property
    def ongoing(self) -> bool:
        return self.stop_date is None
