"""A job runs the import functions the commands call, and follows their progress."""

from jobs import importers
from jobs.importers import run_importer
from jobs.models import ImportJob, ImportKind
from tests.jobs.conftest import data_file
from trialsite.imports import ImportReport
from trialsite.models import Participant, Study


def job_of(kind: str, file_name: str, author) -> ImportJob:
    return ImportJob(
        created_by=author,
        study=Study.objects.get(),
        kind=kind,
        file_name=file_name,
        file_text=data_file(file_name).decode(),
        language="en",
    )


def test_the_participants_import_reports_its_progress_row_by_row(data_manager, cohort_sites):
    told: list[tuple[int, int]] = []

    report = run_importer(
        job_of(ImportKind.PARTICIPANTS, "cohort_participants.csv", data_manager),
        dry_run=True,
        progress=lambda done, total: told.append((done, total)),
    )

    assert len(report.created) == 8
    assert told == [(done, 8) for done in range(1, 9)]
    assert Participant.objects.count() == 0  # a dry run


def test_an_import_function_without_progress_runs_without_it(
    data_manager, cohort_sites, monkeypatch
):
    called: dict[str, object] = {}

    def without_progress(text, *, file_name, study, author, update=False, dry_run=False):
        called.update(file_name=file_name, dry_run=dry_run, update=update, author=author)
        return ImportReport(file_name=file_name, dry_run=dry_run)

    monkeypatch.setitem(importers.IMPORT_FUNCTIONS, ImportKind.CRS, without_progress)
    job = job_of(ImportKind.CRS, "cohort_participants.csv", data_manager)

    run_importer(job, dry_run=False, progress=lambda done, total: None)

    assert called == {
        "file_name": "cohort_participants.csv",
        "dry_run": False,
        "update": False,
        "author": data_manager,
    }
