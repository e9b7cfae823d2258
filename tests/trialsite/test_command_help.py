"""Every command of the site prints its help, in English and in Chinese (its help text is a lazy
translation, which argparse cannot format as it is)."""

import pytest
from django.core.management import get_commands, load_command_class
from django.utils import translation

OUR_APPS = {"trialsite", "responses", "safety", "medications"}
OUR_COMMANDS = sorted(name for name, app in get_commands().items() if app in OUR_APPS)


def test_the_site_has_its_commands():
    assert {"import_visits", "export_cohort", "import_crs", "regrade_episodes"} <= set(OUR_COMMANDS)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("name", OUR_COMMANDS)
def test_every_command_prints_its_help(name, language):
    command = load_command_class(get_commands()[name], name)
    with translation.override(language):
        text = command.create_parser("manage.py", name).format_help()
    assert text.startswith(f"usage: manage.py {name}")
