"""What LLDAS and DORIS share (clinical-rules.md section 5): states at a visit, read from the
visit's own answers and the medications, decided in the order of SRI's outcomes.

O1 (treatment failure) and O2 (no baseline visit, or the visit's own entry in progress) come
first; O3 and O4 do not apply. Then a condition the given answers already fail makes the visit
a non-responder whatever the missing answers are (O5); a condition a missing answer leaves open
makes it not evaluable (O6); otherwise it is in the state when every condition holds (O7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.pga import format_pga
from responses.scoring.sri import (
    ENTRY_IN_PROGRESS_AT_VISIT,
    NO_BASELINE,
    Assessment,
    ReasonPart,
    decide_with_missing,
)


@dataclass(frozen=True)
class DrugGiven:
    """A drug a state condition names, with the day that matters (its start, or a day given)."""

    drug: str
    day: date


@dataclass(frozen=True)
class MedicationsAtVisit:
    """What the medications say at a visit (computed from the courses by safety.grading.drugs)."""

    #: The exact prednisolone-equivalent dose on the visit date, mg/day (section 6b).
    prednisolone_mg: Fraction
    #: Immunosuppressants other than maintenance ones (biologics included) started in the 28
    #: days before the visit, not continuing an earlier course of the same drug (LLDAS).
    new_immunosuppressants: tuple[DrugGiven, ...] = ()
    #: Biologics given on or after Day 1 up to the visit date, each with its first such day
    #: (DORIS).
    biologics_after_infusion: tuple[DrugGiven, ...] = ()
    #: Immunosuppressants neither maintenance nor biologic given on the visit date (DORIS).
    other_immunosuppressants: tuple[DrugGiven, ...] = ()


@dataclass(frozen=True)
class StateResult:
    """Hold a state's outcome at a visit (LLDAS or DORIS) with the dose behind it."""

    outcome: Outcome
    reason_parts: tuple[ReasonPart, ...]
    treatment_failure: bool
    #: The exact prednisolone-equivalent dose on the visit date, mg/day.
    prednisolone_mg: Fraction

    @property
    def reason(self) -> str:
        """Return the English reason, its parts joined with semicolons."""
        return "; ".join(str(part) for part in self.reason_parts)


@dataclass
class Conditions:
    """The conditions of a state at one visit, each failed, open or met, as reason parts."""

    failed: list[ReasonPart] = field(default_factory=list)
    #: What is missing, when a missing answer leaves a condition open.
    missing: list[ReasonPart] = field(default_factory=list)
    met: list[ReasonPart] = field(default_factory=list)


def decide_state(
    *,
    has_baseline: bool,
    visit: Assessment,
    treatment_failure: bool,
    prednisolone_mg: Fraction,
    conditions: Conditions,
) -> StateResult:
    """Return the state's outcome from its conditions, in the order O1, O2, O5, O6, O7."""

    def result(outcome: Outcome, parts: Sequence[ReasonPart]) -> StateResult:
        return StateResult(
            outcome=outcome,
            reason_parts=tuple(parts),
            treatment_failure=treatment_failure,
            prednisolone_mg=prednisolone_mg,
        )

    if treatment_failure:
        return result(
            Outcome.NON_RESPONDER,
            [*conditions.failed, ReasonPart(gettext_noop("treatment failure"))],
        )
    if not has_baseline:
        return result(Outcome.NOT_EVALUABLE, [ReasonPart(NO_BASELINE)])
    if not visit.entry_complete:
        return result(Outcome.NOT_EVALUABLE, [ReasonPart(ENTRY_IN_PROGRESS_AT_VISIT)])
    if conditions.missing:
        return result(
            *decide_with_missing(certain_failures=conditions.failed, missing=conditions.missing)
        )
    if conditions.failed:
        return result(Outcome.NON_RESPONDER, conditions.failed)
    return result(Outcome.RESPONDER, conditions.met)


#: Doses are shown with two decimals; four when two would hide which side of a limit it is.
DOSE_PLACES = 2
DOSE_FINE_PLACES = 4


def _rounded(value: Fraction, places: int) -> Decimal:
    """Round a non-negative dose half up to ``places`` decimals, from the exact fraction."""
    steps = math.floor(value * 10**places + Fraction(1, 2))
    return Decimal(steps).scaleb(-places)


def format_dose(value: Fraction, limit: Fraction) -> str:
    """Show a dose in mg/day without trailing zeros (10, 7.5, 0.75), rounded half up to 0.01;
    to 0.0001 when 0.01 would show a dose other than the limit as the limit itself."""
    shown = _rounded(value, DOSE_PLACES)
    if Fraction(shown) == limit and value != limit:
        shown = _rounded(value, DOSE_FINE_PLACES)
    return f"{shown.normalize():f}"


def prednisolone_condition(
    conditions: Conditions, *, prednisolone_mg: Fraction, limit: Fraction
) -> None:
    """Add the prednisolone-equivalent dose condition (dose <= limit) to ``conditions``."""
    values = {"dose": format_dose(prednisolone_mg, limit), "limit": format_dose(limit, limit)}
    if prednisolone_mg > limit:
        conditions.failed.append(
            ReasonPart(gettext_noop("prednisolone-equivalent %(dose)s mg/day > %(limit)s"), values)
        )
    else:
        conditions.met.append(
            ReasonPart(gettext_noop("prednisolone-equivalent %(dose)s mg/day ≤ %(limit)s"), values)
        )


def pga_condition(
    conditions: Conditions,
    pga: Decimal | None,
    *,
    holds: Callable[[Decimal], bool],
    limit: Decimal,
    met: str,
    failed: str,
) -> None:
    """Add the visit's PGA condition to ``conditions``: missing, met or failed, each reason part
    (``met``, ``failed``) showing the PGA as %(pga)s and the limit as %(limit)s."""
    if pga is None:
        conditions.missing.append(ReasonPart(gettext_noop("PGA missing at the visit")))
        return
    values = {"pga": format_pga(pga), "limit": format_pga(limit)}
    part = ReasonPart(met if holds(pga) else failed, values)
    (conditions.met if holds(pga) else conditions.failed).append(part)
