"""CAR-T safety records: CRS and ICANS episodes with their entries and computed ASTCT grades.

Models hold fields, constraints and labels only. Every write goes through safety.services, which
grades an episode with safety.grading on each save; every model keeps its audit history.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from safety.grading.crs import CRS_DEATH_GRADE, CrsDomain, Hypotension, Oxygen
from safety.grading.icans import (
    CAPD_MAX_SCORE,
    ICANS_DEATH_GRADE,
    Consciousness,
    EncephalopathyTool,
    IcansDomain,
    Motor,
    RaisedIntracranialPressure,
    Seizure,
)
from trialsite.models import Participant, audit_history
from trialsite.validators import validate_trial_date

#: The range of a plausible body temperature; anything outside is a typing error.
TEMPERATURE_MIN_C = Decimal("30.0")
TEMPERATURE_MAX_C = Decimal("45.0")


class HypotensionChoice(models.TextChoices):
    NONE = Hypotension.NONE.value, _("none")
    NO_VASOPRESSOR = Hypotension.NO_VASOPRESSOR.value, _("not needing vasopressors")
    ONE_VASOPRESSOR = (
        Hypotension.ONE_VASOPRESSOR.value,
        _("needing one vasopressor (with or without vasopressin)"),
    )
    MULTIPLE_VASOPRESSORS = (
        Hypotension.MULTIPLE_VASOPRESSORS.value,
        _("needing several vasopressors (vasopressin not counted)"),
    )


class OxygenChoice(models.TextChoices):
    NONE = Oxygen.NONE.value, _("none")
    LOW_FLOW = Oxygen.LOW_FLOW.value, _("low-flow nasal cannula (≤ 6 L/min) or blow-by")
    HIGH_FLOW = (
        Oxygen.HIGH_FLOW.value,
        _("high-flow nasal cannula (> 6 L/min), face mask, non-rebreather or Venturi mask"),
    )
    POSITIVE_PRESSURE = (
        Oxygen.POSITIVE_PRESSURE.value,
        _("positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)"),
    )


class ToolChoice(models.TextChoices):
    ICE = EncephalopathyTool.ICE.value, _("ICE score (0-10, over 12 years)")
    CAPD = EncephalopathyTool.CAPD.value, _("CAPD score (0-32, aged 12 or under)")


class ConsciousnessChoice(models.TextChoices):
    ALERT = Consciousness.ALERT.value, _("alert")
    AWAKENS_SPONTANEOUSLY = (
        Consciousness.AWAKENS_SPONTANEOUSLY.value,
        _("drowsy, awakens spontaneously"),
    )
    AWAKENS_TO_VOICE = Consciousness.AWAKENS_TO_VOICE.value, _("awakens to voice")
    AWAKENS_TO_TOUCH = Consciousness.AWAKENS_TO_TOUCH.value, _("awakens only to touch")
    UNAROUSABLE = (
        Consciousness.UNAROUSABLE.value,
        _("unarousable or needs vigorous or repeated touch; stupor or coma"),
    )


class SeizureChoice(models.TextChoices):
    NONE = Seizure.NONE.value, _("none")
    RESOLVED = (
        Seizure.RESOLVED.value,
        _("resolved rapidly, or non-convulsive on EEG and resolved with intervention"),
    )
    LIFE_THREATENING = (
        Seizure.LIFE_THREATENING.value,
        _("life-threatening (> 5 min) or repetitive without return to baseline"),
    )


class MotorChoice(models.TextChoices):
    NONE = Motor.NONE.value, _("none")
    DEEP_FOCAL_WEAKNESS = (
        Motor.DEEP_FOCAL_WEAKNESS.value,
        _("deep focal weakness (hemiparesis, paraparesis)"),
    )


class RaisedIcpChoice(models.TextChoices):
    NONE = RaisedIntracranialPressure.NONE.value, _("none")
    FOCAL_OEDEMA = RaisedIntracranialPressure.FOCAL_OEDEMA.value, _("focal oedema on imaging")
    DIFFUSE_OEDEMA = (
        RaisedIntracranialPressure.DIFFUSE_OEDEMA.value,
        _("diffuse oedema, posturing, cranial nerve VI palsy, papilloedema or Cushing's triad"),
    )


#: What each domain that can drive a grade is called on the pages.
CRS_DOMAIN_LABELS = {
    CrsDomain.FEVER: _("fever"),
    CrsDomain.HYPOTENSION: _("hypotension"),
    CrsDomain.OXYGEN: _("oxygen"),
    CrsDomain.DEATH: _("death from CRS"),
}
ICANS_DOMAIN_LABELS = {
    IcansDomain.ENCEPHALOPATHY: _("encephalopathy score"),
    IcansDomain.CONSCIOUSNESS: _("level of consciousness"),
    IcansDomain.SEIZURE: _("seizure"),
    IcansDomain.MOTOR: _("motor findings"),
    IcansDomain.RAISED_INTRACRANIAL_PRESSURE: _("raised intracranial pressure"),
    IcansDomain.DEATH: _("death from ICANS"),
}


class SafetyEpisode(models.Model):
    """What a CRS and an ICANS episode share: dates, the computed grade and its confirmation."""

    # Each kind declares its own participant field (with its own related name).
    participant: Participant
    participant_id: int
    onset_date = models.DateField(_("onset date"), validators=[validate_trial_date])
    resolution_date = models.DateField(
        _("resolution date"),
        null=True,
        blank=True,
        validators=[validate_trial_date],
        help_text=_("Leave empty while the episode is ongoing."),
    )
    #: Computed by safety.services from the entries on every save, never entered.
    grade = models.PositiveSmallIntegerField(_("ASTCT grade"), editable=False)
    #: The domains that drove the grade, comma-separated (safety.grading's domain names).
    grade_drivers = models.CharField(_("grade driven by"), max_length=200, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grade confirmed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(
        _("grade confirmed at"), null=True, blank=True, editable=False
    )

    class Meta:
        abstract = True

    @property
    def drivers(self) -> list[str]:
        return [name for name in self.grade_drivers.split(",") if name]

    @property
    def ongoing(self) -> bool:
        return self.resolution_date is None


def _episode_constraints(kind: str, death_grade: int) -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            fields=["participant", "onset_date"],
            name=f"{kind}_one_episode_per_onset_date",
            violation_error_message=_(
                "This participant already has an episode with this onset date."
            ),
        ),
        models.CheckConstraint(
            condition=Q(resolution_date__gte=models.F("onset_date")),
            name=f"{kind}_resolution_not_before_onset",
            violation_error_message=_("The resolution date cannot be before the onset date."),
        ),
        models.CheckConstraint(
            condition=Q(grade__gte=0, grade__lte=death_grade),
            name=f"{kind}_grade_0_to_5",
            violation_error_message=_("The grade is 0 to 5."),
        ),
        models.CheckConstraint(
            condition=Q(confirmed_by__isnull=True, confirmed_at__isnull=True)
            | Q(confirmed_by__isnull=False, confirmed_at__isnull=False),
            name=f"{kind}_confirmation_has_author_and_time",
        ),
    ]


class CrsEpisode(SafetyEpisode):
    """One episode of cytokine release syndrome, graded by ASTCT 2019 (clinical-rules.md 6)."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="crs_episodes",
    )
    max_temp_c = models.DecimalField(
        _("highest temperature (°C)"),
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(TEMPERATURE_MIN_C), MaxValueValidator(TEMPERATURE_MAX_C)],
        help_text=_("Fever is 38.0 °C or more."),
    )
    fever_masked = models.BooleanField(
        _("fever masked"),
        default=False,
        help_text=_(
            "An antipyretic or anti-cytokine therapy (such as tocilizumab or corticosteroids) was "
            "given before the fever could show."
        ),
    )
    hypotension = models.CharField(
        _("hypotension"), max_length=30, choices=HypotensionChoice.choices
    )
    oxygen = models.CharField(_("oxygen"), max_length=30, choices=OxygenChoice.choices)
    tocilizumab = models.BooleanField(_("tocilizumab given"), default=False)
    corticosteroids = models.BooleanField(_("corticosteroids given"), default=False)
    died_of_crs = models.BooleanField(_("died of CRS"), default=False)
    history = audit_history()

    class Meta:
        verbose_name = _("CRS episode")
        verbose_name_plural = _("CRS episodes")
        ordering = ["participant__participant_id", "onset_date"]
        permissions = [("confirm_safety_grade", _("Can confirm a CRS or ICANS grade"))]
        constraints = [
            *_episode_constraints("crs", CRS_DEATH_GRADE),
            models.CheckConstraint(
                condition=Q(hypotension__in=HypotensionChoice.values),
                name="crs_hypotension_known",
            ),
            models.CheckConstraint(
                condition=Q(oxygen__in=OxygenChoice.values), name="crs_oxygen_known"
            ),
            models.CheckConstraint(
                condition=Q(max_temp_c__gte=TEMPERATURE_MIN_C, max_temp_c__lte=TEMPERATURE_MAX_C),
                name="crs_temperature_plausible",
                violation_error_message=_("The highest temperature is 30.0 to 45.0 °C."),
            ),
        ]

    def __str__(self) -> str:
        return f"CRS {self.participant} {self.onset_date.isoformat()}"


class IcansEpisode(SafetyEpisode):
    """One episode of immune effector cell-associated neurotoxicity syndrome, graded by ASTCT
    2019 (clinical-rules.md section 6)."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="icans_episodes",
    )
    tool = models.CharField(
        _("encephalopathy tool"),
        max_length=4,
        choices=ToolChoice.choices,
        help_text=_(
            "ICE for participants over 12 years at onset, CAPD for children aged 12 or under."
        ),
    )
    tool_score = models.PositiveSmallIntegerField(
        _("encephalopathy score"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(CAPD_MAX_SCORE)],
        help_text=_("ICE 0-10 (10 is normal) or CAPD 0-32 (0 is normal)."),
    )
    unable_to_perform = models.BooleanField(
        _("unable to perform the assessment"),
        default=False,
        help_text=_("The child could not be assessed (for example unarousable): grade 4."),
    )
    consciousness = models.CharField(
        _("level of consciousness"), max_length=30, choices=ConsciousnessChoice.choices
    )
    seizure = models.CharField(_("seizure"), max_length=30, choices=SeizureChoice.choices)
    motor = models.CharField(_("motor findings"), max_length=30, choices=MotorChoice.choices)
    raised_icp = models.CharField(
        _("raised intracranial pressure"), max_length=30, choices=RaisedIcpChoice.choices
    )
    died_of_icans = models.BooleanField(_("died of ICANS"), default=False)
    history = audit_history()

    class Meta:
        verbose_name = _("ICANS episode")
        verbose_name_plural = _("ICANS episodes")
        ordering = ["participant__participant_id", "onset_date"]
        constraints = [
            *_episode_constraints("icans", ICANS_DEATH_GRADE),
            models.CheckConstraint(
                condition=Q(unable_to_perform=True, tool_score__isnull=True)
                | Q(unable_to_perform=False, tool_score__isnull=False),
                name="icans_score_or_unable",
                violation_error_message=_(
                    "Enter the encephalopathy score, or tick unable to perform (not both)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(tool__in=ToolChoice.values), name="icans_tool_known"
            ),
            models.CheckConstraint(
                condition=Q(consciousness__in=ConsciousnessChoice.values),
                name="icans_consciousness_known",
            ),
            models.CheckConstraint(
                condition=Q(seizure__in=SeizureChoice.values), name="icans_seizure_known"
            ),
            models.CheckConstraint(
                condition=Q(motor__in=MotorChoice.values), name="icans_motor_known"
            ),
            models.CheckConstraint(
                condition=Q(raised_icp__in=RaisedIcpChoice.values), name="icans_raised_icp_known"
            ),
        ]

    def __str__(self) -> str:
        return f"ICANS {self.participant} {self.onset_date.isoformat()}"
