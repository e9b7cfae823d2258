"""The one recompute entry point for derived values: visit scores and endpoint results.

Every write path (web forms, admin, imports, the demo loader) calls
``participant_recompute_responses`` inside its own transaction after changing anything an outcome
depends on. A participant's results are rebuilt whole from the stored data, so a stored result
always equals a fresh computation (``recompute_responses --check`` verifies it).
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from responses import scoring
from responses.models import SRI_ENDPOINT_THRESHOLDS, EndpointResult, VisitScore
from trialsite.models import EntryStatus, Participant, Visit


def visit_assessment(visit: Visit) -> scoring.Assessment:
    """Return a visit's answers as the scoring module takes them (missing rows = not assessed)."""
    sledai = getattr(visit, "sledai", None)
    pga = getattr(visit, "pga", None)
    bilag = getattr(visit, "bilag", None)
    return scoring.Assessment(
        sledai=sledai.answers() if sledai is not None else {},
        pga=pga.score if pga is not None else None,
        bilag=bilag.grades() if bilag is not None else {},
        entry_complete=visit.entry_status == EntryStatus.COMPLETE,
    )


def _visits_with_assessments() -> QuerySet[Visit]:
    return Visit.objects.select_related(
        "participant__study", "visit_definition", "sledai", "pga", "bilag"
    ).order_by("participant_id", "visit_date", "visit_definition__order", "occurrence")


def follow_up_visits(
    *, participant: Participant, visits: list[Visit]
) -> tuple[Visit | None, list[Visit]]:
    """Return the baseline visit and the visits compared with it.

    With a baseline visit, the follow-up visits are those dated after it. Without one, they are
    the visits after the baseline in the schedule (they are then not evaluable). A study whose
    baseline visit is not set yet compares nothing.
    """
    baseline_definition = participant.study.baseline_visit
    if baseline_definition is None:
        return None, []
    baseline = next((v for v in visits if v.visit_definition_id == baseline_definition.pk), None)
    if baseline is not None:
        return baseline, [v for v in visits if v.visit_date > baseline.visit_date]
    return None, [v for v in visits if v.visit_definition.order > baseline_definition.order]


@dataclass(frozen=True)
class FreshResults:
    """A participant's scores and endpoint results as computed now, not yet saved."""

    scores: list[VisitScore]
    endpoint_results: list[EndpointResult]


def compute_participant(
    *, participant: Participant, visits: list[Visit], now: datetime
) -> FreshResults:
    """Compute the scores of every visit and the SRI results of every follow-up visit."""
    assessments = {visit.pk: visit_assessment(visit) for visit in visits}
    scores = [
        VisitScore(
            visit=visit,
            sledai_total=scoring.sledai_total(assessments[visit.pk].sledai),
            clinical_sledai_total=scoring.clinical_sledai_total(assessments[visit.pk].sledai),
            bilag_numeric=scoring.bilag_numeric_score(assessments[visit.pk].bilag),
            computed_at=now,
        )
        for visit in visits
    ]
    baseline, follow_ups = follow_up_visits(participant=participant, visits=visits)
    results = []
    for visit in follow_ups:
        failed = scoring.treatment_failed(
            visit_date=visit.visit_date,
            treatment_failure_date=participant.treatment_failure_date,
            withdrawal_date=participant.withdrawal_date,
        )
        for endpoint, threshold in SRI_ENDPOINT_THRESHOLDS.items():
            result = scoring.sri(
                threshold=threshold,
                baseline=assessments[baseline.pk] if baseline is not None else None,
                visit=assessments[visit.pk],
                treatment_failure=failed,
            )
            results.append(
                EndpointResult(
                    visit=visit,
                    endpoint=endpoint,
                    outcome=result.outcome.value,
                    reason=result.reason,
                    reason_parts=[[p.template, dict(p.params)] for p in result.reason_parts],
                    sledai_change=result.sledai_change,
                    new_bilag_a=result.new_bilag_a,
                    new_bilag_b=result.new_bilag_b,
                    pga_change=result.pga_change,
                    treatment_failure=result.treatment_failure,
                    computed_at=now,
                )
            )
    return FreshResults(scores=scores, endpoint_results=results)


@transaction.atomic
def participant_recompute_responses(*, participant: Participant) -> None:
    """Rebuild a participant's visit scores and endpoint results from the stored data."""
    participant = Participant.objects.select_related("study__baseline_visit").get(pk=participant.pk)
    visits = list(_visits_with_assessments().filter(participant=participant))
    fresh = compute_participant(participant=participant, visits=visits, now=timezone.now())
    VisitScore.objects.filter(visit__participant=participant).delete()
    EndpointResult.objects.filter(visit__participant=participant).delete()
    VisitScore.objects.bulk_create(fresh.scores)
    EndpointResult.objects.bulk_create(fresh.endpoint_results)


def _fresh_by_participant() -> Iterator[tuple[Participant, FreshResults]]:
    visits_by_participant: dict[int, list[Visit]] = defaultdict(list)
    for visit in _visits_with_assessments():
        visits_by_participant[visit.participant_id].append(visit)
    now = timezone.now()
    for participant in Participant.objects.select_related("study__baseline_visit"):
        yield (
            participant,
            compute_participant(
                participant=participant, visits=visits_by_participant[participant.pk], now=now
            ),
        )


@transaction.atomic
def recompute_all_responses() -> int:
    """Rebuild every participant's results; return how many results were written."""
    scores: list[VisitScore] = []
    results: list[EndpointResult] = []
    for _participant, fresh in _fresh_by_participant():
        scores.extend(fresh.scores)
        results.extend(fresh.endpoint_results)
    VisitScore.objects.all().delete()
    EndpointResult.objects.all().delete()
    VisitScore.objects.bulk_create(scores, batch_size=1000)
    EndpointResult.objects.bulk_create(results, batch_size=1000)
    return len(results)


SCORE_FIELDS = ("sledai_total", "clinical_sledai_total", "bilag_numeric")
RESULT_FIELDS = (
    "outcome",
    "reason",
    "reason_parts",
    "sledai_change",
    "new_bilag_a",
    "new_bilag_b",
    "pga_change",
    "treatment_failure",
)


def _comparable(row: VisitScore | EndpointResult, fields: tuple[str, ...]) -> tuple[object, ...]:
    values = []
    for field in fields:
        value = getattr(row, field)
        values.append(value.normalize() if isinstance(value, Decimal) else value)
    return tuple(values)


def stale_results() -> list[str]:
    """Describe every stored score or result that differs from a fresh computation."""
    stored_scores = {s.visit_id: _comparable(s, SCORE_FIELDS) for s in VisitScore.objects.all()}
    stored_results = {
        (r.visit_id, r.endpoint): _comparable(r, RESULT_FIELDS)
        for r in EndpointResult.objects.all()
    }
    problems = []
    for _participant, fresh in _fresh_by_participant():
        for score in fresh.scores:
            stored = stored_scores.pop(score.visit.pk, None)
            computed = _comparable(score, SCORE_FIELDS)
            if stored != computed:
                problems.append(f"{score.visit} scores: stored {stored}, fresh {computed}")
        for result in fresh.endpoint_results:
            stored = stored_results.pop((result.visit.pk, result.endpoint), None)
            computed = _comparable(result, RESULT_FIELDS)
            if stored != computed:
                problems.append(
                    f"{result.visit} {result.endpoint}: stored {stored}, fresh {computed}"
                )
    problems.extend(
        f"visit {visit_id}: score stored but not expected" for visit_id in stored_scores
    )
    problems.extend(
        f"visit {visit_id} {endpoint}: result stored but not expected"
        for visit_id, endpoint in stored_results
    )
    return problems
