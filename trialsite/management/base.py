"""What the two CSV import commands share: their options, and how they report."""

from argparse import ArgumentParser

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from trialsite.i18n import StrOrPromise
from trialsite.imports import (
    ImportReport,
    find_author,
    problem_summary,
    read_import_file,
    summary_lines,
)
from trialsite.management.options import InputError, TranslatedCommand, choose_study
from trialsite.models import Study


class ImportCommand(TranslatedCommand):
    """Read FILE, import it all or nothing, list every problem on stderr and exit 1 if any."""

    # Lazy translations in the commands (gettext_lazy): a class attribute is set at import time.
    file_help: StrOrPromise
    update_help: StrOrPromise

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help=str(self.file_help))
        parser.add_argument("--update", action="store_true", help=str(self.update_help))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Check everything and report what would change, but write nothing."),
        )
        parser.add_argument(
            "--study",
            metavar="PROTOCOL_NUMBER",
            help=_("The study to import into (required when there are several)."),
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help=_(
                "Required: the user recorded as the author of the changes in the audit trail, "
                "an active user whose role may import (a data manager)."
            ),
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
        raise NotImplementedError

    def handle(
        self,
        *args: str,
        file: str,
        update: bool,
        dry_run: bool,
        study: str | None,
        user: str | None,
        **options: object,
    ) -> None:
        try:
            author = find_author(user)
            text, file_name = read_import_file(file)
            chosen_study = choose_study(study)
        except InputError as error:
            raise CommandError(str(error)) from error
        report = self.run_import(
            text,
            file_name=file_name,
            study=chosen_study,
            author=author,
            update=update,
            dry_run=dry_run,
            options=options,
        )
        if report.problems:
            for problem in report.problems:
                self.stderr.write(str(problem))
            raise CommandError(problem_summary(report))
        for line in summary_lines(report):
            self.stdout.write(line)
