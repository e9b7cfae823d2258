"""manage.py load_demo, on an empty database (tests/trialsite/test_demo.py shares a loaded one)."""

from django.core.management import call_command


def test_load_demo_command_prints_the_logins(db, capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "Created 11 demo participants" in out
    for username in ("admin", "coordinator", "investigator", "monitor", "datamanager"):
        assert username in out
    assert "trial-demo-2026" in out
