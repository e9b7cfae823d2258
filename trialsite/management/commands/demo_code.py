import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.demo import NoDemoCode, demo_code
from trialsite.management.options import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Print the 6-digit code that a demo user's authenticator app would show now, for the "
        "second factor of the demo logins. Refuses unless DJANGO_DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help=_("A demo user: admin or datamanager."))

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo's second factor stands in for a phone: it must never open a real account.
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "Demo codes are for development only; nothing was printed. "
                    "Set DJANGO_DEBUG=1 to use them."
                )
            )
        try:
            code = demo_code(options["username"], now=time.time())
        except NoDemoCode as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(code)
