import io
from argparse import ArgumentParser
from collections.abc import Sequence
from datetime import date

from django.utils.translation import gettext as _

from responses.exports import write_cohort_csv, write_mitt_csv
from responses.management.base import ExportCommand
from responses.models import Endpoint
from responses.selectors.cohort import CohortRow, MittRow, cohort_summary, mitt_summary
from trialsite.models import Study

OBSERVED = "observed"
MITT = "mitt"


class Command(ExportCommand):
    @property
    def help(self) -> str:
        return _(
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
            help=_("The endpoint to summarise (default sri4)."),
        )
        parser.add_argument(
            "--population",
            choices=[OBSERVED, MITT],
            default=OBSERVED,
            help=_("The analysis set: observed (default) or mitt (every infused participant)."),
        )

    def rows(
        self, study: Study, as_of: date, options: dict[str, object]
    ) -> Sequence[CohortRow] | Sequence[MittRow]:
        endpoint = str(options["endpoint"])
        if options["population"] == MITT:
            return mitt_summary(study=study, endpoint=endpoint, as_of=as_of).rows
        return cohort_summary(study=study, endpoint=endpoint, as_of=as_of)

    def write_csv(
        self,
        buffer: io.StringIO,
        rows: Sequence[CohortRow] | Sequence[MittRow],
        options: dict[str, object],
    ) -> None:
        if options["population"] == MITT:
            write_mitt_csv(buffer, rows)
        else:
            write_cohort_csv(buffer, rows)
