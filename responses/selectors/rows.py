"""responses.csv: one row per follow-up visit with its stored scores and endpoint results."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from responses.models import Endpoint, EndpointResult
from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.common import (
    out_of_window,
    visits_as_of,
)
from trialsite.models import (
    NotDoneAnswer,
    Participant,
    Study,
    VisitDefinition,
)


@dataclass(frozen=True)
class ResponseRow:
    """One follow-up visit with an assessment, its stored scores and endpoint outcomes (SRI-4's
    components and reason), and whether it is dated inside its window."""

    participant_id: str
    site: str
    visit: str
    visit_date: date
    study_day: int | None
    sledai2k: int | None
    sledai2k_change: int | None
    pga: Decimal | None
    pga_not_done: bool
    pga_change: Decimal | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    treatment_failure: bool
    sri4: str
    sri5: str
    sri6: str
    sri4_reason: str
    bicla: str
    lldas: str
    doris: str
    #: False only when the visit is known to be outside its window (as the out_of_window count
    #: of cohort.csv): unscheduled visits, and visits before the infusion date is known, are in.
    in_window: bool


def _has_any_assessment() -> Q:
    """Match visits with any SLEDAI-2K answer, a PGA or any BILAG-2004 grade recorded, or an
    answer marked not done."""
    condition = Q(pga__score__isnull=False) | Q(
        Exists(NotDoneAnswer.objects.filter(visit=OuterRef("pk")))
    )
    for name in SLEDAI_FIELDS:
        condition |= Q(**{f"sledai__{name}__isnull": False})
    for system in BILAG_SYSTEMS:
        condition |= Q(**{f"bilag__{system}__in": BILAG_GRADES})
    return condition


def _outcome(by_endpoint: dict[str, list[Any]], endpoint: Endpoint) -> str:
    """Return a visit's stored outcome of an endpoint; empty when none is stored (results stored
    before the endpoint existed, until ``recompute_responses`` has run)."""
    stored = by_endpoint.get(endpoint)
    return stored[0] if stored is not None else ""


def response_rows(
    *, study: Study, as_of: date, participants: QuerySet[Participant] | None = None
) -> list[ResponseRow]:
    """Return a row for each follow-up visit with any assessment, by participant then date.

    Only visits dated on or before the data cut ``as_of``, of participants enrolled by then,
    count. The follow-up visits are those with stored endpoint results (after the baseline
    visit). Three queries of plain values (a cohort has tens of thousands of visits): the visit
    schedule, the visits with their scores, and their endpoint results.
    """
    definitions = VisitDefinition.objects.filter(study=study).in_bulk()
    visits = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(Exists(EndpointResult.objects.filter(visit=OuterRef("pk"))))
        .filter(_has_any_assessment())
    )
    results: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for visit_id, endpoint, *values in EndpointResult.objects.filter(
        visit__in=visits.values("pk")
    ).values_list(
        "visit_id",
        "endpoint",
        "outcome",
        "reason",
        "sledai_change",
        "pga_change",
        "new_bilag_a",
        "new_bilag_b",
        "treatment_failure",
    ):
        results[visit_id][endpoint] = values
    rows = []
    for (
        visit_id,
        participant_id,
        site,
        definition_pk,
        code,
        visit_date,
        infusion_date,
        sledai2k,
        pga,
        pga_not_done,
    ) in (
        visits.annotate(
            pga_not_done=Exists(NotDoneAnswer.objects.filter(visit=OuterRef("pk"), answer="pga"))
        )
        .order_by(
            "participant__participant_id", "visit_date", "visit_definition__order", "occurrence"
        )
        .values_list(
            "pk",
            "participant__participant_id",
            "participant__site__code",
            "visit_definition_id",
            "visit_definition__code",
            "visit_date",
            "participant__infusion_date",
            "score__sledai_total",
            "pga__score",
            "pga_not_done",
        )
    ):
        by_endpoint = results[visit_id]
        outcome, reason, sledai_change, pga_change, new_a, new_b, failure = by_endpoint[
            Endpoint.SRI4
        ]
        rows.append(
            ResponseRow(
                participant_id=participant_id,
                site=site,
                visit=code,
                visit_date=visit_date,
                study_day=(visit_date - infusion_date).days if infusion_date is not None else None,
                sledai2k=sledai2k,
                sledai2k_change=sledai_change,
                pga=pga,
                pga_not_done=pga_not_done,
                pga_change=pga_change,
                new_bilag_a=new_a,
                new_bilag_b=new_b,
                treatment_failure=failure,
                sri4=outcome,
                sri5=by_endpoint[Endpoint.SRI5][0],
                sri6=by_endpoint[Endpoint.SRI6][0],
                sri4_reason=reason,
                bicla=_outcome(by_endpoint, Endpoint.BICLA),
                lldas=_outcome(by_endpoint, Endpoint.LLDAS),
                doris=_outcome(by_endpoint, Endpoint.DORIS),
                in_window=not out_of_window(definitions[definition_pk], visit_date, infusion_date),
            )
        )
    return rows
