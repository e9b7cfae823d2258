from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from trialsite.management.options import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Load the demo sites, users and cohort for development (safe to run again: existing data "
        "is kept). Refuses unless DJANGO_DEBUG is on."
    )

    def handle(self, *args, **options) -> None:
        # The demo planted in production would be a superuser with a published password.
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "The demo cohort and its published passwords are for development only; "
                    "nothing was loaded. Set DJANGO_DEBUG=1 to load them."
                )
            )
        result = load_demo(today=timezone.localdate())
        if result.participants_created:
            self.stdout.write(
                _("Created %(count)d demo participants: %(ids)s")
                % {
                    "count": len(result.participants_created),
                    "ids": ", ".join(result.participants_created),
                }
            )
        else:
            self.stdout.write(_("The demo cohort is already loaded; nothing changed."))
        self.stdout.write(
            "\n"
            + _("Demo logins (the password of each is %(password)s):") % {"password": DEMO_PASSWORD}
        )
        self.stdout.write(f"  {'admin':<14} {_('Superuser: Django admin, all sites')}")
        for username, role, site_codes in DEMO_USERS:
            sites = ", ".join(site_codes) if site_codes else _("all sites")
            self.stdout.write(f"  {username:<14} {_(role)} ({sites})")
        if result.demo_code_users:
            self.stdout.write(
                "\n"
                + _(
                    "Second factor for %(users)s: after the password, the site asks for a 6-digit "
                    "code. The demo has no phone; print the current code with:"
                )
                % {"users": ", ".join(result.demo_code_users)}
            )
            self.stdout.write("  DJANGO_DEBUG=1 .venv/bin/python manage.py demo_code USERNAME")
