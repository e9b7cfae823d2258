import io
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from responses.exports import write_responses_csv
from responses.selectors import response_rows
from trialsite.imports import InputError, choose_study


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _(
            "Export responses.csv: one row per follow-up visit with an assessment, with its "
            "stored SLEDAI-2K, PGA and SRI-4/5/6 results."
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--out", metavar="FILE", help=_("Write to this file instead of standard output.")
        )
        parser.add_argument(
            "--study",
            metavar="PROTOCOL_NUMBER",
            help=_("The study to export (required when there are several)."),
        )

    def handle(self, *args: str, out: str | None, study: str | None, **options: object) -> None:
        try:
            chosen_study = choose_study(study)
        except InputError as error:
            raise CommandError(str(error)) from error
        rows = response_rows(study=chosen_study)
        buffer = io.StringIO(newline="")
        write_responses_csv(buffer, rows)
        if out is None:
            self.stdout.write(buffer.getvalue(), ending="")
            return
        try:
            with open(out, "w", encoding="utf-8", newline="") as file:
                file.write(buffer.getvalue())
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": out, "error": error.strerror}
            ) from error
        self.stdout.write(
            _("Wrote %(count)d rows to %(file)s.") % {"count": len(rows), "file": out}
        )
