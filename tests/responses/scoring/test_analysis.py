"""Analysis sets (clinical-rules.md section 4a): one table per rule, boundary rows on both sides.

No database: these are the pure rules of responses.scoring.analysis. The selectors that feed
them are tested in tests/responses/selectors/test_cohort.py and test_exports.py.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.scoring import analysis
from responses.scoring.analysis import (
    MittCategory,
    MittParticipant,
    NotEvaluableReason,
    NotInfusedCategory,
    RecordedResult,
    mitt_category,
    not_evaluable_reason,
    not_infused_category,
    window_last_day,
)
from responses.scoring.bicla import bicla
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.common import Outcome
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.scoring.sri import Assessment, sri
from trialsite.models import NotInfusedReason

INFUSED = date(2024, 3, 1)
#: Month 3's window ends on study day 104: 2024-03-01 + 104 days = 2024-06-13
#: (March 31 days: day 31 = 04-01, day 61 = 05-01, day 92 = 06-01, day 104 = 06-13).
M3_HIGH = 104
M3_LAST_DAY = date(2024, 6, 13)
DAY = timedelta(days=1)
AFTER_WINDOW = date(2024, 6, 30)


def person(
    *,
    failure: date | None = None,
    withdrawal: date | None = None,
    excluded: bool = False,
) -> MittParticipant:
    return MittParticipant(INFUSED, failure, withdrawal, excluded=excluded)


RESPONDER = RecordedResult(Outcome.RESPONDER.value, False)
NON_RESPONDER = RecordedResult(Outcome.NON_RESPONDER.value, False)
NON_RESPONDER_BY_FAILURE = RecordedResult(Outcome.NON_RESPONDER.value, True)
NOT_EVALUABLE = RecordedResult(Outcome.NOT_EVALUABLE.value, False)
NO_RESULT = RecordedResult(None, None)


def test_the_window_closes_on_infusion_plus_its_last_study_day():
    assert window_last_day(INFUSED, M3_HIGH) == M3_LAST_DAY


@pytest.mark.parametrize(
    ("participant", "recorded", "as_of", "expected"),
    [
        # Excluded (SRI-X: complete baseline below X; BICLA: no BILAG A or B at baseline), at
        # every visit, whatever else happened.
        pytest.param(person(excluded=True), RESPONDER, AFTER_WINDOW, MittCategory.EXCLUDED,
                     id="excluded-with-a-responder-visit-is-excluded"),
        pytest.param(person(excluded=True), None, M3_LAST_DAY, MittCategory.EXCLUDED,
                     id="excluded-while-pending-is-excluded"),
        pytest.param(person(excluded=True, failure=INFUSED + DAY), None, AFTER_WINDOW,
                     MittCategory.EXCLUDED, id="excluded-after-failure-is-excluded"),
        # A recorded visit counts by its stored result.
        pytest.param(person(), RESPONDER, AFTER_WINDOW, MittCategory.RESPONDER,
                     id="recorded-responder"),
        pytest.param(person(), NON_RESPONDER, AFTER_WINDOW, MittCategory.NON_RESPONDER,
                     id="recorded-non-responder"),
        pytest.param(person(failure=AFTER_WINDOW), NON_RESPONDER, AFTER_WINDOW,
                     MittCategory.NON_RESPONDER,
                     id="recorded-non-responder-without-the-failure-flag-stays-non-responder"),
        pytest.param(person(failure=M3_LAST_DAY - 30 * DAY), NON_RESPONDER_BY_FAILURE,
                     AFTER_WINDOW, MittCategory.TREATMENT_FAILURE,
                     id="recorded-non-responder-by-treatment-failure-o1"),
        pytest.param(person(), NOT_EVALUABLE, AFTER_WINDOW, MittCategory.INCOMPLETE,
                     id="recorded-not-evaluable-is-incomplete"),
        pytest.param(person(), NO_RESULT, AFTER_WINDOW, MittCategory.INCOMPLETE,
                     id="recorded-without-a-stored-result-is-incomplete"),
        pytest.param(person(failure=M3_LAST_DAY), NO_RESULT, AFTER_WINDOW,
                     MittCategory.TREATMENT_FAILURE,
                     id="recorded-without-a-stored-result-after-a-failure-is-treatment-failure"),
        pytest.param(person(failure=M3_LAST_DAY + DAY), NO_RESULT, AFTER_WINDOW,
                     MittCategory.INCOMPLETE,
                     id="recorded-without-a-stored-result-failure-after-the-window-incomplete"),
        pytest.param(person(failure=M3_LAST_DAY - 30 * DAY), NOT_EVALUABLE, AFTER_WINDOW,
                     MittCategory.INCOMPLETE,
                     id="recorded-not-evaluable-is-incomplete-even-after-a-failure"),
        pytest.param(person(), RESPONDER, M3_LAST_DAY - 10 * DAY, MittCategory.RESPONDER,
                     id="recorded-before-the-window-closes-counts-at-once"),
        # Not recorded: the window's last day against the cut.
        pytest.param(person(), None, M3_LAST_DAY, MittCategory.PENDING,
                     id="window-last-day-equal-to-the-cut-is-pending"),
        pytest.param(person(), None, M3_LAST_DAY + DAY, MittCategory.MISSING,
                     id="window-last-day-one-day-before-the-cut-is-missing"),
        pytest.param(person(), None, INFUSED, MittCategory.PENDING,
                     id="window-not-yet-open-is-pending"),
        # Not recorded: treatment failure or withdrawal by the window's last day.
        pytest.param(person(failure=M3_LAST_DAY), None, AFTER_WINDOW,
                     MittCategory.TREATMENT_FAILURE,
                     id="failure-on-the-window-last-day-is-treatment-failure"),
        pytest.param(person(failure=M3_LAST_DAY + DAY), None, AFTER_WINDOW, MittCategory.MISSING,
                     id="failure-the-day-after-the-window-is-missing"),
        pytest.param(person(withdrawal=M3_LAST_DAY), None, AFTER_WINDOW,
                     MittCategory.TREATMENT_FAILURE,
                     id="withdrawal-on-the-window-last-day-is-treatment-failure"),
        pytest.param(person(withdrawal=M3_LAST_DAY + DAY), None, AFTER_WINDOW,
                     MittCategory.MISSING, id="withdrawal-the-day-after-the-window-is-missing"),
        pytest.param(person(withdrawal=INFUSED + 70 * DAY), None, INFUSED + 80 * DAY,
                     MittCategory.TREATMENT_FAILURE,
                     id="withdrawal-before-the-cut-while-the-window-is-open"),
        # The data cut: a failure or withdrawal after it has not happened yet.
        pytest.param(person(failure=M3_LAST_DAY - DAY), None, M3_LAST_DAY - 2 * DAY,
                     MittCategory.PENDING, id="failure-after-the-cut-does-not-count"),
        pytest.param(person(failure=M3_LAST_DAY - DAY), None, M3_LAST_DAY - DAY,
                     MittCategory.TREATMENT_FAILURE, id="failure-on-the-cut-counts"),
    ],
)  # fmt: skip
def test_mitt_category_rules(participant, recorded, as_of, expected):
    category = mitt_category(
        participant=participant, recorded=recorded, window_high=M3_HIGH, as_of=as_of
    )
    assert category == expected


def test_the_denominator_holds_every_category_but_excluded_and_pending():
    outside = {MittCategory.EXCLUDED, MittCategory.PENDING}
    denominator = analysis.MITT_DENOMINATOR
    assert denominator == set(MittCategory) - outside


def assessment(
    present: set[str], *, complete: bool = True, lookback: int = 10, renal: str = "E"
) -> Assessment:
    return Assessment(
        sledai={field: field in present for field in SLEDAI_FIELDS},
        pga=Decimal("1.00"),
        bilag={**dict.fromkeys(BILAG_SYSTEMS, "E"), "renal": renal},
        entry_complete=complete,
        sledai_lookback_days=lookback,
    )


EIGHT = {"arthritis", "rash", "low_complement"}  # 4 + 2 + 2 (clinical-rules section 1)
TWO = {"rash"}


@pytest.mark.parametrize(
    ("baseline", "visit", "expected"),
    [
        pytest.param(None, assessment(TWO), NotEvaluableReason.NO_BASELINE, id="o2-no-baseline"),
        pytest.param(assessment(EIGHT, complete=False), assessment(TWO),
                     NotEvaluableReason.ENTRY_IN_PROGRESS, id="o2-baseline-in-progress"),
        pytest.param(assessment(EIGHT), assessment(TWO, complete=False),
                     NotEvaluableReason.ENTRY_IN_PROGRESS, id="o2-visit-in-progress"),
        pytest.param(assessment(EIGHT), assessment(TWO, lookback=30),
                     NotEvaluableReason.LOOKBACK_DIFFERS, id="o3-look-back-windows-differ"),
        pytest.param(assessment(TWO), assessment(set()),
                     NotEvaluableReason.BASELINE_BELOW_THRESHOLD, id="o4-baseline-below-4"),
        pytest.param(
            assessment(EIGHT),
            Assessment(sledai={**dict.fromkeys(SLEDAI_FIELDS, False), "rash": None},
                       pga=Decimal("1.00"), bilag=dict.fromkeys(BILAG_SYSTEMS, "E")),
            NotEvaluableReason.ANSWERS_MISSING, id="o6-an-answer-missing"),
    ],
)  # fmt: skip
def test_a_stored_not_evaluable_reason_is_grouped_by_the_rule_that_gave_it(
    baseline, visit, expected
):
    # The scoring module's own reasons, so a changed wording there fails here.
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert not_evaluable_reason(result.reason_parts[0].template) == expected


@pytest.mark.parametrize(
    ("baseline", "visit", "expected"),
    [
        pytest.param(assessment(EIGHT), assessment(TWO),
                     NotEvaluableReason.NO_BILAG_A_OR_B_AT_BASELINE,
                     id="no-bilag-a-or-b-at-baseline"),
        pytest.param(assessment(EIGHT, renal="B"), assessment(TWO, lookback=30),
                     NotEvaluableReason.LOOKBACK_DIFFERS, id="o3-look-back-windows-differ"),
        pytest.param(
            assessment(EIGHT, renal="B"),
            Assessment(sledai=dict.fromkeys(SLEDAI_FIELDS, False), pga=None,
                       bilag={**dict.fromkeys(BILAG_SYSTEMS, "E"), "renal": "C"}),
            NotEvaluableReason.ANSWERS_MISSING, id="o6-pga-missing"),
    ],
)  # fmt: skip
def test_a_stored_bicla_not_evaluable_reason_is_grouped_by_the_rule_that_gave_it(
    baseline, visit, expected
):
    result = bicla(baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert not_evaluable_reason(result.reason_parts[0].template) == expected


def test_a_reached_visit_without_a_stored_result_is_not_compared():
    assert not_evaluable_reason(None) == NotEvaluableReason.NOT_COMPARED


CUT = date(2024, 6, 30)


@pytest.mark.parametrize(
    ("reason", "withdrawal", "expected"),
    [
        pytest.param("manufacturing_failure", None, NotInfusedCategory.MANUFACTURING_FAILURE,
                     id="manufacturing-failure"),
        pytest.param("other", None, NotInfusedCategory.OTHER, id="other"),
        pytest.param("", CUT, NotInfusedCategory.WITHDRAWAL, id="withdrawal-on-the-cut"),
        pytest.param("", CUT + DAY, NotInfusedCategory.AWAITING_INFUSION,
                     id="withdrawal-after-the-cut-not-yet"),
        pytest.param("", None, NotInfusedCategory.AWAITING_INFUSION, id="no-reason-waiting"),
        pytest.param("manufacturing_failure", CUT - DAY,
                     NotInfusedCategory.MANUFACTURING_FAILURE,
                     id="recorded-reason-before-a-later-withdrawal"),
    ],
)  # fmt: skip
def test_not_infused_category_rules(reason, withdrawal, expected):
    assert not_infused_category(reason=reason, withdrawal_date=withdrawal, as_of=CUT) == expected


def test_every_stored_not_infused_reason_has_a_category():
    assert set(analysis.NOT_INFUSED_BY_REASON) == set(NotInfusedReason.values)
