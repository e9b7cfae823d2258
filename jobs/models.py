"""Background jobs: a CSV import from the browser, checked by a dry run, then run on confirmation;
a change of a study or its schedule, applied with the rescoring of the study's participants; a
large CSV export, written for the user who asked for it.

The job keeps the file's text (the source of the change: the audit reason of every change it
makes is "imported from <file name>"), the dry run's report and the import's report, and how far
the running task has got. jobs.services creates and confirms jobs; jobs.tasks runs them.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite.constraints import CheckConstraint
from trialsite.models import Study


class ImportKind(models.TextChoices):
    """The files a data manager may import from the browser (jobs.importers has their import
    functions, the ones the import_* commands call)."""

    PARTICIPANTS = "participants", _("Participants (participants.csv)")
    VISITS = "visits", _("Visits (visits.csv)")
    CRS = "crs", _("CRS episodes (crs.csv)")
    ICANS = "icans", _("ICANS episodes (icans.csv)")
    ADVERSE_EVENTS = "adverse_events", _("Adverse events (adverse_events.csv)")


class JobState(models.TextChoices):
    CHECKING = "checking", _("checking the file")
    PREVIEW_READY = "preview_ready", _("preview ready")
    QUEUED = "queued", _("waiting to import")
    RUNNING = "running", _("importing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


#: The states in which a task is waiting or working on the job: its page follows the progress.
ACTIVE_STATES = (JobState.CHECKING, JobState.QUEUED, JobState.RUNNING)


class ImportJob(models.Model):
    """One file imported from the browser: its dry run, then (once confirmed) the import."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    study = models.ForeignKey(
        Study, verbose_name=_("study"), on_delete=models.PROTECT, related_name="import_jobs"
    )
    kind = models.CharField(_("file"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    file_text = models.TextField(_("file contents"))
    update = models.BooleanField(_("change existing records"), default=False)
    #: The language of the page that started the job: the reports' messages are written in it.
    language = models.CharField(_("language"), max_length=16)
    state = models.CharField(
        _("state"), max_length=20, choices=JobState.choices, default=JobState.CHECKING
    )
    #: trialsite.imports.ImportReport of the dry run, then of the import (jobs.reports).
    preview = models.JSONField(_("dry run's report"), null=True, blank=True)
    result = models.JSONField(_("import's report"), null=True, blank=True)
    #: The problems the last report found (the dry run's, then the import's).
    problem_count = models.PositiveIntegerField(_("problems"), default=0)
    #: Why the job failed, for the user (never a traceback: that goes to the log).
    failure = models.TextField(_("failure"), blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: The id of the task's result in the task backend (django-tasks), for the administrators.
    task_result_id = models.CharField(_("task result id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["-created_at"], name="import_job_newest_first")]
        constraints = [
            CheckConstraint(
                condition=Q(kind__in=ImportKind.values),
                name="import_job_kind_known",
                violation_error_message=_("Unknown kind of import file."),
            ),
            CheckConstraint(
                condition=Q(state__in=JobState.values),
                name="import_job_state_known",
                violation_error_message=_("Unknown state of an import job."),
            ),
            CheckConstraint(
                condition=Q(rows_total__isnull=True) | Q(rows_done__lte=models.F("rows_total")),
                name="import_job_rows_done_within_total",
                violation_error_message=_("An import cannot have done more rows than it has."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_kind_display()}, {self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("import_job_detail", args=[self.pk])

    @property
    def active(self) -> bool:
        """Say whether a task is waiting or working on the job."""
        return self.state in ACTIVE_STATES

    @property
    def percent_done(self) -> int:
        """Return how far the running task has got, in whole percent."""
        if self.state in (JobState.DONE, JobState.PREVIEW_READY):
            return 100
        if not self.rows_total:
            return 0
        return self.rows_done * 100 // self.rows_total


class ChangeState(models.TextChoices):
    QUEUED = "queued", _("waiting to be applied")
    RUNNING = "running", _("applying and rescoring")
    DONE = "done", _("applied")
    FAILED = "failed", _("not applied")


#: The states of a schedule change that is still to be applied: the study takes no other change.
PENDING_CHANGE_STATES = (ChangeState.QUEUED, ChangeState.RUNNING)


class ScheduleChange(models.Model):
    """A change of a study, its schedule or its dose levels, saved in admin once the study has
    participants. Every stored result depends on the schedule, so a worker writes the change and
    rescores the study's participants in one transaction (trialsite.schedule_changes): the
    results are never computed against a schedule other than the one stored beside them.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="schedule_changes",
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    study = models.ForeignKey(
        Study, verbose_name=_("study"), on_delete=models.PROTECT, related_name="schedule_changes"
    )
    #: The record changed in admin, as admin names it ("M3 - Month 3").
    record = models.CharField(_("record"), max_length=200)
    #: What admin's form changed, in the format of admin's history (LogEntry.change_message).
    change_message = models.TextField(_("change"), blank=True)
    reason = models.TextField(_("reason for the change"))
    #: The rows to save and delete (trialsite.schedule_changes.Operation), in admin's order.
    operations = models.JSONField(_("rows to write"), encoder=DjangoJSONEncoder)
    #: The language of the admin page: the failure is written in it.
    language = models.CharField(_("language"), max_length=16)
    state = models.CharField(
        _("state"), max_length=20, choices=ChangeState.choices, default=ChangeState.QUEUED
    )
    failure = models.TextField(_("failure"), blank=True)
    participants_done = models.PositiveIntegerField(_("participants rescored"), default=0)
    participants_total = models.PositiveIntegerField(
        _("participants to rescore"), null=True, blank=True
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    task_result_id = models.CharField(_("task result id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("schedule change")
        verbose_name_plural = _("schedule changes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            CheckConstraint(
                condition=Q(state__in=ChangeState.values),
                name="schedule_change_state_known",
                violation_error_message=_("Unknown state of a schedule change."),
            ),
            CheckConstraint(
                condition=Q(participants_total__isnull=True)
                | Q(participants_done__lte=models.F("participants_total")),
                name="schedule_change_done_within_total",
                violation_error_message=_(
                    "A schedule change cannot have rescored more participants than it has."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record} ({self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("schedule_change_detail", args=[self.pk])

    @property
    def pending(self) -> bool:
        """Say whether the change is still to be applied."""
        return self.state in PENDING_CHANGE_STATES

    @property
    def percent_done(self) -> int:
        """Return how far the rescoring has got, in whole percent."""
        if self.state == ChangeState.DONE:
            return 100
        if not self.participants_total:
            return 0
        return self.participants_done * 100 // self.participants_total


class ExportKind(models.TextChoices):
    """The exports written in the background: those too large to write within a request."""

    AUDIT_TRAIL = "audit_trail", _("Audit trail (audit-trail.csv)")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("waiting to start")
    RUNNING = "running", _("writing the file")
    DONE = "done", _("ready to download")
    FAILED = "failed", _("failed")
    #: Its file deleted once kept for EXPORT_KEPT_DAYS (jobs.services.delete_old_export_files).
    EXPIRED = "expired", _("file deleted")


#: How long an export's file is kept: it is a copy of personal data, written to be downloaded.
EXPORT_KEPT_DAYS = 7


def export_kept_since() -> datetime:
    """Return the time before which an export's file is no longer kept."""
    return timezone.now() - timedelta(days=EXPORT_KEPT_DAYS)


#: The states in which a task is waiting or working on the export: its page follows the progress.
ACTIVE_EXPORT_STATES = (ExportState.QUEUED, ExportState.RUNNING)


class ExportJob(models.Model):
    """One export written by a worker for the user who asked for it, who alone may download it
    (it holds what that user may see). The file is kept in the database, so that a worker on any
    machine can write it and any web server can serve it."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked for by"),
        on_delete=models.PROTECT,
        related_name="export_jobs",
    )
    created_at = models.DateTimeField(_("asked for at"), auto_now_add=True)
    kind = models.CharField(_("export"), max_length=20, choices=ExportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    #: The language of the page that asked for it: a failure is written in it (the file itself
    #: is in English, as every CSV file of the site).
    language = models.CharField(_("language"), max_length=16)
    state = models.CharField(
        _("state"), max_length=20, choices=ExportState.choices, default=ExportState.QUEUED
    )
    failure = models.TextField(_("failure"), blank=True)
    #: How far the writing has got: the versions of records read (an audit trail), of all.
    rows_done = models.PositiveIntegerField(_("records read"), default=0)
    rows_total = models.PositiveIntegerField(_("records to read"), null=True, blank=True)
    file_text = models.TextField(_("file contents"), blank=True)
    #: The sites whose data the file holds, written with it (jobs.exporters.site_scope): their
    #: ids, or null for every site with the study's administration.
    site_ids = models.JSONField(_("sites"), null=True, blank=True)
    #: The rights its author held, of those that decide what the file holds, when it was
    #: written (jobs.exporters.Exporter.rights): they must still hold them to download it.
    rights = models.JSONField(_("rights"), default=list, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    task_result_id = models.CharField(_("task result id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="export_job_user_newest_first")
        ]
        constraints = [
            CheckConstraint(
                condition=Q(kind__in=ExportKind.values),
                name="export_job_kind_known",
                violation_error_message=_("Unknown kind of export."),
            ),
            CheckConstraint(
                condition=Q(state__in=ExportState.values),
                name="export_job_state_known",
                violation_error_message=_("Unknown state of an export job."),
            ),
            CheckConstraint(
                condition=Q(rows_total__isnull=True) | Q(rows_done__lte=models.F("rows_total")),
                name="export_job_done_within_total",
                violation_error_message=_("An export cannot have read more than it has."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("export_job_detail", args=[self.pk])

    @property
    def active(self) -> bool:
        """Say whether a task is waiting or working on the export."""
        return self.state in ACTIVE_EXPORT_STATES

    @property
    def file_deleted(self) -> bool:
        """Say whether the file is deleted, or due to be: written more than EXPORT_KEPT_DAYS
        ago (jobs.services.delete_old_export_files deletes it)."""
        if self.state == ExportState.EXPIRED:
            return True
        written = self.finished_at
        return (
            self.state == ExportState.DONE and written is not None and written < export_kept_since()
        )

    @property
    def percent_done(self) -> int:
        """Return how far the writing has got, in whole percent."""
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return self.rows_done * 100 // self.rows_total
