"""manage.py load_demo, on an empty database (tests/trialsite/test_demo.py shares a loaded one)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

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
