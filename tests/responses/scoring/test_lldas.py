"""LLDAS (responses.scoring.lldas) against clinical-rules.md section 5: each condition and its
boundary (SLEDAI-2K 4 vs 5, PGA 1.00 vs 1.01, prednisolone 7.5 vs 7.6 mg/day, a descriptor new
since the previous visit, a new immunosuppressant), the outcome order and the reasons.

In LLDAS throughout unless a test changes it: rash 2 + low complement 2 = SLEDAI-2K 4 at the
visit and at the previous visit (M1), PGA 1.00, prednisolone-equivalent 5 mg/day.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction

import pytest

from responses.scoring.common import Outcome
from responses.scoring.lldas import PreviousVisit, lldas
from responses.scoring.sri import Assessment
from responses.scoring.visit_state import DrugGiven, MedicationsAtVisit, format_dose
from tests.responses.scoring.answers import SPEC_SLEDAI_TABLE, assessment

R, NR, NE = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE

#: Typed from the spec: the major-organ descriptors of LLDAS, by number.
SPEC_MAJOR_ORGAN_NUMBERS = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 18, 19, 22}
IN_LLDAS = ("rash", "low_complement")
FIVE_MG = MedicationsAtVisit(prednisolone_mg=Fraction(5))


def _visit(present: tuple[str, ...] = IN_LLDAS, pga: str | None = "1.00") -> Assessment:
    return assessment(present, pga)


def _previous(present: tuple[str, ...] = IN_LLDAS, *, complete: bool = True) -> PreviousVisit:
    return PreviousVisit("M1", dataclasses.replace(assessment(present), entry_complete=complete))


def _lldas(
    visit: Assessment | None = None,
    previous: PreviousVisit | None = None,
    medications: MedicationsAtVisit = FIVE_MG,
    *,
    has_baseline: bool = True,
    treatment_failure: bool = False,
) -> tuple[Outcome, str]:
    result = lldas(
        has_baseline=has_baseline,
        visit=visit if visit is not None else _visit(),
        previous=previous if previous is not None else _previous(),
        medications=medications,
        treatment_failure=treatment_failure,
    )
    return result.outcome, result.reason


def test_a_visit_meeting_every_condition_is_in_lldas_and_says_why() -> None:
    assert _lldas() == (
        R,
        "SLEDAI-2K 4 ≤ 4 without a major-organ descriptor; no descriptor new since M1; "
        "PGA 1.00 ≤ 1.00; prednisolone-equivalent 5 mg/day ≤ 7.5; "
        "no new immunosuppressant in the 28 days before the visit",
    )


@pytest.mark.parametrize(
    ("present", "outcome", "reason"),
    [
        (("arthritis",), R, None),
        (("arthritis", "thrombocytopenia"), NR, "SLEDAI-2K 5 > 4"),
        (("rash", "alopecia", "leukopenia"), NR, "SLEDAI-2K 5 > 4"),
    ],
    ids=["4 (arthritis)", "5 (arthritis, thrombocytopenia)", "5 (rash, alopecia, leukopenia)"],
)
def test_sledai_2k_of_4_is_in_and_5_is_out(
    present: tuple[str, ...], outcome: Outcome, reason: str | None
) -> None:
    result = _lldas(_visit(present), _previous(present))
    assert result[0] == outcome
    if reason is not None:
        assert result[1] == reason


@pytest.mark.parametrize(
    ("number", "field", "weight"),
    [(n, f, w) for n, f, w, _organ in SPEC_SLEDAI_TABLE],
    ids=[f"{n} {f}" for n, f, _w, _o in SPEC_SLEDAI_TABLE],
)
def test_a_major_organ_descriptor_fails_whatever_its_weight(
    number: int, field: str, weight: int
) -> None:
    # Present alone, at the visit and at M1: only its weight and organ can fail LLDAS.
    outcome, reason = _lldas(_visit((field,)), _previous((field,)))
    if number in SPEC_MAJOR_ORGAN_NUMBERS:
        assert outcome == NR
        assert "(a major-organ descriptor)" in reason
    else:
        assert weight <= 4
        assert outcome == R


def test_the_reason_names_the_major_organ_descriptor() -> None:
    assert _lldas(_visit(("fever",)), _previous(("fever",))) == (
        NR,
        "Fever present (a major-organ descriptor)",
    )


@pytest.mark.parametrize(
    ("at_m1", "at_visit", "outcome"),
    [
        (("rash",), ("rash",), R),
        ((), ("rash",), NR),
        (("rash", "alopecia"), ("rash",), R),
        (("alopecia",), ("rash",), NR),
    ],
    ids=["rash at both", "rash new", "one resolved", "rash new, alopecia resolved"],
)
def test_no_descriptor_may_be_new_since_the_previous_assessed_visit(
    at_m1: tuple[str, ...], at_visit: tuple[str, ...], outcome: Outcome
) -> None:
    result = _lldas(_visit(at_visit), _previous(at_m1))
    assert result[0] == outcome
    if outcome == NR:
        assert result[1] == "Rash new since M1"


@pytest.mark.parametrize(
    ("pga", "outcome"),
    [("0.99", R), ("1.00", R), ("1.01", NR)],
)
def test_pga_of_1_00_is_in_and_1_01_is_out(pga: str, outcome: Outcome) -> None:
    result = _lldas(_visit(pga=pga))
    assert result[0] == outcome
    if outcome == NR:
        assert result[1] == "PGA 1.01 > 1.00"


@pytest.mark.parametrize(
    ("prednisolone_mg", "outcome", "shown"),
    [
        (Fraction(15, 2), R, "prednisolone-equivalent 7.5 mg/day ≤ 7.5"),
        (Fraction(76, 10), NR, "prednisolone-equivalent 7.6 mg/day > 7.5"),
        (Fraction(10), NR, "prednisolone-equivalent 10 mg/day > 7.5"),
        # Dexamethasone 1.12501 mg x 20/3 = 7.500066... mg: over 7.5, shown to 0.0001.
        (Fraction("1.12501") * Fraction(20, 3), NR, "prednisolone-equivalent 7.5001 mg/day > 7.5"),
        (Fraction(0), R, "prednisolone-equivalent 0 mg/day ≤ 7.5"),
    ],
    ids=["7.5", "7.6", "10", "just over 7.5", "none"],
)
def test_prednisolone_equivalent_of_7_5_is_in_and_7_6_is_out(
    prednisolone_mg: Fraction, outcome: Outcome, shown: str
) -> None:
    result = _lldas(medications=MedicationsAtVisit(prednisolone_mg=prednisolone_mg))
    assert result[0] == outcome
    assert shown in result[1].split("; ")


def test_a_new_immunosuppressant_fails() -> None:
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(5),
        new_immunosuppressants=(DrugGiven("voclosporin", date(2026, 4, 20)),),
    )
    assert _lldas(medications=medications) == (
        NR,
        "voclosporin started on 2026-04-20, in the 28 days before the visit",
    )


def test_biologics_after_infusion_alone_do_not_concern_lldas() -> None:
    # A biologic given long before the visit window is DORIS's concern, not LLDAS's.
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(5),
        biologics_after_infusion=(DrugGiven("rituximab", date(2026, 2, 20)),),
    )
    assert _lldas(medications=medications)[0] == R


def test_every_failing_condition_is_named_in_the_spec_order() -> None:
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(10),
        new_immunosuppressants=(DrugGiven("rituximab", date(2026, 4, 20)),),
    )
    outcome, reason = _lldas(_visit(("pleurisy",), pga="1.50"), _previous(()), medications)
    assert (outcome, reason) == (
        NR,
        "Pleurisy present (a major-organ descriptor); Pleurisy new since M1; PGA 1.50 > 1.00; "
        "prednisolone-equivalent 10 mg/day > 7.5; "
        "rituximab started on 2026-04-20, in the 28 days before the visit",
    )


def test_treatment_failure_is_a_non_responder() -> None:
    outcome, reason = _lldas(treatment_failure=True, has_baseline=False)
    assert (outcome, reason) == (NR, "treatment failure")


@pytest.mark.parametrize(
    ("has_baseline", "visit", "reason"),
    [
        (False, _visit(), "no baseline visit"),
        (
            True,
            dataclasses.replace(_visit(), entry_complete=False),
            "data entry in progress at the visit",
        ),
    ],
    ids=["no baseline", "visit in progress"],
)
def test_o2_concerns_the_baseline_visit_and_the_visit_own_entry(
    has_baseline: bool, visit: Assessment, reason: str
) -> None:
    assert _lldas(visit, has_baseline=has_baseline) == (NE, reason)


def test_an_in_progress_previous_visit_is_missing_answers() -> None:
    assert _lldas(previous=_previous(complete=False)) == (NE, "data entry in progress at M1")


def test_with_no_descriptor_present_the_previous_visit_is_not_needed() -> None:
    assert _lldas(_visit(()), _previous(complete=False))[0] == R


def test_without_an_earlier_sledai_a_present_descriptor_cannot_be_checked() -> None:
    result = lldas(
        has_baseline=True,
        visit=_visit(),
        previous=None,
        medications=FIVE_MG,
        treatment_failure=False,
    )
    assert (result.outcome, result.reason) == (NE, "no earlier SLEDAI-2K to compare with")


def test_a_descriptor_missing_at_the_previous_visit_leaves_it_open() -> None:
    previous = _previous()
    previous = PreviousVisit(
        "M1",
        dataclasses.replace(
            previous.assessment, sledai={**previous.assessment.sledai, "rash": None}
        ),
    )
    assert _lldas(previous=previous) == (NE, "SLEDAI-2K incomplete at M1")


def test_pga_missing_is_not_evaluable_unless_another_condition_fails() -> None:
    assert _lldas(_visit(pga=None)) == (NE, "PGA missing at the visit")
    ten_mg = MedicationsAtVisit(prednisolone_mg=Fraction(10))
    assert _lldas(_visit(pga=None), medications=ten_mg) == (
        NR,
        "prednisolone-equivalent 10 mg/day > 7.5; PGA missing at the visit; "
        "the missing answers cannot change this",
    )


def test_a_total_above_4_from_the_given_answers_fails_despite_missing_ones() -> None:
    present = ("arthritis", "thrombocytopenia")
    visit = _visit(present)
    visit = dataclasses.replace(visit, sledai={**visit.sledai, "alopecia": None})
    outcome, reason = _lldas(visit, _previous(present))
    assert outcome == NR
    assert reason.startswith("SLEDAI-2K at least 5 > 4; SLEDAI-2K incomplete at the visit")


def test_a_missing_answer_that_cannot_change_the_outcome_is_not_needed() -> None:
    # Rash 2 given, leukopenia (1) missing: at most 3; leukopenia was present at M1, so it
    # cannot be new either. Every condition holds whatever leukopenia is.
    visit = _visit(("rash",))
    visit = dataclasses.replace(visit, sledai={**visit.sledai, "leukopenia": None})
    outcome, reason = _lldas(visit, _previous(("rash", "leukopenia")))
    assert outcome == R
    assert reason.startswith("SLEDAI-2K 3 ≤ 4 without a major-organ descriptor")


def test_a_missing_major_organ_descriptor_leaves_it_open() -> None:
    visit = _visit(("rash",))
    visit = dataclasses.replace(visit, sledai={**visit.sledai, "fever": None})
    # Fever (major organ, weight 1) missing: SLEDAI-2K at most 3, but fever could be present.
    assert _lldas(visit, _previous(("rash", "fever"))) == (NE, "SLEDAI-2K incomplete at the visit")


@pytest.mark.parametrize(
    ("dose", "limit", "shown"),
    [
        (Fraction(10), Fraction(15, 2), "10"),
        (Fraction(15, 2), Fraction(15, 2), "7.5"),
        (Fraction(3, 4), Fraction(5), "0.75"),
        (Fraction(1, 3), Fraction(5), "0.33"),
        (Fraction(5001, 1000), Fraction(5), "5.001"),
        (Fraction(49999, 10000), Fraction(5), "4.9999"),
    ],
)
def test_doses_show_without_trailing_zeros_and_never_round_onto_the_limit(
    dose: Fraction, limit: Fraction, shown: str
) -> None:
    assert format_dose(dose, limit) == shown
