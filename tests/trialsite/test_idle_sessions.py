"""A session ends after SESSION_COOKIE_AGE seconds without a request (shared clinic computers),
and a signed-in session in use is extended once a step: a thirtieth of that idle time, at most a
minute (trialsite/idle_sessions.py)."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD
from trialsite.idle_sessions import EXTENDED_AT, extension_step


@pytest.fixture
def signed_in(client, coordinator_a):
    client.force_login(coordinator_a)
    return client


def extended_seconds_ago(client, seconds: int) -> Session:
    """Mark the client's session as extended that long ago and return its stored row."""
    session = client.session
    session[EXTENDED_AT] = int(time.time()) - seconds
    session.save()
    return Session.objects.get(session_key=session.session_key)


def assert_extended_by(before: Session, asked_at, idle_seconds: int) -> None:
    after = Session.objects.get(pk=before.pk)
    assert after.get_decoded()[EXTENDED_AT] >= int(asked_at.timestamp())
    idle_time = timedelta(seconds=idle_seconds)
    assert asked_at + idle_time <= after.expire_date <= timezone.now() + idle_time


@pytest.mark.parametrize(("idle_seconds", "step"), [(1800, 60), (7200, 60), (300, 10), (60, 2)])
def test_the_step_is_a_thirtieth_of_the_idle_time_at_most_a_minute(
    settings, idle_seconds, step
) -> None:
    settings.SESSION_COOKIE_AGE = idle_seconds

    assert extension_step() == step


def test_a_session_extended_under_a_step_ago_is_not_written(signed_in) -> None:
    before = extended_seconds_ago(signed_in, 50)

    assert signed_in.get(reverse("home")).status_code == 200

    after = Session.objects.get(pk=before.pk)
    assert (after.expire_date, after.session_data) == (before.expire_date, before.session_data)


def test_a_session_extended_a_step_ago_ends_a_full_idle_time_after_this_request(
    signed_in, settings
) -> None:
    before = extended_seconds_ago(signed_in, 60)

    asked_at = timezone.now()
    assert signed_in.get(reverse("home")).status_code == 200

    assert_extended_by(before, asked_at, settings.SESSION_COOKIE_AGE)


def test_a_short_idle_time_extends_a_session_used_within_it(signed_in, settings) -> None:
    settings.SESSION_COOKIE_AGE = 60
    before = extended_seconds_ago(signed_in, 2)

    asked_at = timezone.now()
    assert signed_in.get(reverse("home")).status_code == 200

    assert_extended_by(before, asked_at, 60)


def test_a_session_never_extended_is_extended_by_its_next_request(signed_in, settings) -> None:
    session = signed_in.session
    del session[EXTENDED_AT]  # a session signed in before sessions were extended so
    session.save()
    before = Session.objects.get()

    asked_at = timezone.now()
    assert signed_in.get(reverse("home")).status_code == 200

    assert_extended_by(before, asked_at, settings.SESSION_COOKIE_AGE)


def test_a_session_idle_past_its_end_is_signed_out(signed_in) -> None:
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = signed_in.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_signing_in_records_when_the_session_was_extended(client, coordinator_a) -> None:
    answer = client.post(reverse("login"), {"username": "coord_a", "password": TEST_PASSWORD})

    assert answer.status_code == 302
    assert EXTENDED_AT in client.session


def test_a_session_not_signed_in_is_left_alone(client, db) -> None:
    session = client.session
    session["django_language"] = "zh-hans"
    session.save()

    assert client.get(reverse("login")).status_code == 200

    assert EXTENDED_AT not in Session.objects.get().get_decoded()
