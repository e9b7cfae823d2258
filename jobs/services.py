"""Start an import job and confirm it: each queues its task (jobs.tasks). Queue a schedule
change made in admin. Start an export.

None of them runs inside a transaction: the job is saved (committed) before its task is queued, so a
worker on another machine finds it, and with the immediate backend the task runs right here,
writing the job's state as it goes.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jobs.exporters import EXPORTERS
from jobs.liveness import EXPORT_JOB_LOCKS, IMPORT_JOB_LOCKS, SCHEDULE_CHANGE_LOCKS, abandoned
from jobs.models import (
    PENDING_CHANGE_STATES,
    ChangeState,
    ExportJob,
    ExportState,
    ImportJob,
    JobState,
    ScheduleChange,
    export_kept_since,
)
from jobs.reports import StoredReport
from jobs.tasks import apply_schedule_change, check_import_file, import_file, write_export
from trialsite.imports import check_importer
from trialsite.management.options import InputError
from trialsite.models import Study
from trialsite.schedule_changes import Operation


def require_importer(user: User) -> None:
    """Refuse (PermissionDenied, a 403 page) a user the import commands would refuse."""
    try:
        check_importer(user)
    except InputError as error:
        raise PermissionDenied(str(error)) from error


def import_job_start(
    *,
    author: User,
    study: Study,
    kind: str,
    file_name: str,
    file_text: str,
    update: bool,
    language: str,
) -> ImportJob:
    """Keep the file and queue its dry run."""
    require_importer(author)
    job = ImportJob(
        created_by=author,
        study=study,
        kind=kind,
        file_name=file_name,
        file_text=file_text,
        update=update,
        language=language,
        state=JobState.CHECKING,
    )
    job.full_clean()
    job.save()
    _queue(job, check_import_file.enqueue(job.pk).id)
    return job


def import_job_confirm(*, job: ImportJob, user: User) -> None:
    """Queue the import of a job whose dry run found no problem, once.

    Only the job's author confirms it: the audit trail names them as the author of every change.
    The import checks every row again, against the data as they are when it runs.
    """
    require_importer(user)
    if job.created_by_id != user.pk:
        raise PermissionDenied
    if job.preview is None or StoredReport.from_json(job.preview).problems:
        raise ValidationError(_("A file with problems cannot be imported; correct it first."))
    # Only one confirmation moves the job on (a second click, another tab: nothing more).
    confirmed = ImportJob.objects.filter(pk=job.pk, state=JobState.PREVIEW_READY).update(
        state=JobState.QUEUED, rows_done=0
    )
    if not confirmed:
        raise ValidationError(_("This import was confirmed already."))
    _queue(job, import_file.enqueue(job.pk).id)


def _queue(job: ImportJob, task_result_id: str) -> None:
    # The task may have run already (immediate backend): only the id is written here.
    ImportJob.objects.filter(pk=job.pk).update(task_result_id=task_result_id)
    job.refresh_from_db()


def pending_schedule_change(study_id: int) -> ScheduleChange | None:
    """Return the study's schedule change still to be applied, if any (one whose worker stopped
    is marked failed first: jobs.liveness)."""
    change = (
        ScheduleChange.objects.select_related("created_by")
        .filter(study_id=study_id, state__in=PENDING_CHANGE_STATES)
        .first()
    )
    if change is not None:
        fail_if_abandoned(change)
    return change if change is not None and change.pending else None


def fail_if_abandoned(job: ImportJob | ScheduleChange | ExportJob) -> None:
    """Mark failed an import, a schedule change or an export whose worker stopped before
    finishing it (jobs.liveness): its transaction was rolled back, so nothing was written."""
    failed: str
    if isinstance(job, ImportJob):
        kind, active, failed = IMPORT_JOB_LOCKS, job.active, JobState.FAILED
    elif isinstance(job, ExportJob):
        kind, active, failed = EXPORT_JOB_LOCKS, job.active, ExportState.FAILED
    else:
        kind, active, failed = SCHEDULE_CHANGE_LOCKS, job.pending, ChangeState.FAILED
    if not active or not abandoned(kind, job.pk, job.task_result_id):
        return
    with translation.override(job.language):
        failure = _(
            "The background worker stopped before finishing, and nothing was written. Start "
            "again; if it happens again, tell the administrators."
        )
    # Only a job still in the state read here: a worker that has just finished wrote its own.
    type(job)._default_manager.filter(pk=job.pk, state=job.state).update(
        state=failed, failure=failure, finished_at=timezone.now()
    )
    job.refresh_from_db()


def schedule_change_start(
    *,
    author: User,
    study_id: int,
    record: str,
    change_message: str,
    reason: str,
    operations: list[Operation],
    language: str,
) -> ScheduleChange:
    """Keep a change made in admin and queue its application (jobs.tasks.apply_schedule_change).

    Called inside admin's transaction, which holds the study's lock: the change and its task are
    committed together, and no other change of the study is queued meanwhile. With the immediate
    backend the change is applied right here.
    """
    change = ScheduleChange(
        created_by=author,
        study_id=study_id,
        record=record[:200],
        change_message=change_message,
        reason=reason,
        operations=operations,
        language=language,
        state=ChangeState.QUEUED,
    )
    change.full_clean()
    change.save()
    task_result_id = apply_schedule_change.enqueue(change.pk).id
    ScheduleChange.objects.filter(pk=change.pk).update(task_result_id=task_result_id)
    change.refresh_from_db()
    return change


def require_exporter(user: User, kind: str) -> None:
    """Refuse (PermissionDenied, a 403 page) a user who may not have the export."""
    if not user.has_perm(EXPORTERS[kind].permission):
        raise PermissionDenied


def export_job_start(*, author: User, kind: str, language: str) -> ExportJob:
    """Queue the writing of an export's file for its author (the files kept too long, whoever
    asked for them, are deleted first)."""
    require_exporter(author, kind)
    delete_old_export_files()
    job = ExportJob(
        created_by=author,
        kind=kind,
        file_name=EXPORTERS[kind].file_name.format(date=timezone.localdate().isoformat()),
        language=language,
        state=ExportState.QUEUED,
    )
    job.full_clean()
    job.save()
    task_result_id = write_export.enqueue(job.pk).id
    # The task may have run already (immediate backend): only the id is written here.
    ExportJob.objects.filter(pk=job.pk).update(task_result_id=task_result_id)
    job.refresh_from_db(fields=["state", "task_result_id"])
    return job


def delete_old_export_files() -> None:
    """Delete the files of the exports written more than EXPORT_KEPT_DAYS ago, whoever asked for
    them; each export's row stays, with who asked for what and when. A file due to be deleted
    is not downloaded meanwhile (ExportJob.file_deleted)."""
    ExportJob.objects.filter(state=ExportState.DONE, finished_at__lt=export_kept_since()).update(
        state=ExportState.EXPIRED, file_text=""
    )
