"""Shared clinic computers: a session ends after SESSION_COOKIE_AGE seconds without a request.

Each save of a session (django.contrib.sessions' database backend) moves its end to
SESSION_COOKIE_AGE seconds from then. Saving it on every request costs a database write each
time; this saves it when it was last saved a minute or more ago, so a session ends between
SESSION_COOKIE_AGE - 60 and SESSION_COOKIE_AGE seconds after its last request.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

#: The session key holding when the session was last extended (seconds since the epoch).
EXTENDED_AT = "_extended_at"
#: How often a session in use is extended, in seconds.
EXTEND_EVERY = 60


class IdleTimeoutMiddleware:
    """Extend a session in use at most once a minute (after SessionMiddleware, which saves a
    session marked as changed when the response leaves)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if session.is_empty():
            return response
        now = int(time.time())
        extended_at = session.get(EXTENDED_AT)
        if session.modified or extended_at is None or now - extended_at >= EXTEND_EVERY:
            session[EXTENDED_AT] = now
        return response
