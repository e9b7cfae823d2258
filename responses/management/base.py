"""What the CSV export commands share: --study, --as-of, --out, and writing the file."""

import io
from argparse import ArgumentParser
from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from responses.reports import InvalidDataCut, parse_data_cut
from trialsite.management.options import InputError, TranslatedCommand, choose_study
from trialsite.models import Study


class ExportCommand(TranslatedCommand):
    """Write the CSV that ``export`` writes to FILE or to standard output."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--out", metavar="FILE", help=_("Write to this file instead of standard output.")
        )
        parser.add_argument(
            "--study",
            metavar="PROTOCOL_NUMBER",
            help=_("The study to export (required when there are several)."),
        )
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help=_(
                "The data cut: only participants enrolled, visits dated and safety episodes "
                "starting on or before it count (default today)."
            ),
        )

    def export(
        self, buffer: io.StringIO, study: Study, as_of: date, options: dict[str, object]
    ) -> int:
        """Write the study's CSV as of the data cut to ``buffer``; return how many rows."""
        raise NotImplementedError

    def handle(
        self,
        *args: str,
        out: str | None,
        study: str | None,
        as_of: str | None,
        **options: object,
    ) -> None:
        try:
            cut = timezone.localdate() if as_of is None else parse_data_cut(as_of)
        except InvalidDataCut as error:
            raise CommandError(str(error)) from error
        try:
            chosen_study = choose_study(study)
        except InputError as error:
            raise CommandError(str(error)) from error
        buffer = io.StringIO(newline="")
        row_count = self.export(buffer, chosen_study, cut, options)
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
            _("Wrote %(count)d rows to %(file)s.") % {"count": row_count, "file": out}
        )
