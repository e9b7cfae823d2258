from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from jobs.models import ExportJob, ImportJob, ScheduleChange


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    """The import jobs, read-only: what was uploaded, by whom, and how it went (the changes
    themselves are in the audit trail, "imported from <file name>")."""

    list_display = ["file_name", "kind", "state", "problem_count", "created_by", "created_at"]
    list_filter = ["kind", "state"]
    search_fields = ["file_name", "created_by__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(admin.ModelAdmin[ScheduleChange]):
    """The schedule changes made in admin once their study had participants, read-only: each
    links to its progress page (the rows written are in the audit trail with their reason)."""

    list_display = ["record", "study", "state", "created_by", "created_at", "progress_page"]
    list_filter = ["state", "study"]
    search_fields = ["record", "created_by__username"]
    date_hierarchy = "created_at"

    @admin.display(description=_("progress"))
    def progress_page(self, change: ScheduleChange) -> str:
        return format_html('<a href="{}">{}</a>', change.get_absolute_url(), _("Open"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ScheduleChange | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ScheduleChange | None = None
    ) -> bool:
        return False


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin[ExportJob]):
    """The exports asked for, read-only: who asked for what, when, and how it went. The files
    are not shown: each holds what its author may see, and only its author downloads it."""

    list_display = ["file_name", "kind", "state", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "state"]
    search_fields = ["file_name", "created_by__username"]
    date_hierarchy = "created_at"
    exclude = ["file_text"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExportJob]:
        return super().get_queryset(request).defer("file_text")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return False
