"""Stored results: per-visit scores and per-visit endpoint outcomes, written only by
responses.services.participant_recompute_responses, so each always equals a fresh computation."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from responses.scoring.bilag import BILAG_NUMERIC_MAX
from responses.scoring.common import Outcome
from responses.scoring.sledai import SLEDAI_MAX
from trialsite.constraints import CheckConstraint

OUTCOME_CHOICES = [(outcome.value, _(outcome.value)) for outcome in Outcome]


class Endpoint(models.TextChoices):
    SRI4 = "sri4", _("SRI-4")
    SRI5 = "sri5", _("SRI-5")
    SRI6 = "sri6", _("SRI-6")
    BICLA = "bicla", _("BICLA")
    LLDAS = "lldas", _("LLDAS")
    DORIS = "doris", _("DORIS remission")


#: The endpoints that are states at a visit (clinical-rules.md section 5), not comparisons with
#: baseline: their "responder" reads "yes, in that state".
STATE_ENDPOINTS = frozenset({Endpoint.LLDAS, Endpoint.DORIS})

#: SRI-X threshold of each SRI endpoint (clinical-rules.md section 4).
SRI_ENDPOINT_THRESHOLDS = {Endpoint.SRI4: 4, Endpoint.SRI5: 5, Endpoint.SRI6: 6}


class VisitScore(models.Model):
    """The totals of a visit's assessments (None while an assessment is incomplete)."""

    visit = models.OneToOneField(
        "trialsite.Visit", verbose_name=_("visit"), on_delete=models.CASCADE, related_name="score"
    )
    sledai_total = models.PositiveSmallIntegerField(_("SLEDAI-2K"), null=True)
    clinical_sledai_total = models.PositiveSmallIntegerField(_("clinical SLEDAI-2K"), null=True)
    bilag_numeric = models.PositiveSmallIntegerField(_("BILAG-2004 numeric score"), null=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("visit score")
        verbose_name_plural = _("visit scores")
        # The reports' "results computed at" reads the latest time first.
        indexes = [models.Index(fields=["computed_at"], name="visit_score_computed_at")]
        constraints = [
            CheckConstraint(
                condition=Q(sledai_total__lte=SLEDAI_MAX),
                name="visit_score_sledai_0_to_105",
                violation_error_message=_("SLEDAI-2K is 0 to 105."),
            ),
            CheckConstraint(
                condition=Q(bilag_numeric__lte=BILAG_NUMERIC_MAX),
                name="visit_score_bilag_0_to_108",
                violation_error_message=_("The numeric BILAG-2004 score is 0 to 108."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit}: SLEDAI-2K {self.sledai_total}"


class EndpointResult(models.Model):
    """One endpoint's outcome at one visit against baseline, with the components behind it."""

    visit = models.ForeignKey(
        "trialsite.Visit",
        verbose_name=_("visit"),
        on_delete=models.CASCADE,
        related_name="endpoint_results",
    )
    endpoint = models.CharField(_("endpoint"), max_length=10, choices=Endpoint.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=OUTCOME_CHOICES)
    reason = models.TextField(_("reason"))
    reason_parts = models.JSONField(
        _("reason parts"), help_text=_("[template, parameters] pairs, to translate the reason.")
    )
    sledai_change = models.SmallIntegerField(_("SLEDAI-2K change"), null=True)
    new_bilag_a = models.PositiveSmallIntegerField(_("new BILAG A"), null=True)
    new_bilag_b = models.PositiveSmallIntegerField(_("new BILAG B"), null=True)
    pga_change = models.DecimalField(_("PGA change"), max_digits=3, decimal_places=2, null=True)
    bilag_not_improved = models.PositiveSmallIntegerField(
        _("BILAG A or B not improved"),
        null=True,
        help_text=_("BICLA: systems graded A or B at baseline that did not improve."),
    )
    prednisolone_mg = models.DecimalField(
        _("prednisolone-equivalent dose (mg/day)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        help_text=_("LLDAS and DORIS: on the visit date, rounded half up to 0.01 mg."),
    )
    treatment_failure = models.BooleanField(_("treatment failure"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("endpoint result")
        verbose_name_plural = _("endpoint results")
        ordering = ["visit", "endpoint"]
        # The reports read one endpoint's results at a time, and the latest computed time. Most
        # read only each visit's outcome and treatment failure: with them in the index, PostgreSQL
        # answers from the index alone, not from the wide rows (the reason's text and parts).
        indexes = [
            models.Index(
                fields=["endpoint", "visit", "outcome", "treatment_failure"],
                name="endpoint_result_outcomes",
            ),
            models.Index(fields=["computed_at"], name="endpoint_result_computed_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "endpoint"],
                name="endpoint_result_unique_per_visit",
                violation_error_message=_("This visit already has a result for this endpoint."),
            ),
            CheckConstraint(
                condition=Q(endpoint__in=Endpoint.values),
                name="endpoint_result_known_endpoint",
                violation_error_message=_("Unknown endpoint."),
            ),
            CheckConstraint(
                condition=Q(outcome__in=[outcome.value for outcome in Outcome]),
                name="endpoint_result_known_outcome",
                violation_error_message=_("Unknown outcome."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit} {self.get_endpoint_display()}: {self.outcome}"
