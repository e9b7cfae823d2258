"""Place a participant in the cohort analysis sets (clinical-rules.md section 4a).

Pure Python like responses.scoring: the selectors read the stored results and dates, and these
functions decide, as of a data-cut date, where a participant stands at one scheduled visit of
the infused (modified intention-to-treat, "mITT") set, why a reached visit is not evaluable, and
why an enrolled participant was not infused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from responses.scoring.bicla import NO_BILAG_A_OR_B_AT_BASELINE
from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.sri import (
    BASELINE_BELOW_THRESHOLD,
    ENTRY_IN_PROGRESS_AT_BASELINE,
    ENTRY_IN_PROGRESS_AT_VISIT,
    LOOKBACK_DIFFERS,
    NO_BASELINE,
)


class MittCategory(StrEnum):
    """Where an infused participant stands at a visit; the first that applies, in this order."""

    EXCLUDED = gettext_noop("excluded")
    RESPONDER = gettext_noop("responder")
    NON_RESPONDER = gettext_noop("non-responder")
    TREATMENT_FAILURE = gettext_noop("treatment failure")
    INCOMPLETE = gettext_noop("incomplete")
    MISSING = gettext_noop("missing")
    PENDING = gettext_noop("pending")


#: The categories counted in the mITT denominator (every one but responder is a non-responder).
MITT_DENOMINATOR = frozenset(
    {
        MittCategory.RESPONDER,
        MittCategory.NON_RESPONDER,
        MittCategory.TREATMENT_FAILURE,
        MittCategory.INCOMPLETE,
        MittCategory.MISSING,
    }
)


class MittExclusion(StrEnum):
    """What puts an infused participant outside an endpoint's mITT set, at every visit
    (clinical-rules.md sections 4a and 5)."""

    #: SRI-X: a complete baseline SLEDAI-2K below X (a drop of X is impossible, O4).
    BASELINE_SLEDAI_BELOW_THRESHOLD = "baseline_sledai_below_threshold"
    #: BICLA: a complete baseline BILAG-2004 with no system graded A or B (nothing to improve).
    NO_BILAG_A_OR_B_AT_BASELINE = "no_bilag_a_or_b_at_baseline"
    #: LLDAS and DORIS: states at the visit, so nobody is excluded.
    NOBODY = "nobody"


@dataclass(frozen=True)
class MittParticipant:
    """What the mITT rules read of an infused participant."""

    infusion_date: date
    treatment_failure_date: date | None
    withdrawal_date: date | None
    #: Outside the endpoint's analysis set by its MittExclusion, whatever else happened.
    excluded: bool


@dataclass(frozen=True)
class RecordedResult:
    """The stored result of a recorded visit (outcome None: the visit has no stored result)."""

    outcome: str | None
    treatment_failure: bool | None


def window_last_day(infusion_date: date, window_high: int) -> date:
    """Return the last day of a visit's window: infusion date + the window's last study day."""
    return infusion_date + timedelta(days=window_high)


def mitt_category(
    *,
    participant: MittParticipant,
    recorded: RecordedResult | None,
    window_high: int,
    as_of: date,
) -> MittCategory:
    """Return where an infused participant stands at one scheduled visit as of the data cut.

    ``recorded`` is the visit's stored result when the visit counts as recorded on the cut date
    (dated on or before it, and not left out as out of window); None otherwise, a visit recorded
    as missed included. The first that applies (clinical-rules.md section 4a):

    1. excluded: outside the endpoint's analysis set (MittExclusion: for SRI-X a complete
       baseline SLEDAI-2K below X; for BICLA a complete baseline BILAG-2004 without A or B),
       whatever else happened;
    2. a recorded visit with a stored result: responder; non-responder, or treatment failure
       when the result carries the treatment-failure flag (O1);
    3. without a stored result: treatment failure when a treatment failure or withdrawal on or
       before the cut fell on or before the last day of the visit's window;
    4. incomplete: the visit is recorded but not evaluable (O2, O3, O6), or has no stored
       result;
    5. not recorded: missing when the window's last day is before the cut; otherwise pending
       (outside the denominator).
    """
    if participant.excluded:
        return MittCategory.EXCLUDED
    if recorded is not None and recorded.outcome == Outcome.RESPONDER:
        return MittCategory.RESPONDER
    if recorded is not None and recorded.outcome == Outcome.NON_RESPONDER:
        if recorded.treatment_failure is True:
            return MittCategory.TREATMENT_FAILURE
        return MittCategory.NON_RESPONDER
    last_day = window_last_day(participant.infusion_date, window_high)
    stopped = any(
        stop is not None and stop <= last_day and stop <= as_of
        for stop in (participant.treatment_failure_date, participant.withdrawal_date)
    )
    if (recorded is None or recorded.outcome is None) and stopped:
        return MittCategory.TREATMENT_FAILURE
    if recorded is not None:
        return MittCategory.INCOMPLETE
    if last_day < as_of:
        return MittCategory.MISSING
    return MittCategory.PENDING


class NotEvaluableReason(StrEnum):
    """Why a reached visit is not evaluable, grouped for the report's sentence (O2-O4, O6;
    BICLA's "no BILAG A or B at baseline" in O4's place)."""

    NO_BASELINE = gettext_noop("no baseline visit")
    ENTRY_IN_PROGRESS = gettext_noop("data entry in progress")
    LOOKBACK_DIFFERS = gettext_noop("look-back windows differ")
    BASELINE_BELOW_THRESHOLD = gettext_noop("baseline below %(threshold)s")
    NO_BILAG_A_OR_B_AT_BASELINE = gettext_noop("no BILAG A or B at baseline")
    ANSWERS_MISSING = gettext_noop("answers missing")
    NOT_COMPARED = gettext_noop("not dated after the baseline visit")


#: The first reason part of a stored "not evaluable" result, by the rule that gave it
#: (responses.scoring.sri, bicla; lldas and doris share SRI's O2 parts). Any other first part is
#: O6's: the answers that are missing.
NOT_EVALUABLE_BY_FIRST_PART: dict[str, NotEvaluableReason] = {
    NO_BASELINE: NotEvaluableReason.NO_BASELINE,
    ENTRY_IN_PROGRESS_AT_BASELINE: NotEvaluableReason.ENTRY_IN_PROGRESS,
    ENTRY_IN_PROGRESS_AT_VISIT: NotEvaluableReason.ENTRY_IN_PROGRESS,
    LOOKBACK_DIFFERS: NotEvaluableReason.LOOKBACK_DIFFERS,
    BASELINE_BELOW_THRESHOLD: NotEvaluableReason.BASELINE_BELOW_THRESHOLD,
    NO_BILAG_A_OR_B_AT_BASELINE: NotEvaluableReason.NO_BILAG_A_OR_B_AT_BASELINE,
}


def not_evaluable_reason(first_part_template: str | None) -> NotEvaluableReason:
    """Group a not-evaluable result by its stored first reason part (None: no stored result)."""
    if first_part_template is None:
        return NotEvaluableReason.NOT_COMPARED
    return NOT_EVALUABLE_BY_FIRST_PART.get(first_part_template, NotEvaluableReason.ANSWERS_MISSING)


class NotInfusedCategory(StrEnum):
    """Why an enrolled participant is not infused on the data-cut date."""

    WITHDRAWAL = gettext_noop("withdrawal")
    MANUFACTURING_FAILURE = gettext_noop("manufacturing failure")
    OTHER = gettext_noop("other")
    AWAITING_INFUSION = gettext_noop("not infused yet")


#: The stored reasons (trialsite.models.NotInfusedReason values) and their categories.
NOT_INFUSED_BY_REASON: dict[str, NotInfusedCategory] = {
    "manufacturing_failure": NotInfusedCategory.MANUFACTURING_FAILURE,
    "other": NotInfusedCategory.OTHER,
}


def not_infused_category(
    *, reason: str, withdrawal_date: date | None, as_of: date
) -> NotInfusedCategory:
    """Return why a participant enrolled but not infused on the cut date is not infused.

    The reason recorded for the participant (manufacturing failure, other) comes first; without
    one, a withdrawal on or before the cut; otherwise the participant is still waiting.
    """
    if reason in NOT_INFUSED_BY_REASON:
        return NOT_INFUSED_BY_REASON[reason]
    if withdrawal_date is not None and withdrawal_date <= as_of:
        return NotInfusedCategory.WITHDRAWAL
    return NotInfusedCategory.AWAITING_INFUSION
