"""Which task backend runs the jobs: the database on PostgreSQL, at once on SQLite or when asked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_BACKEND = (
    "from django.conf import settings; "
    "print(settings.TASKS['default']['BACKEND'], 'progress' in settings.DATABASES)"
)


def settings_with(env: dict[str, str]) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PRINT_BACKEND],
        cwd=ROOT,
        env={**base, "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


POSTGRESQL = "postgres://trialsite@db.internal:5432/trialsite"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "django_tasks.backends.immediate.ImmediateBackend False", id="sqlite"),
        pytest.param(
            {"DATABASE_URL": POSTGRESQL}, "django_tasks_db.DatabaseBackend True", id="postgresql"
        ),
        pytest.param(
            {"DATABASE_URL": POSTGRESQL, "DJANGO_TASKS_IMMEDIATE": "1"},
            "django_tasks.backends.immediate.ImmediateBackend True",
            id="postgresql-immediate",
        ),
    ],
)
def test_the_task_backend_follows_the_database(env, expected):
    assert settings_with(env) == expected
