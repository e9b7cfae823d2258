import io
from argparse import ArgumentParser
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from responses.exports import MITT, OBSERVED, ExportScope, write_cohort_csv, write_mitt_csv
from responses.management.base import ExportCommand
from responses.models import Endpoint
from responses.selectors.cohort import cohort_summary, mitt_summary
from trialsite.models import Study


class Command(ExportCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Export cohort.csv as of the data cut: per scheduled visit after baseline, the "
        "observed set (who reached the visit, how many were evaluable and responded, the "
        "rate, its exact 95% CI, and the visits out of window) or, with --population mitt, "
        "the infused (mITT) set by category."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--endpoint",
            choices=Endpoint.values,
            default=Endpoint.SRI4.value,
            help=_("The endpoint to summarise: sri4 (default), sri5, sri6, bicla, lldas or doris."),
        )
        parser.add_argument(
            "--population",
            choices=[OBSERVED, MITT],
            default=OBSERVED,
            help=_("The analysis set: observed (default) or mitt (every infused participant)."),
        )

    def export(
        self, buffer: io.StringIO, study: Study, as_of: date, options: dict[str, object]
    ) -> int:
        endpoint = str(options["endpoint"])
        scope = ExportScope(as_of=as_of, endpoint=endpoint)  # every site, no other filter
        if options["population"] == MITT:
            mitt_rows = mitt_summary(study=study, endpoint=endpoint, as_of=as_of).rows
            write_mitt_csv(buffer, mitt_rows, scope)
            return len(mitt_rows)
        observed_rows = cohort_summary(study=study, endpoint=endpoint, as_of=as_of)
        write_cohort_csv(buffer, observed_rows, scope)
        return len(observed_rows)
