"""LLDAS, the lupus low disease activity state at a visit (clinical-rules.md section 5; Franklyn
2016): a state read from the visit's own answers, the previous assessed visit and the
medications, decided as responses.scoring.visit_state says.

In LLDAS at a visit, all of: SLEDAI-2K <= 4 with no major-organ descriptor present; no
descriptor present that was absent at the previous assessed visit; PGA <= 1.00; a
prednisolone-equivalent dose <= 7.5 mg/day on the visit date; no new immunosuppressant started
in the 28 days before the visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from responses.scoring.common import gettext_noop
from responses.scoring.sledai import SLEDAI_DESCRIPTORS, SLEDAI_FIELDS, SLEDAI_LABELS, sledai_bounds
from responses.scoring.sri import Assessment, ReasonPart
from responses.scoring.visit_state import (
    Conditions,
    MedicationsAtVisit,
    StateResult,
    decide_state,
    pga_condition,
    prednisolone_condition,
)

#: The highest SLEDAI-2K total in LLDAS (Franklyn 2016).
LLDAS_SLEDAI_MAX = 4
#: The SLEDAI-2K descriptors of major organs, by number (Franklyn 2016): neurological and
#: vasculitis 1-8, renal 11-14, serositis 18-19, fever 22. None may be present.
LLDAS_MAJOR_ORGAN_NUMBERS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 18, 19, 22})
LLDAS_MAJOR_ORGAN_FIELDS: tuple[str, ...] = tuple(
    d.field for d in SLEDAI_DESCRIPTORS if d.number in LLDAS_MAJOR_ORGAN_NUMBERS
)
#: The highest PGA in LLDAS (0-3 scale; Franklyn 2016).
LLDAS_PGA_MAX = Decimal("1.00")
#: The highest prednisolone-equivalent dose in LLDAS, mg/day (Franklyn 2016).
LLDAS_PREDNISOLONE_MAX = Fraction(15, 2)

SLEDAI_INCOMPLETE_AT_VISIT = gettext_noop("SLEDAI-2K incomplete at the visit")


@dataclass(frozen=True)
class PreviousVisit:
    """The participant's previous assessed visit: the latest earlier one with a SLEDAI-2K entry."""

    code: str
    assessment: Assessment


def _activity(visit: Assessment, conditions: Conditions) -> bool:
    """Add SLEDAI-2K <= 4 without major-organ descriptors; return True if an answer it needs
    is missing."""
    low, high = sledai_bounds(visit.sledai)
    majors = [f for f in LLDAS_MAJOR_ORGAN_FIELDS if visit.sledai.get(f) is True]
    if low > LLDAS_SLEDAI_MAX:
        template = (
            gettext_noop("SLEDAI-2K %(total)s > %(limit)s")
            if low == high
            else gettext_noop("SLEDAI-2K at least %(total)s > %(limit)s")
        )
        conditions.failed.append(
            ReasonPart(template, {"total": str(low), "limit": str(LLDAS_SLEDAI_MAX)})
        )
    conditions.failed.extend(
        ReasonPart(
            gettext_noop("%(descriptor)s present (a major-organ descriptor)"),
            {"descriptor": SLEDAI_LABELS[f]},
        )
        for f in majors
    )
    open_total = low <= LLDAS_SLEDAI_MAX < high
    open_majors = not majors and any(visit.sledai.get(f) is None for f in LLDAS_MAJOR_ORGAN_FIELDS)
    if low <= LLDAS_SLEDAI_MAX and not majors and not (open_total or open_majors):
        conditions.met.append(
            ReasonPart(
                gettext_noop("SLEDAI-2K %(total)s ≤ %(limit)s without a major-organ descriptor"),
                {"total": str(high), "limit": str(LLDAS_SLEDAI_MAX)},
            )
        )
    return open_total or open_majors


def _new_descriptors(
    visit: Assessment, previous: PreviousVisit | None, conditions: Conditions
) -> tuple[bool, bool]:
    """Add "no descriptor present that was absent at the previous assessed visit".

    Return whether it stays open because of a missing answer at the visit, and because of the
    previous visit (none, in progress, or a missing answer there). An in-progress previous
    visit's answers count as missing. Each descriptor is checked at its best case: missing at
    the visit, it is absent; missing at the previous visit, it was present.
    """
    before = (
        previous.assessment.sledai
        if previous is not None and previous.assessment.entry_complete
        else {}
    )
    code = previous.code if previous is not None else ""
    new, open_at_visit, open_before = [], False, False
    for name in SLEDAI_FIELDS:
        now, then = visit.sledai.get(name), before.get(name)
        if now is True and then is False:
            new.append(name)
        elif now is not False and then is not True:
            # Present or missing now, absent or missing then: open unless both are known.
            open_at_visit |= now is None
            open_before |= then is None
    conditions.failed.extend(
        ReasonPart(
            gettext_noop("%(descriptor)s new since %(visit)s"),
            {"descriptor": SLEDAI_LABELS[name], "visit": code},
        )
        for name in new
    )
    if not new and not open_at_visit and not open_before:
        if previous is None:
            met = ReasonPart(gettext_noop("no descriptor present"))
        else:
            met = ReasonPart(gettext_noop("no descriptor new since %(visit)s"), {"visit": code})
        conditions.met.append(met)
    return open_at_visit, open_before


def _previous_missing(previous: PreviousVisit | None) -> ReasonPart:
    """Name what is missing about the previous assessed visit."""
    if previous is None:
        return ReasonPart(gettext_noop("no earlier SLEDAI-2K to compare with"))
    if not previous.assessment.entry_complete:
        return ReasonPart(
            gettext_noop("data entry in progress at %(visit)s"), {"visit": previous.code}
        )
    return ReasonPart(gettext_noop("SLEDAI-2K incomplete at %(visit)s"), {"visit": previous.code})


def _new_immunosuppressants(medications: MedicationsAtVisit, conditions: Conditions) -> None:
    """Add "no new immunosuppressant started in the 28 days before the visit"."""
    for given in medications.new_immunosuppressants:
        conditions.failed.append(
            ReasonPart(
                gettext_noop("%(drug)s started on %(date)s, in the 28 days before the visit"),
                {"drug": given.drug, "date": given.day.isoformat()},
            )
        )
    if not medications.new_immunosuppressants:
        conditions.met.append(
            ReasonPart(gettext_noop("no new immunosuppressant in the 28 days before the visit"))
        )


def lldas(
    *,
    has_baseline: bool,
    visit: Assessment,
    previous: PreviousVisit | None,
    medications: MedicationsAtVisit,
    treatment_failure: bool,
) -> StateResult:
    """Return whether the visit is in LLDAS (responder), not (non-responder) or not evaluable."""
    conditions = Conditions()
    activity_open = _activity(visit, conditions)
    open_at_visit, open_before = _new_descriptors(visit, previous, conditions)
    if activity_open or open_at_visit:
        conditions.missing.append(ReasonPart(SLEDAI_INCOMPLETE_AT_VISIT))
    if open_before:
        conditions.missing.append(_previous_missing(previous))
    pga_condition(
        conditions,
        visit.pga,
        holds=lambda pga: pga <= LLDAS_PGA_MAX,
        limit=LLDAS_PGA_MAX,
        met=gettext_noop("PGA %(pga)s ≤ %(limit)s"),
        failed=gettext_noop("PGA %(pga)s > %(limit)s"),
    )
    prednisolone_condition(
        conditions, prednisolone_mg=medications.prednisolone_mg, limit=LLDAS_PREDNISOLONE_MAX
    )
    _new_immunosuppressants(medications, conditions)
    return decide_state(
        has_baseline=has_baseline,
        visit=visit,
        treatment_failure=treatment_failure,
        prednisolone_mg=medications.prednisolone_mg,
        conditions=conditions,
    )
