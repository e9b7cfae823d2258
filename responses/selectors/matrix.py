"""The response matrix: participants x scheduled visits, each cell the stored total and result."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
)
from django.urls import reverse

from responses.models import STATE_ENDPOINTS
from responses.selectors.common import (
    check_endpoint,
    enrolled_as_of,
    result_relation,
    scheduled_follow_up_definitions,
)
from trialsite.models import (
    NOT_DONE,
    NotDoneAnswer,
    Participant,
    Study,
    Visit,
)


@dataclass(frozen=True)
class MatrixCell:
    """One participant's visit: its stored SLEDAI-2K total and endpoint result with components."""

    visit_date: date
    study_day: int | None
    sledai_total: int | None
    sledai_not_done: bool  # a descriptor not done: no total
    pga: Decimal | str | None  # ND when not done
    outcome: str | None
    sledai_change: int | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    pga_change: Decimal | None
    #: BICLA: systems graded A or B at baseline that did not improve.
    bilag_not_improved: int | None
    #: LLDAS and DORIS: the prednisolone-equivalent dose on the visit date, mg/day.
    prednisolone_mg: Decimal | None
    treatment_failure: bool | None
    reason_parts: tuple[tuple[str, dict], ...]
    #: A visit of a follow-up column without a result was dated on or before the baseline visit.
    follow_up_column: bool


@dataclass(frozen=True)
class MatrixRow:
    participant_pk: int
    participant_id: str
    site: str
    dose_cells_per_kg: int | None
    cells: tuple[MatrixCell | None, ...]

    @cached_property
    def url(self) -> str:
        return reverse("participant_detail", args=[self.participant_pk])


@dataclass(frozen=True)
class MatrixColumn:
    visit: str
    visit_name: str
    is_baseline: bool


@dataclass(frozen=True)
class ResponseMatrix:
    endpoint: str
    #: LLDAS and DORIS are states at the visit: their cells have no change from baseline.
    state_at_visit: bool
    columns: tuple[MatrixColumn, ...]
    rows: tuple[MatrixRow, ...]
    participant_count: int
    page: int
    page_count: int


#: Participants per page of the response matrix (the CSV download has them all).
MATRIX_PAGE_SIZE = 100


def response_matrix(
    *,
    study: Study,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant],
    page: int = 1,
    page_size: int = MATRIX_PAGE_SIZE,
) -> ResponseMatrix:
    """Return participants x scheduled visits (baseline, then the visits after it). Three queries.

    One page of ``page_size`` participants (by participant ID) enrolled on or before the data
    cut ``as_of`` is returned; a page number out of range is brought back into range.

    A cell holds the stored SLEDAI-2K total and the stored endpoint result of the visit with the
    components that endpoint stores (the others are None); an empty cell is a visit not
    recorded on or before the cut. Unscheduled visits are not columns (they are in
    responses.csv).
    """
    check_endpoint(endpoint)
    definitions = scheduled_follow_up_definitions(study)
    if study.baseline_visit is not None:
        definitions = [study.baseline_visit, *definitions]
    column_of = {definition.pk: index for index, definition in enumerate(definitions)}
    everyone = list(
        enrolled_as_of(study=study, participants=participants, as_of=as_of)
        .order_by("participant_id")
        .values_list("pk", "participant_id", "site__code", "dose_cells_per_kg", "infusion_date")
    )
    page_count = max(1, -(-len(everyone) // page_size))
    page = min(max(page, 1), page_count)
    people = everyone[(page - 1) * page_size : page * page_size]
    cells: dict[int, list[MatrixCell | None]] = {
        person[0]: [None] * len(definitions) for person in people
    }
    infusion = {person[0]: person[4] for person in people}
    visits = (
        Visit.objects.filter(
            participant__in=[person[0] for person in people],
            visit_definition__in=list(column_of),
            visit_date__lte=as_of,
        )
        .annotate(
            result=result_relation(endpoint),
            pga_not_done=Exists(NotDoneAnswer.objects.filter(visit=OuterRef("pk"), answer="pga")),
            sledai_not_done=Exists(
                NotDoneAnswer.objects.filter(visit=OuterRef("pk"), answer__startswith="sledai_")
            ),
        )
        .values_list(
            "participant_id",
            "visit_definition_id",
            "visit_date",
            "score__sledai_total",
            "pga__score",
            "result__outcome",
            "result__sledai_change",
            "result__new_bilag_a",
            "result__new_bilag_b",
            "result__pga_change",
            "result__bilag_not_improved",
            "result__prednisolone_mg",
            "result__treatment_failure",
            "result__reason_parts",
            "pga_not_done",
            "sledai_not_done",
        )
    )
    baseline_pk = study.baseline_visit.pk if study.baseline_visit is not None else None
    for (
        participant_pk,
        definition_pk,
        visit_date,
        sledai_total,
        pga,
        outcome,
        sledai_change,
        new_a,
        new_b,
        pga_change,
        not_improved,
        prednisolone,
        failure,
        reason_parts,
        pga_not_done,
        sledai_not_done,
    ) in visits:
        if participant_pk not in cells:
            continue
        infused = infusion[participant_pk]
        cells[participant_pk][column_of[definition_pk]] = MatrixCell(
            visit_date=visit_date,
            study_day=(visit_date - infused).days if infused is not None else None,
            sledai_total=sledai_total,
            sledai_not_done=sledai_not_done,
            pga=NOT_DONE if pga_not_done else pga,
            outcome=outcome,
            sledai_change=sledai_change,
            new_bilag_a=new_a,
            new_bilag_b=new_b,
            pga_change=pga_change,
            bilag_not_improved=not_improved,
            prednisolone_mg=prednisolone,
            treatment_failure=failure,
            reason_parts=tuple((template, params) for template, params in reason_parts or []),
            follow_up_column=definition_pk != baseline_pk,
        )
    return ResponseMatrix(
        endpoint=endpoint,
        state_at_visit=endpoint in STATE_ENDPOINTS,
        columns=tuple(
            MatrixColumn(d.code, d.name, is_baseline=d.pk == baseline_pk) for d in definitions
        ),
        rows=tuple(
            MatrixRow(pk, participant_id, site, dose, tuple(cells[pk]))
            for pk, participant_id, site, dose, _infused in people
        ),
        participant_count=len(everyone),
        page=page,
        page_count=page_count,
    )
