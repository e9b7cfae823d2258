"""Start an import job and confirm it: each queues its task (jobs.tasks).

Neither runs inside a transaction: the job is saved (committed) before its task is queued, so a
worker on another machine finds it, and with the immediate backend the task runs right here,
writing the job's state as it goes.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from jobs.models import ImportJob, JobState
from jobs.reports import StoredReport
from jobs.tasks import check_import_file, import_file
from trialsite.imports import check_importer
from trialsite.management.options import InputError
from trialsite.models import Study


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
