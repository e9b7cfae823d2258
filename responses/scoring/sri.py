"""SRI-X (clinical-rules.md section 4; Furie 2009): a follow-up visit against baseline, the
outcome decided by the first of O1-O7 that applies, with the components and the reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from responses.scoring.bilag import BILAG_SYSTEMS, bilag_complete, check_grade
from responses.scoring.common import Outcome, gettext_noop
from responses.scoring.pga import format_pga, validate_pga
from responses.scoring.sledai import sledai_bounds, sledai_total


def treatment_failed(
    *, visit_date: date, treatment_failure_date: date | None, withdrawal_date: date | None
) -> bool:
    """Return True if treatment failure or withdrawal happened on or before the visit date."""
    return any(
        event is not None and event <= visit_date
        for event in (treatment_failure_date, withdrawal_date)
    )


#: PGA worsens when visit - baseline >= 0.30 (Furie 2009); exactly 0.30 is worsening.
SRI_PGA_WORSENING = Decimal("0.30")
#: At most one new BILAG B is allowed (Furie 2009).
SRI_MAX_NEW_BILAG_B = 1
#: New BILAG A systems allowed (Furie 2009): none.
SRI_MAX_NEW_BILAG_A = 0
#: SRI-4 is the primary endpoint; SRI-5 and SRI-6 are secondary (spec section 4).
#: Baseline grades from which a B at the visit counts as new (spec section 4, rule 3).
SRI_NEW_B_FROM_GRADES: frozenset[str] = frozenset({"C", "D", "E"})

# The reason a visit is not evaluable before its answers are compared (O2-O4), as stored; the
# reports group stored results by it (responses.scoring.analysis).
NO_BASELINE = gettext_noop("no baseline visit")
ENTRY_IN_PROGRESS_AT_BASELINE = gettext_noop("data entry in progress at baseline")
ENTRY_IN_PROGRESS_AT_VISIT = gettext_noop("data entry in progress at the visit")
LOOKBACK_DIFFERS = gettext_noop(
    "look-back windows differ (baseline %(baseline)s days, visit %(visit)s days)"
)
BASELINE_BELOW_THRESHOLD = gettext_noop("baseline SLEDAI-2K %(total)s is below %(threshold)s")


@dataclass(frozen=True)
class Assessment:
    """Hold one visit's SLEDAI-2K answers, PGA and BILAG-2004 grades (None = not recorded).

    The mappings are copied into read-only views so the assessment cannot change afterwards.
    """

    sledai: Mapping[str, bool | None]
    pga: Decimal | None
    bilag: Mapping[str, str | None]
    #: False while the visit's form is saved "in progress": its data do not count as complete.
    entry_complete: bool = True
    #: The SLEDAI-2K look-back window the answers were given for (10 or 30 days; None unknown).
    sledai_lookback_days: int | None = None

    def __post_init__(self) -> None:
        """Validate the PGA and grades and freeze the mappings."""
        if self.pga is not None:
            object.__setattr__(self, "pga", validate_pga(self.pga))
        for system, grade in self.bilag.items():
            check_grade(system, grade)
        object.__setattr__(self, "sledai", MappingProxyType(dict(self.sledai)))
        object.__setattr__(self, "bilag", MappingProxyType(dict(self.bilag)))


@dataclass(frozen=True)
class ReasonPart:
    """Hold one translatable piece of a reason: an English msgid and its formatted values."""

    template: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        """Return the English text with the values filled in."""
        return self.template % self.params


@dataclass(frozen=True)
class SriResult:
    """Hold an SRI-X outcome with every component a report needs to explain it."""

    threshold: int
    outcome: Outcome
    reason_parts: tuple[ReasonPart, ...]
    sledai_change: int | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    pga_change: Decimal | None
    treatment_failure: bool

    @property
    def reason(self) -> str:
        """Return the English reason, its parts joined with semicolons."""
        return "; ".join(str(part) for part in self.reason_parts)


def new_bilag_counts(
    baseline: Mapping[str, str | None], visit: Mapping[str, str | None]
) -> tuple[int, int]:
    """Count new BILAG A and new BILAG B systems at the visit compared with baseline."""
    new_a = sum(1 for s in BILAG_SYSTEMS if visit.get(s) == "A" and baseline.get(s) != "A")
    new_b = sum(
        1 for s in BILAG_SYSTEMS if visit.get(s) == "B" and baseline.get(s) in SRI_NEW_B_FROM_GRADES
    )
    return new_a, new_b


def sledai_change_part(change: int) -> ReasonPart:
    """Describe a SLEDAI-2K change (visit - baseline)."""
    if change < 0:
        return ReasonPart(gettext_noop("SLEDAI-2K fell by %(points)s"), {"points": str(-change)})
    if change > 0:
        return ReasonPart(gettext_noop("SLEDAI-2K rose by %(points)s"), {"points": str(change)})
    return ReasonPart(gettext_noop("SLEDAI-2K unchanged"))


def pga_change_part(change: Decimal) -> ReasonPart:
    """Describe a PGA change (visit - baseline) with two decimals."""
    if change < 0:
        return ReasonPart(gettext_noop("PGA fell by %(change)s"), {"change": format_pga(-change)})
    if change > 0:
        return ReasonPart(gettext_noop("PGA rose by %(change)s"), {"change": format_pga(change)})
    return ReasonPart(gettext_noop("PGA unchanged"))


def new_a_part(count: int) -> ReasonPart:
    """Describe the number of new BILAG A systems."""
    if count == 0:
        return ReasonPart(gettext_noop("no new BILAG A"))
    return ReasonPart(gettext_noop("%(count)s new BILAG A"), {"count": str(count)})


def new_b_part(count: int) -> ReasonPart:
    """Describe the number of new BILAG B systems."""
    if count == 0:
        return ReasonPart(gettext_noop("no new BILAG B"))
    return ReasonPart(gettext_noop("%(count)s new BILAG B"), {"count": str(count)})


def graded_pairs(
    baseline: Mapping[str, str | None], visit: Mapping[str, str | None]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Keep the systems graded at both visits: one missing at either visit is not new (O5)."""
    graded = [s for s in BILAG_SYSTEMS if baseline.get(s) is not None and visit.get(s) is not None]
    return {s: baseline[s] for s in graded}, {s: visit[s] for s in graded}


def _certain_failures(threshold: int, baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """List the components that fail whatever the missing answers are (spec section 4, O5).

    Each is checked at its best case: a missing SLEDAI-2K descriptor counts as present at
    baseline and absent at the visit, a BILAG system missing at either visit is not new, and a
    missing PGA does not worsen.
    """
    parts: list[ReasonPart] = []
    _baseline_low, baseline_high = sledai_bounds(baseline.sledai)
    visit_low, _visit_high = sledai_bounds(visit.sledai)
    best_drop = baseline_high - visit_low
    sledai_known = (
        sledai_total(baseline.sledai) is not None and sledai_total(visit.sledai) is not None
    )
    if best_drop < threshold:
        if sledai_known:
            parts.append(sledai_change_part(-best_drop))
        elif best_drop <= 0:
            parts.append(ReasonPart(gettext_noop("SLEDAI-2K cannot fall")))
        else:
            parts.append(
                ReasonPart(
                    gettext_noop("SLEDAI-2K can fall by %(points)s at most"),
                    {"points": str(best_drop)},
                )
            )
    new_a, new_b = new_bilag_counts(*graded_pairs(baseline.bilag, visit.bilag))
    if new_a > SRI_MAX_NEW_BILAG_A:
        parts.append(new_a_part(new_a))
    if new_b > SRI_MAX_NEW_BILAG_B:
        parts.append(new_b_part(new_b))
    if baseline.pga is not None and visit.pga is not None:
        pga_change = visit.pga - baseline.pga
        if pga_change >= SRI_PGA_WORSENING:
            parts.append(pga_change_part(pga_change))
    return parts


def missing_answer_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Name every assessment with a missing answer, at baseline and at the visit."""
    parts: list[ReasonPart] = []
    if sledai_total(baseline.sledai) is None:
        parts.append(ReasonPart(gettext_noop("SLEDAI-2K incomplete at baseline")))
    if baseline.pga is None:
        parts.append(ReasonPart(gettext_noop("PGA missing at baseline")))
    if not bilag_complete(baseline.bilag):
        parts.append(ReasonPart(gettext_noop("BILAG-2004 incomplete at baseline")))
    if sledai_total(visit.sledai) is None:
        parts.append(ReasonPart(gettext_noop("SLEDAI-2K incomplete at the visit")))
    if visit.pga is None:
        parts.append(ReasonPart(gettext_noop("PGA missing at the visit")))
    if not bilag_complete(visit.bilag):
        parts.append(ReasonPart(gettext_noop("BILAG-2004 incomplete at the visit")))
    return parts


def entry_in_progress_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Name the entries still saved in progress (O2)."""
    parts: list[ReasonPart] = []
    if not baseline.entry_complete:
        parts.append(ReasonPart(ENTRY_IN_PROGRESS_AT_BASELINE))
    if not visit.entry_complete:
        parts.append(ReasonPart(ENTRY_IN_PROGRESS_AT_VISIT))
    return parts


def lookback_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Say that the look-back windows differ (O3): the totals are then not comparable."""
    windows = (baseline.sledai_lookback_days, visit.sledai_lookback_days)
    if None in windows or windows[0] == windows[1]:
        return []
    return [ReasonPart(LOOKBACK_DIFFERS, {"baseline": str(windows[0]), "visit": str(windows[1])})]


MISSING_CANNOT_CHANGE = gettext_noop("the missing answers cannot change this")


def decide_with_missing(
    *, certain_failures: Sequence[ReasonPart], missing: Sequence[ReasonPart]
) -> tuple[Outcome, list[ReasonPart]]:
    """Decide O5 and O6 for a visit with missing answers (``missing`` names them).

    O5: when the answers given already fail a component whatever the missing ones are
    (``certain_failures``), the visit is a non-responder and its reason names the failures and
    what is missing; O6: otherwise it is not evaluable, naming what is missing.
    """
    if certain_failures:
        return Outcome.NON_RESPONDER, [
            *certain_failures,
            *missing,
            ReasonPart(MISSING_CANNOT_CHANGE),
        ]
    return Outcome.NOT_EVALUABLE, list(missing)


def sri(
    *, threshold: int, baseline: Assessment | None, visit: Assessment, treatment_failure: bool
) -> SriResult:
    """Compare a follow-up visit with baseline and return the SRI-X result (spec section 4).

    The outcome is decided by the first of O1-O7 that applies: treatment failure
    (non-responder); no baseline or an entry in progress (not evaluable); different look-back
    windows (not evaluable); baseline SLEDAI-2K below X (not evaluable); a failure that the
    missing answers cannot rescue (non-responder); missing answers (not evaluable); otherwise
    the five conditions. Every component the data allow is computed and kept.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"SRI threshold must be a positive integer, not {threshold!r}")

    sledai_change: int | None = None
    new_a: int | None = None
    new_b: int | None = None
    pga_change: Decimal | None = None
    if baseline is not None:
        baseline_total = sledai_total(baseline.sledai)
        visit_total = sledai_total(visit.sledai)
        if baseline_total is not None and visit_total is not None:
            sledai_change = visit_total - baseline_total
        if bilag_complete(baseline.bilag) and bilag_complete(visit.bilag):
            new_a, new_b = new_bilag_counts(baseline.bilag, visit.bilag)
        if baseline.pga is not None and visit.pga is not None:
            pga_change = visit.pga - baseline.pga

    failed_parts: list[ReasonPart] = []
    # Rule 1 (baseline - visit >= X) is failed when visit - baseline > -X.
    if sledai_change is not None and sledai_change > -threshold:
        failed_parts.append(sledai_change_part(sledai_change))
    if new_a is not None and new_a > SRI_MAX_NEW_BILAG_A:
        failed_parts.append(new_a_part(new_a))
    if new_b is not None and new_b > SRI_MAX_NEW_BILAG_B:
        failed_parts.append(new_b_part(new_b))
    if pga_change is not None and pga_change >= SRI_PGA_WORSENING:
        failed_parts.append(pga_change_part(pga_change))

    def result(outcome: Outcome, parts: Sequence[ReasonPart]) -> SriResult:
        """Bundle the outcome and reason with the components computed above."""
        return SriResult(
            threshold=threshold,
            outcome=outcome,
            reason_parts=tuple(parts),
            sledai_change=sledai_change,
            new_bilag_a=new_a,
            new_bilag_b=new_b,
            pga_change=pga_change,
            treatment_failure=treatment_failure,
        )

    # O1: treatment failure on or before the visit is never "not evaluable".
    if treatment_failure:
        failed_parts.append(ReasonPart(gettext_noop("treatment failure")))
        return result(Outcome.NON_RESPONDER, failed_parts)
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
    # O4: a drop of X is impossible from a complete baseline below X.
    baseline_total = sledai_total(baseline.sledai)
    if baseline_total is not None and baseline_total < threshold:
        return result(
            Outcome.NOT_EVALUABLE,
            [
                ReasonPart(
                    BASELINE_BELOW_THRESHOLD,
                    {"total": str(baseline_total), "threshold": str(threshold)},
                )
            ],
        )
    missing = missing_answer_parts(baseline, visit)
    if missing:
        outcome, parts = decide_with_missing(
            certain_failures=_certain_failures(threshold, baseline, visit), missing=missing
        )
        return result(outcome, parts)
    # O7: complete data decide by the five conditions.
    if failed_parts:
        return result(Outcome.NON_RESPONDER, failed_parts)
    if sledai_change is None or new_a is None or new_b is None or pga_change is None:
        # Complete data always yield every component; reaching here is a programming error.
        raise RuntimeError("SRI components missing although the data are complete")
    return result(
        Outcome.RESPONDER,
        [
            sledai_change_part(sledai_change),
            new_a_part(new_a),
            new_b_part(new_b),
            pga_change_part(pga_change),
        ],
    )
