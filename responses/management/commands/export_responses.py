import io
from collections.abc import Sequence
from datetime import date

from django.utils.translation import gettext as _

from responses.exports import write_responses_csv
from responses.management.base import ExportCommand
from responses.selectors.rows import ResponseRow, response_rows
from trialsite.models import Study


class Command(ExportCommand):
    @property
    def help(self) -> str:
        return _(
            "Export responses.csv: one row per follow-up visit with an assessment, with its "
            "stored SLEDAI-2K, PGA and SRI-4/5/6 results, as of the data cut."
        )

    def rows(self, study: Study, as_of: date, options: dict[str, object]) -> Sequence[ResponseRow]:
        return response_rows(study=study, as_of=as_of)

    def write_csv(
        self, buffer: io.StringIO, rows: Sequence[ResponseRow], options: dict[str, object]
    ) -> None:
        write_responses_csv(buffer, rows)
