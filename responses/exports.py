"""Write the report CSV files (interchange.md): responses.csv and cohort.csv (observed or mITT).

Every file is written through trialsite.csvfiles.write_csv: cells that a spreadsheet would run
as a formula are neutralised with a leading apostrophe (OWASP "CSV injection"); numbers,
including negative ones, are written as they are.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

from responses.selectors.cohort import CohortRow, MittRow
from responses.selectors.rows import ResponseRow
from trialsite.csvfiles import write_csv
from trialsite.models import NOT_DONE

RESPONSES_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "site",
    "visit",
    "visit_date",
    "study_day",
    "sledai2k",
    "sledai2k_change",
    "pga",
    "pga_change",
    "new_bilag_a",
    "new_bilag_b",
    "treatment_failure",
    "sri4",
    "sri5",
    "sri6",
    "sri4_reason",
    "bicla",
    "lldas",
    "doris",
    "in_window",
)
COHORT_COLUMNS: tuple[str, ...] = (
    "visit",
    "reached",
    "evaluable",
    "responders",
    "rate",
    "ci_low",
    "ci_high",
    "out_of_window",
)
MITT_COLUMNS: tuple[str, ...] = (
    "visit",
    "denominator",
    "responders",
    "non_responders",
    "treatment_failure",
    "incomplete",
    "missing",
    "excluded",
    "pending",
    "rate",
    "ci_low",
    "ci_high",
)

PGA_QUANTUM = Decimal("0.01")


def format_two_decimals(value: Decimal | None) -> str:
    """Write a PGA or PGA change with exactly two decimals ("-0.50", "0.30")."""
    if value is None:
        return ""
    # Halves round up, as every figure here does (a median PGA of 1.365 is 1.37); adding zero
    # turns a negative zero into 0.00.
    return f"{value.quantize(PGA_QUANTUM, rounding=ROUND_HALF_UP) + 0:.2f}"


def write_responses_csv(out: TextIO, rows: Iterable[ResponseRow]) -> None:
    """Write responses.csv: one row per follow-up visit with its stored SRI-4/5/6, BICLA, LLDAS
    and DORIS results, and whether it is dated inside its window."""
    write_csv(
        out,
        RESPONSES_COLUMNS,
        (
            (
                row.participant_id,
                row.site,
                row.visit,
                row.visit_date,
                row.study_day,
                row.sledai2k,
                row.sledai2k_change,
                NOT_DONE if row.pga_not_done else format_two_decimals(row.pga),
                format_two_decimals(row.pga_change),
                row.new_bilag_a,
                row.new_bilag_b,
                row.treatment_failure,
                row.sri4,
                row.sri5,
                row.sri6,
                row.sri4_reason,
                row.bicla,
                row.lldas,
                row.doris,
                row.in_window,
            )
            for row in rows
        ),
    )


def write_cohort_csv(out: TextIO, rows: Iterable[CohortRow]) -> None:
    """Write cohort.csv of the observed set: per scheduled visit after baseline, reached,
    evaluable and responders, the rate and its interval, and the visits out of window."""
    write_csv(
        out,
        COHORT_COLUMNS,
        (
            (
                row.visit,
                row.reached,
                row.evaluable,
                row.responders,
                row.rate,
                row.ci_low,
                row.ci_high,
                row.out_of_window,
            )
            for row in rows
        ),
    )


def write_mitt_csv(out: TextIO, rows: Iterable[MittRow]) -> None:
    """Write cohort.csv of the infused (mITT) set: per scheduled visit after baseline, every
    category, the rate and its interval (empty when the denominator is 0)."""
    write_csv(
        out,
        MITT_COLUMNS,
        (
            (
                row.visit,
                row.denominator,
                row.responders,
                row.non_responders,
                row.treatment_failure,
                row.incomplete,
                row.missing,
                row.excluded,
                row.pending,
                row.rate,
                row.ci_low,
                row.ci_high,
            )
            for row in rows
        ),
    )
