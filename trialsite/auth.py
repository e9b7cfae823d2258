"""How a login is recorded on the user."""

from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone


def record_last_login(sender: type, user: User, **kwargs: Any) -> None:
    """Set the user's last login time without saving the user: a login is not a change of the
    user's record, so it adds no version to its audit history (that leaves it out too)."""
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
