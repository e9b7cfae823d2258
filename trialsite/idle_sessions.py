"""Shared clinic computers: a session ends after SESSION_COOKIE_AGE seconds without a request.

Each save of a session (django.contrib.sessions' database backend) moves its end to
SESSION_COOKIE_AGE seconds from then. Saving it on every request costs a database write each
time; a signed-in session is saved instead when it was last extended a step ago or more: a
thirtieth of the idle time, at most a minute (a minute for the default 30 minutes). A session
then ends between one step less than its idle time and its idle time after its last request.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

#: The session key holding when the session was last extended (seconds since the epoch).
EXTENDED_AT = "_extended_at"


def extension_step() -> int:
    """Return how often a session in use is extended, in seconds."""
    return min(60, settings.SESSION_COOKIE_AGE // 30)


class SessionExtensionMiddleware:
    """Extend a signed-in session in use once a step (after SessionMiddleware, which saves a
    session marked as changed when the response leaves)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if SESSION_KEY not in session:
            return response
        now = int(time.time())
        extended_at = session.get(EXTENDED_AT)
        if session.modified or extended_at is None or now - extended_at >= extension_step():
            session[EXTENDED_AT] = now
        return response
