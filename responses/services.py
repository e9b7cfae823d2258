"""The one recompute entry point for derived values: visit scores and endpoint results.

Every write path (web forms, admin, imports, the demo loader) calls
``participant_recompute_responses`` inside its own transaction after changing anything an outcome
depends on. A participant's results are computed whole from the stored data, under the
participant's lock, and the stored rows are brought in line in place, so a stored result always
equals a fresh computation (``recompute_responses --check`` verifies it), also when many users
save at once.

A writer of many rows at once (an import, the demo loader) wraps its work in
``recompute_once_per_participant()``: inside it each call only notes the participant, and every
participant noted is rescored once, in bulk, when the block ends, in the same transaction.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from medications.models import MedicationCourse
from medications.selectors import pure_course
from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint, EndpointResult, VisitScore
from responses.scoring.bicla import BiclaResult, bicla
from responses.scoring.bilag import bilag_numeric_score
from responses.scoring.doris import doris
from responses.scoring.lldas import PreviousVisit, lldas
from responses.scoring.sledai import clinical_sledai_total, sledai_total
from responses.scoring.sri import Assessment, SriResult, sri, treatment_failed
from responses.scoring.visit_state import DrugGiven, MedicationsAtVisit, StateResult
from safety.grading import drugs, steroids
from safety.grading.steroids import prednisolone_mg_for_display
from trialsite.locks import lock_participants
from trialsite.models import EntryStatus, Participant, Visit


def visit_assessment(visit: Visit) -> Assessment:
    """Return a visit's answers as the scoring module takes them: an answer not given (not
    entered, or marked not done) is None, missing for O5 and O6; so is every answer of a missing
    row."""
    sledai = getattr(visit, "sledai", None)
    pga = getattr(visit, "pga", None)
    bilag = getattr(visit, "bilag", None)
    return Assessment(
        sledai=sledai.answers() if sledai is not None else {},
        pga=pga.score if pga is not None else None,
        bilag=bilag.grades() if bilag is not None else {},
        entry_complete=visit.entry_status == EntryStatus.COMPLETE,
        sledai_lookback_days=sledai.lookback_days if sledai is not None else None,
    )


def _visits_with_assessments() -> QuerySet[Visit]:
    return Visit.objects.select_related(
        "participant__study", "visit_definition", "sledai", "pga", "bilag"
    ).order_by("participant_id", "visit_date", "visit_definition__order", "occurrence")


def follow_up_visits(
    *, participant: Participant, visits: list[Visit]
) -> tuple[Visit | None, list[Visit]]:
    """Return the baseline visit and the visits compared with it (clinical-rules.md section 4).

    The visits after the baseline in the schedule's order are compared (D0 onwards), and the
    unscheduled visits dated after the baseline visit. Without a baseline visit the scheduled
    ones are still listed (they are then not evaluable). A study whose baseline visit is not set
    yet compares nothing.
    """
    baseline_definition = participant.study.baseline_visit
    if baseline_definition is None:
        return None, []
    baseline = next((v for v in visits if v.visit_definition_id == baseline_definition.pk), None)
    follow_ups = []
    for visit in visits:
        if visit.visit_definition.repeatable:
            if baseline is not None and visit.visit_date > baseline.visit_date:
                follow_ups.append(visit)
        elif visit.visit_definition.order > baseline_definition.order:
            follow_ups.append(visit)
    return baseline, follow_ups


@dataclass(frozen=True)
class ResultChange:
    """A stored endpoint result whose outcome a recompute changed: ``before`` or ``after`` is
    None when the result was added or removed. Only outcomes count: a new reason or component
    with the same outcome (a SLEDAI-2K fall of 6 that is now 5, still a responder) is not a
    change a user must be told of; the visit page shows it."""

    visit_id: int
    #: The visit as its pages name it: the code, with the date of an unscheduled visit.
    visit_label: str
    endpoint: str
    before: str | None
    after: str | None

    @property
    def endpoint_label(self) -> str:
        """The endpoint's name, translated."""
        return str(Endpoint(self.endpoint).label)


def outcome_changes(
    *, stored: Iterable[EndpointResult], fresh: Iterable[EndpointResult]
) -> list[ResultChange]:
    """List the results whose outcome differs between the stored and the fresh rows, in the
    order of the fresh ones (the visits' order), then the removed ones. The rows' visits must
    be loaded with their definitions (no query is made here)."""
    stored_by_key = {_result_key(row): row for row in stored}
    changes = []
    for row in fresh:
        current = stored_by_key.pop(_result_key(row), None)
        before = current.outcome if current is not None else None
        if before != row.outcome:
            changes.append(
                ResultChange(row.visit_id, row.visit.label, row.endpoint, before, row.outcome)
            )
    changes.extend(
        ResultChange(row.visit_id, row.visit.label, row.endpoint, row.outcome, None)
        for row in stored_by_key.values()
    )
    return changes


@dataclass(frozen=True)
class FreshResults:
    """A participant's scores and endpoint results as computed now, not yet saved."""

    scores: list[VisitScore]
    endpoint_results: list[EndpointResult]


def medications_at_visit(
    courses: list[steroids.MedicationCourse], *, visit_date: date, infusion_date: date | None
) -> MedicationsAtVisit:
    """Return what LLDAS and DORIS read of the medications at a visit (section 5 and 6b)."""

    def given(found: list[tuple[str, date]]) -> tuple[DrugGiven, ...]:
        return tuple(DrugGiven(drug, day) for drug, day in found)

    return MedicationsAtVisit(
        prednisolone_mg=steroids.prednisolone_equivalent_on(courses, visit_date),
        new_immunosuppressants=given(drugs.new_immunosuppressants(courses, visit_date=visit_date)),
        biologics_after_infusion=given(
            drugs.biologics_after_infusion(
                courses, infusion_date=infusion_date, visit_date=visit_date
            )
        ),
        other_immunosuppressants=given(drugs.other_immunosuppressants_on(courses, visit_date)),
    )


def _previous_assessed(
    visits: list[Visit], index: int, assessments: dict[int, Assessment]
) -> Visit | None:
    """Return the previous assessed visit of ``visits[index]`` (LLDAS): the latest earlier visit
    with at least one SLEDAI-2K descriptor answered. A visit saved with labs or PGA only, or
    with every descriptor not done, was not assessed with SLEDAI-2K."""
    return next(
        (
            visit
            for visit in reversed(visits[:index])
            if any(answer is not None for answer in assessments[visit.pk].sledai.values())
        ),
        None,
    )


def _stored(
    *,
    visit: Visit,
    endpoint: Endpoint,
    result: SriResult | BiclaResult | StateResult,
    now: datetime,
) -> EndpointResult:
    """Return an endpoint result as stored, with the components its endpoint has (None else)."""
    prednisolone = getattr(result, "prednisolone_mg", None)
    return EndpointResult(
        visit=visit,
        endpoint=endpoint,
        outcome=result.outcome.value,
        reason=result.reason,
        reason_parts=[[part.template, dict(part.params)] for part in result.reason_parts],
        sledai_change=getattr(result, "sledai_change", None),
        new_bilag_a=getattr(result, "new_bilag_a", None),
        new_bilag_b=getattr(result, "new_bilag_b", None),
        pga_change=getattr(result, "pga_change", None),
        bilag_not_improved=getattr(result, "bilag_not_improved", None),
        prednisolone_mg=(
            prednisolone_mg_for_display(prednisolone) if prednisolone is not None else None
        ),
        treatment_failure=result.treatment_failure,
        computed_at=now,
    )


def compute_participant(
    *,
    participant: Participant,
    visits: list[Visit],
    courses: list[MedicationCourse],
    now: datetime,
) -> FreshResults:
    """Compute the scores of every visit and the endpoint results of every follow-up visit:
    SRI-4/5/6 and BICLA against baseline, LLDAS and DORIS as states at the visit."""
    assessments = {visit.pk: visit_assessment(visit) for visit in visits}
    pure_courses = [pure_course(course) for course in courses]
    scores = [
        VisitScore(
            visit=visit,
            sledai_total=sledai_total(assessments[visit.pk].sledai),
            clinical_sledai_total=clinical_sledai_total(assessments[visit.pk].sledai),
            bilag_numeric=bilag_numeric_score(assessments[visit.pk].bilag),
            computed_at=now,
        )
        for visit in visits
    ]
    baseline, follow_ups = follow_up_visits(participant=participant, visits=visits)
    baseline_assessment = assessments[baseline.pk] if baseline is not None else None
    position = {visit.pk: index for index, visit in enumerate(visits)}
    results: list[EndpointResult] = []
    for visit in follow_ups:
        failed = treatment_failed(
            visit_date=visit.visit_date,
            treatment_failure_date=participant.treatment_failure_date,
            withdrawal_date=participant.withdrawal_date,
        )
        current = assessments[visit.pk]
        by_endpoint: dict[Endpoint, SriResult | BiclaResult | StateResult] = {}
        for endpoint, threshold in SRI_ENDPOINT_THRESHOLDS.items():
            by_endpoint[endpoint] = sri(
                threshold=threshold,
                baseline=baseline_assessment,
                visit=current,
                treatment_failure=failed,
            )
        by_endpoint[Endpoint.BICLA] = bicla(
            baseline=baseline_assessment, visit=current, treatment_failure=failed
        )
        medications = medications_at_visit(
            pure_courses, visit_date=visit.visit_date, infusion_date=participant.infusion_date
        )
        previous = _previous_assessed(visits, position[visit.pk], assessments)
        by_endpoint[Endpoint.LLDAS] = lldas(
            has_baseline=baseline is not None,
            visit=current,
            previous=(
                PreviousVisit(previous.visit_definition.code, assessments[previous.pk])
                if previous is not None
                else None
            ),
            medications=medications,
            treatment_failure=failed,
        )
        by_endpoint[Endpoint.DORIS] = doris(
            has_baseline=baseline is not None,
            visit=current,
            medications=medications,
            treatment_failure=failed,
        )
        results.extend(
            _stored(visit=visit, endpoint=endpoint, result=result, now=now)
            for endpoint, result in by_endpoint.items()
        )
    return FreshResults(scores=scores, endpoint_results=results)


SCORE_FIELDS = ("sledai_total", "clinical_sledai_total", "bilag_numeric")
RESULT_FIELDS = (
    "outcome",
    "reason",
    "reason_parts",
    "sledai_change",
    "new_bilag_a",
    "new_bilag_b",
    "pga_change",
    "bilag_not_improved",
    "prednisolone_mg",
    "treatment_failure",
)


def _comparable(row: VisitScore | EndpointResult, fields: tuple[str, ...]) -> tuple[object, ...]:
    values = []
    for field in fields:
        value = getattr(row, field)
        values.append(value.normalize() if isinstance(value, Decimal) else value)
    return tuple(values)


def _score_key(score: VisitScore) -> int:
    return score.visit_id


def _result_key(result: EndpointResult) -> tuple[int, str]:
    return result.visit_id, result.endpoint


def _sync_rows(
    model: type[VisitScore] | type[EndpointResult],
    *,
    stored: Iterable,
    fresh: list,
    key: Callable[[Any], object],
    fields: tuple[str, ...],
) -> None:
    """Make the stored rows equal the fresh ones in place: update what differs, add what is new,
    delete what is no longer expected. Unchanged rows are not written: a row's ``computed_at``
    is when its values last changed. Only the columns that changed in some row are written."""
    stored_by_key = {key(row): row for row in stored}
    to_create, to_update = [], []
    changed_fields = {"computed_at"}
    for row in fresh:
        current = stored_by_key.pop(key(row), None)
        if current is None:
            to_create.append(row)
            continue
        was, now = _comparable(current, fields), _comparable(row, fields)
        if was != now:
            changed_fields.update(
                f for f, old, new in zip(fields, was, now, strict=True) if old != new
            )
            for field in (*fields, "computed_at"):
                setattr(current, field, getattr(row, field))
            to_update.append(current)
    if stored_by_key:
        model.objects.filter(pk__in=[row.pk for row in stored_by_key.values()]).delete()
    written = [field for field in (*fields, "computed_at") if field in changed_fields]
    model.objects.bulk_update(to_update, written, batch_size=1000)
    _insert(model, to_create)


#: From this many new rows on, PostgreSQL takes them by COPY rather than INSERT.
COPY_AT_LEAST = 1000


def _insert(model: type[VisitScore] | type[EndpointResult], rows: list) -> None:
    """Add new derived rows; their keys are not read back (nothing reads these instances after).
    An import derives tens of thousands: PostgreSQL takes those by COPY, which skips building and
    quoting one large INSERT."""
    if connection.vendor != "postgresql" or len(rows) < COPY_AT_LEAST:
        model.objects.bulk_create(rows, batch_size=1000)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    attnames = [field.attname for field in fields]
    prepared = [
        (index, field) for index, field in enumerate(fields) if type(field) not in _SENT_AS_THEY_ARE
    ]
    with (
        connection.wrap_database_errors,  # a refusal is Django's DatabaseError, as for INSERT
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = [getattr(row, attname) for attname in attnames]
            for index, field in prepared:
                values[index] = field.get_db_prep_save(values[index], connection)
            copy.write_row(values)


#: Fields whose values Django sends to PostgreSQL as they are (numbers, text, booleans, dates,
#: keys): COPY takes them without Django's preparation. Any other field is prepared as INSERT
#: would prepare it: the JSON of the reason parts, and the times (made aware in the site's zone).
_SENT_AS_THEY_ARE = {
    models.SmallIntegerField,
    models.PositiveSmallIntegerField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.BigIntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.DecimalField,
    models.DateField,
    models.ForeignKey,
}


def _store(fresh: FreshResults, *, scores: Iterable, results: Iterable) -> None:
    _sync_rows(VisitScore, stored=scores, fresh=fresh.scores, key=_score_key, fields=SCORE_FIELDS)
    _sync_rows(
        EndpointResult,
        stored=results,
        fresh=fresh.endpoint_results,
        key=_result_key,
        fields=RESULT_FIELDS,
    )


#: The participants noted for a rescore at the end of the current
#: ``recompute_once_per_participant()`` block (None: outside such a block).
_noted_for_recompute: ContextVar[set[int] | None] = ContextVar("noted_for_recompute", default=None)
#: Participants rescored together by one bulk read and write (bounds the memory of a big import).
RECOMPUTE_CHUNK = 500


@contextmanager
def recompute_once_per_participant() -> Iterator[None]:
    """Rescore each participant a block changes once, when the block ends, instead of at every
    call of ``participant_recompute_responses`` inside it.

    For writers of many rows in one transaction (imports, the demo loader): an imported file with
    twelve visits per participant rescores each participant once, not twice per row. The block
    must run inside the writer's transaction, which holds the participants' locks until it ends;
    the rescore runs in that transaction too, so what is committed is always scored. If the block
    raises, nothing is rescored (the transaction is rolled back). Nested blocks join the outer one.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("recompute_once_per_participant() must run inside a transaction.")
    if _noted_for_recompute.get() is not None:
        yield
        return
    noted: set[int] = set()
    token = _noted_for_recompute.set(noted)
    try:
        yield
    finally:
        _noted_for_recompute.reset(token)
    recompute_participants(noted)


@transaction.atomic
def participant_recompute_responses(*, participant: Participant) -> list[ResultChange]:
    """Rebuild a participant's visit scores and endpoint results from the stored data; return
    the results whose outcome changed (callers that do not show them may ignore it).

    Inside ``recompute_once_per_participant()`` it only notes the participant (and returns no
    change): the block rescores it when it ends.
    """
    noted = _noted_for_recompute.get()
    if noted is not None:
        noted.add(participant.pk)
        return []
    lock_participants([participant.pk])
    participant = Participant.objects.select_related("study__baseline_visit").get(pk=participant.pk)
    visits = list(_visits_with_assessments().filter(participant=participant))
    courses = list(MedicationCourse.objects.filter(participant=participant))
    fresh = compute_participant(
        participant=participant, visits=visits, courses=courses, now=timezone.now()
    )
    stored = list(
        EndpointResult.objects.filter(visit__participant=participant).select_related(
            "visit__visit_definition"
        )
    )
    changes = outcome_changes(stored=stored, fresh=fresh.endpoint_results)
    _store(fresh, scores=VisitScore.objects.filter(visit__participant=participant), results=stored)
    return changes


def _fresh_by_participant(
    participant_ids: list[int] | None = None,
) -> Iterator[tuple[Participant, FreshResults]]:
    """Compute the results of the given participants (every participant when None)."""
    visits = _visits_with_assessments()
    courses = MedicationCourse.objects.all()
    participants = Participant.objects.select_related("study__baseline_visit")
    if participant_ids is not None:
        visits = visits.filter(participant__in=participant_ids)
        courses = courses.filter(participant__in=participant_ids)
        participants = participants.filter(pk__in=participant_ids)
    visits_by_participant: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits:
        visits_by_participant[visit.participant_id].append(visit)
    courses_by_participant: dict[int, list[MedicationCourse]] = defaultdict(list)
    for course in courses:
        courses_by_participant[course.participant_id].append(course)
    now = timezone.now()
    for participant in participants:
        yield (
            participant,
            compute_participant(
                participant=participant,
                visits=visits_by_participant[participant.pk],
                courses=courses_by_participant[participant.pk],
                now=now,
            ),
        )


@transaction.atomic
def recompute_participants(
    participant_ids: Iterable[int] | None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild the results of the given participants (every participant when None), a chunk at a
    time with a few queries per chunk; return how many endpoint results they have.

    ``progress``, when given, is told after each chunk how many participants are rescored, of
    how many.
    """
    locked = lock_participants(participant_ids)
    count = 0
    for start in range(0, len(locked), RECOMPUTE_CHUNK):
        chunk = locked[start : start + RECOMPUTE_CHUNK]
        fresh = FreshResults(scores=[], endpoint_results=[])
        for _participant, participant_fresh in _fresh_by_participant(chunk):
            fresh.scores.extend(participant_fresh.scores)
            fresh.endpoint_results.extend(participant_fresh.endpoint_results)
        _store(
            fresh,
            scores=VisitScore.objects.filter(visit__participant__in=chunk),
            results=EndpointResult.objects.filter(visit__participant__in=chunk),
        )
        count += len(fresh.endpoint_results)
        if progress is not None:
            progress(start + len(chunk), len(locked))
    return count


@transaction.atomic
def recompute_all_responses() -> int:
    """Rebuild every participant's results; return how many endpoint results there are.

    Only the participants locked here are read and written: one enrolled meanwhile is rescored
    by its own saves, under its own lock.
    """
    return recompute_participants(None)


def stale_results() -> list[str]:
    """Describe every stored score or result that differs from a fresh computation.

    Run on its own (``recompute_responses --check``), it reads stored and fresh values from one
    snapshot of the database (PostgreSQL's repeatable read), so saves committed meanwhile on a
    live site show no false difference. Inside a caller's transaction it reads as the caller does.
    """
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _stale_results()


def _stale_results() -> list[str]:
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
