from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialsiteConfig(AppConfig):
    name = "trialsite"
    verbose_name = _("Trial data capture")

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        from trialsite.auth import record_last_login

        # The users' history (trialsite.models) records changes of who may do what; Django's
        # own handler saves the whole user at each login, which would add a version each time.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(record_last_login, dispatch_uid="trialsite_record_last_login")
