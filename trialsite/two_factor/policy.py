"""Who must pass a second factor, and whether this session has passed it."""

from django.contrib.auth.models import AnonymousUser, User

#: The rights that call for a second factor: those of the Data manager role, who corrects,
#: imports and exports every site's data, exports the audit trail and locks visits. Whoever
#: holds one of them, through a role or given directly, must pass a second factor.
DATA_MANAGER_RIGHTS = (
    "trialsite.import_data",
    "trialsite.export_audit_trail",
    "trialsite.lock_visit",
)


def second_factor_required(user: User) -> bool:
    """Return whether the user must set up and pass a second factor to use the site.

    Staff (Django admin), superusers (who hold every permission) and whoever holds a data
    manager's rights must; anyone else may choose to.
    """
    if user.is_staff or user.is_superuser:
        return True
    return any(user.has_perm(right) for right in DATA_MANAGER_RIGHTS)


def session_verified(user: User | AnonymousUser) -> bool:
    """Return whether this session's user has passed the second factor.

    django-otp's OTPMiddleware (settings.MIDDLEWARE) gives ``request.user`` its ``is_verified``.
    """
    return bool(user.is_verified())  # type: ignore[union-attr]
