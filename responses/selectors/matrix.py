"""The response matrix: participants x scheduled visits, each cell the stored total and result."""

from collections.abc import Iterable, Sequence
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
from trialsite.pagination import nulls_last


@dataclass(frozen=True, slots=True)
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
    infusion_date: date | None
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


#: Participants per page of the response matrix (the CSV download has them all).
MATRIX_PAGE_SIZE = 50

#: The matrix's sorts (trialsite.pagination.sort_order): each key's fields, ascending, ending
#: with the participant ID (unique in the study) so that pages never overlap.
MATRIX_SORTS: dict[str, tuple[str, ...]] = {
    "participant": ("participant_id",),
    "site": ("site__code", "participant_id"),
    "dose": ("dose_cells_per_kg", "participant_id"),
    "infusion": ("infusion_date", "participant_id"),
}
DEFAULT_MATRIX_SORT = "participant"

#: A row's participant, as matrix_participants reads it: pk, participant ID, site code, dose
#: (cells/kg) and infusion date.
MatrixPerson = tuple[int, str, str, int | None, date | None]


def matrix_participants(
    *,
    study: Study,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
    order_by: Sequence[str] = MATRIX_SORTS[DEFAULT_MATRIX_SORT],
) -> QuerySet[Participant, MatrixPerson]:
    """Return the matrix's participants, those enrolled on or before the data cut ``as_of``,
    in the order asked (``order_by``: MATRIX_SORTS fields, "-" for descending; empty doses and
    infusion dates last either way), as the values a row shows. Lazy: page it, then pass the
    page to response_matrix (one query for the count, one for the page)."""
    return (
        enrolled_as_of(study=study, participants=participants, as_of=as_of)
        .order_by(*nulls_last(order_by))
        .values_list("pk", "participant_id", "site__code", "dose_cells_per_kg", "infusion_date")
    )


def response_matrix(
    *,
    study: Study,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
    people: Iterable[MatrixPerson] | None = None,
) -> ResponseMatrix:
    """Return participants x scheduled visits (baseline, then the visits after it).

    The rows are ``people`` in their order (a page of :func:`matrix_participants`); without
    them, every participant of ``participants`` enrolled on or before the data cut ``as_of``,
    by participant ID. Two queries (the schedule, the visits of the rows), and one for the rows
    when they are not given.

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
    shown = list(
        people
        if people is not None
        else matrix_participants(study=study, as_of=as_of, participants=participants)
    )
    cells: dict[int, list[MatrixCell | None]] = {
        person[0]: [None] * len(definitions) for person in shown
    }
    infusion = {person[0]: person[4] for person in shown}
    visits = (
        Visit.objects.filter(
            participant__in=list(cells),
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
        .order_by()
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
            MatrixRow(pk, participant_id, site, dose, infused, tuple(cells[pk]))
            for pk, participant_id, site, dose, infused in shown
        ),
    )
