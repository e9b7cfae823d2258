"""responses.csv: one row per follow-up visit with its stored scores and endpoint results."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from responses.models import Endpoint
from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.common import (
    out_of_window,
    result_relation,
    visits_as_of,
)
from trialsite.day_numbers import visit_study_day
from trialsite.models import (
    NotDoneAnswer,
    Participant,
    Study,
    VisitDefinition,
)


@dataclass(frozen=True, slots=True)
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


#: SRI-4's components, shown beside its outcome.
SRI4_COMPONENTS = (
    "outcome",
    "reason",
    "sledai_change",
    "pga_change",
    "new_bilag_a",
    "new_bilag_b",
    "treatment_failure",
)
#: The endpoints whose outcome alone a row shows, in the row's order.
OTHER_ENDPOINTS = (
    Endpoint.SRI5,
    Endpoint.SRI6,
    Endpoint.BICLA,
    Endpoint.LLDAS,
    Endpoint.DORIS,
)


def response_rows(
    *, study: Study, as_of: date, participants: QuerySet[Participant] | None = None
) -> list[ResponseRow]:
    """Return a row for each follow-up visit with any assessment, by participant then date.

    Only visits dated on or before the data cut ``as_of``, of participants enrolled by then,
    count. The follow-up visits are those with stored endpoint results (after the baseline
    visit). Two queries of plain values (a cohort has tens of thousands of visits): the visit
    schedule, and the visits with their scores, study day and the results of every endpoint,
    one row per visit.
    """
    definitions = VisitDefinition.objects.filter(study=study).in_bulk()
    visits = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        # The stored result of every endpoint, joined by its name (result_sri4, ...): SRI-4's
        # is required (every follow-up visit has one), the others may be missing.
        .annotate(result_sri4=result_relation(Endpoint.SRI4))
        .filter(result_sri4__isnull=False)
        .annotate(
            **{f"result_{endpoint}": result_relation(endpoint) for endpoint in OTHER_ENDPOINTS},
            day_of_study=visit_study_day(),
            pga_not_done=Exists(NotDoneAnswer.objects.filter(visit=OuterRef("pk"), answer="pga")),
        )
        .filter(_has_any_assessment())
        .order_by(
            "participant__participant_id", "visit_date", "visit_definition__order", "occurrence"
        )
        .values_list(
            "participant__participant_id",
            "participant__site__code",
            "visit_definition_id",
            "visit_definition__code",
            "visit_date",
            "day_of_study",
            "score__sledai_total",
            "pga__score",
            "pga_not_done",
            *(f"result_sri4__{column}" for column in SRI4_COMPONENTS),
            *(f"result_{endpoint}__outcome" for endpoint in OTHER_ENDPOINTS),
        )
    )
    return [
        ResponseRow(
            participant_id=participant_id,
            site=site,
            visit=code,
            visit_date=visit_date,
            study_day=study_day,
            sledai2k=sledai2k,
            sledai2k_change=sledai_change,
            pga=pga,
            pga_not_done=pga_not_done,
            pga_change=pga_change,
            new_bilag_a=new_a,
            new_bilag_b=new_b,
            treatment_failure=failure,
            sri4=outcome,
            sri5=_stored(sri5),
            sri6=_stored(sri6),
            sri4_reason=reason,
            bicla=_stored(bicla),
            lldas=_stored(lldas),
            doris=_stored(doris),
            in_window=not out_of_window(definitions[definition_pk], study_day),
        )
        for (
            participant_id,
            site,
            definition_pk,
            code,
            visit_date,
            study_day,
            sledai2k,
            pga,
            pga_not_done,
            outcome,
            reason,
            sledai_change,
            pga_change,
            new_a,
            new_b,
            failure,
            sri5,
            sri6,
            bicla,
            lldas,
            doris,
        ) in visits
    ]


def _stored(outcome: str | None) -> str:
    """Return a visit's stored outcome of an endpoint; empty when none is stored (results stored
    before the endpoint existed, until ``recompute_responses`` has run)."""
    return outcome if outcome is not None else ""
