from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from safety.imports import import_icans
from trialsite.imports import ImportReport
from trialsite.management.base import ImportCommand
from trialsite.models import Study


class Command(ImportCommand):
    file_help = gettext_lazy("The icans.csv file (UTF-8).")
    update_help = gettext_lazy("Change ICANS episodes that already exist (same onset date).")

    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Import ICANS episodes from an icans.csv file (all or nothing); the site grades each "
        "episode. Existing episodes are changed only with --update; every change is audited with "
        'the reason "imported from <file name>".'
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
        return import_icans(
            text, file_name=file_name, study=study, author=author, update=update, dry_run=dry_run
        )
