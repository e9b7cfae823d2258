"""Report queries: per-visit response rows and the cohort analysis sets of an endpoint.

Each selector runs a fixed number of queries whatever the cohort size and reads the stored
results (responses.models), never recomputing them. ``participants`` restricts a report to a
Participant queryset (a user's sites, report filters); it is used as a subquery. ``as_of`` is
the data cut (clinical-rules.md section 4a): only participants enrolled and visits dated on or
before it count.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from statistics import median

from django.db.models import (
    Exists,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.urls import reverse

from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint, EndpointResult, VisitScore
from responses.scoring import BILAG_GRADES, BILAG_SYSTEMS, SLEDAI_FIELDS, Outcome, gettext_noop
from responses.scoring.analysis import (
    MITT_DENOMINATOR,
    MittCategory,
    MittParticipant,
    NotEvaluableReason,
    NotInfusedCategory,
    RecordedResult,
    mitt_category,
    not_evaluable_reason,
    not_infused_category,
)
from responses.scoring.statistics import (
    PERCENT_QUANTUM,
    percents,
    rate_and_interval,
)
from trialsite.models import (
    NOT_DONE,
    EntryStatus,
    NotDoneAnswer,
    Participant,
    Study,
    Visit,
    VisitDefinition,
)


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
    pga_not_done: bool
    pga_change: Decimal | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    treatment_failure: bool
    sri4: str
    sri5: str
    sri6: str
    sri4_reason: str


class ShowsRateAsPercent:
    """Give a row its rate and exact 95% interval as percents with one decimal, each rounded
    once from the exact value (9 of 10: the upper limit 99.747% shows as 99.7%, where rounding
    the four-decimal proportion 0.9975 again would show 99.8%)."""

    def rate_counts(self) -> tuple[int, int]:
        """Return the responders and the denominator of the rate."""
        raise NotImplementedError

    @cached_property
    def _percents(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        successes, trials = self.rate_counts()
        if trials == 0:
            return None, None, None
        return percents(successes, trials, PERCENT_QUANTUM)

    @property
    def rate_percent(self) -> Decimal | None:
        return self._percents[0]

    @property
    def ci_low_percent(self) -> Decimal | None:
        return self._percents[1]

    @property
    def ci_high_percent(self) -> Decimal | None:
        return self._percents[2]


@dataclass(frozen=True)
class CohortRow(ShowsRateAsPercent):
    """One scheduled visit after baseline in the observed set: who reached it and responded.

    ``out_of_window`` counts the visits of this code dated outside their window; they are among
    ``reached`` unless the study excludes out-of-window visits (then they are not counted).
    """

    visit: str
    visit_name: str
    reached: int
    evaluable: int
    responders: int
    rate: Decimal | None
    ci_low: Decimal | None
    ci_high: Decimal | None
    out_of_window: int

    def rate_counts(self) -> tuple[int, int]:
        return self.responders, self.evaluable


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


def _visits_as_of(
    *, study: Study, participants: QuerySet[Participant] | None, as_of: date
) -> QuerySet[Visit]:
    """Return the study's visits dated on or before the cut, of participants enrolled by then."""
    visits = Visit.objects.filter(
        participant__study=study,
        participant__enrollment_date__lte=as_of,
        visit_date__lte=as_of,
    )
    if participants is not None:
        visits = visits.filter(participant__in=participants)
    return visits


def _enrolled_as_of(
    *, study: Study, participants: QuerySet[Participant] | None, as_of: date
) -> QuerySet[Participant]:
    """Return the study's participants enrolled on or before the cut."""
    people = participants if participants is not None else Participant.objects.all()
    return people.filter(study=study, enrollment_date__lte=as_of)


def response_rows(
    *, study: Study, as_of: date, participants: QuerySet[Participant] | None = None
) -> list[ResponseRow]:
    """Return a row for each follow-up visit with any assessment, by participant then date.

    Only visits dated on or before the data cut ``as_of``, of participants enrolled by then,
    count. The follow-up visits are those with stored endpoint results (after the baseline
    visit). Two queries of plain values (a cohort has tens of thousands of visits): the visits
    with their scores, and their endpoint results.
    """
    visits = (
        _visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(Exists(EndpointResult.objects.filter(visit=OuterRef("pk"))))
        .filter(_has_any_assessment())
    )
    results: dict[int, dict[str, tuple]] = defaultdict(dict)
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
            )
        )
    return rows


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in Endpoint.values:
        raise ValueError(f"Unknown endpoint {endpoint!r}; expected one of {Endpoint.values}")


def _out_of_window(definition: VisitDefinition, visit_date: date, infusion: date | None) -> bool:
    """Say whether a visit is dated outside its window (unknown before the infusion date is)."""
    study_day = (visit_date - infusion).days if infusion is not None else None
    return definition.is_in_window(study_day) is False


def cohort_summary(
    *,
    study: Study,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
) -> list[CohortRow]:
    """Count the observed set per scheduled visit after baseline, as of the data cut ``as_of``.

    Reached: participants enrolled on or before the cut with the visit dated on or before it;
    evaluable: of those, responders and non-responders by the stored result. A visit dated
    outside its window counts at its code, or is left out (not recorded) when the study
    excludes out-of-window visits; either way ``out_of_window`` counts it. A reached visit
    without a stored result (dated on or before the baseline visit) is not evaluable. Two
    queries: the visit schedule, and the visits with their results.
    """
    _check_endpoint(endpoint)
    definitions = scheduled_follow_up_definitions(study)
    by_pk = {definition.pk: definition for definition in definitions}
    counts = {pk: dict.fromkeys(("reached", "evaluable", "responders", "out"), 0) for pk in by_pk}
    visits = (
        _visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition__in=list(by_pk))
        .annotate(result=_result_relation(endpoint))
        .values_list(
            "visit_definition_id", "visit_date", "participant__infusion_date", "result__outcome"
        )
    )
    for definition_pk, visit_date, infusion, outcome in visits:
        count = counts[definition_pk]
        if _out_of_window(by_pk[definition_pk], visit_date, infusion):
            count["out"] += 1
            if study.exclude_out_of_window_visits:
                continue
        # A scheduled visit takes place once per participant: a visit is a participant.
        count["reached"] += 1
        if outcome in (Outcome.RESPONDER, Outcome.NON_RESPONDER):
            count["evaluable"] += 1
        if outcome == Outcome.RESPONDER:
            count["responders"] += 1
    rows = []
    for definition in definitions:
        count = counts[definition.pk]
        rate, ci_low, ci_high = rate_and_interval(count["responders"], count["evaluable"])
        rows.append(
            CohortRow(
                visit=definition.code,
                visit_name=definition.name,
                reached=count["reached"],
                evaluable=count["evaluable"],
                responders=count["responders"],
                rate=rate,
                ci_low=ci_low,
                ci_high=ci_high,
                out_of_window=count["out"],
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Cohort reports (issue 5): the study, not-evaluable names, the infused (mITT) set, the
# participants not infused, the response matrix, baseline characteristics and the data behind
# the plots. Each selector reads stored results for the participants given (a user's sites with
# the report filters applied), as of the data cut.
# --------------------------------------------------------------------------------------------


def current_study() -> Study:
    """Return the study the site runs, with its baseline and primary visits (one study today)."""
    return Study.objects.select_related("baseline_visit", "primary_visit").get()


def scheduled_follow_up_definitions(study: Study) -> list[VisitDefinition]:
    """Return the scheduled visits after the baseline in schedule order (the report's columns)."""
    definitions = VisitDefinition.objects.filter(study=study, repeatable=False)
    if study.baseline_visit is not None:
        definitions = definitions.filter(order__gt=study.baseline_visit.order)
    return list(definitions.order_by("order"))


def latest_computed_at(participants: QuerySet[Participant]) -> datetime | None:
    """Return when a stored score or result of these participants last changed (None if none)."""
    scores = VisitScore.objects.filter(visit__participant__in=participants)
    results = EndpointResult.objects.filter(visit__participant__in=participants)
    # One query: the latest of the two tables' times (each unordered inside the union).
    return (
        scores.order_by()
        .values_list("computed_at", flat=True)
        .union(results.order_by().values_list("computed_at", flat=True))
        .order_by("-computed_at")
        .first()
    )


#: Reason shown for a visit on or before the baseline visit, which has no stored result.
NO_RESULT_REASON = gettext_noop("visit not dated after the baseline visit, so not compared")


@dataclass(frozen=True)
class NotEvaluable:
    """A participant who reached a visit but is not evaluable there, with the stored reason."""

    participant_pk: int
    participant_id: str
    site: str
    visit_date: date
    reason_parts: tuple[tuple[str, dict], ...]
    #: The reason grouped for the report's sentence, and the values its label may name.
    category: NotEvaluableReason
    category_params: dict


def _result_relation(endpoint: str) -> FilteredRelation:
    return FilteredRelation("endpoint_results", condition=Q(endpoint_results__endpoint=endpoint))


def not_evaluable_at(
    *,
    study: Study,
    visit_definition: VisitDefinition,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
) -> list[NotEvaluable]:
    """Name who reached a visit without an evaluable result, with the reason. One query.

    These are exactly the cohort summary's reached - evaluable at that visit as of the cut: a
    stored result "not evaluable" (reason as stored), or no stored result at all (the visit is
    dated on or before the baseline visit). A visit left out as out of window is not named.
    """
    visits = (
        _visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition=visit_definition)
        .annotate(result=_result_relation(endpoint))
        .filter(Q(result__isnull=True) | Q(result__outcome=Outcome.NOT_EVALUABLE))
        .order_by("participant__participant_id")
        .values_list(
            "participant_id",
            "participant__participant_id",
            "participant__site__code",
            "visit_date",
            "participant__infusion_date",
            "result__reason_parts",
        )
    )
    named = []
    for pk, participant_id, site, visit_date, infusion, parts in visits:
        if study.exclude_out_of_window_visits and _out_of_window(
            visit_definition, visit_date, infusion
        ):
            continue
        first_template, first_params = parts[0] if parts else (None, {})
        named.append(
            NotEvaluable(
                participant_pk=pk,
                participant_id=participant_id,
                site=site,
                visit_date=visit_date,
                reason_parts=tuple(
                    (template, params) for template, params in (parts or [[NO_RESULT_REASON, {}]])
                ),
                category=not_evaluable_reason(first_template),
                category_params=first_params,
            )
        )
    return named


@dataclass(frozen=True)
class MittRow(ShowsRateAsPercent):
    """One scheduled visit after baseline in the infused (mITT) set: every category counted."""

    visit: str
    visit_name: str
    #: The last study day of the visit's window: not recorded by then (before the cut) is missing.
    window_high: int
    denominator: int
    responders: int
    non_responders: int
    treatment_failure: int
    incomplete: int
    missing: int
    excluded: int
    pending: int
    rate: Decimal | None
    ci_low: Decimal | None
    ci_high: Decimal | None

    def rate_counts(self) -> tuple[int, int]:
        return self.responders, self.denominator


@dataclass(frozen=True)
class ExcludedParticipant:
    """An infused participant outside the endpoint's mITT set: complete baseline below X."""

    participant_pk: int
    participant_id: str
    site: str
    baseline_sledai: int


@dataclass(frozen=True)
class MittSummary:
    rows: tuple[MittRow, ...]
    infused: int
    threshold: int
    excluded: tuple[ExcludedParticipant, ...]


def mitt_summary(
    *,
    study: Study,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
) -> MittSummary:
    """Count the infused (mITT) set per scheduled visit after baseline, as of the data cut.

    Every participant enrolled and infused on or before ``as_of`` is placed at every visit by
    :func:`responses.scoring.analysis.mitt_category`. A visit counts as recorded when it is dated
    on or before the cut (and is not left out as out of window by the study's setting); a visit
    recorded as missed is not recorded. Excluded: the baseline visit's SLEDAI-2K is complete (its
    stored total is known only when all 24 descriptors are answered) and below the endpoint's X,
    whatever else happened, even while the rest of the baseline entry is in progress. Three
    queries: the schedule, the infused participants with their baseline total, and their visits
    with the stored results.
    """
    _check_endpoint(endpoint)
    threshold = SRI_ENDPOINT_THRESHOLDS[Endpoint(endpoint)]
    definitions = [d for d in scheduled_follow_up_definitions(study) if d.window_high is not None]
    infused_people = _enrolled_as_of(study=study, participants=participants, as_of=as_of).filter(
        infusion_date__lte=as_of
    )
    baseline_total = Value(None, output_field=IntegerField())
    if study.baseline_visit is not None:
        baseline_total = Subquery(
            Visit.objects.filter(
                participant=OuterRef("pk"),
                visit_definition=study.baseline_visit,
                visit_date__lte=as_of,
            ).values("score__sledai_total")[:1]
        )
    infused: dict[int, MittParticipant] = {}
    excluded = []
    for pk, participant_id, site, infusion, failure, withdrawal, total in (
        infused_people.annotate(baseline_total=baseline_total)
        .order_by("participant_id")
        .values_list(
            "pk",
            "participant_id",
            "site__code",
            "infusion_date",
            "treatment_failure_date",
            "withdrawal_date",
            "baseline_total",
        )
    ):
        below = total is not None and total < threshold
        infused[pk] = MittParticipant(infusion, failure, withdrawal, below)
        if below:
            excluded.append(ExcludedParticipant(pk, participant_id, site, total))
    by_pk = {definition.pk: definition for definition in definitions}
    recorded: dict[tuple[int, int], RecordedResult] = {}
    visits = (
        Visit.objects.filter(
            participant__in=infused_people,
            visit_definition__in=list(by_pk),
            visit_date__lte=as_of,
        )
        .annotate(result=_result_relation(endpoint))
        .values_list(
            "participant_id",
            "visit_definition_id",
            "visit_date",
            "result__outcome",
            "result__treatment_failure",
        )
    )
    for participant_pk, definition_pk, visit_date, outcome, failure in visits:
        person = infused.get(participant_pk)
        if person is None:
            continue
        if study.exclude_out_of_window_visits and _out_of_window(
            by_pk[definition_pk], visit_date, person.infusion_date
        ):
            continue  # counts as not recorded
        recorded[(participant_pk, definition_pk)] = RecordedResult(outcome, failure)
    rows = []
    for definition in definitions:
        counts = dict.fromkeys(MittCategory, 0)
        for pk, person in infused.items():
            category = mitt_category(
                participant=person,
                recorded=recorded.get((pk, definition.pk)),
                window_high=definition.window_high,
                as_of=as_of,
            )
            counts[category] += 1
        rows.append(_mitt_row(definition, counts))
    return MittSummary(
        rows=tuple(rows), infused=len(infused), threshold=threshold, excluded=tuple(excluded)
    )


def _mitt_row(definition: VisitDefinition, counts: dict[MittCategory, int]) -> MittRow:
    denominator = sum(counts[category] for category in MITT_DENOMINATOR)
    responders = counts[MittCategory.RESPONDER]
    rate, ci_low, ci_high = rate_and_interval(responders, denominator)
    return MittRow(
        visit=definition.code,
        visit_name=definition.name,
        window_high=definition.window_high,
        denominator=denominator,
        responders=responders,
        non_responders=counts[MittCategory.NON_RESPONDER],
        treatment_failure=counts[MittCategory.TREATMENT_FAILURE],
        incomplete=counts[MittCategory.INCOMPLETE],
        missing=counts[MittCategory.MISSING],
        excluded=counts[MittCategory.EXCLUDED],
        pending=counts[MittCategory.PENDING],
        rate=rate,
        ci_low=ci_low,
        ci_high=ci_high,
    )


@dataclass(frozen=True)
class NotInfusedParticipant:
    """A participant enrolled on or before the cut and not infused by then, and why."""

    participant_pk: int
    participant_id: str
    site: str
    enrollment_date: date
    category: NotInfusedCategory
    note: str
    withdrawal_date: date | None


@dataclass(frozen=True)
class NotInfused:
    participants: tuple[NotInfusedParticipant, ...]
    #: (category, count) in the categories' order, only those with anyone in them.
    counts: tuple[tuple[NotInfusedCategory, int], ...]

    @property
    def count(self) -> int:
        return len(self.participants)


def not_infused(
    *, study: Study, as_of: date, participants: QuerySet[Participant] | None = None
) -> NotInfused:
    """List the participants enrolled on or before the cut but not infused by then (no infusion
    date, or one after the cut), with their reason
    (responses.scoring.analysis.not_infused_category). One query."""
    people = (
        _enrolled_as_of(study=study, participants=participants, as_of=as_of)
        .filter(Q(infusion_date__isnull=True) | Q(infusion_date__gt=as_of))
        .order_by("participant_id")
        .values_list(
            "pk",
            "participant_id",
            "site__code",
            "enrollment_date",
            "not_infused_reason",
            "not_infused_note",
            "withdrawal_date",
        )
    )
    listed = tuple(
        NotInfusedParticipant(
            participant_pk=pk,
            participant_id=participant_id,
            site=site,
            enrollment_date=enrolled,
            category=not_infused_category(reason=reason, withdrawal_date=withdrawn, as_of=as_of),
            note=note,
            withdrawal_date=withdrawn if withdrawn is not None and withdrawn <= as_of else None,
        )
        for pk, participant_id, site, enrolled, reason, note, withdrawn in people
    )
    counts = tuple(
        (category, count)
        for category in NotInfusedCategory
        if (count := sum(1 for person in listed if person.category == category)) > 0
    )
    return NotInfused(participants=listed, counts=counts)


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

    A cell holds the stored SLEDAI-2K total and the stored endpoint result of the visit; an empty
    cell is a visit not recorded on or before the cut. Unscheduled visits are not columns (they
    are in responses.csv).
    """
    definitions = scheduled_follow_up_definitions(study)
    if study.baseline_visit is not None:
        definitions = [study.baseline_visit, *definitions]
    column_of = {definition.pk: index for index, definition in enumerate(definitions)}
    everyone = list(
        _enrolled_as_of(study=study, participants=participants, as_of=as_of)
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
            result=_result_relation(endpoint),
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
            "result__treatment_failure",
            "result__reason_parts",
            "pga_not_done",
            "sledai_not_done",
        )
    )
    baseline_pk = study.baseline_visit.pk if study.baseline_visit is not None else None
    for participant_pk, definition_pk, visit_date, *values in visits:
        if participant_pk not in cells:
            continue
        infused = infusion[participant_pk]
        cells[participant_pk][column_of[definition_pk]] = MatrixCell(
            visit_date=visit_date,
            study_day=(visit_date - infused).days if infused is not None else None,
            sledai_total=values[0],
            sledai_not_done=values[10],
            pga=NOT_DONE if values[9] else values[1],
            outcome=values[2],
            sledai_change=values[3],
            new_bilag_a=values[4],
            new_bilag_b=values[5],
            pga_change=values[6],
            treatment_failure=values[7],
            reason_parts=tuple((template, params) for template, params in values[8] or []),
            follow_up_column=definition_pk != baseline_pk,
        )
    return ResponseMatrix(
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


@dataclass(frozen=True)
class Spread:
    """Median and range of the values known (``n`` of them); None when none is known."""

    n: int
    median: Decimal | None
    low: Decimal | None
    high: Decimal | None


def spread(values: list[Decimal]) -> Spread:
    """Return the median (exact, on Decimals) and the range of some values."""
    if not values:
        return Spread(0, None, None, None)
    return Spread(len(values), median(values), min(values), max(values))


@dataclass(frozen=True)
class BaselineGroup:
    """Baseline characteristics of one dose level (``dose`` None: no dose recorded) or all."""

    is_overall: bool
    dose_cells_per_kg: int | None
    n: int
    age: Spread
    female: int
    male: int
    dose_counts: tuple[tuple[int | None, int], ...]
    sledai: Spread
    pga: Spread
    bilag_a_systems: int
    bilag_b_systems: int
    baseline_missing: int


@dataclass(frozen=True)
class BaselineTable:
    doses: tuple[int | None, ...]
    groups: tuple[BaselineGroup, ...]


@dataclass(frozen=True)
class _BaselinePerson:
    age: int
    sex: str
    dose: int | None
    sledai: int | None
    pga: Decimal | None
    grades: tuple[str, ...]
    has_baseline: bool


def baseline_characteristics(
    *, study: Study, as_of: date, participants: QuerySet[Participant]
) -> BaselineTable:
    """Describe the participants at baseline, by dose level and overall. Two queries.

    The participants enrolled on or before the data cut ``as_of`` count, with their baseline
    visit dated on or before it; only a baseline whose entry is complete counts (as for the
    endpoints). Medians and ranges
    count the participants with a stored value (SLEDAI-2K total complete, PGA given); BILAG A
    and B are the numbers of systems graded A (or B) at baseline, summed over the group's
    participants.
    """
    enrolled = _enrolled_as_of(study=study, participants=participants, as_of=as_of)
    people = enrolled.values_list("pk", "age_at_enrollment", "sex", "dose_cells_per_kg")
    baseline: dict[int, tuple] = {}
    if study.baseline_visit is not None:
        fields = ["score__sledai_total", "pga__score", *(f"bilag__{s}" for s in BILAG_SYSTEMS)]
        for participant_pk, *values in Visit.objects.filter(
            participant__in=enrolled,
            visit_definition=study.baseline_visit,
            entry_status=EntryStatus.COMPLETE,
            visit_date__lte=as_of,
        ).values_list("participant_id", *fields):
            baseline[participant_pk] = tuple(values)
    persons = []
    for pk, age, sex, dose in people:
        sledai, pga, *grades = baseline.get(pk, (None, None, *[None] * len(BILAG_SYSTEMS)))
        persons.append(
            _BaselinePerson(
                age, sex, dose, sledai, pga, tuple(g or "" for g in grades), pk in baseline
            )
        )
    doses = tuple(sorted({p.dose for p in persons}, key=lambda d: (d is None, d or 0)))
    groups = [_baseline_group([p for p in persons if p.dose == d], doses, d) for d in doses]
    groups.append(_baseline_group(persons, doses, None, is_overall=True))
    return BaselineTable(doses=doses, groups=tuple(groups))


def _baseline_group(
    persons: list[_BaselinePerson],
    doses: tuple[int | None, ...],
    dose: int | None,
    *,
    is_overall: bool = False,
) -> BaselineGroup:
    return BaselineGroup(
        is_overall=is_overall,
        dose_cells_per_kg=dose,
        n=len(persons),
        age=spread([Decimal(p.age) for p in persons]),
        female=sum(1 for p in persons if p.sex == Participant.Sex.FEMALE),
        male=sum(1 for p in persons if p.sex == Participant.Sex.MALE),
        dose_counts=tuple((d, sum(1 for p in persons if p.dose == d)) for d in doses),
        sledai=spread([Decimal(p.sledai) for p in persons if p.sledai is not None]),
        pga=spread([p.pga for p in persons if p.pga is not None]),
        bilag_a_systems=sum(p.grades.count("A") for p in persons),
        bilag_b_systems=sum(p.grades.count("B") for p in persons),
        baseline_missing=sum(1 for p in persons if not p.has_baseline),
    )


@dataclass(frozen=True)
class Trajectory:
    """One participant's stored values over study day, in date order."""

    participant_id: str
    points: tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True)
class VisitMedian:
    visit: str
    target_day: int
    median: Decimal
    n: int


@dataclass(frozen=True)
class TrajectorySet:
    trajectories: tuple[Trajectory, ...]
    medians: tuple[VisitMedian, ...]


@dataclass(frozen=True)
class ScoreTrajectories:
    sledai: TrajectorySet
    pga: TrajectorySet


def score_trajectories(
    *, study: Study, as_of: date, participants: QuerySet[Participant]
) -> ScoreTrajectories:
    """Return SLEDAI-2K and PGA over study day per participant infused on or before the data cut
    ``as_of``, with the median at each scheduled visit (placed at its target study day); visits
    dated after the cut or still in progress are left out. One query."""
    infused = _enrolled_as_of(study=study, participants=participants, as_of=as_of).filter(
        infusion_date__lte=as_of
    )
    visits = (
        Visit.objects.filter(
            participant__in=infused,
            entry_status=EntryStatus.COMPLETE,
            visit_date__lte=as_of,
        )
        .order_by("participant__participant_id", "visit_date", "visit_definition__order")
        .values_list(
            "participant__participant_id",
            "participant__infusion_date",
            "visit_date",
            "visit_definition__code",
            "visit_definition__target_day",
            "visit_definition__order",
            "visit_definition__repeatable",
            "score__sledai_total",
            "pga__score",
        )
    )
    sledai_points: dict[str, list[tuple[int, Decimal]]] = {}
    pga_points: dict[str, list[tuple[int, Decimal]]] = {}
    sledai_by_visit: dict[tuple[int, str, int], list[Decimal]] = {}
    pga_by_visit: dict[tuple[int, str, int], list[Decimal]] = {}
    for pid, infused, visit_date, code, target, order, repeatable, sledai, pga in visits:
        day = (visit_date - infused).days
        key = (order, code, target)
        for value, points, by_visit in (
            (Decimal(sledai) if sledai is not None else None, sledai_points, sledai_by_visit),
            (pga, pga_points, pga_by_visit),
        ):
            if value is None:
                continue
            points.setdefault(pid, []).append((day, value))
            if not repeatable:
                by_visit.setdefault(key, []).append(value)
    return ScoreTrajectories(
        sledai=_trajectory_set(sledai_points, sledai_by_visit),
        pga=_trajectory_set(pga_points, pga_by_visit),
    )


def _trajectory_set(
    points: dict[str, list[tuple[int, Decimal]]],
    by_visit: dict[tuple[int, str, int], list[Decimal]],
) -> TrajectorySet:
    return TrajectorySet(
        trajectories=tuple(Trajectory(pid, tuple(values)) for pid, values in points.items()),
        medians=tuple(
            VisitMedian(code, target, median(values), len(values))
            for (_order, code, target), values in sorted(by_visit.items())
        ),
    )


@dataclass(frozen=True)
class BilagGrid:
    """BILAG-2004 grades at one visit: a row of nine grades per participant ("ND": not done;
    "": the visit not recorded or in progress)."""

    visit: str
    visit_name: str
    participant_ids: tuple[str, ...]
    grades: tuple[tuple[str, ...], ...]


def bilag_grids(
    *,
    study: Study,
    as_of: date,
    participants: QuerySet[Participant],
    visit_definition: VisitDefinition,
) -> tuple[BilagGrid, BilagGrid]:
    """Return the grades at baseline and at a chosen visit, for the same participants in the same
    order (those with either visit complete and dated on or before the data cut ``as_of``; a
    visit not recorded or still in progress is a row of ""). A complete entry has every answer
    given or marked not done, so its blank grades are ND. One query."""
    baseline = study.baseline_visit
    wanted = [d.pk for d in (baseline, visit_definition) if d is not None]
    rows = (
        _visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(
            visit_definition__in=wanted,
            entry_status=EntryStatus.COMPLETE,
        )
        .order_by("participant__participant_id")
        .values_list(
            "participant__participant_id",
            "visit_definition_id",
            *(f"bilag__{system}" for system in BILAG_SYSTEMS),
        )
    )
    by_visit: dict[int, dict[str, tuple[str, ...]]] = {pk: {} for pk in wanted}
    order: dict[str, None] = {}
    for participant_id, definition_pk, *grades in rows:
        order[participant_id] = None
        by_visit[definition_pk][participant_id] = tuple(g or NOT_DONE for g in grades)
    empty = ("",) * len(BILAG_SYSTEMS)

    def grid(definition: VisitDefinition | None) -> BilagGrid:
        found = by_visit.get(definition.pk, {}) if definition is not None else {}
        return BilagGrid(
            visit=definition.code if definition is not None else "",
            visit_name=definition.name if definition is not None else "",
            participant_ids=tuple(order),
            grades=tuple(found.get(pid, empty) for pid in order),
        )

    return grid(baseline), grid(visit_definition)
