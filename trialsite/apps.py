from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialsiteConfig(AppConfig):
    name = "trialsite"
    verbose_name = _("Trial data capture")
