"""The import functions a job runs: exactly those the import_* commands call, so a file imported
from the browser follows the same rules, all or nothing, audited the same way."""

import inspect
from typing import Any, Protocol

from django.contrib.auth.models import User

from jobs.models import ImportJob, ImportKind
from safety.imports import import_adverse_events, import_crs, import_icans
from trialsite.imports import ImportReport, Progress, import_participants, import_visits
from trialsite.models import Study


class ImportFunction(Protocol):
    def __call__(
        self,
        text: str,
        *,
        file_name: str,
        study: Study,
        author: User,
        update: bool = ...,
        dry_run: bool = ...,
    ) -> ImportReport: ...


IMPORT_FUNCTIONS: dict[str, ImportFunction] = {
    ImportKind.PARTICIPANTS: import_participants,
    ImportKind.VISITS: import_visits,
    ImportKind.CRS: import_crs,
    ImportKind.ICANS: import_icans,
    ImportKind.ADVERSE_EVENTS: import_adverse_events,
}


def takes_progress(function: ImportFunction) -> bool:
    """Say whether the import function reports its progress (a ``progress`` keyword)."""
    return "progress" in inspect.signature(function).parameters


def run_importer(job: ImportJob, *, dry_run: bool, progress: Progress | None) -> ImportReport:
    """Run the job's file through its import function, as the command would with the same
    options; pass ``progress`` to a function that reports its progress."""
    function = IMPORT_FUNCTIONS[job.kind]
    options: dict[str, Any] = {
        "file_name": job.file_name,
        "study": job.study,
        "author": job.created_by,
        "update": job.update,
        "dry_run": dry_run,
    }
    if progress is not None and takes_progress(function):
        options["progress"] = progress
    return function(job.file_text, **options)
