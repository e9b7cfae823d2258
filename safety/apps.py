from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = _("CAR-T safety")

    def ready(self) -> None:
        from safety import record_kinds

        record_kinds.register()
