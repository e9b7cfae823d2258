"""Imports from the browser: the cohort files of tests/data, uploaded by a data manager."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import ImportJob
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
