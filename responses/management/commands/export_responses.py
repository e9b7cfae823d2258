import io
from collections.abc import Sequence

from django.utils.translation import gettext as _

from responses.exports import write_responses_csv
from responses.management.base import ExportCommand
from responses.selectors import ResponseRow, response_rows
from trialsite.models import Study


class Command(ExportCommand):
    @property
    def help(self) -> str:
        return _(
            "Export responses.csv: one row per follow-up visit with an assessment, with its "
            "stored SLEDAI-2K, PGA and SRI-4/5/6 results."
        )

    def rows(self, study: Study, options: dict[str, object]) -> Sequence[ResponseRow]:
        return response_rows(study=study)

    def write_csv(self, buffer: io.StringIO, rows: Sequence[ResponseRow]) -> None:
        write_responses_csv(buffer, rows)
