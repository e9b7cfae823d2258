"""A user's authenticator app: a django-otp TOTP device, set up with a first code and checked at
each login. Wrong codes lock the device for 1, 2, 4, 8, ... seconds (django-otp's throttling,
settings.OTP_TOTP_THROTTLE_FACTOR), and a code once accepted is never accepted again."""

import math
from base64 import b32encode
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

#: The name that a device set up on the set-up page has in Django admin.
DEVICE_NAME = "Authenticator app"


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a code: accepted or not. ``wait_seconds`` is above 0 when the code was
    refused unchecked, because wrong codes before it lock the device that long."""

    accepted: bool
    wait_seconds: int = 0


def confirmed_device(user: User) -> TOTPDevice | None:
    """Return the user's authenticator app, or None if they have not set one up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").last()


def has_confirmed_device(user: User) -> bool:
    """Return whether the user has set up an authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_device(user: User) -> TOTPDevice | None:
    """Return the device the user is setting up (not yet confirmed with a code), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()


def device_setup_start(*, user: User) -> TOTPDevice:
    """Return the device the user is setting up, created with a new random key the first time.

    It stays unconfirmed, and so asked for by nothing, until ``device_confirm`` accepts a first
    code from the app; opening the set-up page again shows the same key.
    """
    device = pending_device(user)
    if device is None:
        device = TOTPDevice(user=user, name=DEVICE_NAME, confirmed=False)
        device.full_clean()
        device.save()
    return device


def _check(device: TOTPDevice, code: str) -> CodeCheck:
    """Check a code against a device locked for update, within django-otp's throttling."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        seconds = (locked_until - timezone.now()).total_seconds() if locked_until else 1
        return CodeCheck(accepted=False, wait_seconds=max(1, math.ceil(seconds)))
    return CodeCheck(accepted=bool(device.verify_token(code)))


def device_check_code(*, device: TOTPDevice, code: str) -> CodeCheck:
    """Check a code from the user's authenticator app at login.

    The device row is locked while it is checked, so two requests cannot both use one code or
    both escape the count of wrong codes.
    """
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=True).first()
        if locked is None:  # reset by an administrator meanwhile
            return CodeCheck(accepted=False)
        return _check(locked, code)


def device_confirm(*, device: TOTPDevice, code: str) -> CodeCheck:
    """Confirm a device being set up with a first code from the app.

    Once confirmed, it replaces any device the user had before (a new phone).
    """
    with transaction.atomic():
        locked = (
            TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
        )
        if locked is None:  # confirmed by another request meanwhile, or removed
            return CodeCheck(accepted=False)
        check = _check(locked, code)
        if check.accepted:
            locked.confirmed = True
            locked.full_clean()
            locked.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user_id=locked.user_id).exclude(pk=locked.pk).delete()
            device.confirmed = True
        return check


def secret_key_text(device: TOTPDevice) -> str:
    """Return the device's key as an authenticator app takes it typed in: base32, in fours."""
    key = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[start : start + 4] for start in range(0, len(key), 4))
