from argparse import ArgumentParser

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.imports import ImportReport, import_participants
from trialsite.management.base import ImportCommand
from trialsite.models import Study


class Command(ImportCommand):
    file_help = gettext_lazy("The participants.csv file (UTF-8).")
    update_help = gettext_lazy("Change participants that already exist.")

    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Import participants from a participants.csv file (all or nothing). Existing "
        "participants are changed only with --update; every change is audited with the reason "
        '"imported from <file name>".'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--create-sites",
            action="store_true",
            help=_("Create unknown sites (named by their code) instead of refusing the rows."),
        )

    def run_import(
        self,
        text: str,
        *,
        file_name: str,
        study: Study,
        author: User,
        update: bool,
        dry_run: bool,
        options: dict[str, object],
    ) -> ImportReport:
        return import_participants(
            text,
            file_name=file_name,
            study=study,
            author=author,
            create_sites=bool(options["create_sites"]),
            update=update,
            dry_run=dry_run,
        )
