"""The analysis sets of an endpoint (clinical-rules.md section 4a): the observed table, the
not-evaluable participants, the infused (mITT) table, and who was enrolled but not infused."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from django.db.models import (
    BooleanField,
    Count,
    Exists,
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
    MittExclusion,
    MittParticipant,
    NotEvaluableReason,
    NotInfusedCategory,
    RecordedResult,
    mitt_category,
    not_evaluable_reason,
    not_infused_category,
)
from responses.scoring.bicla import BICLA_IMPROVED_GRADES, NO_BILAG_A_OR_B_AT_BASELINE
from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEMS
from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.sri import BASELINE_BELOW_THRESHOLD
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
from trialsite.day_numbers import Days, visit_study_day
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
    queries: the visit schedule, and the visits counted in the database by visit, study day
    and stored outcome (the study day decides the window, by ``VisitDefinition.is_in_window``).
    """
    check_endpoint(endpoint)
    definitions = scheduled_follow_up_definitions(study)
    by_pk = {definition.pk: definition for definition in definitions}
    counts = {pk: dict.fromkeys(("reached", "evaluable", "responders", "out"), 0) for pk in by_pk}
    visit_counts = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition__in=list(by_pk))
        .annotate(result=result_relation(endpoint), day_of_study=visit_study_day())
        .order_by()
        .values_list("visit_definition_id", "day_of_study", "result__outcome")
        .annotate(visits=Count("pk"))
    )
    for definition_pk, study_day, outcome, visits in visit_counts:
        count = counts[definition_pk]
        if out_of_window(by_pk[definition_pk], study_day):
            count["out"] += visits
            if study.exclude_out_of_window_visits:
                continue
        # A scheduled visit takes place once per participant: a visit is a participant.
        count["reached"] += visits
        if outcome in (Outcome.RESPONDER, Outcome.NON_RESPONDER):
            count["evaluable"] += visits
        if outcome == Outcome.RESPONDER:
            count["responders"] += visits
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


def _study_day_if_excluding(study: Study) -> Days:
    """Return the visits' study day when the study leaves out-of-window visits out, its only use
    in a list of visits; NULL otherwise, which is quicker to read."""
    if study.exclude_out_of_window_visits:
        return visit_study_day()
    return Days(Value(None))


NO_RESULT_REASON = gettext_noop("visit not dated after the baseline visit, so not compared")


@dataclass(frozen=True, slots=True)
class ResultAt:
    """A participant who reached a visit, with the endpoint's stored outcome and reason there
    (outcome None: the visit has no stored result, being dated on or before the baseline)."""

    participant_pk: int
    participant_id: str
    site: str
    visit_date: date
    endpoint: str
    outcome: str | None
    reason_parts: tuple[tuple[str, dict], ...]


@dataclass(frozen=True, slots=True)
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


def results_at(
    *,
    study: Study,
    visit_definition: VisitDefinition,
    endpoint: str,
    as_of: date,
    participants: QuerySet[Participant] | None = None,
) -> list[ResultAt]:
    """List who reached a visit as of the cut, by participant ID, with the endpoint's stored
    outcome and reason: the cohort summary's reached at that visit. One query.

    A visit left out as out of window (the study's setting) is not listed.
    """
    visits = (
        visits_as_of(study=study, participants=participants, as_of=as_of)
        .filter(visit_definition=visit_definition)
        .annotate(result=result_relation(endpoint), day_of_study=_study_day_if_excluding(study))
        .order_by("participant__participant_id")
        .values_list(
            "participant_id",
            "participant__participant_id",
            "participant__site__code",
            "visit_date",
            "day_of_study",
            "result__outcome",
            "result__reason_parts",
        )
    )
    return [
        ResultAt(
            participant_pk=pk,
            participant_id=participant_id,
            site=site,
            visit_date=visit_date,
            endpoint=endpoint,
            outcome=outcome,
            reason_parts=tuple(
                (template, params) for template, params in (parts or [[NO_RESULT_REASON, {}]])
            ),
        )
        for pk, participant_id, site, visit_date, study_day, outcome, parts in visits
        if not (study.exclude_out_of_window_visits and out_of_window(visit_definition, study_day))
    ]


def not_evaluable_among(results: list[ResultAt]) -> list[NotEvaluable]:
    """Name who reached the visit of ``results`` without an evaluable result, with the reason.

    These are exactly the cohort summary's reached - evaluable at that visit: a stored result
    "not evaluable" (reason as stored, grouped by its first part), or no stored result at all
    (the visit is dated on or before the baseline visit).
    """
    named = []
    for result in results:
        if result.outcome not in (None, Outcome.NOT_EVALUABLE):
            continue
        first_template, first_params = (
            result.reason_parts[0] if result.outcome is not None else (None, {})
        )
        named.append(
            NotEvaluable(
                participant_pk=result.participant_pk,
                participant_id=result.participant_id,
                site=result.site,
                visit_date=result.visit_date,
                reason_parts=result.reason_parts,
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
    """An infused participant outside the endpoint's mITT set, and why: for SRI-X the stored O4
    reason ("baseline SLEDAI-2K 2 is below 4"), for BICLA "no BILAG A or B at baseline"."""

    participant_pk: int
    participant_id: str
    site: str
    reason_parts: tuple[tuple[str, dict], ...]


@dataclass(frozen=True)
class MittSummary:
    rows: tuple[MittRow, ...]
    infused: int
    #: What excludes a participant from this endpoint's set.
    exclusion: MittExclusion
    #: SRI-X's X (None for the other endpoints).
    threshold: int | None
    excluded: tuple[ExcludedParticipant, ...]


def mitt_exclusion(endpoint: str) -> MittExclusion:
    """Return what puts a participant outside an endpoint's mITT set (sections 4a and 5)."""
    if Endpoint(endpoint) in SRI_ENDPOINT_THRESHOLDS:
        return MittExclusion.BASELINE_SLEDAI_BELOW_THRESHOLD
    if endpoint == Endpoint.BICLA:
        return MittExclusion.NO_BILAG_A_OR_B_AT_BASELINE
    return MittExclusion.NOBODY


#: The grades BICLA has nothing to improve from: C, D and E (every grade but A and B).
NOT_A_OR_B = tuple(grade for grade in BILAG_GRADES if grade not in BICLA_IMPROVED_GRADES)
#: A complete BILAG-2004 with no system graded A or B: every system graded C, D or E (a grade
#: not given or not done is stored empty, so it matches none of them).
BILAG_COMPLETE_WITHOUT_A_OR_B = Q(
    *(Q(**{f"bilag__{system}__in": NOT_A_OR_B}) for system in BILAG_SYSTEMS)
)


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
    recorded as missed is not recorded. Excluded, by the endpoint's :func:`mitt_exclusion`, from
    the baseline visit dated on or before the cut, whatever else happened, even while the rest
    of the baseline entry is in progress: for SRI-X, a complete SLEDAI-2K (its stored total is
    known only when all 24 descriptors are answered) below X; for BICLA, a complete BILAG-2004
    (all nine systems graded) with no system graded A or B; for LLDAS and DORIS, nobody. Three
    queries: the schedule, the infused participants with their baseline, and their visits with
    the stored results.
    """
    check_endpoint(endpoint)
    exclusion = mitt_exclusion(endpoint)
    threshold = SRI_ENDPOINT_THRESHOLDS.get(Endpoint(endpoint))
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
    without_a_or_b: Exists | Value = Value(False, output_field=BooleanField())
    if study.baseline_visit is not None:
        baseline = Visit.objects.filter(
            participant=OuterRef("pk"),
            visit_definition=study.baseline_visit,
            visit_date__lte=as_of,
        )
        if exclusion == MittExclusion.BASELINE_SLEDAI_BELOW_THRESHOLD:
            baseline_total = Subquery(baseline.order_by().values("score__sledai_total")[:1])
        elif exclusion == MittExclusion.NO_BILAG_A_OR_B_AT_BASELINE:
            without_a_or_b = Exists(baseline.filter(BILAG_COMPLETE_WITHOUT_A_OR_B))
    infused: dict[int, MittParticipant] = {}
    excluded = []
    for pk, participant_id, site, infusion, failure, withdrawal, total, no_a_or_b in (
        infused_people.annotate(baseline_total=baseline_total, without_a_or_b=without_a_or_b)
        .order_by("participant_id")
        .values_list(
            "pk",
            "participant_id",
            "site__code",
            "infusion_date",
            "treatment_failure_date",
            "withdrawal_date",
            "baseline_total",
            "without_a_or_b",
        )
    ):
        assert infusion is not None  # the participants are the infused ones
        reason = _exclusion_reason(threshold=threshold, baseline_total=total, no_a_or_b=no_a_or_b)
        infused[pk] = MittParticipant(infusion, failure, withdrawal, excluded=reason is not None)
        if reason is not None:
            excluded.append(ExcludedParticipant(pk, participant_id, site, (reason,)))
    by_pk = {definition.pk: definition for definition in windows}
    #: Each visit's stored result, by visit then participant; the few distinct results are
    #: shared, not one object per visit.
    recorded: dict[int, dict[int, RecordedResult]] = {pk: {} for pk in by_pk}
    stored_result = cache(RecordedResult)
    visits = (
        Visit.objects.filter(
            participant__in=infused_people,
            visit_definition__in=list(by_pk),
            visit_date__lte=as_of,
        )
        .annotate(result=result_relation(endpoint), day_of_study=_study_day_if_excluding(study))
        .order_by()
        .values_list(
            "participant_id",
            "visit_definition_id",
            "day_of_study",
            "result__outcome",
            "result__treatment_failure",
        )
    )
    for participant_pk, definition_pk, study_day, outcome, failure in visits:
        if participant_pk not in infused:
            continue
        if study.exclude_out_of_window_visits and out_of_window(by_pk[definition_pk], study_day):
            continue  # counts as not recorded
        recorded[definition_pk][participant_pk] = stored_result(outcome, failure)
    rows = []
    for definition, window_high in windows.items():
        counts = dict.fromkeys(MittCategory, 0)
        recorded_here = recorded[definition.pk]
        for pk, person in infused.items():
            category = mitt_category(
                participant=person,
                recorded=recorded_here.get(pk),
                window_high=window_high,
                as_of=as_of,
            )
            counts[category] += 1
        rows.append(_mitt_row(definition, window_high, counts))
    return MittSummary(
        rows=tuple(rows),
        infused=len(infused),
        exclusion=exclusion,
        threshold=threshold,
        excluded=tuple(excluded),
    )


def _exclusion_reason(
    *, threshold: int | None, baseline_total: int | None, no_a_or_b: bool
) -> tuple[str, dict] | None:
    """Return why a participant is outside the endpoint's set, as a reason part (None: inside).

    ``threshold`` is SRI-X's X (None for the other endpoints); ``no_a_or_b`` is True only for
    BICLA, when the complete baseline BILAG-2004 has no system graded A or B.
    """
    if threshold is not None and baseline_total is not None and baseline_total < threshold:
        return BASELINE_BELOW_THRESHOLD, {"total": str(baseline_total), "threshold": str(threshold)}
    if no_a_or_b:
        return NO_BILAG_A_OR_B_AT_BASELINE, {}
    return None


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
