"""SRI-X (responses.scoring.sri) against clinical-rules.md: treatment failure, the components,
not evaluable, the order of the outcomes (O1-O7), reason texts, input validation.

Every expected value is typed from the spec or from a hand calculation shown beside it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal

import pytest

from responses.scoring.common import Outcome
from responses.scoring.sledai import SLEDAI_FIELDS, sledai_total
from responses.scoring.sri import Assessment, ReasonPart, sri, treatment_failed
from tests.responses.scoring.answers import (
    BASELINE_10,
    VISIT_3,
    VISIT_4,
    VISIT_5,
    VISIT_6,
    VISIT_7,
    VISIT_12,
    D,
    assessment,
    bilag,
    responder_pair,
    sledai,
)


def test_reason_part_renders_its_template_with_its_params() -> None:
    part = ReasonPart("SLEDAI-2K fell by %(points)s", {"points": "6"})
    assert str(part) == "SLEDAI-2K fell by 6"
    assert str(ReasonPart("treatment failure", {})) == "treatment failure"


# --------------------------------------------------------------------------------------------
# Treatment failure
# --------------------------------------------------------------------------------------------

VISIT_DATE = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("failure_date", "withdrawal_date", "failed"),
    [
        pytest.param(None, None, False, id="no-failure-no-withdrawal"),
        pytest.param(date(2025, 2, 28), None, True, id="failure-before-visit"),
        pytest.param(date(2025, 3, 1), None, True, id="failure-on-visit-date"),
        pytest.param(date(2025, 3, 2), None, False, id="failure-after-visit"),
        pytest.param(None, date(2025, 2, 28), True, id="withdrawal-before-visit"),
        pytest.param(None, date(2025, 3, 1), True, id="withdrawal-on-visit-date"),
        pytest.param(None, date(2025, 3, 2), False, id="withdrawal-after-visit"),
        pytest.param(
            date(2025, 4, 1), date(2025, 2, 1), True, id="withdrawal-before-failure-after"
        ),
    ],
)
def test_treatment_failure_counts_on_or_before_the_visit(
    failure_date: date | None, withdrawal_date: date | None, failed: bool
) -> None:
    assert (
        treatment_failed(
            visit_date=VISIT_DATE,
            treatment_failure_date=failure_date,
            withdrawal_date=withdrawal_date,
        )
        is failed
    )


@pytest.mark.parametrize(
    ("failure_date", "outcome", "reason"),
    [
        pytest.param(date(2025, 2, 1), Outcome.NON_RESPONDER, "treatment failure", id="before"),
        pytest.param(date(2025, 3, 1), Outcome.NON_RESPONDER, "treatment failure", id="on"),
        pytest.param(
            date(2025, 3, 2),
            Outcome.RESPONDER,
            "SLEDAI-2K fell by 6; no new BILAG A; no new BILAG B; PGA fell by 0.50",
            id="after",
        ),
    ],
)
def test_treatment_failure_date_decides_an_otherwise_responding_visit(
    failure_date: date, outcome: Outcome, reason: str
) -> None:
    baseline, visit = responder_pair()
    failed = treatment_failed(
        visit_date=VISIT_DATE, treatment_failure_date=failure_date, withdrawal_date=None
    )
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=failed)
    assert result.outcome == outcome
    assert result.reason == reason
    assert result.treatment_failure is failed


def test_withdrawal_before_the_visit_makes_a_non_responder() -> None:
    baseline, visit = responder_pair()
    failed = treatment_failed(
        visit_date=VISIT_DATE, treatment_failure_date=None, withdrawal_date=date(2025, 1, 15)
    )
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=failed)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"


# --------------------------------------------------------------------------------------------
# SRI-X: SLEDAI-2K drop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "visit_present", "change", "outcome"),
    [
        pytest.param(4, VISIT_7, -3, Outcome.NON_RESPONDER, id="SRI-4-drop-3"),
        pytest.param(4, VISIT_6, -4, Outcome.RESPONDER, id="SRI-4-drop-4"),
        pytest.param(4, VISIT_5, -5, Outcome.RESPONDER, id="SRI-4-drop-5"),
        pytest.param(5, VISIT_6, -4, Outcome.NON_RESPONDER, id="SRI-5-drop-4"),
        pytest.param(5, VISIT_5, -5, Outcome.RESPONDER, id="SRI-5-drop-5"),
        pytest.param(5, VISIT_4, -6, Outcome.RESPONDER, id="SRI-5-drop-6"),
        pytest.param(6, VISIT_5, -5, Outcome.NON_RESPONDER, id="SRI-6-drop-5"),
        pytest.param(6, VISIT_4, -6, Outcome.RESPONDER, id="SRI-6-drop-6"),
        pytest.param(6, VISIT_3, -7, Outcome.RESPONDER, id="SRI-6-drop-7"),
        pytest.param(4, BASELINE_10, 0, Outcome.NON_RESPONDER, id="SRI-4-unchanged"),
        pytest.param(4, VISIT_12, 2, Outcome.NON_RESPONDER, id="SRI-4-rise-2"),
    ],
)
def test_sledai_drop_against_threshold(
    threshold: int, visit_present: tuple[str, ...], change: int, outcome: Outcome
) -> None:
    # Baseline 10; PGA 1.50 -> 1.00 and all-D BILAG pass, so only the drop decides.
    result = sri(
        threshold=threshold,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(visit_present, "1.00"),
        treatment_failure=False,
    )
    assert result.sledai_change == change
    assert result.outcome == outcome
    assert result.threshold == threshold


@pytest.mark.parametrize(
    ("visit_present", "reason"),
    [
        pytest.param(VISIT_7, "SLEDAI-2K fell by 3", id="fell-by-3"),
        pytest.param(BASELINE_10, "SLEDAI-2K unchanged", id="unchanged"),
        pytest.param(VISIT_12, "SLEDAI-2K rose by 2", id="rose-by-2"),
    ],
)
def test_insufficient_sledai_drop_reason(visit_present: tuple[str, ...], reason: str) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(visit_present, "1.00"),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == reason


@pytest.mark.parametrize(
    ("threshold", "baseline_present", "change", "outcome", "reason"),
    [
        # rash 2 + fever 1 = 3; visit 0 gives a change of -3
        pytest.param(
            4,
            ("rash", "fever"),
            -3,
            Outcome.NOT_EVALUABLE,
            "baseline SLEDAI-2K 3 is below 4",
            id="SRI-4-baseline-3",
        ),
        # arthritis 4; visit 0 is a drop of exactly 4
        pytest.param(4, ("arthritis",), -4, Outcome.RESPONDER, None, id="SRI-4-baseline-4"),
        # arthritis 4 + fever 1 = 5
        pytest.param(
            6,
            ("arthritis", "fever"),
            -5,
            Outcome.NOT_EVALUABLE,
            "baseline SLEDAI-2K 5 is below 6",
            id="SRI-6-baseline-5",
        ),
        # arthritis 4 + rash 2 = 6; visit 0 is a drop of exactly 6
        pytest.param(6, ("arthritis", "rash"), -6, Outcome.RESPONDER, None, id="SRI-6-baseline-6"),
    ],
)
def test_baseline_sledai_below_threshold_is_not_evaluable_and_at_threshold_is_evaluable(
    threshold: int,
    baseline_present: tuple[str, ...],
    change: int,
    outcome: Outcome,
    reason: str | None,
) -> None:
    result = sri(
        threshold=threshold,
        baseline=assessment(baseline_present, "1.50"),
        visit=assessment((), "1.00"),
        treatment_failure=False,
    )
    assert result.outcome == outcome
    assert result.sledai_change == change  # computed even when not evaluable
    if reason is not None:
        assert result.reason == reason


# --------------------------------------------------------------------------------------------
# SRI-X: PGA
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline_pga", "visit_pga", "change", "worsened"),
    [
        pytest.param("1.00", "1.29", "0.29", False, id="plus-0.29"),
        pytest.param("1.00", "1.30", "0.30", True, id="plus-0.30-exactly"),
        pytest.param("1.00", "1.31", "0.31", True, id="plus-0.31"),
        # In binary floats 2.30 - 2.00 and 0.70 - 0.40 fall just short of 0.30.
        pytest.param("2.00", "2.30", "0.30", True, id="2.00-to-2.30"),
        pytest.param("0.40", "0.70", "0.30", True, id="0.40-to-0.70"),
        pytest.param("1.20", "1.49", "0.29", False, id="1.20-to-1.49"),
        pytest.param("1.50", "1.50", "0.00", False, id="unchanged"),
        pytest.param("1.50", "0.20", "-1.30", False, id="improved"),
        pytest.param("0.00", "3.00", "3.00", True, id="0-to-3"),
    ],
)
def test_pga_rise_of_0_30_or_more_is_worsening(
    baseline_pga: str, visit_pga: str, change: str, worsened: bool
) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, baseline_pga),
        visit=assessment(VISIT_4, visit_pga),
        treatment_failure=False,
    )
    assert result.pga_change == D(change)
    assert result.outcome == (Outcome.NON_RESPONDER if worsened else Outcome.RESPONDER)
    if worsened:
        assert result.reason == f"PGA rose by {change}"


def test_pga_change_is_exact_decimal_with_two_places() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "0.40"),
        visit=assessment(VISIT_4, "0.70"),
        treatment_failure=False,
    )
    assert isinstance(result.pga_change, Decimal)
    assert str(result.pga_change) == "0.30"


# --------------------------------------------------------------------------------------------
# SRI-X: new BILAG A and B
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline_grades", "visit_grades", "new_a", "new_b", "outcome"),
    [
        pytest.param(bilag(), bilag(), 0, 0, Outcome.RESPONDER, id="all-D-to-all-D"),
        pytest.param(bilag(renal="D"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="D-to-A"),
        pytest.param(bilag(renal="B"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="B-to-A"),
        pytest.param(bilag(renal="E"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="E-to-A"),
        pytest.param(bilag(renal="A"), bilag(renal="A"), 0, 0, Outcome.RESPONDER, id="A-to-A"),
        pytest.param(bilag(renal="A"), bilag(renal="B"), 0, 0, Outcome.RESPONDER, id="A-to-B"),
        pytest.param(bilag(renal="B"), bilag(renal="B"), 0, 0, Outcome.RESPONDER, id="B-to-B"),
        pytest.param(bilag(renal="C"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="C-to-B"),
        pytest.param(bilag(renal="D"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="D-to-B"),
        pytest.param(bilag(renal="E"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="E-to-B"),
        pytest.param(
            bilag(renal="D", musculoskeletal="C"),
            bilag(renal="B", musculoskeletal="B"),
            0,
            2,
            Outcome.NON_RESPONDER,
            id="two-new-B",
        ),
        pytest.param(
            bilag(renal="B", musculoskeletal="C"),
            bilag(renal="B", musculoskeletal="B"),
            0,
            1,
            Outcome.RESPONDER,
            id="B-to-B-plus-one-new-B",
        ),
        pytest.param(
            bilag(renal="A", musculoskeletal="A", mucocutaneous="E"),
            bilag(renal="B", musculoskeletal="B", mucocutaneous="B"),
            0,
            1,
            Outcome.RESPONDER,
            id="two-A-to-B-plus-one-new-B",
        ),
        pytest.param(
            bilag(renal="A", musculoskeletal="D"),
            bilag(renal="D", musculoskeletal="A"),
            1,
            0,
            Outcome.NON_RESPONDER,
            id="A-moves-to-another-system",
        ),
    ],
)
def test_new_bilag_a_and_b(
    baseline_grades: dict[str, str | None],
    visit_grades: dict[str, str | None],
    new_a: int,
    new_b: int,
    outcome: Outcome,
) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", baseline_grades),
        visit=assessment(VISIT_4, "1.00", visit_grades),
        treatment_failure=False,
    )
    assert (result.new_bilag_a, result.new_bilag_b) == (new_a, new_b)
    assert result.outcome == outcome


def test_new_bilag_reasons() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", bilag(renal="D", musculoskeletal="C")),
        visit=assessment(VISIT_4, "1.00", bilag(renal="A", musculoskeletal="B", ophthalmic="B")),
        treatment_failure=False,
    )
    # renal D->A is 1 new A; musculoskeletal C->B and ophthalmic D->B are 2 new B.
    assert result.reason == "1 new BILAG A; 2 new BILAG B"


# --------------------------------------------------------------------------------------------
# SRI-X: not evaluable
# --------------------------------------------------------------------------------------------


def test_no_baseline_visit_is_not_evaluable() -> None:
    result = sri(threshold=4, baseline=None, visit=assessment(VISIT_4), treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == "no baseline visit"
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b, result.pga_change) == (
        None,
        None,
        None,
        None,
    )


def _blank_sledai_item(a: Assessment) -> Assessment:
    return Assessment(sledai={**a.sledai, "pericarditis": None}, pga=a.pga, bilag=a.bilag)


def _drop_sledai_item(a: Assessment) -> Assessment:
    answers = dict(a.sledai)
    del answers["pericarditis"]
    return Assessment(sledai=answers, pga=a.pga, bilag=a.bilag)


def _blank_pga(a: Assessment) -> Assessment:
    return Assessment(sledai=a.sledai, pga=None, bilag=a.bilag)


def _blank_bilag_system(a: Assessment) -> Assessment:
    return Assessment(sledai=a.sledai, pga=a.pga, bilag={**a.bilag, "ophthalmic": None})


def _drop_bilag_system(a: Assessment) -> Assessment:
    grades = dict(a.bilag)
    del grades["ophthalmic"]
    return Assessment(sledai=a.sledai, pga=a.pga, bilag=grades)


MISSING_DATA_CASES = [
    # (blanker, where, reason, component left None)
    pytest.param(
        _blank_sledai_item,
        "baseline",
        "SLEDAI-2K incomplete at baseline",
        "sledai_change",
        id="baseline-sledai-item-none",
    ),
    pytest.param(
        _drop_sledai_item,
        "baseline",
        "SLEDAI-2K incomplete at baseline",
        "sledai_change",
        id="baseline-sledai-item-absent",
    ),
    pytest.param(
        _blank_pga,
        "baseline",
        "PGA missing at baseline",
        "pga_change",
        id="baseline-pga-missing",
    ),
    pytest.param(
        _blank_bilag_system,
        "baseline",
        "BILAG-2004 incomplete at baseline",
        "new_bilag_a",
        id="baseline-bilag-system-none",
    ),
    pytest.param(
        _drop_bilag_system,
        "baseline",
        "BILAG-2004 incomplete at baseline",
        "new_bilag_b",
        id="baseline-bilag-system-absent",
    ),
    pytest.param(
        _blank_sledai_item,
        "visit",
        "SLEDAI-2K incomplete at the visit",
        "sledai_change",
        id="visit-sledai-item-none",
    ),
    pytest.param(
        _drop_sledai_item,
        "visit",
        "SLEDAI-2K incomplete at the visit",
        "sledai_change",
        id="visit-sledai-item-absent",
    ),
    pytest.param(
        _blank_pga,
        "visit",
        "PGA missing at the visit",
        "pga_change",
        id="visit-pga-missing",
    ),
    pytest.param(
        _blank_bilag_system,
        "visit",
        "BILAG-2004 incomplete at the visit",
        "new_bilag_a",
        id="visit-bilag-system-none",
    ),
    pytest.param(
        _drop_bilag_system,
        "visit",
        "BILAG-2004 incomplete at the visit",
        "new_bilag_b",
        id="visit-bilag-system-absent",
    ),
]


@pytest.mark.parametrize(("blank", "where", "reason", "none_component"), MISSING_DATA_CASES)
def test_incomplete_data_is_not_evaluable_and_named(
    blank: object, where: str, reason: str, none_component: str
) -> None:
    baseline, visit = responder_pair()
    if where == "baseline":
        baseline = blank(baseline)  # type: ignore[operator]
    else:
        visit = blank(visit)  # type: ignore[operator]
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == reason
    assert getattr(result, none_component) is None


def test_incomplete_data_still_reports_the_components_that_can_be_computed() -> None:
    baseline, visit = responder_pair()
    result = sri(threshold=4, baseline=baseline, visit=_blank_pga(visit), treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.sledai_change == -6  # 4 - 10
    assert (result.new_bilag_a, result.new_bilag_b) == (0, 0)
    assert result.pga_change is None


def test_not_evaluable_reason_lists_every_gap() -> None:
    baseline, visit = responder_pair()
    result = sri(
        threshold=4,
        baseline=_blank_pga(baseline),
        visit=_blank_bilag_system(visit),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == "PGA missing at baseline; BILAG-2004 incomplete at the visit"


@pytest.mark.parametrize("where", ["baseline", "visit"])
def test_data_entry_in_progress_is_not_evaluable_though_every_answer_is_given(where: str) -> None:
    baseline, visit = responder_pair()
    in_progress = dataclasses.replace(
        baseline if where == "baseline" else visit, entry_complete=False
    )
    if where == "baseline":
        baseline = in_progress
    else:
        visit = in_progress
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    expected = "at baseline" if where == "baseline" else "at the visit"
    assert result.reason == f"data entry in progress {expected}"
    # The components are still shown: 4 - 10.
    assert result.sledai_change == -6


# --------------------------------------------------------------------------------------------
# SRI-X: the order of the outcomes, O1-O7 (spec section 4)
# --------------------------------------------------------------------------------------------

MISSING_CANNOT_CHANGE = "the missing answers cannot change this"


def _with(a: Assessment, **changes: object) -> Assessment:
    return dataclasses.replace(a, **changes)


def _missing(a: Assessment, *descriptors: str) -> Assessment:
    return _with(a, sledai={**a.sledai, **dict.fromkeys(descriptors)})


# Baseline 10 (arthritis 4 + hematuria 4 + rash 2), PGA 1.50, every system D, unless a row
# says otherwise; the visit's totals are written beside each row.
OUTCOME_ORDER_CASES = [
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _with(assessment(VISIT_12, None), entry_complete=False),
        True,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K rose by 2; treatment failure",
        id="O1-failure-beats-an-entry-in-progress",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _with(assessment(VISIT_12, None), entry_complete=False),
        False,
        Outcome.NOT_EVALUABLE,
        "data entry in progress at the visit",
        id="O2-in-progress-beats-a-certain-failure",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), entry_complete=False),
        _with(assessment(VISIT_4, "1.00"), entry_complete=False),
        False,
        Outcome.NOT_EVALUABLE,
        "data entry in progress at baseline; data entry in progress at the visit",
        id="O2-both-in-progress",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), sledai_lookback_days=30),
        _with(assessment(VISIT_4, "1.00"), sledai_lookback_days=10),
        False,
        Outcome.NOT_EVALUABLE,
        "look-back windows differ (baseline 30 days, visit 10 days)",
        id="O3-windows-differ-on-a-responder",
    ),
    pytest.param(
        _with(assessment(("rash", "fever"), "1.50"), sledai_lookback_days=10),  # 3
        _with(assessment((), "1.00"), sledai_lookback_days=30),
        False,
        Outcome.NOT_EVALUABLE,
        "look-back windows differ (baseline 10 days, visit 30 days)",
        id="O3-beats-a-baseline-below-X",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), sledai_lookback_days=30),
        _with(assessment(VISIT_4, "1.00"), sledai_lookback_days=30),
        False,
        Outcome.RESPONDER,
        "SLEDAI-2K fell by 6; no new BILAG A; no new BILAG B; PGA fell by 0.50",
        id="O3-same-30-day-windows-compare",
    ),
    pytest.param(
        assessment(("rash", "fever"), "1.50"),  # 3
        assessment((), None),
        False,
        Outcome.NOT_EVALUABLE,
        "baseline SLEDAI-2K 3 is below 4",
        id="O4-baseline-below-X-beats-a-missing-answer",
    ),
    pytest.param(
        _missing(assessment(("rash", "fever"), "1.50"), "pericarditis"),  # 3 + up to 2
        assessment((), "1.00"),
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at baseline",
        id="O4-needs-a-complete-baseline",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(("arthritis", "hematuria"), None),  # 8: fell by 2, PGA not done
        False,
        Outcome.NON_RESPONDER,
        f"SLEDAI-2K fell by 2; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-sledai-fell-by-2-and-pga-not-done",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_7, "1.00"), "pericarditis"),  # 7 at least: 3 at most
        False,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K can fall by 3 at most; SLEDAI-2K incomplete at the visit; "
        + MISSING_CANNOT_CHANGE,
        id="O5-visit-missing-counts-as-absent-drop-3",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_6, "1.00"), "pericarditis"),  # 6 at least: 4 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-visit-missing-could-still-give-a-drop-of-4",
    ),
    pytest.param(
        _missing(assessment(BASELINE_10, "1.50"), "pericarditis"),  # up to 12
        assessment(("arthritis", "rash", "alopecia", "fever"), "1.00"),  # 9: 3 at most
        False,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K can fall by 3 at most; SLEDAI-2K incomplete at baseline; "
        + MISSING_CANNOT_CHANGE,
        id="O5-baseline-missing-counts-as-present-drop-3",
    ),
    pytest.param(
        _missing(assessment(BASELINE_10, "1.50"), "pericarditis"),  # up to 12
        assessment(("arthritis", "rash", "alopecia"), "1.00"),  # 8: 4 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at baseline",
        id="O6-baseline-missing-could-still-give-a-drop-of-4",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.00"), *SLEDAI_FIELDS[:3]),  # 4 at least: 6 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-three-missing-weight-8-each-could-all-be-absent",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_12, "1.00"), "pericarditis"),  # 12 at least
        False,
        Outcome.NON_RESPONDER,
        f"SLEDAI-2K cannot fall; SLEDAI-2K incomplete at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-sledai-cannot-fall",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(VISIT_4, None, bilag(renal="A")),
        False,
        Outcome.NON_RESPONDER,
        f"1 new BILAG A; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-new-bilag-a",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50", bilag(renal=None)),
        assessment(VISIT_4, "1.00", bilag(renal="A")),
        False,
        Outcome.NOT_EVALUABLE,
        "BILAG-2004 incomplete at baseline",
        id="O6-a-system-missing-at-baseline-is-not-new",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(VISIT_4, None, bilag(renal="B", mucocutaneous="B")),
        False,
        Outcome.NON_RESPONDER,
        f"2 new BILAG B; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-two-new-bilag-b",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.80"), "pericarditis"),
        False,
        Outcome.NON_RESPONDER,
        f"PGA rose by 0.30; SLEDAI-2K incomplete at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-pga-rise-of-exactly-0.30",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.79"), "pericarditis"),
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-pga-rise-of-0.29",
    ),
    pytest.param(
        assessment(BASELINE_10, None),
        assessment(VISIT_4, "3.00"),
        False,
        Outcome.NOT_EVALUABLE,
        "PGA missing at baseline",
        id="O6-a-missing-pga-does-not-worsen",
    ),
]


@pytest.mark.parametrize(
    ("baseline", "visit", "treatment_failure", "outcome", "reason"), OUTCOME_ORDER_CASES
)
def test_the_first_outcome_rule_that_applies_decides(
    baseline: Assessment,
    visit: Assessment,
    treatment_failure: bool,
    outcome: Outcome,
    reason: str,
) -> None:
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=treatment_failure)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_a_certain_failure_with_missing_answers_keeps_the_components_it_knows() -> None:
    # Visit SLEDAI 12 is a rise of 2, but the visit PGA is missing.
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(VISIT_12, None),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b) == (2, 0, 0)
    assert result.pga_change is None


# --------------------------------------------------------------------------------------------
# SRI-X: treatment failure overrides incompleteness
# --------------------------------------------------------------------------------------------


FAILURE_WITH_GAP_IDS = {
    "baseline-pga-missing",
    "visit-sledai-item-none",
    "visit-bilag-system-absent",
}


def test_treatment_failure_without_baseline_is_non_responder() -> None:
    result = sri(threshold=4, baseline=None, visit=assessment(VISIT_4), treatment_failure=True)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"
    assert result.treatment_failure is True
    assert result.sledai_change is None
    assert result.pga_change is None


@pytest.mark.parametrize(
    ("blank", "where", "reason", "none_component"),
    [case for case in MISSING_DATA_CASES if case.id in FAILURE_WITH_GAP_IDS],
)
def test_treatment_failure_with_incomplete_data_is_non_responder(
    blank: object, where: str, reason: str, none_component: str
) -> None:
    baseline, visit = responder_pair()
    if where == "baseline":
        baseline = blank(baseline)  # type: ignore[operator]
    else:
        visit = blank(visit)  # type: ignore[operator]
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=True)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"
    assert getattr(result, none_component) is None


def test_treatment_failure_with_baseline_below_threshold_is_non_responder() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(("rash", "fever"), "1.50"),  # 3
        visit=assessment((), "1.00"),
        treatment_failure=True,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "SLEDAI-2K fell by 3; treatment failure"


# --------------------------------------------------------------------------------------------
# SRI-X: reason texts
# --------------------------------------------------------------------------------------------


def test_responder_reason_summarises_every_component() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", bilag(renal="D")),
        visit=assessment(VISIT_4, "1.00", bilag(renal="B")),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.RESPONDER
    assert result.reason == "SLEDAI-2K fell by 6; no new BILAG A; 1 new BILAG B; PGA fell by 0.50"
    assert result.reason_parts[0].template == "SLEDAI-2K fell by %(points)s"
    assert result.reason_parts[0].params == {"points": "6"}
    assert result.reason_parts[3].params == {"change": "0.50"}


def test_non_responder_reason_lists_only_failed_components() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.00"),
        visit=assessment(VISIT_7, "1.30"),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "SLEDAI-2K fell by 3; PGA rose by 0.30"


def test_non_responder_reason_lists_every_failed_component_in_rule_order() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(
            BASELINE_10, "1.00", bilag(renal="D", ophthalmic="E", musculoskeletal="C")
        ),
        visit=assessment(VISIT_12, "1.31", bilag(renal="A", ophthalmic="B", musculoskeletal="B")),
        treatment_failure=True,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == (
        "SLEDAI-2K rose by 2; 1 new BILAG A; 2 new BILAG B; PGA rose by 0.31; treatment failure"
    )
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b) == (2, 1, 2)
    assert result.pga_change == D("0.31")


def test_responder_reason_for_unchanged_pga() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.00"),
        visit=assessment(VISIT_6, "1.00"),
        treatment_failure=False,
    )
    assert result.reason == "SLEDAI-2K fell by 4; no new BILAG A; no new BILAG B; PGA unchanged"


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, -4], ids=["zero", "negative"])
def test_sri_rejects_a_threshold_that_is_not_positive(threshold: int) -> None:
    baseline, visit = responder_pair()
    with pytest.raises(ValueError, match="threshold"):
        sri(threshold=threshold, baseline=baseline, visit=visit, treatment_failure=False)


def test_assessment_validates_and_quantizes_pga() -> None:
    assert assessment(pga="1.5").pga == D("1.50")
    with pytest.raises(ValueError, match="outside"):
        assessment(pga="3.50")


def test_assessment_rejects_an_unknown_bilag_grade() -> None:
    with pytest.raises(ValueError, match="renal"):
        assessment(grades=bilag(renal="a"))


def test_assessment_is_immutable() -> None:
    answers = sledai("arthritis")
    a = Assessment(sledai=answers, pga=D("1.00"), bilag=bilag())
    answers["seizure"] = True  # changing the caller's dict does not change the assessment
    assert sledai_total(a.sledai) == 4
    with pytest.raises(FrozenInstanceError):
        a.pga = D("2.00")  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.bilag["renal"] = "A"  # type: ignore[index]
