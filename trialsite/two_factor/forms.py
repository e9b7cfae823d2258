"""The form that takes a code from the user's authenticator app."""

import re

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialsite.two_factor.devices import CodeCheck, device_check_code, device_confirm

#: Six digits 0-9; apps show the code in two groups of three, so spaces are dropped first.
CODE_FORMAT = re.compile(r"[0-9]{6}")


class CodeForm(forms.Form):
    """A code checked against the user's authenticator app at login."""

    code = forms.CharField(
        label=_("6-digit code"),
        max_length=20,
        help_text=_("The code that your authenticator app shows now for this site."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "size": 8,
            }
        ),
    )

    def __init__(self, data: QueryDict | None, *, device: TOTPDevice) -> None:
        super().__init__(data)
        self.device = device

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not CODE_FORMAT.fullmatch(code):
            raise forms.ValidationError(
                _("Enter the 6 digits that your authenticator app shows."), code="format"
            )
        check = self.check_code(code)
        if check.wait_seconds:
            raise forms.ValidationError(
                ngettext(
                    "Too many wrong codes: wait %(seconds)d second, then enter the code that "
                    "your app shows then.",
                    "Too many wrong codes: wait %(seconds)d seconds, then enter the code that "
                    "your app shows then.",
                    check.wait_seconds,
                ),
                code="throttled",
                params={"seconds": check.wait_seconds},
            )
        if not check.accepted:
            raise forms.ValidationError(
                _(
                    "This code is wrong or has expired. Enter the code that your authenticator "
                    "app shows now."
                ),
                code="wrong",
            )
        return code

    def check_code(self, code: str) -> CodeCheck:
        """Check the code against the device (login)."""
        return device_check_code(device=self.device, code=code)


class SetupCodeForm(CodeForm):
    """The first code from an app being set up, which confirms its device."""

    def check_code(self, code: str) -> CodeCheck:
        """Check the code against the device being set up, and confirm it if right."""
        return device_confirm(device=self.device, code=code)
