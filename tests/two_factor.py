"""The second factor in tests: a test client whose force_login passes it, and the codes an
authenticator app would show.

Staff, superusers and data managers must pass a second factor (trialsite/two_factor), so a test
that only logs one in would meet the code page. ``SecondFactorClient.force_login`` logs in and
marks the session as having passed it, as the code page does (and as extended, as the login page
does); the ``client`` and
``admin_client`` fixtures (tests/conftest.py) are such clients. tests/trialsite/test_two_factor.py
tests the second factor itself with Django's own Client.
"""

import time

from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialsite.idle_sessions import EXTENDED_AT
from trialsite.two_factor.devices import confirmed_device
from trialsite.two_factor.policy import second_factor_required


def code_at(device: TOTPDevice, when: float, *, steps_ahead: int = 0) -> str:
    """Return the 6-digit code that the device's authenticator app shows at Unix time ``when``
    (or ``steps_ahead`` 30-second steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    totp.time = when
    return f"{totp.token():06d}"


def next_code(device: TOTPDevice) -> str:
    """Return a code that the device accepts now: the current one, or the next one if the
    current one was used already (a code is accepted once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return code_at(device, time.time(), steps_ahead=max(0, device.last_t + 1 - totp.t()))


def pass_second_factor(client: Client, user: User) -> None:
    """Mark the client's session as having passed the second factor, with the user's device
    (a confirmed one is created for a user who must have one and has none)."""
    device = confirmed_device(user)
    if device is None:
        if not second_factor_required(user):
            return
        device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


class SecondFactorClient(Client):
    """A test client whose force_login passes the second factor too, and leaves the session as
    the login page does: extended now (trialsite/idle_sessions.py), so that the first request
    after it costs what any other does."""

    def force_login(self, user: User, backend: str | None = None) -> None:
        super().force_login(user, backend)
        pass_second_factor(self, user)
        session = self.session
        session[EXTENDED_AT] = int(time.time())
        session.save()
