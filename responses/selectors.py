"""Report queries: per-visit response rows and the cohort summary of an endpoint.

Each selector runs a fixed number of queries whatever the cohort size and reads the stored
results (responses.models), never recomputing them. ``participants`` restricts a report to a
Participant queryset (a user's sites, report filters); it is used as a subquery.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from scipy.stats import binomtest

from responses.models import Endpoint, EndpointResult
from responses.scoring import BILAG_GRADES, BILAG_SYSTEMS, SLEDAI_FIELDS, Outcome
from trialsite.models import Participant, Study, Visit, VisitDefinition

#: Rates and confidence limits are reported with four decimals.
PROPORTION_QUANTUM = Decimal("0.0001")
CONFIDENCE_LEVEL = 0.95


@dataclass(frozen=True)
class ResponseRow:
    """One follow-up visit with an assessment, its stored scores and SRI-4/5/6 outcomes."""

    participant_id: str
    site: str
    visit: str
    visit_date: date
    study_day: int | None
    sledai2k: int | None
    sledai2k_change: int | None
    pga: Decimal | None
    pga_change: Decimal | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    treatment_failure: bool
    sri4: str
    sri5: str
    sri6: str
    sri4_reason: str


@dataclass(frozen=True)
class CohortRow:
    """One scheduled visit after baseline: how many reached it and how many responded."""

    visit: str
    visit_name: str
    reached: int
    evaluable: int
    responders: int
    rate: Decimal | None
    ci_low: Decimal | None
    ci_high: Decimal | None


def _has_any_assessment() -> Q:
    """Match visits with any SLEDAI-2K answer, a PGA or any BILAG-2004 grade recorded."""
    condition = Q(pga__score__isnull=False)
    for name in SLEDAI_FIELDS:
        condition |= Q(**{f"sledai__{name}__isnull": False})
    for system in BILAG_SYSTEMS:
        condition |= Q(**{f"bilag__{system}__in": BILAG_GRADES})
    return condition


def response_rows(
    *, study: Study, participants: QuerySet[Participant] | None = None
) -> list[ResponseRow]:
    """Return a row for each follow-up visit with any assessment, by participant then date.

    The follow-up visits are those with stored endpoint results (after the baseline visit).
    Two queries: the visits with their scores, and their endpoint results.
    """
    visits = (
        Visit.objects.filter(participant__study=study)
        .filter(Exists(EndpointResult.objects.filter(visit=OuterRef("pk"))))
        .filter(_has_any_assessment())
        .select_related("participant__site", "visit_definition", "score", "pga")
        .prefetch_related("endpoint_results")
        .order_by(
            "participant__participant_id", "visit_date", "visit_definition__order", "occurrence"
        )
    )
    if participants is not None:
        visits = visits.filter(participant__in=participants)
    return [_response_row(visit) for visit in visits]


def _response_row(visit: Visit) -> ResponseRow:
    results = {result.endpoint: result for result in visit.endpoint_results.all()}
    primary = results[Endpoint.SRI4]
    score = getattr(visit, "score", None)
    pga = getattr(visit, "pga", None)
    participant = visit.participant
    return ResponseRow(
        participant_id=participant.participant_id,
        site=participant.site.code,
        visit=visit.visit_definition.code,
        visit_date=visit.visit_date,
        study_day=participant.study_day(visit.visit_date),
        sledai2k=score.sledai_total if score is not None else None,
        sledai2k_change=primary.sledai_change,
        pga=pga.score if pga is not None else None,
        pga_change=primary.pga_change,
        new_bilag_a=primary.new_bilag_a,
        new_bilag_b=primary.new_bilag_b,
        treatment_failure=primary.treatment_failure,
        sri4=primary.outcome,
        sri5=results[Endpoint.SRI5].outcome,
        sri6=results[Endpoint.SRI6].outcome,
        sri4_reason=primary.reason,
    )


def clopper_pearson(successes: int, trials: int) -> tuple[Decimal, Decimal]:
    """Return the exact (Clopper-Pearson) 95% interval of a proportion, to four decimals."""
    interval = binomtest(successes, trials).proportion_ci(
        confidence_level=CONFIDENCE_LEVEL, method="exact"
    )
    return _four_decimals(interval.low), _four_decimals(interval.high)


def _four_decimals(value: float) -> Decimal:
    return Decimal(str(float(value))).quantize(PROPORTION_QUANTUM, rounding=ROUND_HALF_UP)


def cohort_summary(
    *, study: Study, endpoint: str, participants: QuerySet[Participant] | None = None
) -> list[CohortRow]:
    """Count, per scheduled visit after baseline, who reached it and who responded.

    One query: the study's non-repeatable visit definitions ordered after the baseline, each
    annotated with counts of distinct participants. A reached visit without a stored result
    (not a follow-up visit) counts as reached but not evaluable.
    """
    if endpoint not in Endpoint.values:
        raise ValueError(f"Unknown endpoint {endpoint!r}; expected one of {Endpoint.values}")
    reached = Q(visits__isnull=False)
    if participants is not None:
        reached &= Q(visits__participant__in=participants)
    result = Q(visits__endpoint_results__endpoint=endpoint)
    evaluable = result & Q(
        visits__endpoint_results__outcome__in=[Outcome.RESPONDER, Outcome.NON_RESPONDER]
    )
    responder = result & Q(visits__endpoint_results__outcome=Outcome.RESPONDER)
    definitions = VisitDefinition.objects.filter(study=study, repeatable=False)
    if study.baseline_visit is not None:
        definitions = definitions.filter(order__gt=study.baseline_visit.order)
    definitions = definitions.annotate(
        reached=Count("visits__participant", filter=reached, distinct=True),
        evaluable=Count("visits__participant", filter=reached & evaluable, distinct=True),
        responders=Count("visits__participant", filter=reached & responder, distinct=True),
    ).order_by("order")
    return [_cohort_row(definition) for definition in definitions]


def _cohort_row(definition: VisitDefinition) -> CohortRow:
    rate = ci_low = ci_high = None
    if definition.evaluable > 0:
        rate = (Decimal(definition.responders) / Decimal(definition.evaluable)).quantize(
            PROPORTION_QUANTUM, rounding=ROUND_HALF_UP
        )
        ci_low, ci_high = clopper_pearson(definition.responders, definition.evaluable)
    return CohortRow(
        visit=definition.code,
        visit_name=definition.name,
        reached=definition.reached,
        evaluable=definition.evaluable,
        responders=definition.responders,
        rate=rate,
        ci_low=ci_low,
        ci_high=ci_high,
    )
