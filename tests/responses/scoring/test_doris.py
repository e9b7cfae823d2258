"""DORIS remission (responses.scoring.doris) against clinical-rules.md section 5: clinical
SLEDAI-2K 0, PGA 0.49 vs 0.50, prednisolone 5.0 vs 5.1 mg/day, no biologic after the infusion,
the outcome order and the reasons.

In remission throughout unless a test changes it: only the serology descriptors (low complement,
increased DNA binding) present, PGA 0.40, prednisolone-equivalent 5 mg/day.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction

import pytest

from responses.scoring.common import Outcome
from responses.scoring.doris import doris
from responses.scoring.sri import Assessment
from responses.scoring.visit_state import DrugGiven, MedicationsAtVisit
from tests.responses.scoring.answers import SPEC_SLEDAI_TABLE, assessment

R, NR, NE = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE

SEROLOGY = ("low_complement", "increased_dna_binding")
FIVE_MG = MedicationsAtVisit(prednisolone_mg=Fraction(5))


def _visit(present: tuple[str, ...] = SEROLOGY, pga: str | None = "0.40") -> Assessment:
    return assessment(present, pga)


def _doris(
    visit: Assessment | None = None,
    medications: MedicationsAtVisit = FIVE_MG,
    *,
    has_baseline: bool = True,
    treatment_failure: bool = False,
) -> tuple[Outcome, str]:
    result = doris(
        has_baseline=has_baseline,
        visit=visit if visit is not None else _visit(),
        medications=medications,
        treatment_failure=treatment_failure,
    )
    return result.outcome, result.reason


def test_a_visit_meeting_every_condition_is_in_remission_and_says_why() -> None:
    assert _doris() == (
        R,
        "clinical SLEDAI-2K 0; PGA 0.40 < 0.50; prednisolone-equivalent 5 mg/day ≤ 5; "
        "no biologic after the infusion, no immunosuppressant but maintenance ones",
    )


@pytest.mark.parametrize(
    ("number", "field"),
    [(n, f) for n, f, _w, _o in SPEC_SLEDAI_TABLE],
    ids=[f"{n} {f}" for n, f, _w, _o in SPEC_SLEDAI_TABLE],
)
def test_any_clinical_descriptor_present_fails_and_serology_does_not(
    number: int, field: str
) -> None:
    outcome, reason = _doris(_visit((field,)))
    if number in (20, 21):  # low complement, increased DNA binding: not clinical
        assert outcome == R
    else:
        assert outcome == NR
        assert reason.endswith(" present")


def test_the_reason_names_each_clinical_descriptor_present() -> None:
    assert _doris(_visit(("arthritis", "rash"))) == (NR, "Arthritis present; Rash present")


@pytest.mark.parametrize(("pga", "outcome"), [("0.49", R), ("0.50", NR), ("0.51", NR)])
def test_pga_of_0_49_is_in_and_0_50_is_out(pga: str, outcome: Outcome) -> None:
    result = _doris(_visit(pga=pga))
    assert result[0] == outcome
    if outcome == NR:
        assert result[1] == f"PGA {pga} ≥ 0.50"


@pytest.mark.parametrize(
    ("prednisolone_mg", "outcome", "shown"),
    [
        (Fraction(5), R, "prednisolone-equivalent 5 mg/day ≤ 5"),
        (Fraction(51, 10), NR, "prednisolone-equivalent 5.1 mg/day > 5"),
        # Dexamethasone 0.7501 mg x 20/3 = 5.000666... mg: over 5, though 0.01 would show 5.00.
        (Fraction("0.7501") * Fraction(20, 3), NR, "prednisolone-equivalent 5.0007 mg/day > 5"),
    ],
    ids=["5.0", "5.1", "dexamethasone just over 5"],
)
def test_prednisolone_equivalent_of_5_is_in_and_5_1_is_out(
    prednisolone_mg: Fraction, outcome: Outcome, shown: str
) -> None:
    result = _doris(medications=MedicationsAtVisit(prednisolone_mg=prednisolone_mg))
    assert result[0] == outcome
    assert shown in result[1].split("; ")


def test_a_biologic_after_the_infusion_fails() -> None:
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(0),
        biologics_after_infusion=(DrugGiven("belimumab", date(2026, 3, 1)),),
    )
    assert _doris(medications=medications) == (
        NR,
        "belimumab given on 2026-03-01, after the infusion (a biologic)",
    )


def test_a_non_maintenance_immunosuppressant_on_the_visit_date_fails() -> None:
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(0),
        other_immunosuppressants=(DrugGiven("voclosporin", date(2026, 5, 10)),),
    )
    assert _doris(medications=medications) == (
        NR,
        "voclosporin given on the visit date (not a maintenance drug)",
    )


def test_a_new_immunosuppressant_alone_is_lldas_concern_not_doris() -> None:
    medications = MedicationsAtVisit(
        prednisolone_mg=Fraction(0),
        new_immunosuppressants=(DrugGiven("mycophenolate", date(2026, 5, 1)),),
    )
    assert _doris(medications=medications)[0] == R


def test_treatment_failure_is_a_non_responder() -> None:
    assert _doris(treatment_failure=True, has_baseline=False) == (NR, "treatment failure")
    assert _doris(_visit(("rash",)), treatment_failure=True) == (
        NR,
        "Rash present; treatment failure",
    )


def test_o2_no_baseline_and_the_visit_in_progress() -> None:
    assert _doris(has_baseline=False) == (NE, "no baseline visit")
    in_progress = dataclasses.replace(_visit(), entry_complete=False)
    assert _doris(in_progress) == (NE, "data entry in progress at the visit")


def test_a_missing_clinical_descriptor_leaves_it_open_a_missing_serology_one_does_not() -> None:
    visit = _visit(())
    missing_rash = dataclasses.replace(visit, sledai={**visit.sledai, "rash": None})
    assert _doris(missing_rash) == (NE, "clinical SLEDAI-2K incomplete at the visit")
    missing_c3 = dataclasses.replace(visit, sledai={**visit.sledai, "low_complement": None})
    assert _doris(missing_c3)[0] == R


def test_missing_answers_cannot_rescue_a_failure() -> None:
    visit = _visit(("rash",), pga=None)
    visit = dataclasses.replace(visit, sledai={**visit.sledai, "fever": None})
    assert _doris(visit) == (
        NR,
        "Rash present; PGA missing at the visit; the missing answers cannot change this",
    )
