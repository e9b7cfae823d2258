"""BICLA, the BILAG-based Composite Lupus Assessment (clinical-rules.md section 5; Wallace 2014):
a follow-up visit against baseline, decided in the order of SRI's outcomes (O1-O7), with "no
BILAG A or B at baseline" in the place of SRI's O4.

A responder has, against baseline: every system graded A improved to B, C or D and every system
graded B improved to C or D; no new BILAG A and at most one new BILAG B (as in SRI); a SLEDAI-2K
total not higher; a PGA rise below 0.30; and no treatment failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from responses.scoring.bilag import BILAG_SYSTEM_LABELS, BILAG_SYSTEMS, bilag_complete
from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.sledai import sledai_bounds, sledai_total
from responses.scoring.sri import (
    NO_BASELINE,
    SRI_MAX_NEW_BILAG_A,
    SRI_MAX_NEW_BILAG_B,
    SRI_PGA_WORSENING,
    Assessment,
    ReasonPart,
    decide_with_missing,
    entry_in_progress_parts,
    graded_pairs,
    lookback_parts,
    missing_answer_parts,
    new_a_part,
    new_b_part,
    new_bilag_counts,
    pga_change_part,
    sledai_change_part,
)

#: The grades a system graded A or B at baseline must reach at the visit (Wallace 2014): A to
#: B, C or D; B to C or D.
BICLA_IMPROVED_GRADES: Mapping[str, frozenset[str]] = {
    "A": frozenset({"B", "C", "D"}),
    "B": frozenset({"C", "D"}),
}

#: Why a participant with a complete baseline BILAG-2004 and no A or B is not evaluable: there
#: is nothing to improve (section 5). Such participants are outside BICLA's mITT set.
NO_BILAG_A_OR_B_AT_BASELINE = gettext_noop("no BILAG A or B at baseline")


@dataclass(frozen=True)
class BiclaResult:
    """Hold a BICLA outcome with every component a report needs to explain it."""

    outcome: Outcome
    reason_parts: tuple[ReasonPart, ...]
    sledai_change: int | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    pga_change: Decimal | None
    #: Systems graded A or B at baseline that did not improve (None while grades are missing).
    bilag_not_improved: int | None
    treatment_failure: bool

    @property
    def reason(self) -> str:
        """Return the English reason, its parts joined with semicolons."""
        return "; ".join(str(part) for part in self.reason_parts)


def _not_improved(
    baseline: Mapping[str, str | None], visit: Mapping[str, str | None]
) -> list[ReasonPart]:
    """Name each system graded A or B at baseline and graded at the visit without improving.

    A system not graded at the visit is not named: at its best case it improved (O5).
    """
    parts = []
    for system in BILAG_SYSTEMS:
        before, after = baseline.get(system), visit.get(system)
        if before is None or after is None or before not in BICLA_IMPROVED_GRADES:
            continue
        if after not in BICLA_IMPROVED_GRADES[before]:
            parts.append(
                ReasonPart(
                    gettext_noop(
                        "%(system)s BILAG %(baseline)s at baseline, %(visit)s at the visit: "
                        "not improved"
                    ),
                    {
                        "system": BILAG_SYSTEM_LABELS[system],
                        "baseline": before,
                        "visit": after,
                    },
                )
            )
    return parts


def _failures(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """List the components that fail whatever the missing answers are (O5; O7 when complete).

    Each is checked at its best case: a missing SLEDAI-2K descriptor counts as present at
    baseline and absent at the visit, a BILAG system missing at either visit is not new and has
    improved, and a missing PGA does not worsen.
    """
    parts = _not_improved(baseline.bilag, visit.bilag)
    _baseline_low, baseline_high = sledai_bounds(baseline.sledai)
    visit_low, _visit_high = sledai_bounds(visit.sledai)
    if visit_low > baseline_high:
        known = sledai_total(baseline.sledai) is not None and sledai_total(visit.sledai) is not None
        parts.append(
            sledai_change_part(visit_low - baseline_high)
            if known
            else ReasonPart(
                gettext_noop("SLEDAI-2K rose by at least %(points)s"),
                {"points": str(visit_low - baseline_high)},
            )
        )
    new_a, new_b = new_bilag_counts(*graded_pairs(baseline.bilag, visit.bilag))
    if new_a > SRI_MAX_NEW_BILAG_A:
        parts.append(new_a_part(new_a))
    if new_b > SRI_MAX_NEW_BILAG_B:
        parts.append(new_b_part(new_b))
    pga_change = (
        visit.pga - baseline.pga if baseline.pga is not None and visit.pga is not None else None
    )
    if pga_change is not None and pga_change >= SRI_PGA_WORSENING:
        parts.append(pga_change_part(pga_change))
    return parts


def bicla(
    *, baseline: Assessment | None, visit: Assessment, treatment_failure: bool
) -> BiclaResult:
    """Compare a follow-up visit with baseline and return the BICLA result (section 5).

    The first that applies: treatment failure (non-responder, O1); no baseline or an entry in
    progress (not evaluable, O2); different look-back windows (not evaluable, O3); a complete
    baseline BILAG-2004 without A or B (not evaluable); a failure the missing answers cannot
    rescue (non-responder, O5); missing answers (not evaluable, O6); otherwise the conditions.
    """
    sledai_change: int | None = None
    new_a: int | None = None
    new_b: int | None = None
    pga_change: Decimal | None = None
    not_improved: int | None = None
    if baseline is not None:
        baseline_total, visit_total = sledai_total(baseline.sledai), sledai_total(visit.sledai)
        if baseline_total is not None and visit_total is not None:
            sledai_change = visit_total - baseline_total
        if bilag_complete(baseline.bilag) and bilag_complete(visit.bilag):
            new_a, new_b = new_bilag_counts(baseline.bilag, visit.bilag)
            not_improved = len(_not_improved(baseline.bilag, visit.bilag))
        if baseline.pga is not None and visit.pga is not None:
            pga_change = visit.pga - baseline.pga

    def result(outcome: Outcome, parts: list[ReasonPart]) -> BiclaResult:
        """Bundle the outcome and reason with the components computed above."""
        return BiclaResult(
            outcome=outcome,
            reason_parts=tuple(parts),
            sledai_change=sledai_change,
            new_bilag_a=new_a,
            new_bilag_b=new_b,
            pga_change=pga_change,
            bilag_not_improved=not_improved,
            treatment_failure=treatment_failure,
        )

    # O1: treatment failure on or before the visit is never "not evaluable".
    if treatment_failure:
        failures = _failures(baseline, visit) if baseline is not None else []
        return result(
            Outcome.NON_RESPONDER, [*failures, ReasonPart(gettext_noop("treatment failure"))]
        )
    # O2: no baseline, or an entry still in progress.
    if baseline is None:
        return result(Outcome.NOT_EVALUABLE, [ReasonPart(NO_BASELINE)])
    in_progress = entry_in_progress_parts(baseline, visit)
    if in_progress:
        return result(Outcome.NOT_EVALUABLE, in_progress)
    # O3: totals over different look-back windows are not comparable.
    lookback = lookback_parts(baseline, visit)
    if lookback:
        return result(Outcome.NOT_EVALUABLE, lookback)
    # In O4's place: with no system graded A or B at baseline there is nothing to improve.
    if bilag_complete(baseline.bilag) and not any(
        grade in BICLA_IMPROVED_GRADES for grade in baseline.bilag.values()
    ):
        return result(Outcome.NOT_EVALUABLE, [ReasonPart(NO_BILAG_A_OR_B_AT_BASELINE)])
    failures = _failures(baseline, visit)
    missing = missing_answer_parts(baseline, visit)
    if missing:
        # O5 and O6.
        return result(*decide_with_missing(certain_failures=failures, missing=missing))
    # O7: complete data decide by the conditions.
    if failures:
        return result(Outcome.NON_RESPONDER, failures)
    if sledai_change is None or new_a is None or new_b is None or pga_change is None:
        # Complete data always yield every component; reaching here is a programming error.
        raise RuntimeError("BICLA components missing although the data are complete")
    return result(
        Outcome.RESPONDER,
        [
            ReasonPart(gettext_noop("every BILAG A or B at baseline improved")),
            sledai_change_part(sledai_change),
            new_a_part(new_a),
            new_b_part(new_b),
            pga_change_part(pga_change),
        ],
    )
