from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from trialsite.imports import (
    InputError,
    choose_study,
    find_author,
    import_visits,
    problem_summary,
    read_import_file,
    summary_lines,
)


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _(
            "Import visits with their SLEDAI-2K, PGA and BILAG-2004 from a visits.csv file "
            "(all or nothing). Existing visits are changed only with --update; every change is "
            'audited with the reason "imported from <file name>" and rescored.'
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help=_("The visits.csv file (UTF-8)."))
        parser.add_argument(
            "--update",
            action="store_true",
            help=_("Change visits that already exist (date and assessments)."),
        )
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
            help=_("The user recorded as the author of the changes in the audit trail."),
        )

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
            text, file_name = read_import_file(file)
            chosen_study = choose_study(study)
            author = find_author(user)
        except InputError as error:
            raise CommandError(str(error)) from error
        report = import_visits(
            text,
            file_name=file_name,
            study=chosen_study,
            author=author,
            update=update,
            dry_run=dry_run,
        )
        if report.problems:
            for problem in report.problems:
                self.stderr.write(str(problem))
            raise CommandError(problem_summary(report))
        for line in summary_lines(report):
            self.stdout.write(line)
