"""Writers of many rows rescore each participant once (responses.services
.recompute_once_per_participant), in their own transaction, with the same results."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from responses import services as response_services
from responses.models import Endpoint, EndpointResult
from responses.scoring.common import Outcome
from responses.services import recompute_once_per_participant, stale_results
from tests.factories import ParticipantFactory, UserFactory, record_visit
from trialsite.imports import import_visits

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


def test_an_import_tells_its_progress_row_by_row(study):
    ParticipantFactory(participant_id="P-1", infusion_date=date(2026, 2, 9))
    told: list[tuple[int, int]] = []
    text = "\n".join(
        [
            VISITS_HEADER,
            visit_line("P-1", "BL", "2026-02-02", "2.00", **BASELINE_CELLS),
            visit_line("P-1", "M1", "2026-03-11", "1.50"),
            visit_line("P-1", "M3", "2026-05-10", "1.00"),
        ]
    )

    import_visits(
        text,
        file_name="visits.csv",
        study=study,
        author=UserFactory(role="Data manager"),
        progress=lambda done, total: told.append((done, total)),
    )

    assert told == [(1, 3), (2, 3), (3, 3)]
