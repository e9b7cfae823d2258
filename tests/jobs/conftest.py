"""Imports from the browser: the cohort files of tests/data, uploaded by a data manager."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from jobs.models import ImportJob
from jobs.progress import PROGRESS_DATABASE
from tests.factories import SiteFactory

DATA = Path(__file__).parents[1] / "data"


def data_file(name: str) -> bytes:
    return (DATA / name).read_bytes()


def upload(client, kind: str, content: bytes, name: str, *, update: bool = False):
    """Post a file to the upload page, as its form does; return the response (not followed)."""
    data = {"kind": kind, "file": SimpleUploadedFile(name, content, "text/csv")}
    if update:
        data["update"] = "on"
    return client.post(reverse("import_job_create"), data)


def latest_job() -> ImportJob:
    return ImportJob.objects.latest("pk")


@pytest.fixture
def cohort_sites(db):
    """The sites of tests/data/cohort_participants.csv (the upload page creates no site)."""
    return [SiteFactory(code=code) for code in ("S01", "S02", "S03")]


@pytest.fixture
def dm_client(client, data_manager):
    client.force_login(data_manager)
    return client


#: The databases a job on the database backend uses: the progress connection on PostgreSQL.
DATABASES = ["default", *([PROGRESS_DATABASE] if PROGRESS_DATABASE in settings.DATABASES else [])]
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def database_backend(settings):
    """Queue background jobs in their table, as production does, until run_worker()."""
    settings.TASKS = DATABASE_BACKEND


def run_worker() -> None:
    """Run the queued tasks as `manage.py db_worker --batch` does, then stop."""
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO(), verbosity=0
    )
