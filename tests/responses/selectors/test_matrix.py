"""The response matrix (responses.selectors.matrix) of the report cohort."""

from decimal import Decimal

import pytest

from responses.selectors.matrix import response_matrix
from tests.responses.cohorts import AFTER_M3
from trialsite.models import Participant


def test_response_matrix_cells_hold_stored_totals_and_outcomes(study, report_cohort):
    matrix = response_matrix(
        study=study, endpoint="sri4", as_of=AFTER_M3, participants=Participant.objects.all()
    )
    codes = [column.visit for column in matrix.columns]
    assert codes[0] == "BL"
    assert "M3" in codes
    rows = {row.participant_id: row for row in matrix.rows}
    assert list(rows) == [f"H-00{n}" for n in range(1, 8)]
    bl, m3 = codes.index("BL"), codes.index("M3")
    h1 = rows["H-001"].cells
    assert (h1[bl].sledai_total, h1[bl].outcome) == (8, None)
    # Month 3: low complement 2, a fall of 6; PGA 2.00 -> 0.50.
    assert (h1[m3].sledai_total, h1[m3].outcome, h1[m3].sledai_change) == (2, "responder", -6)
    assert (h1[m3].pga_change, h1[m3].treatment_failure, h1[m3].study_day) == (
        Decimal("-1.50"),
        False,
        90,
    )
    assert rows["H-006"].cells[m3].treatment_failure is True
    assert rows["H-004"].cells[m3] is None


def test_the_matrix_of_each_new_endpoint_holds_its_own_components(study, report_cohort):
    # Hand count in test_cohort.py: at Month 3 H-001 is a BICLA responder, in LLDAS and not in
    # DORIS remission; H-002 a BICLA responder (renal A -> C and musculoskeletal B -> D
    # improved: 0 not improved). No medication: prednisolone-equivalent 0 mg/day.
    everyone = Participant.objects.all()

    def month_3(endpoint: str):
        matrix = response_matrix(
            study=study, endpoint=endpoint, as_of=AFTER_M3, participants=everyone
        )
        m3 = [column.visit for column in matrix.columns].index("M3")
        return matrix, {row.participant_id: row.cells[m3] for row in matrix.rows}

    matrix, cells = month_3("bicla")
    assert (matrix.endpoint, matrix.state_at_visit) == ("bicla", False)
    h1, h2 = cells["H-001"], cells["H-002"]
    assert (h1.outcome, h1.sledai_change, h1.bilag_not_improved, h1.prednisolone_mg) == (
        "responder", -6, 0, None
    )  # fmt: skip
    assert (h2.outcome, h2.sledai_change, h2.new_bilag_a, h2.bilag_not_improved) == (
        "responder", -2, 0, 0
    )  # fmt: skip
    for endpoint, h1_outcome in [("lldas", "responder"), ("doris", "non-responder")]:
        matrix, cells = month_3(endpoint)
        assert matrix.state_at_visit is True
        h1 = cells["H-001"]
        # A state at the visit: no change from baseline, the dose instead.
        assert (h1.outcome, h1.sledai_change, h1.pga_change, h1.prednisolone_mg) == (
            h1_outcome, None, None, Decimal("0.00")
        )  # fmt: skip
        assert cells["H-006"].treatment_failure is True
        assert cells["H-004"] is None


def test_the_matrix_refuses_an_unknown_endpoint(study):
    with pytest.raises(ValueError, match="Unknown endpoint"):
        response_matrix(
            study=study, endpoint="sri7", as_of=AFTER_M3, participants=Participant.objects.all()
        )
