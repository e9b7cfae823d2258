"""CAR-T safety records: CRS and ICANS episodes with their entries and computed ASTCT grades,
and adverse events by CTCAE v5.0 term and grade.

Models hold fields, constraints and labels only. Every write goes through safety.services, which
grades an episode with safety.grading on each save; every model keeps its audit history.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from safety.ctcae import OTHER_SPECIFY_SUFFIX
from safety.grading.crs import CRS_DEATH_GRADE, CrsDomain, Hypotension, Oxygen
from safety.grading.icans import (
    CAPD_MAX_SCORE,
    ICANS_DEATH_GRADE,
    ICE_MAX_SCORE,
    Consciousness,
    EncephalopathyTool,
    IcansDomain,
    Motor,
    RaisedIntracranialPressure,
    Seizure,
)
from trialsite.constraints import CheckConstraint
from trialsite.models import Participant, audit_history
from trialsite.validators import validate_single_line_text, validate_trial_date

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
        CheckConstraint(
            condition=Q(resolution_date__gte=models.F("onset_date")),
            name=f"{kind}_resolution_not_before_onset",
            violation_error_message=_("The resolution date cannot be before the onset date."),
        ),
        CheckConstraint(
            condition=Q(grade__gte=0, grade__lte=death_grade),
            name=f"{kind}_grade_0_to_5",
            violation_error_message=_("The grade is 0 to 5."),
        ),
        CheckConstraint(
            condition=Q(confirmed_by__isnull=True, confirmed_at__isnull=True)
            | Q(confirmed_by__isnull=False, confirmed_at__isnull=False),
            name=f"{kind}_confirmation_has_author_and_time",
            violation_error_message=_("A confirmation records who confirmed the grade and when."),
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
        validators=[MinValueValidator(TEMPERATURE_MIN_C), MaxValueValidator(TEMPERATURE_MAX_C)],
        help_text=_(
            "Fever is 38.0 °C or more. Enter the highest measured even when it was masked."
        ),
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
            CheckConstraint(
                condition=Q(hypotension__in=HypotensionChoice.values),
                name="crs_hypotension_known",
                violation_error_message=_("Unknown hypotension level."),
            ),
            CheckConstraint(
                condition=Q(oxygen__in=OxygenChoice.values),
                name="crs_oxygen_known",
                violation_error_message=_("Unknown oxygen level."),
            ),
            CheckConstraint(
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
            CheckConstraint(
                condition=Q(unable_to_perform=True, tool_score__isnull=True)
                | Q(unable_to_perform=False, tool_score__isnull=False),
                name="icans_score_or_unable",
                violation_error_message=_(
                    "Enter the encephalopathy score, or tick unable to perform (not both)."
                ),
            ),
            CheckConstraint(
                condition=Q(tool__in=ToolChoice.values),
                name="icans_tool_known",
                violation_error_message=_("The encephalopathy tool is ICE or CAPD."),
            ),
            CheckConstraint(
                condition=Q(tool_score__isnull=True)
                | Q(tool=ToolChoice.ICE, tool_score__lte=ICE_MAX_SCORE)
                | Q(tool=ToolChoice.CAPD, tool_score__lte=CAPD_MAX_SCORE),
                name="icans_score_in_the_tools_range",
                violation_error_message=_("The ICE score is 0 to 10 and the CAPD score 0 to 32."),
            ),
            CheckConstraint(
                condition=Q(consciousness__in=ConsciousnessChoice.values),
                name="icans_consciousness_known",
                violation_error_message=_("Unknown level of consciousness."),
            ),
            CheckConstraint(
                condition=Q(seizure__in=SeizureChoice.values),
                name="icans_seizure_known",
                violation_error_message=_("Unknown seizure level."),
            ),
            CheckConstraint(
                condition=Q(motor__in=MotorChoice.values),
                name="icans_motor_known",
                violation_error_message=_("Unknown motor finding."),
            ),
            CheckConstraint(
                condition=Q(raised_icp__in=RaisedIcpChoice.values),
                name="icans_raised_icp_known",
                violation_error_message=_("Unknown raised intracranial pressure finding."),
            ),
        ]

    def __str__(self) -> str:
        return f"ICANS {self.participant} {self.onset_date.isoformat()}"


# --------------------------------------------------------------------------------------------
# Adverse events (CTCAE v5.0)
# --------------------------------------------------------------------------------------------


class AeGrade(models.IntegerChoices):
    """CTCAE v5.0 grades (the general description of each)."""

    MILD = 1, _("1 (mild)")
    MODERATE = 2, _("2 (moderate)")
    SEVERE = 3, _("3 (severe or medically significant)")
    LIFE_THREATENING = 4, _("4 (life-threatening)")
    DEATH = 5, _("5 (death related to the adverse event)")


class Relatedness(models.TextChoices):
    """How likely the event is caused by a treatment (the CSV cells use these codes)."""

    NOT = "not", _("not related")
    UNLIKELY = "unlikely", _("unlikely related")
    POSSIBLE = "possible", _("possibly related")
    PROBABLE = "probable", _("probably related")
    DEFINITE = "definite", _("definitely related")


class AeAction(models.TextChoices):
    """What was done about the event. A single CAR-T infusion has no dose to change or stop, so
    the action is about the participant's care."""

    NONE = "none", _("none")
    TREATMENT_GIVEN = "treatment_given", _("treatment given")
    HOSPITALISATION = "hospitalisation", _("hospitalisation (initial or prolonged)")
    OTHER = "other", _("other")


class AeOutcome(models.TextChoices):
    """The event's outcome (CDISC's outcome terms)."""

    RECOVERED = "recovered", _("recovered/resolved")
    RECOVERING = "recovering", _("recovering/resolving")
    NOT_RECOVERED = "not_recovered", _("not recovered/not resolved")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("recovered/resolved with sequelae")
    FATAL = "fatal", _("fatal")
    UNKNOWN = "unknown", _("unknown")


#: The outcomes of an event that has ended (it has an end date) and of one still going on (it
#: has none); an unknown outcome may have either.
ENDED_OUTCOMES = (AeOutcome.RECOVERED, AeOutcome.RECOVERED_WITH_SEQUELAE, AeOutcome.FATAL)
ONGOING_OUTCOMES = (AeOutcome.RECOVERING, AeOutcome.NOT_RECOVERED)
#: The seriousness criteria (ICH E2A), in the order the form asks them.
SERIOUSNESS_CRITERIA: tuple[str, ...] = (
    "results_in_death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)
AE_DEATH_GRADE = AeGrade.DEATH.value
TERM_MAX_LENGTH = 100
SPECIFY_MAX_LENGTH = 200


class AdverseEvent(models.Model):
    """One adverse event of a participant, by CTCAE v5.0 term and worst grade, with its
    seriousness, relatedness, action and outcome (clinical-rules.md section 6).

    CRS and ICANS are not adverse events here: they are episodes graded by ASTCT 2019. A serious
    event awaits a monitor's or data manager's acknowledgement.
    """

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="adverse_events",
    )
    #: A term of safety.ctcae, checked by safety.checks (the list grows without a migration).
    term = models.CharField(_("CTCAE term"), max_length=TERM_MAX_LENGTH)
    term_specify = models.CharField(
        _("description"),
        max_length=SPECIFY_MAX_LENGTH,
        blank=True,
        validators=[validate_single_line_text],
        help_text=_('Required for an "Other, specify" term, and only for one.'),
    )
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"),
        choices=AeGrade.choices,
        help_text=_("The worst grade the event reached."),
    )
    start_date = models.DateField(_("start date"), validators=[validate_trial_date])
    end_date = models.DateField(
        _("end date"),
        null=True,
        blank=True,
        validators=[validate_trial_date],
        help_text=_("Leave empty while the event is ongoing."),
    )
    serious = models.BooleanField(_("serious"), default=False)
    results_in_death = models.BooleanField(_("results in death"), default=False)
    life_threatening = models.BooleanField(_("life-threatening"), default=False)
    hospitalisation = models.BooleanField(
        _("requires hospitalisation or prolongs it"), default=False
    )
    disability = models.BooleanField(
        _("results in persistent or significant disability or incapacity"), default=False
    )
    congenital_anomaly = models.BooleanField(_("congenital anomaly or birth defect"), default=False)
    important_medical_event = models.BooleanField(_("important medical event"), default=False)
    related_cart = models.CharField(
        _("related to CAR-T cells"), max_length=10, choices=Relatedness.choices
    )
    related_ld = models.CharField(
        _("related to lymphodepletion"), max_length=10, choices=Relatedness.choices
    )
    action = models.CharField(_("action taken"), max_length=20, choices=AeAction.choices)
    outcome = models.CharField(_("outcome"), max_length=30, choices=AeOutcome.choices)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(
        _("acknowledged at"), null=True, blank=True, editable=False
    )
    history = audit_history()

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["participant__participant_id", "start_date", "term"]
        permissions = [("acknowledge_sae", _("Can acknowledge a serious adverse event"))]
        indexes = [
            models.Index(
                fields=["serious", "acknowledged_at"], name="ae_serious_unacknowledged_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "term", "term_specify", "start_date"],
                name="ae_one_event_per_term_and_start_date",
                violation_error_message=_(
                    "This participant already has an adverse event with this term and start date."
                ),
            ),
            CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="ae_end_not_before_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
            CheckConstraint(
                condition=Q(grade__gte=AeGrade.MILD, grade__lte=AeGrade.DEATH),
                name="ae_grade_1_to_5",
                violation_error_message=_("The CTCAE grade is 1 to 5."),
            ),
            CheckConstraint(
                condition=Q(grade=AE_DEATH_GRADE, outcome=AeOutcome.FATAL)
                | (~Q(grade=AE_DEATH_GRADE) & ~Q(outcome=AeOutcome.FATAL)),
                name="ae_grade_5_if_and_only_if_fatal",
                violation_error_message=_(
                    "Grade 5 is death: a grade 5 event has the outcome fatal, and a fatal event "
                    "is grade 5."
                ),
            ),
            CheckConstraint(
                condition=~Q(grade=AE_DEATH_GRADE) | Q(serious=True),
                name="ae_fatal_is_serious",
                violation_error_message=_("An event that results in death is serious."),
            ),
            CheckConstraint(
                condition=Q(results_in_death=False) | Q(grade=AE_DEATH_GRADE),
                name="ae_death_criterion_only_at_grade_5",
                violation_error_message=_(
                    'The criterion "results in death" is for a grade 5 (fatal) event.'
                ),
            ),
            CheckConstraint(
                condition=Q(serious=True) | Q(**dict.fromkeys(SERIOUSNESS_CRITERIA, False)),
                name="ae_criteria_only_when_serious",
                violation_error_message=_("Seriousness criteria are for a serious event."),
            ),
            CheckConstraint(
                condition=~Q(action=AeAction.HOSPITALISATION) | Q(serious=True),
                name="ae_hospitalisation_is_serious",
                violation_error_message=_(
                    "An event that led to hospitalisation (initial or prolonged) is serious."
                ),
            ),
            CheckConstraint(
                condition=Q(term__endswith=OTHER_SPECIFY_SUFFIX) | Q(term_specify=""),
                name="ae_description_only_for_other_specify",
                violation_error_message=_(
                    'A description is given only with an "Other, specify" term.'
                ),
            ),
            CheckConstraint(
                condition=~Q(term__endswith=OTHER_SPECIFY_SUFFIX) | ~Q(term_specify=""),
                name="ae_other_specify_described",
                violation_error_message=_('An "Other, specify" term needs its description.'),
            ),
            CheckConstraint(
                condition=Q(outcome__in=[*ENDED_OUTCOMES, AeOutcome.UNKNOWN])
                | Q(end_date__isnull=True),
                name="ae_ongoing_outcome_has_no_end_date",
                violation_error_message=_(
                    "An event still recovering or not recovered is ongoing: leave the end date "
                    "empty, or give the outcome it ended with."
                ),
            ),
            CheckConstraint(
                condition=Q(outcome__in=[*ONGOING_OUTCOMES, AeOutcome.UNKNOWN])
                | Q(end_date__isnull=False),
                name="ae_ended_outcome_has_end_date",
                violation_error_message=_(
                    "An event that recovered or was fatal has ended: give its end date."
                ),
            ),
            CheckConstraint(
                condition=Q(acknowledged_by__isnull=True, acknowledged_at__isnull=True)
                | Q(acknowledged_by__isnull=False, acknowledged_at__isnull=False),
                name="ae_acknowledgement_has_author_and_time",
                violation_error_message=_("An acknowledgement records who gave it and when."),
            ),
            CheckConstraint(
                condition=Q(serious=True) | Q(acknowledged_at__isnull=True),
                name="ae_only_serious_events_acknowledged",
                violation_error_message=_("Only a serious adverse event is acknowledged."),
            ),
            CheckConstraint(
                condition=Q(related_cart__in=Relatedness.values),
                name="ae_related_cart_known",
                violation_error_message=_("Unknown relatedness to CAR-T."),
            ),
            CheckConstraint(
                condition=Q(related_ld__in=Relatedness.values),
                name="ae_related_ld_known",
                violation_error_message=_("Unknown relatedness to lymphodepletion."),
            ),
            CheckConstraint(
                condition=Q(action__in=AeAction.values),
                name="ae_action_known",
                violation_error_message=_("Unknown action taken."),
            ),
            CheckConstraint(
                condition=Q(outcome__in=AeOutcome.values),
                name="ae_outcome_known",
                violation_error_message=_("Unknown outcome."),
            ),
        ]

    def __str__(self) -> str:
        return f"AE {self.participant} {self.start_date.isoformat()} {self.term_label}"

    @property
    def term_label(self) -> str:
        """The term as pages show it: an "Other, specify" term by its description."""
        if self.term_specify:
            return f"{self.term}: {self.term_specify}"
        return self.term

    @property
    def ongoing(self) -> bool:
        return self.end_date is None

    @property
    def criteria(self) -> list[str]:
        """Name the seriousness criteria ticked, in the form's order."""
        return [name for name in SERIOUSNESS_CRITERIA if getattr(self, name)]

    @property
    def awaits_acknowledgement(self) -> bool:
        return self.serious and self.acknowledged_at is None


# --------------------------------------------------------------------------------------------
# CAR-T treatment (clinical-rules.md section 6)
# --------------------------------------------------------------------------------------------

#: Plausible entries; anything outside is a typing error (the checks hold the clinical rules).
LYMPHODEPLETION_DAYS_MIN = 1
LYMPHODEPLETION_DAYS_MAX = 5
BSA_MIN_M2 = Decimal("0.20")
BSA_MAX_M2 = Decimal("3.00")
WEIGHT_MIN_KG = Decimal("2.0")
WEIGHT_MAX_KG = Decimal("150.0")
FLUDARABINE_MAX_MG_M2 = Decimal("100.0")
CYCLOPHOSPHAMIDE_MAX_MG_M2 = Decimal("1000.0")


class TreatmentRecord(models.Model):
    """A participant's CAR-T treatment: leukapheresis, lymphodepletion, the body size used for
    dosing, the infusion time and the total CAR+ cells given.

    The infusion date (day 0) and the dose per kg stay on the participant (participants.csv);
    safety.checks.treatment_record_errors checks the entries against them.
    """

    participant = models.OneToOneField(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="treatment_record",
    )
    leukapheresis_date = models.DateField(_("leukapheresis date"), validators=[validate_trial_date])
    lymphodepletion_start_date = models.DateField(
        _("lymphodepletion start date"), validators=[validate_trial_date]
    )
    lymphodepletion_days = models.PositiveSmallIntegerField(
        _("lymphodepletion days"),
        validators=[
            MinValueValidator(LYMPHODEPLETION_DAYS_MIN),
            MaxValueValidator(LYMPHODEPLETION_DAYS_MAX),
        ],
        help_text=_("1 to 5 days; the protocol gives 3."),
    )
    fludarabine_mg_m2_per_day = models.DecimalField(
        _("fludarabine (mg/m² per day)"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(FLUDARABINE_MAX_MG_M2)],
        help_text=_("The protocol gives 30 mg/m² per day."),
    )
    cyclophosphamide_mg_m2_per_day = models.DecimalField(
        _("cyclophosphamide (mg/m² per day)"),
        max_digits=5,
        decimal_places=1,
        validators=[
            MinValueValidator(Decimal("0")),
            MaxValueValidator(CYCLOPHOSPHAMIDE_MAX_MG_M2),
        ],
        help_text=_("The protocol gives 300 mg/m² per day."),
    )
    dose_reduced = models.BooleanField(
        _("lymphodepletion dose reduced"),
        default=False,
        help_text=_("Tick when a dose differs from the protocol; give the reason."),
    )
    dose_reduction_reason = models.CharField(
        _("reason for the dose reduction"),
        max_length=500,
        blank=True,
        validators=[validate_single_line_text],
    )
    bsa_m2 = models.DecimalField(
        _("body surface area (m²)"),
        max_digits=3,
        decimal_places=2,
        validators=[MinValueValidator(BSA_MIN_M2), MaxValueValidator(BSA_MAX_M2)],
        help_text=_("Used for the lymphodepletion doses."),
    )
    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(WEIGHT_MIN_KG), MaxValueValidator(WEIGHT_MAX_KG)],
        help_text=_("Used for the CAR-T dose per kg."),
    )
    infusion_time = models.TimeField(
        _("infusion time"), help_text=_("The date is the participant's infusion date (day 0).")
    )
    total_car_cells = models.PositiveBigIntegerField(
        _("total CAR+ cells infused"),
        validators=[MinValueValidator(1)],
        # xgettext:no-python-format
        help_text=_("Within 10% of the dose per kg times the weight."),
    )
    history = audit_history()

    class Meta:
        verbose_name = _("CAR-T treatment record")
        verbose_name_plural = _("CAR-T treatment records")
        ordering = ["participant__participant_id"]
        constraints = [
            CheckConstraint(
                condition=Q(
                    lymphodepletion_days__gte=LYMPHODEPLETION_DAYS_MIN,
                    lymphodepletion_days__lte=LYMPHODEPLETION_DAYS_MAX,
                ),
                name="treatment_lymphodepletion_1_to_5_days",
                violation_error_message=_("Lymphodepletion lasts 1 to 5 days."),
            ),
            CheckConstraint(
                condition=Q(
                    fludarabine_mg_m2_per_day__gte=0,
                    fludarabine_mg_m2_per_day__lte=FLUDARABINE_MAX_MG_M2,
                ),
                name="treatment_fludarabine_plausible",
                violation_error_message=_("Fludarabine is 0 to 100 mg/m² per day."),
            ),
            CheckConstraint(
                condition=Q(
                    cyclophosphamide_mg_m2_per_day__gte=0,
                    cyclophosphamide_mg_m2_per_day__lte=CYCLOPHOSPHAMIDE_MAX_MG_M2,
                ),
                name="treatment_cyclophosphamide_plausible",
                violation_error_message=_("Cyclophosphamide is 0 to 1000 mg/m² per day."),
            ),
            CheckConstraint(
                condition=Q(dose_reduced=True) & ~Q(dose_reduction_reason="")
                | Q(dose_reduced=False, dose_reduction_reason=""),
                name="treatment_reduction_has_reason",
                violation_error_message=_("Give the reason of a dose reduction (only)."),
            ),
            CheckConstraint(
                condition=Q(bsa_m2__gte=BSA_MIN_M2, bsa_m2__lte=BSA_MAX_M2),
                name="treatment_bsa_plausible",
                violation_error_message=_("The body surface area is 0.20 to 3.00 m²."),
            ),
            CheckConstraint(
                condition=Q(weight_kg__gte=WEIGHT_MIN_KG, weight_kg__lte=WEIGHT_MAX_KG),
                name="treatment_weight_plausible",
                violation_error_message=_("The weight is 2 to 150 kg."),
            ),
            CheckConstraint(
                condition=Q(total_car_cells__gt=0),
                name="treatment_total_cells_positive",
                violation_error_message=_("The total CAR+ cells is a positive number."),
            ),
        ]

    def __str__(self) -> str:
        return f"CAR-T treatment {self.participant}"
