from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from trialsite.imports import (
    InputError,
    choose_study,
    find_author,
    import_participants,
    problem_summary,
    read_import_file,
    summary_lines,
)


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _(
            "Import participants from a participants.csv file (all or nothing). Existing "
            "participants are changed only with --update; every change is audited with the reason "
            '"imported from <file name>".'
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help=_("The participants.csv file (UTF-8)."))
        parser.add_argument(
            "--create-sites",
            action="store_true",
            help=_("Create unknown sites (named by their code) instead of refusing the rows."),
        )
        parser.add_argument(
            "--update", action="store_true", help=_("Change participants that already exist.")
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
        create_sites: bool,
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
        report = import_participants(
            text,
            file_name=file_name,
            study=chosen_study,
            author=author,
            create_sites=create_sites,
            update=update,
            dry_run=dry_run,
        )
        if report.problems:
            for problem in report.problems:
                self.stderr.write(str(problem))
            raise CommandError(problem_summary(report))
        for line in summary_lines(report):
            self.stdout.write(line)
