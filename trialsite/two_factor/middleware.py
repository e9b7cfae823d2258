"""Ask for the second factor after the password, before any other page."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from trialsite.two_factor.devices import has_confirmed_device
from trialsite.two_factor.policy import second_factor_required, session_verified

#: The pages a signed-in user reaches before passing the second factor (by URL name): leaving,
#: and choosing the language of the code and set-up pages.
ALWAYS_ALLOWED = frozenset({"logout", "admin:logout", "set_language"})


def is_static(request: HttpRequest) -> bool:
    """Return whether the request is for a static file (WhiteNoise serves those before any view,
    but ``runserver`` without it routes them to a view)."""
    return bool(settings.STATIC_URL) and request.path.startswith(str(settings.STATIC_URL))


class SecondFactorMiddleware:
    """Send a signed-in user who has not passed the second factor in this session to the page
    that asks for it, with the page they asked for as ``next``.

    A user with an authenticator app goes to the code page; a user who must have one
    (``second_factor_required``) and has none goes to the set-up page; anyone else goes on.
    This covers every page that the URLs route to, Django admin included; static files are
    served before any view (WhiteNoise). It comes after django-otp's OTPMiddleware, which tells
    whether the session passed, and after LoginRequiredMiddleware, which sends anonymous users
    to the login page first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or session_verified(user):
            return None
        match = request.resolver_match
        view_name = match.view_name if match is not None else ""
        if view_name in ALWAYS_ALLOWED or is_static(request):
            return None
        if has_confirmed_device(user):
            page = "two_factor_verify"
        elif second_factor_required(user):
            page = "two_factor_setup"
        else:
            return None
        if view_name == page:
            return None
        return redirect_to_login(request.get_full_path(), page)
