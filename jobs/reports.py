"""An import's report (trialsite.imports.ImportReport) as a job stores it (JSON), as its pages
show it and as its result file (CSV) lists it."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trialsite.csvfiles import Cell
from trialsite.imports import ImportReport, Problem, RowChange

#: The columns of the result file; its actions are "created", "changed", "unchanged" and
#: "problem".
RESULT_COLUMNS = ("row", "record", "action", "columns", "value", "message")


def report_as_json(report: ImportReport) -> dict[str, Any]:
    """Return the report as a job stores it (its messages already in the job's language)."""
    return {
        "file_name": report.file_name,
        "dry_run": report.dry_run,
        "written": report.written,
        "created": list(report.created),
        "changed": [
            {"row": change.row, "label": change.label, "columns": list(change.columns)}
            for change in report.changed
        ],
        "unchanged": list(report.unchanged),
        "sites_created": list(report.sites_created),
        "problems": [
            {
                "row": problem.row,
                "column": problem.column,
                "value": problem.value,
                "message": problem.message,
            }
            for problem in report.problems
        ],
    }


@dataclass(frozen=True)
class StoredReport:
    """A job's stored report, read back for its pages and its result file."""

    dry_run: bool
    written: bool
    created: tuple[str, ...]
    changed: tuple[RowChange, ...]
    unchanged: tuple[str, ...]
    sites_created: tuple[str, ...]
    problems: tuple[Problem, ...]

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> "StoredReport":
        return cls(
            dry_run=stored["dry_run"],
            written=stored["written"],
            created=tuple(stored["created"]),
            changed=tuple(
                RowChange(change["row"], change["label"], tuple(change["columns"]))
                for change in stored["changed"]
            ),
            unchanged=tuple(stored["unchanged"]),
            sites_created=tuple(stored["sites_created"]),
            problems=tuple(
                Problem(problem["row"], problem["column"], problem["value"], problem["message"])
                for problem in stored["problems"]
            ),
        )

    @property
    def row_count(self) -> int:
        """Return how many rows of the file the report speaks of (a row with several problems
        once; the header's problems are not a row)."""
        problem_rows = {problem.row for problem in self.problems if problem.row > 1}
        return len(self.created) + len(self.changed) + len(self.unchanged) + len(problem_rows)


def result_rows(report: StoredReport) -> Iterator[tuple[Cell, ...]]:
    """Yield the rows of the result file: every problem and change by row, then the records
    created and those left unchanged (the report names these without their row)."""
    by_row: list[tuple[int, tuple[Cell, ...]]] = [
        (problem.row, (problem.row, "", "problem", problem.column, problem.value, problem.message))
        for problem in report.problems
    ]
    by_row.extend(
        (change.row, (change.row, change.label, "changed", ", ".join(change.columns), "", ""))
        for change in report.changed
    )
    # sorted() keeps the problems of one row in the order the import found them.
    for _row, cells in sorted(by_row, key=lambda item: item[0]):
        yield cells
    for label in report.created:
        yield ("", label, "created", "", "", "")
    for label in report.unchanged:
        yield ("", label, "unchanged", "", "", "")
