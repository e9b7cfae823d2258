"""Production settings come from the environment and pass Django's deployment checks."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x7#q-" + "k" * 60,
    "DJANGO_ALLOWED_HOSTS": "trial.example.org",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env=env)


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run this Python in the project's directory with only ``env``'s DJANGO_ settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("debug", ["0", ""])
def test_refuses_to_start_without_secret_key_unless_debug(debug):
    env = {"DJANGO_SECRET_KEY": ""}
    if debug:
        env["DJANGO_DEBUG"] = debug
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_static_root_comes_from_the_environment(tmp_path):
    env = {**PRODUCTION_ENV, "DJANGO_STATIC_ROOT": str(tmp_path / "collected")}
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.STATIC_ROOT)",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "collected")


def test_state_shared_between_requests_lives_in_the_database():
    """So that several app server processes and machines can serve the same site."""
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    # The cache holds only report plots, pure functions of their keys: a per-process cache is
    # correct, and nothing else may rely on it being shared.
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
def test_every_page_carries_the_content_security_and_permissions_policies(client):
    response = client.get("/accounts/login/")
    directives = dict(
        [*part.split(" ", 1), ""][:2]
        for part in response.headers["Content-Security-Policy"].split("; ")
    )
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    policy = response.headers["Permissions-Policy"]
    assert "camera=()" in policy
    assert "geolocation=()" in policy
    assert "microphone=()" in policy


def test_every_environment_variable_the_settings_read_is_documented_in_the_readme():
    settings_source = (ROOT / "trialsite" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"((?:DJANGO_|DATABASE_)[A-Z_]+)"', settings_source))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)`", readme, flags=re.MULTILINE))
    assert "DJANGO_SECRET_KEY" in read
    assert read - documented == set()


def test_a_server_process_leaves_the_loaded_site_out_of_garbage_collections():
    """trialsite/wsgi.py, which each gunicorn worker loads, freezes what it loaded
    (trialsite/memory.py)."""
    result = run_python(
        "-c", "import gc, trialsite.wsgi; print(gc.get_freeze_count())", env=PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stderr
    # Django and the site's apps: far more than ten thousand objects.
    assert int(result.stdout) > 10_000
