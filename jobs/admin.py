from django.contrib import admin
from django.http import HttpRequest

from jobs.models import ImportJob


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
