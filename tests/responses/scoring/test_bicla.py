"""BICLA (responses.scoring.bicla) against clinical-rules.md section 5: each condition and its
boundary, the outcome order (O1-O7 with "no BILAG A or B at baseline" in O4's place), reasons
and components.

Baseline throughout: SLEDAI-2K 10 (arthritis 4 + haematuria 4 + rash 2), PGA 1.50, renal A,
musculoskeletal B, the other seven systems D. Every expected value is a hand calculation.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from responses.scoring.bicla import bicla
from responses.scoring.common import Outcome
from responses.scoring.sri import Assessment
from tests.responses.scoring.answers import BASELINE_10, VISIT_4, VISIT_12, D, assessment, bilag

R, NR, NE = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE

BASELINE_GRADES = bilag(renal="A", musculoskeletal="B")
#: Both improved by one grade: renal A -> B, musculoskeletal B -> C.
IMPROVED_GRADES = bilag(renal="B", musculoskeletal="C")


def _baseline(grades: dict[str, str | None] = BASELINE_GRADES) -> Assessment:
    return assessment(BASELINE_10, "1.50", grades)


def _visit(
    present: tuple[str, ...] = VISIT_4,
    pga: str | None = "1.00",
    **grades: str | None,
) -> Assessment:
    return assessment(present, pga, {**IMPROVED_GRADES, **grades})


def test_a_responder_improves_every_a_and_b_without_worsening() -> None:
    result = bicla(baseline=_baseline(), visit=_visit(), treatment_failure=False)
    assert result.outcome == R
    assert result.reason == (
        "every BILAG A or B at baseline improved; SLEDAI-2K fell by 6; no new BILAG A; "
        "no new BILAG B; PGA fell by 0.50"
    )
    assert (
        result.sledai_change,
        result.new_bilag_a,
        result.new_bilag_b,
        result.pga_change,
        result.bilag_not_improved,
        result.treatment_failure,
    ) == (-6, 0, 0, D("-0.50"), 0, False)


@pytest.mark.parametrize(
    ("renal", "musculoskeletal", "outcome", "not_improved"),
    [
        ("A", "C", NR, 1),
        ("B", "C", R, 0),
        ("C", "C", R, 0),
        ("D", "C", R, 0),
        ("B", "B", NR, 1),
        ("B", "D", R, 0),
        ("B", "A", NR, 1),
    ],
    ids=["A stays A", "A to B", "A to C", "A to D", "B stays B", "B to D", "B to A"],
)
def test_every_system_graded_a_or_b_at_baseline_must_improve(
    renal: str, musculoskeletal: str, outcome: Outcome, not_improved: int
) -> None:
    result = bicla(
        baseline=_baseline(),
        visit=_visit(renal=renal, musculoskeletal=musculoskeletal),
        treatment_failure=False,
    )
    assert (result.outcome, result.bilag_not_improved) == (outcome, not_improved)


def test_the_reason_names_each_system_that_did_not_improve() -> None:
    result = bicla(
        baseline=_baseline(), visit=_visit(renal="A", musculoskeletal="A"), treatment_failure=False
    )
    # In the spec's order of systems (musculoskeletal before renal); musculoskeletal B -> A is
    # also a new A (A at the visit, not A at baseline).
    assert result.reason == (
        "Musculoskeletal BILAG B at baseline, A at the visit: not improved; "
        "Renal BILAG A at baseline, A at the visit: not improved; 1 new BILAG A"
    )
    assert result.reason_parts[1].params["system"] == "Renal"


@pytest.mark.parametrize(
    ("grades", "outcome", "new_a", "new_b"),
    [
        ({"constitutional": "A"}, NR, 1, 0),
        ({"constitutional": "B"}, R, 0, 1),
        ({"constitutional": "B", "mucocutaneous": "B"}, NR, 0, 2),
    ],
    ids=["one new A", "one new B is allowed", "two new B"],
)
def test_no_new_a_and_at_most_one_new_b_as_in_sri(
    grades: dict[str, str], outcome: Outcome, new_a: int, new_b: int
) -> None:
    result = bicla(baseline=_baseline(), visit=_visit(**grades), treatment_failure=False)
    assert (result.outcome, result.new_bilag_a, result.new_bilag_b) == (outcome, new_a, new_b)


@pytest.mark.parametrize(
    ("present", "outcome", "change"),
    [
        (BASELINE_10, R, 0),
        (("arthritis", "hematuria", "rash", "fever"), NR, 1),
        (VISIT_12, NR, 2),
    ],
    ids=["10 to 10 (not higher)", "10 to 11", "10 to 12"],
)
def test_sledai_2k_must_not_be_higher_than_at_baseline(
    present: tuple[str, ...], outcome: Outcome, change: int
) -> None:
    result = bicla(baseline=_baseline(), visit=_visit(present), treatment_failure=False)
    assert (result.outcome, result.sledai_change) == (outcome, change)
    if outcome == NR:
        assert result.reason == f"SLEDAI-2K rose by {change}"


@pytest.mark.parametrize(
    ("pga", "outcome"),
    [("1.79", R), ("1.80", NR), ("1.81", NR)],
    ids=["+0.29", "+0.30 worsens", "+0.31"],
)
def test_a_pga_rise_of_0_30_or_more_fails(pga: str, outcome: Outcome) -> None:
    result = bicla(baseline=_baseline(), visit=_visit(pga=pga), treatment_failure=False)
    assert result.outcome == outcome


def test_treatment_failure_is_a_non_responder_before_anything_else() -> None:
    result = bicla(baseline=None, visit=_visit(), treatment_failure=True)
    assert (result.outcome, result.reason) == (NR, "treatment failure")
    no_a_or_b = _baseline(bilag())
    result = bicla(baseline=no_a_or_b, visit=_visit(), treatment_failure=True)
    assert result.outcome == NR


@pytest.mark.parametrize(
    ("baseline_grades", "outcome"),
    [
        (bilag(), NE),
        (bilag(renal="C", constitutional="E"), NE),
        (bilag(renal="B"), R),
        (bilag(renal="A"), R),
    ],
    ids=["all D", "C and E only", "one B", "one A"],
)
def test_a_participant_without_a_or_b_at_baseline_is_not_evaluable(
    baseline_grades: dict[str, str | None], outcome: Outcome
) -> None:
    result = bicla(
        baseline=_baseline(baseline_grades),
        visit=_visit(renal="D", musculoskeletal="D"),
        treatment_failure=False,
    )
    assert result.outcome == outcome
    if outcome == NE:
        assert result.reason == "no BILAG A or B at baseline"


def test_no_a_or_b_at_baseline_comes_before_a_failure_the_visit_shows() -> None:
    # Like SRI's O4, it is decided before the components: SLEDAI-2K rising does not matter.
    result = bicla(baseline=_baseline(bilag()), visit=_visit(VISIT_12), treatment_failure=False)
    assert (result.outcome, result.reason) == (NE, "no BILAG A or B at baseline")


def test_an_incomplete_baseline_bilag_without_a_or_b_is_missing_answers_not_o4() -> None:
    baseline = _baseline(bilag(renal=None))
    result = bicla(baseline=baseline, visit=_visit(), treatment_failure=False)
    assert (result.outcome, result.reason) == (NE, "BILAG-2004 incomplete at baseline")


@pytest.mark.parametrize(
    ("baseline", "visit", "reason"),
    [
        (None, _visit(), "no baseline visit"),
        (
            dataclasses.replace(_baseline(), entry_complete=False),
            _visit(),
            "data entry in progress at baseline",
        ),
        (
            _baseline(),
            dataclasses.replace(_visit(), entry_complete=False),
            "data entry in progress at the visit",
        ),
        (
            dataclasses.replace(_baseline(), sledai_lookback_days=10),
            dataclasses.replace(_visit(), sledai_lookback_days=30),
            "look-back windows differ (baseline 10 days, visit 30 days)",
        ),
    ],
    ids=["no baseline", "baseline in progress", "visit in progress", "look-back windows"],
)
def test_o2_and_o3_make_the_visit_not_evaluable(
    baseline: Assessment | None, visit: Assessment, reason: str
) -> None:
    result = bicla(baseline=baseline, visit=visit, treatment_failure=False)
    assert (result.outcome, result.reason) == (NE, reason)


def test_missing_answers_cannot_rescue_a_failure() -> None:
    result = bicla(baseline=_baseline(), visit=_visit(VISIT_12, pga=None), treatment_failure=False)
    assert (result.outcome, result.reason) == (
        NR,
        "SLEDAI-2K rose by 2; PGA missing at the visit; the missing answers cannot change this",
    )


def test_a_rise_certain_despite_a_missing_descriptor_fails() -> None:
    # Visit: arthritis, haematuria, rash, alopecia = 12 given, fever missing: at least 12 > 10.
    visit = _visit(VISIT_12)
    visit = dataclasses.replace(visit, sledai={**visit.sledai, "fever": None})
    result = bicla(baseline=_baseline(), visit=visit, treatment_failure=False)
    assert result.outcome == NR
    assert result.reason.startswith("SLEDAI-2K rose by at least 2; SLEDAI-2K incomplete")


def test_a_system_missing_at_the_visit_counts_as_improved_and_leaves_it_open() -> None:
    result = bicla(baseline=_baseline(), visit=_visit(renal=None), treatment_failure=False)
    assert (result.outcome, result.reason) == (NE, "BILAG-2004 incomplete at the visit")
    assert result.bilag_not_improved is None


def test_pga_is_kept_as_a_decimal() -> None:
    result = bicla(baseline=_baseline(), visit=_visit(pga="1.79"), treatment_failure=False)
    assert isinstance(result.pga_change, Decimal)
    assert result.pga_change == D("0.29")
