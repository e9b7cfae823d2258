"""The analysis sets of an endpoint (clinical-rules.md section 4a): the observed table, the
not-evaluable participants, the infused (mITT) table, and who was enrolled but not infused."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint
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
from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.statistics import (
    rate_and_interval,
)
from responses.selectors.common import (
    ShowsRateAsPercent,
    check_endpoint,
    enrolled_as_of,
    out_of_window,
    result_relation,
    scheduled_follow_up_definitions,
    visits_as_of,
)
from trialsite.models import (
    Participant,
    Study,
    Visit,
    VisitDefinition,
)


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
    check_endpoint(endpoint)
    definitions = scheduled_follow_up_definitions(study)
    by_pk = {definition.pk: definition for definition in definitions}
    counts = {pk: dict.fromkeys(("reached", "evaluable", "responders", "out"), 0) for pk in by_pk}
    visits = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition__in=list(by_pk))
        .annotate(result=result_relation(endpoint))
        .values_list(
            "visit_definition_id", "visit_date", "participant__infusion_date", "result__outcome"
        )
    )
    for definition_pk, visit_date, infusion, outcome in visits:
        count = counts[definition_pk]
        if out_of_window(by_pk[definition_pk], visit_date, infusion):
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
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition=visit_definition)
        .annotate(result=result_relation(endpoint))
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
        if study.exclude_out_of_window_visits and out_of_window(
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
    check_endpoint(endpoint)
    threshold = SRI_ENDPOINT_THRESHOLDS[Endpoint(endpoint)]
    #: Each scheduled visit after baseline, with the last study day of its window.
    windows = {
        definition: definition.window_high
        for definition in scheduled_follow_up_definitions(study)
        if definition.window_high is not None
    }
    infused_people = enrolled_as_of(study=study, participants=participants, as_of=as_of).filter(
        infusion_date__lte=as_of
    )
    baseline_total: Subquery | Value = Value(None, output_field=IntegerField())
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
        assert infusion is not None  # the participants are the infused ones
        below = total is not None and total < threshold
        infused[pk] = MittParticipant(infusion, failure, withdrawal, below)
        if below:
            excluded.append(ExcludedParticipant(pk, participant_id, site, total))
    by_pk = {definition.pk: definition for definition in windows}
    recorded: dict[tuple[int, int], RecordedResult] = {}
    visits = (
        Visit.objects.filter(
            participant__in=infused_people,
            visit_definition__in=list(by_pk),
            visit_date__lte=as_of,
        )
        .annotate(result=result_relation(endpoint))
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
        if study.exclude_out_of_window_visits and out_of_window(
            by_pk[definition_pk], visit_date, person.infusion_date
        ):
            continue  # counts as not recorded
        recorded[(participant_pk, definition_pk)] = RecordedResult(outcome, failure)
    rows = []
    for definition, window_high in windows.items():
        counts = dict.fromkeys(MittCategory, 0)
        for pk, person in infused.items():
            category = mitt_category(
                participant=person,
                recorded=recorded.get((pk, definition.pk)),
                window_high=window_high,
                as_of=as_of,
            )
            counts[category] += 1
        rows.append(_mitt_row(definition, window_high, counts))
    return MittSummary(
        rows=tuple(rows), infused=len(infused), threshold=threshold, excluded=tuple(excluded)
    )


def _mitt_row(
    definition: VisitDefinition, window_high: int, counts: dict[MittCategory, int]
) -> MittRow:
    denominator = sum(counts[category] for category in MITT_DENOMINATOR)
    responders = counts[MittCategory.RESPONDER]
    rate, ci_low, ci_high = rate_and_interval(responders, denominator)
    return MittRow(
        visit=definition.code,
        visit_name=definition.name,
        window_high=window_high,
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
        enrolled_as_of(study=study, participants=participants, as_of=as_of)
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
