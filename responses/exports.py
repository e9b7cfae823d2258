"""Write the report CSV files (interchange.md): responses.csv and cohort.csv (observed or mITT).

Every file is written through trialsite.csvfiles.write_csv: cells that a spreadsheet would run
as a formula are neutralised with a leading apostrophe (OWASP "CSV injection"); numbers,
including negative ones, are written as they are.

The contract's columns come first, in its order; after them (interchange.md allows later
columns) every row repeats what the file holds (ExportScope): the endpoint and population where
the file has one, the sites, the other filters and the data cut. The first line stays the header
row, so readers that take the first line as the header keep working.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

from responses.selectors.cohort import CohortRow, MittRow
from responses.selectors.rows import ResponseRow
from trialsite.csvfiles import write_csv
from trialsite.models import NOT_DONE

#: What every report export repeats on each row, after its own columns: the sites it holds
#: ("all", or their codes separated by ";"), the other filters ("dose=100000;sex=F;age=6-11",
#: empty when none) and the data cut (YYYY-MM-DD).
SCOPE_COLUMNS: tuple[str, ...] = ("sites", "filters", "as_of")
#: cohort.csv also repeats its endpoint (sri4 ...) and population (observed or mitt).
COHORT_SCOPE_COLUMNS: tuple[str, ...] = ("endpoint", "population", *SCOPE_COLUMNS)

OBSERVED = "observed"
MITT = "mitt"


@dataclass(frozen=True)
class ExportScope:
    """What an export holds, written on every row after the contract's columns.

    ``sites`` None means every site; ``filters`` the other filters chosen, as ``key=value``
    pairs joined by ";" ("" when none).
    """

    as_of: date
    sites: tuple[str, ...] | None = None
    filters: str = ""
    endpoint: str = ""
    population: str = ""

    @property
    def sites_cell(self) -> str:
        if self.sites is None:
            return "all"
        return ";".join(self.sites) if self.sites else "none"

    def cells(self) -> tuple[str, str, date]:
        """The cells of SCOPE_COLUMNS."""
        return (self.sites_cell, self.filters, self.as_of)

    def cohort_cells(self) -> tuple[str, str, str, str, date]:
        """The cells of COHORT_SCOPE_COLUMNS."""
        return (self.endpoint, self.population, *self.cells())


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
    *SCOPE_COLUMNS,
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
    *COHORT_SCOPE_COLUMNS,
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
    *COHORT_SCOPE_COLUMNS,
)

PGA_QUANTUM = Decimal("0.01")


def format_two_decimals(value: Decimal | None) -> str:
    """Write a PGA or PGA change with exactly two decimals ("-0.50", "0.30")."""
    if value is None:
        return ""
    # Halves round up, as every figure here does (a median PGA of 1.365 is 1.37); adding zero
    # turns a negative zero into 0.00.
    return f"{value.quantize(PGA_QUANTUM, rounding=ROUND_HALF_UP) + 0:.2f}"


def write_responses_csv(out: TextIO, rows: Iterable[ResponseRow], scope: ExportScope) -> None:
    """Write responses.csv: one row per follow-up visit with its stored SRI-4/5/6, BICLA, LLDAS
    and DORIS results, whether it is dated inside its window, and the file's scope."""
    scope_cells = scope.cells()
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
                *scope_cells,
            )
            for row in rows
        ),
    )


def write_cohort_csv(out: TextIO, rows: Iterable[CohortRow], scope: ExportScope) -> None:
    """Write cohort.csv of the observed set: per scheduled visit after baseline, reached,
    evaluable and responders, the rate and its interval, the visits out of window, and the
    file's scope (its population written "observed")."""
    scope_cells = _cohort_scope(scope, OBSERVED)
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
                *scope_cells,
            )
            for row in rows
        ),
    )


def write_mitt_csv(out: TextIO, rows: Iterable[MittRow], scope: ExportScope) -> None:
    """Write cohort.csv of the infused (mITT) set: per scheduled visit after baseline, every
    category, the rate and its interval (empty when the denominator is 0), and the file's scope
    (its population written "mitt")."""
    scope_cells = _cohort_scope(scope, MITT)
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
                *scope_cells,
            )
            for row in rows
        ),
    )


def _cohort_scope(scope: ExportScope, population: str) -> tuple[str, str, str, str, date]:
    """The scope cells of a cohort.csv, whose population is the writer's own."""
    return replace(scope, population=population).cohort_cells()
