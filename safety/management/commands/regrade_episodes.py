from django.utils.translation import gettext_lazy, ngettext

from safety.services import episodes_regrade
from trialsite.management.options import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Store a fresh ASTCT grade for every CRS or ICANS episode whose stored grade differs from "
        "the grading of its entries (after a change of the grading rules). Each change is audited "
        "and withdraws the investigator's confirmation. An episode with a sign-off in force "
        "(verified, signed or locked) is left for a person to change."
    )

    def handle(self, *args: object, **options: object) -> None:
        changed = episodes_regrade()
        for name in changed:
            self.stdout.write(name)
        self.stdout.write(
            ngettext("Regraded %(count)d episode.", "Regraded %(count)d episodes.", len(changed))
            % {"count": len(changed)}
        )
