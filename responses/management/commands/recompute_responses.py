from argparse import ArgumentParser

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from responses.services import recompute_all_responses, stale_results
from safety.checks import stale_grades
from trialsite.management.options import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Recompute every visit score and endpoint result from the stored data. With --check, "
        "write nothing: list each stored result, and each stored CRS or ICANS grade, that "
        "differs from a fresh computation."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help=_("Compare only; exit with status 1 if any stored result differs."),
        )

    def handle(self, *args, check: bool, **options) -> None:
        if check:
            problems = [*stale_results(), *stale_grades()]
            for problem in problems:
                self.stdout.write(problem)
            if problems:
                raise CommandError(
                    ngettext(
                        "%(count)d stored result differs from a fresh computation.",
                        "%(count)d stored results differ from a fresh computation.",
                        len(problems),
                    )
                    % {"count": len(problems)}
                )
            self.stdout.write(_("Every stored result equals a fresh computation."))
            return
        count = recompute_all_responses()
        self.stdout.write(_("Recomputed %(count)d endpoint results.") % {"count": count})
