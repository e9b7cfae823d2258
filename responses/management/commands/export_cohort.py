import io
from argparse import ArgumentParser
from collections.abc import Sequence

from django.utils.translation import gettext as _

from responses.exports import write_cohort_csv
from responses.management.base import ExportCommand
from responses.models import Endpoint
from responses.selectors import CohortRow, cohort_summary
from trialsite.models import Study


class Command(ExportCommand):
    @property
    def help(self) -> str:
        return _(
            "Export cohort.csv: per scheduled visit after baseline, the participants who reached "
            "it, how many were evaluable and responded, the rate and its exact 95% CI."
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--endpoint",
            choices=Endpoint.values,
            default=Endpoint.SRI4.value,
            help=_("The endpoint to summarise (default sri4)."),
        )

    def rows(self, study: Study, options: dict[str, object]) -> Sequence[CohortRow]:
        return cohort_summary(study=study, endpoint=str(options["endpoint"]))

    def write_csv(self, buffer: io.StringIO, rows: Sequence[CohortRow]) -> None:
        write_cohort_csv(buffer, rows)
