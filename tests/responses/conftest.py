"""The cohorts shared by the report tests (their tables are in tests/responses/cohorts.py)."""

import pytest

from tests.factories import build_cohort
from tests.responses.cohorts import ANALYSIS_COHORT, REPORT_COHORT
from trialsite.models import Participant


@pytest.fixture
def report_cohort(study) -> dict[str, Participant]:
    """The seven children of cohorts.REPORT_COHORT, reported as of 2025-06-30."""
    return build_cohort(study, REPORT_COHORT)


@pytest.fixture
def analysis_cohort(study) -> dict[str, Participant]:
    """cohorts.ANALYSIS_COHORT, for the analysis sets as of 2024-06-30 (clinical-rules.md section
    4a); every number the tests expect from it is counted by hand in test_exports.py."""
    return build_cohort(study, ANALYSIS_COHORT)
