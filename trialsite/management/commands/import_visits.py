from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from trialsite.imports import ImportReport, import_visits
from trialsite.management.base import ImportCommand
from trialsite.models import Study


class Command(ImportCommand):
    file_help = gettext_lazy("The visits.csv file (UTF-8).")
    update_help = gettext_lazy("Change visits that already exist (date and assessments).")

    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Import visits with their SLEDAI-2K, PGA and BILAG-2004 from a visits.csv file "
        "(all or nothing). Existing visits are changed only with --update; every change is "
        'audited with the reason "imported from <file name>" and rescored.'
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
        return import_visits(
            text, file_name=file_name, study=study, author=author, update=update, dry_run=dry_run
        )
