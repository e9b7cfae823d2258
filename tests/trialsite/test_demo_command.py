"""manage.py load_demo, on an empty database (tests/trialsite/test_demo.py shares a loaded one)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from trialsite.demo import demo_code
from trialsite.models import Participant, Site, Visit


def test_load_demo_command_prints_the_logins(db, settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "Created 11 demo participants" in out
    for username in ("admin", "coordinator", "investigator", "monitor", "datamanager"):
        assert username in out
    assert "trial-demo-2026" in out


def test_load_demo_command_refuses_with_debug_off_and_writes_nothing(db, settings, capsys):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="for development only"):
        call_command("load_demo")
    assert not get_user_model().objects.exists()
    assert not Site.objects.exists()
    assert not Participant.objects.exists()
    assert not Visit.objects.exists()
    assert "trial-demo-2026" not in capsys.readouterr().out


def test_load_demo_gives_the_users_who_must_have_one_a_second_factor(db, settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")  # again: nothing added
    devices = TOTPDevice.objects.filter(confirmed=True)
    assert sorted(devices.values_list("user__username", flat=True)) == ["admin", "datamanager"]
    out = capsys.readouterr().out
    assert "Second factor for admin, datamanager: after the password" in out
    assert "DJANGO_DEBUG=1 .venv/bin/python manage.py demo_code USERNAME" in out


@pytest.mark.parametrize("username", ["admin", "datamanager"])
def test_demo_code_prints_the_code_the_site_accepts_now(db, settings, capsys, username):
    settings.DEBUG = True
    call_command("load_demo")
    capsys.readouterr()
    device = TOTPDevice.objects.get(user__username=username)

    call_command("demo_code", username)
    code = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9]{6}", code)
    assert device.verify_token(code)

    # That code is used: the next one printed is another, which the site accepts too.
    call_command("demo_code", username)
    second = capsys.readouterr().out.strip()
    assert second != code
    assert device.verify_token(second)


def test_demo_code_matches_an_authenticator_app_at_a_given_time(db, settings):
    settings.DEBUG = True
    call_command("load_demo")
    device = TOTPDevice.objects.get(user__username="admin")
    when = 1_800_000_000.0  # RFC 6238: the HOTP of the 30-second steps since 1970
    assert demo_code("admin", now=when) == f"{hotp(device.bin_key, 60_000_000):06d}"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("someone", "someone is not a demo user"),
        ("coordinator", "coordinator has no demo second factor"),
    ],
)
def test_demo_code_refuses_users_without_a_demo_second_factor(
    db, settings, capsys, username, message
):
    settings.DEBUG = True
    call_command("load_demo")
    UserFactory(username="someone", is_staff=True)
    capsys.readouterr()
    with pytest.raises(CommandError, match=message):
        call_command("demo_code", username)
    assert capsys.readouterr().out == ""


def test_demo_code_refuses_with_debug_off(db, settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    capsys.readouterr()
    settings.DEBUG = False
    with pytest.raises(CommandError, match="for development only"):
        call_command("demo_code", "admin")
    assert capsys.readouterr().out == ""
