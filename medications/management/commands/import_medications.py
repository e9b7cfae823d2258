from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from medications.imports import MedicationImportReport, import_medications, proposal_lines
from trialsite.imports import ImportReport
from trialsite.management.base import ImportCommand
from trialsite.models import Study


class Command(ImportCommand):
    file_help = gettext_lazy("The medications.csv file (UTF-8).")
    update_help = gettext_lazy(
        "Change courses that already exist (same participant, drug and start date)."
    )

    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Import medication courses from a medications.csv file (all or nothing). Existing "
        "courses are changed only with --update; every change is audited with the reason "
        '"imported from <file name>". A drug prohibited after infusion never sets a treatment '
        "failure date: the proposals are listed for the coordinator to confirm."
    )

    report: MedicationImportReport | None = None

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
        self.report = import_medications(
            text, file_name=file_name, study=study, author=author, update=update, dry_run=dry_run
        )
        return self.report

    def handle(self, *args: str, **options: object) -> None:
        self.report = None
        super().handle(*args, **options)  # type: ignore[arg-type]  # ImportCommand's options
        if self.report is not None:
            for line in proposal_lines(self.report):
                self.stdout.write(line)
