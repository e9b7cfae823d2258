"""What the commands share: the study they work on (--study), the error they report for an
option or a file they cannot use, and a translated help text."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from trialsite.models import Study


class InputError(ValueError):
    """A command option or file that cannot be used at all (unknown study, user or file)."""


def choose_study(protocol_number: str | None) -> Study:
    """Return the study named by --study, or the only study when there is just one."""
    studies = Study.objects.select_related("baseline_visit")
    if protocol_number is not None:
        study = studies.filter(protocol_number=protocol_number).first()
        if study is None:
            raise InputError(
                _('There is no study with protocol number "%(protocol)s" (studies: %(known)s).')
                % {"protocol": protocol_number, "known": _known_protocols()}
            )
        return study
    found = list(studies[:2])
    if not found:
        raise InputError(_("There is no study in the database."))
    if len(found) > 1:
        raise InputError(
            _("There are several studies; choose one with --study PROTOCOL_NUMBER (%(known)s).")
            % {"known": _known_protocols()}
        )
    return found[0]


def _known_protocols() -> str:
    return ", ".join(
        Study.objects.order_by("protocol_number").values_list("protocol_number", flat=True)
    )


class TranslatedCommand(BaseCommand):
    """A command whose ``help`` is a lazy translation (set at import time, in no language yet):
    argparse needs a string, so it is rendered in the language in force when the parser is made.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
