"""DORIS remission at a visit (clinical-rules.md section 5; van Vollenhoven 2021): a state read
from the visit's own answers and the medications, decided as responses.scoring.visit_state says.

In remission at a visit, all of: clinical SLEDAI-2K (without low complement and increased DNA
binding) = 0; PGA < 0.50; a prednisolone-equivalent dose <= 5 mg/day on the visit date; no
biologic other than the study CAR-T given after the infusion. Antimalarials and maintenance
immunosuppressants are allowed; another immunosuppressant given on the visit date is not.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from responses.scoring.common import gettext_noop
from responses.scoring.sledai import SLEDAI_CLINICAL_FIELDS, SLEDAI_LABELS
from responses.scoring.sri import Assessment, ReasonPart
from responses.scoring.visit_state import (
    Conditions,
    MedicationsAtVisit,
    StateResult,
    decide_state,
    pga_condition,
    prednisolone_condition,
)

#: PGA must be below this (0-3 scale; van Vollenhoven 2021).
DORIS_PGA_BELOW = Decimal("0.50")
#: The highest prednisolone-equivalent dose in remission, mg/day (van Vollenhoven 2021).
DORIS_PREDNISOLONE_MAX = Fraction(5)


def _clinical_sledai(visit: Assessment, conditions: Conditions) -> None:
    """Add clinical SLEDAI-2K = 0: any clinical descriptor present fails it."""
    present = [f for f in SLEDAI_CLINICAL_FIELDS if visit.sledai.get(f) is True]
    conditions.failed.extend(
        ReasonPart(gettext_noop("%(descriptor)s present"), {"descriptor": SLEDAI_LABELS[f]})
        for f in present
    )
    if present:
        return
    if any(visit.sledai.get(f) is None for f in SLEDAI_CLINICAL_FIELDS):
        conditions.missing.append(
            ReasonPart(gettext_noop("clinical SLEDAI-2K incomplete at the visit"))
        )
    else:
        conditions.met.append(ReasonPart(gettext_noop("clinical SLEDAI-2K 0")))


def _drugs(medications: MedicationsAtVisit, conditions: Conditions) -> None:
    """Add "no biologic after the infusion, no immunosuppressant other than maintenance"."""
    for given in medications.biologics_after_infusion:
        conditions.failed.append(
            ReasonPart(
                gettext_noop("%(drug)s given on %(date)s, after the infusion (a biologic)"),
                {"drug": given.drug, "date": given.day.isoformat()},
            )
        )
    for given in medications.other_immunosuppressants:
        conditions.failed.append(
            ReasonPart(
                gettext_noop("%(drug)s given on the visit date (not a maintenance drug)"),
                {"drug": given.drug},
            )
        )
    if not medications.biologics_after_infusion and not medications.other_immunosuppressants:
        conditions.met.append(
            ReasonPart(
                gettext_noop(
                    "no biologic after the infusion, no immunosuppressant but maintenance ones"
                )
            )
        )


def doris(
    *,
    has_baseline: bool,
    visit: Assessment,
    medications: MedicationsAtVisit,
    treatment_failure: bool,
) -> StateResult:
    """Return whether the visit is in DORIS remission (responder), not (non-responder) or not
    evaluable."""
    conditions = Conditions()
    _clinical_sledai(visit, conditions)
    pga_condition(
        conditions,
        visit.pga,
        holds=lambda pga: pga < DORIS_PGA_BELOW,
        limit=DORIS_PGA_BELOW,
        met=gettext_noop("PGA %(pga)s < %(limit)s"),
        failed=gettext_noop("PGA %(pga)s ≥ %(limit)s"),
    )
    prednisolone_condition(
        conditions, prednisolone_mg=medications.prednisolone_mg, limit=DORIS_PREDNISOLONE_MAX
    )
    _drugs(medications, conditions)
    return decide_state(
        has_baseline=has_baseline,
        visit=visit,
        treatment_failure=treatment_failure,
        prednisolone_mg=medications.prednisolone_mg,
        conditions=conditions,
    )
