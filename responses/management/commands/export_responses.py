import io
from datetime import date

from django.utils.translation import gettext_lazy

from responses.exports import ExportScope, write_responses_csv
from responses.management.base import ExportCommand
from responses.selectors.rows import response_rows
from trialsite.models import Study


class Command(ExportCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Export responses.csv: one row per follow-up visit with an assessment, with its "
        "stored SLEDAI-2K, PGA, SRI-4/5/6, BICLA, LLDAS and DORIS results and whether it is "
        "dated inside its window, as of the data cut."
    )

    def export(
        self, buffer: io.StringIO, study: Study, as_of: date, options: dict[str, object]
    ) -> int:
        rows = response_rows(study=study, as_of=as_of)
        write_responses_csv(buffer, rows, ExportScope(as_of=as_of))  # every site, no filter
        return len(rows)
