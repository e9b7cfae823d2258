"""Who must pass a second factor, and whether this session has passed it."""

from django.contrib.auth.models import AnonymousUser, User

#: The role (group, migration 0002) that corrects and exports every site's data.
DATA_MANAGER_ROLE = "Data manager"


def second_factor_required(user: User) -> bool:
    """Return whether the user must set up and pass a second factor to use the site.

    Staff (Django admin), superusers (who hold every permission) and data managers (who correct,
    import and export every site's data) must; anyone else may choose to.
    """
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name=DATA_MANAGER_ROLE).exists()


def session_verified(user: User | AnonymousUser) -> bool:
    """Return whether this session's user has passed the second factor.

    django-otp's OTPMiddleware (settings.MIDDLEWARE) gives ``request.user`` its ``is_verified``.
    """
    return bool(user.is_verified())  # type: ignore[union-attr]
