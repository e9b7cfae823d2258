"""The request the site's pages receive."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """A request with a signed-in user: the login-required middleware (settings.MIDDLEWARE) lets
    no anonymous request reach a page that is not marked ``login_not_required``."""

    user: User
