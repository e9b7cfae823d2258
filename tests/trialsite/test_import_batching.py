"""Writers of many rows rescore each participant once (responses.services
.recompute_once_per_participant), in their own transaction, with the same results."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from responses import services as response_services
from responses.models import Endpoint, EndpointResult
from responses.scoring.common import Outcome
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import recompute_once_per_participant, stale_results
from tests.factories import ParticipantFactory, UserFactory, grades, record_visit
from trialsite import imports, services
from trialsite.imports import IMPORTED_NOT_DONE_REASON, import_visits
from trialsite.models import (
    STORED_LAB_FIELDS,
    BilagAssessment,
    LabResult,
    MissedVisit,
    MissedVisitReason,
    PgaAssessment,
    SledaiAssessment,
    Visit,
    VisitDefinition,
)

from .test_imports import VISITS_HEADER, visit_line

#: BL: arthritis (4), rash (2) and low complement (2): SLEDAI-2K 8, PGA 2.00, BILAG all E.
BASELINE_CELLS = {"sledai_arthritis": "1", "sledai_rash": "1", "sledai_low_complement": "1"}


@pytest.fixture
def counted_computations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The participant ID of every computation of a participant's results, in order."""
    computed: list[str] = []
    compute = response_services.compute_participant

    def counting(**arguments: object) -> response_services.FreshResults:
        computed.append(arguments["participant"].participant_id)  # type: ignore[attr-defined]
        return compute(**arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(response_services, "compute_participant", counting)
    return computed


def test_an_import_computes_each_participant_once_with_the_expected_results(
    study, counted_computations
):
    for participant_id in ("P-1", "P-2"):
        ParticipantFactory(participant_id=participant_id, infusion_date=date(2026, 2, 9))
    lines = [VISITS_HEADER]
    for participant_id in ("P-1", "P-2"):
        lines += [
            visit_line(participant_id, "BL", "2026-02-02", "2.00", **BASELINE_CELLS),
            visit_line(participant_id, "M1", "2026-03-11", "1.50", sledai_rash="1"),
            visit_line(participant_id, "M3", "2026-05-10", "1.00"),
        ]
    report = import_visits(
        "\n".join(lines) + "\n",
        file_name="visits.csv",
        study=study,
        author=UserFactory(role="Data manager"),
    )

    assert report.problems == []
    assert len(report.created) == 6
    assert sorted(counted_computations) == ["P-1", "P-2"]
    # M3 by hand: SLEDAI-2K 8 -> 0 (fell by 8, at least 4), PGA 2.00 -> 1.00, no BILAG A or B:
    # SRI-4 responder. M1: 8 -> 2 (rash; fell by 6), PGA 2.00 -> 1.50: SRI-4 responder.
    outcomes = dict(
        EndpointResult.objects.filter(
            visit__participant__participant_id="P-1", endpoint=Endpoint.SRI4
        ).values_list("visit__visit_definition__code", "outcome")
    )
    assert outcomes == {"M1": Outcome.RESPONDER, "M3": Outcome.RESPONDER}
    assert stale_results() == []


def test_a_dry_run_or_a_refused_file_leaves_no_result(study):
    ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    text = "\n".join(
        [
            VISITS_HEADER,
            visit_line("P-1", "BL", "2026-02-02", "2.00", **BASELINE_CELLS),
            visit_line("P-1", "M3", "2026-05-10", "9.00"),  # PGA is 0 to 3
        ]
    )
    author = UserFactory(role="Data manager")

    refused = import_visits(text, file_name="visits.csv", study=study, author=author)
    dry_run = import_visits(
        text.replace("9.00", "1.00"), file_name="v.csv", study=study, author=author, dry_run=True
    )

    assert [problem.column for problem in refused.problems] == ["pga"]
    assert dry_run.problems == []
    assert len(dry_run.created) == 2
    assert not EndpointResult.objects.exists()


@pytest.mark.django_db
def test_inside_the_block_a_save_waits_for_the_end_of_the_block_to_be_scored(study):
    participant = ParticipantFactory(infusion_date=date(2026, 2, 9))

    with transaction.atomic(), recompute_once_per_participant():
        record_visit(participant, "BL", date(2026, 2, 2), pga="2.00", sledai={"arthritis"})
        record_visit(participant, "M3", date(2026, 5, 10), pga="1.00")
        assert not EndpointResult.objects.exists()

    m3 = EndpointResult.objects.get(visit__visit_definition__code="M3", endpoint=Endpoint.SRI4)
    assert m3.outcome == Outcome.RESPONDER  # SLEDAI-2K 4 -> 0, PGA 2.00 -> 1.00
    assert m3.pga_change == Decimal("-1.00")
    assert stale_results() == []


@pytest.mark.django_db
def test_a_block_that_raises_scores_nothing(study, counted_computations):
    participant = ParticipantFactory(infusion_date=date(2026, 2, 9))

    def record_then_fail() -> None:
        with transaction.atomic(), recompute_once_per_participant():
            record_visit(participant, "BL", date(2026, 2, 2), pga="2.00")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        record_then_fail()

    assert counted_computations == []


@pytest.mark.django_db(transaction=True)
def test_the_block_must_run_inside_a_transaction():
    block = recompute_once_per_participant()

    with pytest.raises(RuntimeError, match="inside a transaction"):
        block.__enter__()


@pytest.mark.django_db
def test_nested_blocks_score_once_when_the_outer_block_ends(study, counted_computations):
    participant = ParticipantFactory(participant_id="P-9", infusion_date=date(2026, 2, 9))

    with transaction.atomic(), recompute_once_per_participant():
        with recompute_once_per_participant():
            record_visit(participant, "BL", date(2026, 2, 2), pga="2.00")
        assert counted_computations == []
        record_visit(participant, "M1", date(2026, 3, 11), pga="1.00")

    assert counted_computations == ["P-9"]


def test_an_import_tells_its_progress_as_participants_are_written(study):
    p1 = ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    ParticipantFactory(participant_id="P-2", infusion_date=date(2026, 2, 9))
    record_visit(p1, "BL", date(2026, 2, 2), pga="2.00")  # changed: P-1 goes row by row
    told: list[tuple[int, int]] = []
    text = "\n".join(
        [
            VISITS_HEADER,
            visit_line("P-2", "BL", "2026-02-03", "2.00", **BASELINE_CELLS),
            visit_line("P-1", "BL", "2026-02-02", "1.50"),
            visit_line("P-2", "M3", "2026-05-10", "1.00"),
        ]
    )

    report = import_visits(
        text,
        file_name="visits.csv",
        study=study,
        author=UserFactory(role="Data manager"),
        update=True,
        progress=lambda done, total: told.append((done, total)),
    )

    assert report.problems == []
    assert report.created == ["P-2 BL", "P-2 M3"]
    assert [change.label for change in report.changed] == ["P-1 BL"]
    assert told == [(1, 3), (3, 3)]  # P-1 row by row, then P-2's batch


# A participant's visits, as visits.csv cells with the two optional columns
# sledai_lookback_days and cd19_per_ul: BL with B cells; an unscheduled visit on the 30-day
# look-back without labs; M1 with a B-cell count of 0; M3 with an answer ND and no PGA.
EQUIVALENT_VISITS = [
    ("BL", "2026-02-02", "2.00", BASELINE_CELLS, "B", "", "250"),
    ("UNS", "2026-03-01", "1.75", {}, "C", "30", ""),
    ("M1", "2026-03-11", "1.50", {"sledai_rash": "1"}, "C", "", "0"),
    ("M3", "2026-05-10", "", {"sledai_proteinuria": "ND"}, "D", "", ""),
]


def _equivalent_visits_csv(participant_id: str) -> str:
    """EQUIVALENT_VISITS as a visits.csv of one participant, with the look-back and CD19 columns."""
    lines = [f"{VISITS_HEADER},sledai_lookback_days,cd19_per_ul"]
    for code, visit_date, pga, cells, renal, lookback, cd19 in EQUIVALENT_VISITS:
        row = visit_line(participant_id, code, visit_date, pga, bilag_renal=renal, **cells)
        lines.append(f"{row},{lookback},{cd19}")
    return "\n".join(lines) + "\n"


def _recorded_as_the_services_record(participant, author, reason: str) -> None:
    """Record EQUIVALENT_VISITS one by one, as a coordinator's saves would."""
    for code, visit_date, pga, cells, renal, lookback, cd19 in EQUIVALENT_VISITS:
        visit = services.visit_create(
            participant=participant,
            visit_definition=VisitDefinition.objects.get(code=code),
            visit_date=date.fromisoformat(visit_date),
            author=author,
            reason=reason,
        )
        services.visit_save_assessments(
            visit=visit,
            sledai={
                field: cells.get(f"sledai_{field}") == "1"
                if cells.get(f"sledai_{field}") != "ND"
                else None
                for field in SLEDAI_FIELDS
            },
            sledai_lookback_days=int(lookback) if lookback else None,
            pga=Decimal(pga) if pga else None,
            bilag=grades(renal=renal),
            not_done={
                column: IMPORTED_NOT_DONE_REASON for column, cell in cells.items() if cell == "ND"
            },
            labs={"cd19_per_ul": Decimal(cd19) if cd19 else None},
            author=author,
            reason=reason,
        )


def _snapshot(participant) -> list[tuple]:
    """Everything stored and derived for a participant's visits, without keys or times."""
    snapshot = []
    visits = participant.visits.select_related(
        "visit_definition", "sledai", "pga", "bilag", "score"
    ).order_by("visit_date")
    for visit in visits:
        labs = LabResult.objects.filter(visit=visit).first()
        snapshot.append(
            (
                visit.visit_definition.code,
                visit.visit_date,
                visit.occurrence,
                visit.entry_status,
                visit.sledai.answers(),
                visit.sledai.lookback_days,
                visit.pga.score,
                visit.bilag.grades(),
                {f: getattr(labs, f) for f in STORED_LAB_FIELDS} if labs is not None else None,
                sorted(visit.not_done_answers.values_list("answer", "reason")),
                (visit.score.sledai_total, visit.score.clinical_sledai_total),
                visit.score.bilag_numeric,
                sorted(
                    visit.endpoint_results.values_list(
                        "endpoint", "outcome", "reason", "sledai_change", "pga_change"
                    )
                ),
            )
        )
    return snapshot


def test_a_batch_stores_exactly_what_the_services_store_one_save_at_a_time(study):
    author = UserFactory(role="Data manager")
    imported = ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    saved = ParticipantFactory(participant_id="P-2", infusion_date=date(2026, 2, 9))
    report = import_visits(
        _equivalent_visits_csv("P-1"), file_name="visits.csv", study=study, author=author
    )
    _recorded_as_the_services_record(saved, author, "imported from visits.csv")

    assert report.problems == []
    assert report.created == ["P-1 BL", "P-1 UNS 2026-03-01", "P-1 M1", "P-1 M3"]
    snapshot = _snapshot(imported)
    assert snapshot == _snapshot(saved)
    # By hand: BL scores SLEDAI-2K 8 (clinical 6: low complement is serology), M3 is in progress
    # (no PGA), and M1 is an SRI-4 responder (8 -> 2, PGA 2.00 -> 1.50, renal B -> C).
    assert [row[3] for row in snapshot] == ["complete", "complete", "complete", "in_progress"]
    assert snapshot[0][10] == (8, 6)
    assert ("sri4", "responder") in [result[:2] for result in snapshot[2][12]]
    assert snapshot[2][8]["cd19_per_ul"] == Decimal("0.00")
    assert [row[5] for row in snapshot] == [10, 30, 10, 10]
    for model in (Visit, SledaiAssessment, PgaAssessment, BilagAssessment, LabResult):
        history = model.history.filter(**_of_participant(model, imported))
        assert history.exists()
        assert set(history.values_list("history_user", "history_change_reason")) == {
            (author.pk, "imported from visits.csv")
        }


def _of_participant(model, participant) -> dict:
    return {"participant": participant} if model is Visit else {"visit__participant": participant}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [
                visit_line("P-1", "BL", "2026-02-02", "2.00"),
                visit_line("P-1", "M3", "2026-05-10"),
                visit_line("P-1", "M1", "2026-05-20"),
            ],
            [
                (
                    4,
                    "visit_date",
                    "Out of the schedule's order: M1 is dated 2026-05-20, after M3 (2026-05-10), "
                    "which comes later in the schedule.",
                )
            ],
            id="out-of-order-in-the-file",
        ),
        pytest.param(
            [visit_line("P-1", "M2", "2026-04-06")],
            [(2, "visit", "M2 is recorded as missed (")],
            id="recorded-as-missed",
        ),
        pytest.param(
            [
                visit_line("P-1", "BL", "2026-02-10", "2.00"),
                visit_line("P-1", "M1", "2026-03-11"),
            ],
            [
                (
                    2,
                    "visit_date",
                    "The baseline visit BL (2026-02-10) must be dated before the CAR-T infusion "
                    "(2026-02-09).",
                )
            ],
            id="a-refused-visit-leaves-the-next-one-alone",
        ),
    ],
)
def test_a_batch_refuses_each_visit_on_its_row_and_column(study, lines, expected):
    participant = ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    MissedVisit.objects.create(
        participant=participant,
        visit_definition=VisitDefinition.objects.get(code="M2"),
        reason=MissedVisitReason.values[0],
    )

    report = import_visits(
        "\n".join([VISITS_HEADER, *lines]) + "\n",
        file_name="visits.csv",
        study=study,
        author=UserFactory(role="Data manager"),
    )

    found = [(problem.row, problem.column, problem.message) for problem in report.problems]
    assert len(found) == len(expected), found
    for (row, column, message), (expected_row, expected_column, start) in zip(
        found, expected, strict=True
    ):
        assert (row, column) == (expected_row, expected_column)
        assert message.startswith(start), message
    assert not Visit.objects.exists()


def test_a_batch_the_database_refuses_is_a_problem_of_its_first_row(study, monkeypatch):
    ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))

    def refuse(*arguments: object, **options: object) -> None:
        raise DatabaseError("no space left")

    monkeypatch.setattr(services, "bulk_create_with_history", refuse)
    report = import_visits(
        "\n".join([VISITS_HEADER, visit_line("P-1", "BL", "2026-02-02", "2.00")]) + "\n",
        file_name="visits.csv",
        study=study,
        author=UserFactory(role="Data manager"),
    )

    assert [(p.row, p.message) for p in report.problems] == [
        (2, "the database refused the visits: no space left")
    ]
    assert not Visit.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_results_written_by_copy_equal_a_fresh_computation(study, monkeypatch):
    """PostgreSQL takes many new results at once by COPY (responses.services._insert); here
    from the first row on. Every stored value, the JSON reason parts, the decimals and the time
    of the computation included, must equal a fresh computation."""
    monkeypatch.setattr(response_services, "COPY_AT_LEAST", 1)

    def refused(*arguments: object, **options: object) -> None:
        raise AssertionError("results inserted by INSERT, not COPY")

    monkeypatch.setattr(EndpointResult.objects, "bulk_create", refused)
    started = timezone.now()
    author = UserFactory(role="Data manager")
    participant = ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    report = import_visits(
        _equivalent_visits_csv("P-1"), file_name="visits.csv", study=study, author=author
    )

    assert report.problems == []
    # Three follow-up visits (UNS, M1, M3) with six endpoints each: SRI-4/5/6, BICLA, LLDAS, DORIS.
    results = EndpointResult.objects.filter(visit__participant=participant)
    assert results.count() == 18
    assert stale_results() == []
    for computed_at in results.values_list("computed_at", flat=True):
        assert started <= computed_at <= timezone.now()  # the same instant, in any time zone


def _planned_visit_rows() -> float:
    """The number of visits PostgreSQL's statistics give its planner."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'trialsite_visit'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("refresh_after", "refreshed"), [(3, True), (4, False)])
def test_a_large_import_refreshes_the_statistics_once_committed(
    study, monkeypatch, django_capture_on_commit_callbacks, refresh_after, refreshed
):
    monkeypatch.setattr(imports, "REFRESH_STATISTICS_AFTER", refresh_after)
    refreshes: list[int] = []
    refresh = imports.refresh_statistics
    monkeypatch.setattr(
        imports, "refresh_statistics", lambda: refreshes.append(Visit.objects.count()) or refresh()
    )
    ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    lines = [
        VISITS_HEADER,
        visit_line("P-1", "BL", "2026-02-02", "2.00", **BASELINE_CELLS),
        visit_line("P-1", "M1", "2026-03-11", "1.50", sledai_rash="1"),
        visit_line("P-1", "M3", "2026-05-10", "1.00"),
    ]

    author = UserFactory(role="Data manager")
    with django_capture_on_commit_callbacks(execute=True):
        report = import_visits(
            "\n".join(lines) + "\n", file_name="visits.csv", study=study, author=author
        )
        assert refreshes == []  # not inside the import's transaction

    assert len(report.created) == 3
    assert refreshes == ([3] if refreshed else [])  # once, with every row written
    if refreshed and connection.vendor == "postgresql":
        assert _planned_visit_rows() == 3
