"""The response matrix (responses.selectors.matrix) of the report cohort."""

from decimal import Decimal

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
