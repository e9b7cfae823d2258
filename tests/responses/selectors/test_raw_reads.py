"""The raw reads a benchmark sets beside the reports (responses.selectors.raw_reads): one SELECT
each, fetching the rows its report reads, counted by hand on the report cohort."""

from datetime import date

import pytest

from responses.selectors import raw_reads
from responses.selectors.rows import response_rows
from tests.responses.cohorts import AFTER_M3

# The report cohort (tests/responses/cohorts.py), as of 2025-06-30: seven children enrolled and
# infused by then, each with a baseline; H-001, H-002, H-003 and H-006 also with Month 3.
EXPECTED_ROWS = {
    # The four Month 3 visits.
    "responses.csv": 4,
    "cohort.csv": 4,
    # Each infused child with each of their visits after baseline, or alone without one.
    "cohort.csv (mITT)": 7,
    "cohort summary": 7,
    # Seven baselines and four Month 3 visits, on the matrix's first page.
    "response matrix": 11,
    # Each child enrolled, with their baseline.
    "baseline characteristics": 7,
}


@pytest.mark.parametrize("report", list(EXPECTED_ROWS))
def test_each_raw_read_is_one_select_of_its_reports_rows(
    study, report_cohort, report, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = raw_reads.RAW_READS[report](study, AFTER_M3)
    assert rows == EXPECTED_ROWS[report]


@pytest.mark.parametrize("as_of", [date(2024, 6, 30), date(2024, 4, 15)], ids=str)
def test_the_responses_raw_read_fetches_a_row_per_exported_row(study, analysis_cohort, as_of):
    assert raw_reads.read_response_rows(study, as_of) == len(
        response_rows(study=study, as_of=as_of)
    )
