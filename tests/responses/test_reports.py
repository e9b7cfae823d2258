"""What the report pages share (responses.reports): the headline sentence and the filters."""

from datetime import date
from decimal import Decimal

from django.http import QueryDict
from django.utils import timezone

from responses.reports import FilterChoices, ReportFilters, headline_sentence
from responses.scoring.analysis import NotEvaluableReason
from responses.selectors.cohort import CohortRow, NotEvaluable
from tests.responses.cohorts import M3_DATE


def test_headline_sentence_of_the_seed_cohort_rounds_to_whole_percents():
    # 4 of 5: 80%, exact interval 0.2836-0.9949 (Clopper-Pearson, published).
    row = CohortRow(
        "M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
    )
    assert headline_sentence(row, "SRI-4") == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
    )


def test_headline_sentence_without_evaluable_participants_says_so():
    row = CohortRow("M3", "Month 3", 1, 0, 0, None, None, None, 0)
    assert headline_sentence(row, "SRI-5") == (
        "No participant with follow-up reaching Month 3 is evaluable for SRI-5 yet."
    )
    item = not_evaluable_item("H-1", NotEvaluableReason.LOOKBACK_DIFFERS)
    assert headline_sentence(row, "SRI-5", not_evaluable=[item], out_of_window_left_out=2) == (
        "No participant with follow-up reaching Month 3 is evaluable for SRI-5 yet. "
        "1 participant reached Month 3 but is not evaluable (look-back windows differ). "
        "2 participants reached Month 3 outside its window and are not counted (the study "
        "leaves out-of-window visits out)."
    )


def not_evaluable_item(participant_id: str, category: NotEvaluableReason, **params: str):
    return NotEvaluable(1, participant_id, "S01", M3_DATE, (), category, params)


def test_headline_sentence_counts_the_not_evaluable_by_reason_in_the_rules_order():
    # 4 of 5: 80%, exact 0.2836-0.9949 (published), as in the seed sentence.
    row = CohortRow(
        "M3", "Month 3", 8, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
    )
    below = {"total": "3", "threshold": "4"}
    items = [
        not_evaluable_item("H-1", NotEvaluableReason.BASELINE_BELOW_THRESHOLD, **below),
        not_evaluable_item("H-2", NotEvaluableReason.ENTRY_IN_PROGRESS),
        not_evaluable_item("H-3", NotEvaluableReason.BASELINE_BELOW_THRESHOLD, **below),
    ]
    assert headline_sentence(row, "SRI-4", not_evaluable=items) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 3 more reached Month 3 but are not evaluable (data entry in progress: 1, baseline "
        "below 4: 2)"
    )
    assert headline_sentence(row, "SRI-4", not_evaluable=items[:1]) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 1 more reached Month 3 but is not evaluable (baseline below 4)"
    )


def test_filters_parse_only_offered_values():
    choices = FilterChoices(sites=("S01",), doses=(30_000,), visits=())
    query = QueryDict("site=S02&dose=30000&sex=F&age=12-17&endpoint=sri5&as_of=2024-06-30")
    filters = ReportFilters.from_query(query, choices)
    assert (filters.site, filters.dose, filters.sex, filters.age, filters.endpoint) == (
        None,
        30_000,
        "F",
        "12-17",
        "sri5",
    )
    assert (filters.as_of, filters.as_of_given) == (date(2024, 6, 30), True)
    assert filters.querystring == "?dose=30000&sex=F&age=12-17&endpoint=sri5&as_of=2024-06-30"
    default = ReportFilters.from_query(QueryDict(""), choices)
    assert (default.as_of, default.as_of_given) == (timezone.localdate(), False)
    assert default.querystring == ""
