"""The background tasks (django-tasks): an import job's dry run, then its import; a schedule
change, applied with the rescoring of the study's participants; an export's file.

A task is queued by jobs.services and run by a worker (``manage.py db_worker``), or at once
inside the request with the immediate backend (settings.TASKS). Each writes the job's state
outside the import's transaction, so that the state and the progress are seen as they change
(jobs.progress).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from jobs.exporters import EXPORTERS, rights_held, site_scope
from jobs.importers import run_importer
from jobs.liveness import EXPORT_JOB_LOCKS, IMPORT_JOB_LOCKS, SCHEDULE_CHANGE_LOCKS, working_on
from jobs.models import (
    ChangeState,
    ExportJob,
    ExportState,
    ImportJob,
    JobState,
    ScheduleChange,
)
from jobs.progress import progress_writer
from jobs.reports import StoredReport, report_as_json
from trialsite.imports import ImportReport, problem_summary
from trialsite.schedule_changes import apply_schedule_change as apply_change

logger = logging.getLogger(__name__)


@task()
def check_import_file(job_id: int) -> None:
    """Run the job's dry run: what the import would create and change, and every problem."""
    with working_on(IMPORT_JOB_LOCKS, job_id):
        _run(job_id, dry_run=True)


@task()
def import_file(job_id: int) -> None:
    """Run the job's import, confirmed by its author after the dry run."""
    with working_on(IMPORT_JOB_LOCKS, job_id):
        _run(job_id, dry_run=False)


def _run(job_id: int, *, dry_run: bool) -> None:
    # Only a job waiting for this step is taken: not one marked failed meanwhile
    # (jobs.liveness), nor one a task run again finds done.
    waiting, working = (
        (JobState.CHECKING, JobState.CHECKING) if dry_run else (JobState.QUEUED, JobState.RUNNING)
    )
    taken = ImportJob.objects.filter(pk=job_id, state=waiting).update(state=working, rows_done=0)
    if not taken:
        logger.warning("Import job %d is not waiting for this step: left as it is", job_id)
        return
    job = ImportJob.objects.select_related("created_by", "study").get(pk=job_id)
    try:
        # The report's messages in the language of the page that started the job. The job's
        # outcome is written in the import's transaction: imported and said so, or neither.
        with translation.override(job.language), transaction.atomic():
            report = run_importer(job, dry_run=dry_run, progress=progress_writer(ImportJob, job.pk))
            _record_report(job, report, dry_run=dry_run)
    except Exception:
        # The import's transaction rolled back: nothing was written. The administrators read
        # the traceback in the log; the user reads a plain message.
        logger.exception("Import job %d (%s, %s) failed", job.pk, job.kind, job.file_name)
        with translation.override(job.language):
            job.failure = _(
                "The import stopped on an unexpected error, and nothing was imported. The "
                "administrators have been told; try again later or ask them."
            )
        _finish(job, JobState.FAILED)
        raise


def _record_report(job: ImportJob, report: ImportReport, *, dry_run: bool) -> None:
    stored = report_as_json(report)
    failure = "" if dry_run or report.written else problem_summary(report)
    # However far the progress got, the report says how many rows the import took.
    job.rows_done = job.rows_total = StoredReport.from_json(stored).row_count
    job.problem_count = len(report.problems)
    if dry_run:
        job.preview = stored
        job.state = JobState.PREVIEW_READY
    else:
        job.result = stored
        job.state = JobState.DONE if report.written else JobState.FAILED
        job.failure = failure
        job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "preview",
            "result",
            "state",
            "failure",
            "finished_at",
            "rows_done",
            "rows_total",
            "problem_count",
        ]
    )


@task()
def apply_schedule_change(change_id: int) -> None:
    """Write a schedule change made in admin and rescore the study's participants, all of it or
    nothing."""
    with working_on(SCHEDULE_CHANGE_LOCKS, change_id):
        _apply(change_id)


def _apply(change_id: int) -> None:
    # Only a change still waiting is applied, once: a task run again finds it taken.
    taken = ScheduleChange.objects.filter(pk=change_id, state=ChangeState.QUEUED).update(
        state=ChangeState.RUNNING
    )
    if not taken:
        logger.warning("Schedule change %d is not waiting to be applied: left as it is", change_id)
        return
    change = ScheduleChange.objects.select_related("created_by").get(pk=change_id)
    try:
        with translation.override(change.language):
            try:
                # The change's outcome and admin's history are written in its transaction:
                # applied and said so, or neither.
                with transaction.atomic():
                    applied = apply_change(
                        study_id=change.study_id,
                        operations=change.operations,
                        author=change.created_by,
                        reason=change.reason,
                        progress=progress_writer(
                            ScheduleChange,
                            change.pk,
                            done="participants_done",
                            total="participants_total",
                        ),
                    )
                    change.participants_done = change.participants_total = applied.rescored
                    _finish(change, ChangeState.DONE, "participants_done", "participants_total")
                    LogEntry.objects.log_actions(
                        user_id=change.created_by_id,
                        queryset=[applied.record],
                        action_flag=ADDITION if applied.added else CHANGE,
                        change_message=change.change_message,
                        single_object=True,
                    )
            except ValidationError as error:
                # The data changed since the admin page checked the change: it no longer holds.
                change.failure = _(
                    "The change was not applied, and nothing was written: %(problems)s "
                    "Open the record in admin and make the change again."
                ) % {"problems": " ".join(error.messages)}
                _finish(change, ChangeState.FAILED)
                return
    except Exception:
        logger.exception("Schedule change %d (%s) failed", change.pk, change.record)
        with translation.override(change.language):
            change.failure = _(
                "The change stopped on an unexpected error, and nothing was written. The "
                "administrators have been told; try again later or ask them."
            )
        _finish(change, ChangeState.FAILED)
        raise


def _finish(job: ImportJob | ScheduleChange | ExportJob, state: str, *fields: str) -> None:
    """Write a job's outcome: its state, its failure (if any), when, and ``fields``."""
    job.state = state
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "failure", "finished_at", *fields])


@task()
def write_export(job_id: int) -> None:
    """Write an export's file for the user who asked for it."""
    with working_on(EXPORT_JOB_LOCKS, job_id):
        _write(job_id)


def _write(job_id: int) -> None:
    # Only an export still waiting is written, once: a task run again finds it taken.
    taken = ExportJob.objects.filter(pk=job_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, rows_done=0
    )
    if not taken:
        logger.warning("Export job %d is not waiting to be written: left as it is", job_id)
        return
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    exporter = EXPORTERS[job.kind]
    try:
        with _snapshot():
            job.file_text = exporter.write(job.created_by, progress_writer(ExportJob, job.pk))
            job.site_ids = site_scope(job.created_by)
            job.rights = rights_held(job.created_by, job.kind)
        _finish(job, ExportState.DONE, "file_text", "site_ids", "rights")
    except Exception:
        logger.exception("Export job %d (%s) failed", job.pk, job.kind)
        with translation.override(job.language):
            job.failure = _(
                "The export stopped on an unexpected error. The administrators have been told; "
                "try again later or ask them."
            )
        job.file_text = ""
        _finish(job, ExportState.FAILED, "file_text")
        raise


@contextmanager
def _snapshot() -> Iterator[None]:
    """Read the database as it stood when the export started, however long the reading takes
    (on PostgreSQL a read-only REPEATABLE READ transaction: the audit trail's names and
    versions, read by many queries, agree). Inside a transaction already (a test's), it reads
    within that one."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
