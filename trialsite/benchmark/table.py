"""The benchmark's tables: plain text, aligned columns, times in milliseconds."""

import os
import platform
from collections.abc import Sequence
from pathlib import Path

from django.utils.translation import gettext as _

from trialsite.benchmark.measure import PageTiming, Timing
from trialsite.benchmark.run import COORDINATOR, COORDINATOR_SITE, DATA_MANAGER, SizeResult

#: A header cell spanning some columns (the first row of a table's header).
Span = tuple[str, int]


def describe_machine(database: str) -> str:
    """Name the machine: its CPUs, Python, and the database's vendor and version."""
    cpus = os.cpu_count() or 0
    model = _cpu_model()
    processor = f"{cpus} CPUs" + (f" ({model})" if model else "")
    return _("Machine: %(cpus)s, Python %(python)s, %(database)s") % {
        "cpus": processor,
        "python": platform.python_version(),
        "database": database,
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    return next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), ""
    )


def ms(value: float) -> str:
    """Write milliseconds: one decimal below 10, whole above."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def aligned(rows: Sequence[Sequence[str]], *, spans: Sequence[Span] = ()) -> list[str]:
    """Lay the rows out in columns: the first left-aligned, the others right-aligned, two spaces
    apart; ``spans`` is a first header row whose cells span columns, centred over them."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    if spans:
        cells, column = [], 0
        for label, span in spans:
            width = sum(widths[column : column + span]) + 2 * (span - 1)
            cells.append(label.center(width) if column else label.ljust(width))
            column += span
        lines.append("  ".join(cells).rstrip())
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def _page_cells(timing: PageTiming | None) -> list[str]:
    if timing is None:
        return ["-", "-", "-"]  # the user may not open this page
    return [ms(timing.timing.p50_ms), ms(timing.timing.p95_ms), str(timing.queries)]


def format_size(result: SizeResult) -> list[str]:
    """Return the table of one cohort size."""
    lines = [
        _("Scale benchmark: %(participants)d participants, %(visits)d visits (%(database)s)")
        % {
            "participants": result.participants,
            "visits": result.visits,
            "database": result.database,
        },
        "",
    ]
    steps = [[_("Step"), _("rows"), "s", _("rows/s")]]
    steps += [
        [
            str(step.label),
            str(step.rows),
            f"{step.seconds:.2f}",
            f"{step.rows / step.seconds:.0f}" if step.seconds > 0 else "-",
        ]
        for step in result.steps
    ]
    lines += [*aligned(steps), ""]

    coordinator = _("coordinator (%(site)s)") % {"site": COORDINATOR_SITE}
    timings = ["p50 ms", "p95 ms", _("queries")]
    pages = [[_("Page"), *timings, *timings]]
    pages += [
        [
            str(page.page.label),
            *_page_cells(page.by_role[DATA_MANAGER]),
            *_page_cells(page.by_role[COORDINATOR]),
        ]
        for page in result.pages
    ]
    lines += [*aligned(pages, spans=[("", 1), (_("data manager"), 3), (coordinator, 3)]), ""]

    exports = [
        [_("Export or page (data manager)"), "p50 ms", "p95 ms", _("raw read ms"), _("ratio")]
    ]
    exports += [
        [
            export.label,
            ms(export.timing.p50_ms),
            ms(export.timing.p95_ms),
            ms(export.raw.p50_ms),
            "-" if export.ratio is None else f"{export.ratio:.1f}",
        ]
        for export in result.exports
    ]
    lines += [*aligned(exports), ""]

    saves = [
        [_("Save + recompute (coordinator)"), _("saves"), "p50 ms", "p95 ms"],
        [
            _("visit entry form, PGA changed"),
            str(len(result.saves.seconds)),
            ms(result.saves.p50_ms),
            ms(result.saves.p95_ms),
        ],
    ]
    return [*lines, *aligned(saves)]


def format_growth(results: Sequence[SizeResult]) -> list[str]:
    """Return the table comparing the smallest and largest sizes: each figure at both and its
    growth (the larger's time over the smaller's); queries at both, which should be equal."""
    small, large = min(results, key=_size), max(results, key=_size)
    rows = [
        [
            _("Growth"),
            f"N={small.participants}",
            f"N={large.participants}",
            _("growth"),
            _("queries"),
        ]
    ]
    for small_step, large_step in zip(small.steps, large.steps, strict=True):
        if small_step.rows == 0 or large_step.rows == 0:
            continue
        small_ms = small_step.seconds * 1000 / small_step.rows
        large_ms = large_step.seconds * 1000 / large_step.rows
        rows.append(
            [
                _("%(step)s, ms per row") % {"step": small_step.label},
                f"{small_ms:.2f}",
                f"{large_ms:.2f}",
                _growth(large_ms, small_ms),
                "",
            ]
        )
    for role, label in ((DATA_MANAGER, _("data manager")), (COORDINATOR, _("coordinator"))):
        for small_page, large_page in zip(small.pages, large.pages, strict=True):
            before, after = small_page.by_role[role], large_page.by_role[role]
            if before is None or after is None:
                continue
            rows.append(
                [
                    _("%(page)s, %(role)s, p95 ms")
                    % {"page": small_page.page.label, "role": label},
                    ms(before.timing.p95_ms),
                    ms(after.timing.p95_ms),
                    _growth(after.timing.p95_ms, before.timing.p95_ms),
                    f"{before.queries}/{after.queries}",
                ]
            )
    for small_export, large_export in zip(small.exports, large.exports, strict=True):
        if small_export.of_a_page:
            continue  # a download: among the pages
        rows.append(
            [
                _("%(export)s, p50 ms") % {"export": small_export.label},
                ms(small_export.timing.p50_ms),
                ms(large_export.timing.p50_ms),
                _growth(large_export.timing.p50_ms, small_export.timing.p50_ms),
                "",
            ]
        )
    rows.append(_timing_row(_("save + recompute, p95 ms"), small.saves, large.saves))
    return aligned(rows)


def _size(result: SizeResult) -> int:
    return result.participants


def _growth(after: float, before: float) -> str:
    return f"{after / before:.2f}" if before else "-"


def _timing_row(label: str, small: Timing, large: Timing) -> list[str]:
    return [label, ms(small.p95_ms), ms(large.p95_ms), _growth(large.p95_ms, small.p95_ms), ""]
