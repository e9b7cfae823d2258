import io
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from responses.exports import write_cohort_csv
from responses.models import Endpoint
from responses.selectors import cohort_summary
from trialsite.imports import InputError, choose_study


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _(
            "Export cohort.csv: per scheduled visit after baseline, the participants who reached "
            "it, how many were evaluable and responded, the rate and its exact 95% CI."
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--endpoint",
            choices=Endpoint.values,
            default=Endpoint.SRI4.value,
            help=_("The endpoint to summarise (default sri4)."),
        )
        parser.add_argument(
            "--out", metavar="FILE", help=_("Write to this file instead of standard output.")
        )
        parser.add_argument(
            "--study",
            metavar="PROTOCOL_NUMBER",
            help=_("The study to export (required when there are several)."),
        )

    def handle(
        self,
        *args: str,
        endpoint: str,
        out: str | None,
        study: str | None,
        **options: object,
    ) -> None:
        try:
            chosen_study = choose_study(study)
        except InputError as error:
            raise CommandError(str(error)) from error
        rows = cohort_summary(study=chosen_study, endpoint=endpoint)
        buffer = io.StringIO(newline="")
        write_cohort_csv(buffer, rows)
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
