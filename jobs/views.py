"""Imports from the browser, for data managers: upload, the dry run's preview, confirm, follow
the progress, download the result. For administrators, the progress of a schedule change made
in admin. For whoever asked for an export: its progress and its file. The jobs run in the
background (jobs.tasks)."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jobs import services
from jobs.exporters import EXPORTERS, may_download
from jobs.forms import ImportUploadForm
from jobs.models import (
    EXPORT_KEPT_DAYS,
    ExportJob,
    ExportKind,
    ExportState,
    ImportJob,
    ScheduleChange,
)
from jobs.reports import RESULT_COLUMNS, StoredReport, result_rows
from trialsite.csvfiles import csv_lines
from trialsite.http import AuthenticatedHttpRequest
from trialsite.imports import IMPORT_PERMISSION
from trialsite.pagination import paginate

PAGE_SIZE = 25
#: How often the progress page asks how far the job has got (import_progress.js), in ms.
POLL_INTERVAL_MS = 1000
#: How long it keeps asking: its requests extend the session (trialsite/idle_sessions.py), which
#: must still end after its idle time on a clinic computer left on the page.
POLL_LIMIT_MS = 15 * 60 * 1000


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.require_importer(request.user)
    jobs = ImportJob.objects.select_related("created_by").defer("file_text", "preview", "result")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "jobs/import_job_list.html", {"page": page})


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.require_importer(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file_name, file_text = form.cleaned_data["file"]
        job = services.import_job_start(
            author=request.user,
            study=form.cleaned_data["study"],
            kind=form.cleaned_data["kind"],
            file_name=file_name,
            file_text=file_text,
            update=form.cleaned_data["update"],
            language=get_language(),
        )
        return redirect(job)
    return render(request, "jobs/import_job_form.html", {"form": form})


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    services.require_importer(request.user)
    job = get_object_or_404(ImportJob.objects.select_related("created_by", "study"), pk=pk)
    services.fail_if_abandoned(job)
    report = job.result if job.result is not None else job.preview
    return render(
        request,
        "jobs/import_job_detail.html",
        {
            "job": job,
            "report": StoredReport.from_json(report) if report is not None else None,
            "may_confirm": job.created_by_id == request.user.pk,
            "progress": import_progress(job),
            "poll_interval_ms": POLL_INTERVAL_MS,
            "poll_limit_ms": POLL_LIMIT_MS,
        },
    )


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_progress(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """Say how far the job has got, for the progress page's script."""
    services.require_importer(request.user)
    job = get_object_or_404(
        ImportJob.objects.only("state", "rows_done", "rows_total", "task_result_id", "language"),
        pk=pk,
    )
    services.fail_if_abandoned(job)
    return import_progress(job).json()


@dataclass(frozen=True)
class JobProgress:
    """How far a job has got, as its page shows it when opened and as its script reads it
    (``json``, jobs/static/jobs/import_progress.js), whatever the job."""

    state: str
    state_label: str
    active: bool
    done: int
    total: int | None
    percent: int
    #: How many of how many, in the reader's language ("" until the total is known).
    label: str
    #: Where the page's script asks for it.
    url: str

    def json(self) -> JsonResponse:
        return JsonResponse(
            {
                "state": self.state,
                "state_label": self.state_label,
                "active": self.active,
                "rows_done": self.done,
                "rows_total": self.total,
                "percent": self.percent,
                "rows_label": self.label,
            }
        )


def _how_many(label: str, done: int, total: int | None) -> str:
    """Fill in ``label``'s %(done)d and %(total)d ("" until the total is known)."""
    return label % {"done": done, "total": total} if total is not None else ""


def _rows_progress(job: ImportJob | ExportJob, label: str, url_name: str) -> JobProgress:
    """Say how far an import or an export has got in its rows (``label``: as ``_how_many``)."""
    return JobProgress(
        state=job.state,
        state_label=capfirst(job.get_state_display()),
        active=job.active,
        done=job.rows_done,
        total=job.rows_total,
        percent=job.percent_done,
        label=_how_many(label, job.rows_done, job.rows_total),
        url=reverse(url_name, args=[job.pk]),
    )


def import_progress(job: ImportJob) -> JobProgress:
    return _rows_progress(job, _("%(done)d of %(total)d rows"), "import_job_progress")


def export_progress(job: ExportJob) -> JobProgress:
    return _rows_progress(job, _("%(done)d of %(total)d records read"), "export_job_progress")


def rescoring_progress(change: ScheduleChange) -> JobProgress:
    done, total = change.participants_done, change.participants_total
    return JobProgress(
        state=change.state,
        state_label=capfirst(change.get_state_display()),
        active=change.pending,
        done=done,
        total=total,
        percent=change.percent_done,
        label=_how_many(_("%(done)d of %(total)d participants rescored"), done, total),
        url=reverse("schedule_change_progress", args=[change.pk]),
    )


@require_POST
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        services.import_job_confirm(job=job, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect(job)


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_job_result(request: AuthenticatedHttpRequest, pk: int) -> StreamingHttpResponse:
    """Download what the import did (or its dry run found), row by row, as CSV."""
    services.require_importer(request.user)
    job = get_object_or_404(ImportJob, pk=pk)
    stored = job.result if job.result is not None else job.preview
    if stored is None:
        raise Http404
    rows = result_rows(StoredReport.from_json(stored))
    response = StreamingHttpResponse(
        csv_lines(RESULT_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    part = "result" if job.result is not None else "preview"
    response["Content-Disposition"] = (
        f'attachment; filename="import-{job.pk}_{job.kind}_{part}.csv"'
    )
    return response


#: Who may follow a schedule change: whoever may make one in admin, or see them there.
SCHEDULE_CHANGE_PERMISSIONS = (
    "trialsite.change_study",
    "trialsite.change_visitdefinition",
    "jobs.view_schedulechange",
)


def require_schedule_administrator(user: User) -> None:
    if not any(user.has_perm(permission) for permission in SCHEDULE_CHANGE_PERMISSIONS):
        raise PermissionDenied


def schedule_change_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    require_schedule_administrator(request.user)
    change = get_object_or_404(
        ScheduleChange.objects.select_related("created_by", "study").defer("operations"), pk=pk
    )
    services.fail_if_abandoned(change)
    return render(
        request,
        "jobs/schedule_change_detail.html",
        {
            "change": change,
            # What the admin page changed, worded as admin's history words it.
            "changed": LogEntry(change_message=change.change_message).get_change_message(),
            "progress": rescoring_progress(change),
            "poll_interval_ms": POLL_INTERVAL_MS,
            "poll_limit_ms": POLL_LIMIT_MS,
        },
    )


def schedule_change_progress(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """Say how far the rescoring has got, for the progress page's script."""
    require_schedule_administrator(request.user)
    change = get_object_or_404(
        ScheduleChange.objects.only(
            "state", "participants_done", "participants_total", "task_result_id", "language"
        ),
        pk=pk,
    )
    services.fail_if_abandoned(change)
    return rescoring_progress(change).json()


def export_job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own exports, newest first, and the exports the user may ask for."""
    services.delete_old_export_files()
    jobs = ExportJob.objects.filter(created_by=request.user).defer("file_text")
    page = paginate(request, jobs, PAGE_SIZE)
    kinds = [kind for kind in ExportKind if request.user.has_perm(EXPORTERS[kind].permission)]
    return render(request, "jobs/export_job_list.html", {"page": page, "kinds": kinds})


@require_POST
def export_job_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind not in ExportKind.values:
        raise Http404
    job = services.export_job_start(author=request.user, kind=kind, language=get_language())
    return redirect(job)


def _own_export(request: AuthenticatedHttpRequest, pk: int) -> ExportJob:
    """Return the user's export (another user's is not found: it holds what they may see)."""
    job = get_object_or_404(ExportJob.objects.defer("file_text"), pk=pk, created_by=request.user)
    services.fail_if_abandoned(job)
    return job


def export_job_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    services.delete_old_export_files()
    job = _own_export(request, pk)
    return render(
        request,
        "jobs/export_job_detail.html",
        {
            "job": job,
            "may_download": may_download(request.user, job),
            "kept_days": EXPORT_KEPT_DAYS,
            "progress": export_progress(job),
            "poll_interval_ms": POLL_INTERVAL_MS,
            "poll_limit_ms": POLL_LIMIT_MS,
        },
    )


def export_job_progress(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """Say how far the export has got, for the progress page's script."""
    return export_progress(_own_export(request, pk)).json()


def export_job_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Download the export's file, for the user who asked for it while they may still have it."""
    job = get_object_or_404(ExportJob, pk=pk, created_by=request.user, state=ExportState.DONE)
    if job.file_deleted:
        raise Http404
    if not may_download(request.user, job):
        raise PermissionDenied
    response = HttpResponse(job.file_text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    return response
