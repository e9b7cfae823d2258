from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.benchmark.measure import BenchmarkError
from trialsite.benchmark.run import run_benchmark
from trialsite.benchmark.table import describe_machine, format_growth, format_size
from trialsite.management.options import TranslatedCommand


def positive(text: str) -> int:
    """Read a whole number of 1 or more (argparse reports the ValueError)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(TranslatedCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Measure the site at scale: for each cohort size, build the cohort through the real "
        "import in a throwaway database, then time the full recompute, every page as a data "
        "manager and as a coordinator, the exports against a raw read of their data, and saves "
        "through the visit entry form. The configured database is not touched. Refuses unless "
        "DJANGO_DEBUG is on."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--participants",
            type=positive,
            nargs="+",
            default=[200],
            metavar="N",
            help=_("The cohort sizes, each measured in a fresh database (default 200)."),
        )
        parser.add_argument(
            "--runs",
            type=positive,
            default=20,
            help=_("Timed renderings of each page, export and raw read (default 20)."),
        )
        parser.add_argument(
            "--saves",
            type=positive,
            default=20,
            help=_("Visits saved through the entry form (default 20)."),
        )
        parser.add_argument(
            "--seed", type=int, default=5, help=_("The seed of the cohort (default 5).")
        )
        parser.add_argument(
            "--keep-db",
            action="store_true",
            help=_("Keep each throwaway database and print its name."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The benchmark plants users with known roles and a whole cohort: never in production.
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "The benchmark is for development only; nothing was created. "
                    "Set DJANGO_DEBUG=1 to run it."
                )
            )
        try:
            results = run_benchmark(
                options["participants"],
                runs=options["runs"],
                saves=options["saves"],
                seed=options["seed"],
                keep_db=options["keep_db"],
                progress=lambda message: self.stderr.write(message),
            )
        except BenchmarkError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(describe_machine(results[0].database_version))
        for result in results:
            self.stdout.write("")
            self.stdout.write("\n".join(format_size(result)))
        if len(results) > 1:
            self.stdout.write("")
            self.stdout.write("\n".join(format_growth(results)))
