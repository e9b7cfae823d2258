from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from safety.imports import import_adverse_events
from trialsite.imports import ImportReport
from trialsite.management.base import ImportCommand
from trialsite.models import Study


class Command(ImportCommand):
    file_help = gettext_lazy("The adverse_events.csv file (UTF-8).")
    update_help = gettext_lazy(
        "Change adverse events that already exist (same participant, term and start date)."
    )

    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Import adverse events from an adverse_events.csv file (all or nothing). Existing events "
        "are changed only with --update; every change is audited with the reason "
        '"imported from <file name>".'
    )

    def run_import(
        self,
        text: str,
        *,
        file_name: str,
        study: Study,
        author: User,
        update: bool,
        dry_run: bool,
        options: dict[str, object],
    ) -> ImportReport:
        return import_adverse_events(
            text, file_name=file_name, study=study, author=author, update=update, dry_run=dry_run
        )
