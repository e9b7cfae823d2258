"""On the database backend (production on PostgreSQL) a job waits in its table until a worker
(`manage.py db_worker`) runs it; its progress is written through a second connection that the
browser sees before the import commits (jobs/progress.py)."""

from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import importers
from jobs.models import ImportJob, ImportKind, JobState
from tests.jobs.conftest import DATABASES, data_file, latest_job, run_worker, upload
from trialsite.imports import ImportReport
from trialsite.models import Participant


# The worker commits as it goes (and closes a connection left in a transaction), as in
# production: these tests commit too, and the reference data come back after each flush.
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_queued_job_waits_for_the_worker_and_runs(
    reference_data, dm_client, cohort_sites, database_backend
):
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c.csv")
    job = latest_job()
    assert job.state == JobState.CHECKING
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "READY"
    page = dm_client.get(job.get_absolute_url()).content.decode()
    assert "Checking the file&hellip;" in page

    run_worker()

    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_READY
    assert len(job.preview["created"]) == 8
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "SUCCESSFUL"

    dm_client.post(reverse("import_job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert dm_client.get(reverse("import_job_progress", args=[job.pk])).json()["active"]
    assert Participant.objects.count() == 0

    run_worker()

    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert Participant.objects.count() == 8
    assert not dm_client.get(reverse("import_job_progress", args=[job.pk])).json()["active"]


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_job_that_raises_is_failed_and_so_is_its_task(
    reference_data, dm_client, cohort_sites, database_backend, monkeypatch
):
    def broken(text, **options):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(importers.IMPORT_FUNCTIONS, ImportKind.PARTICIPANTS, broken)
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c.csv")

    run_worker()

    job = latest_job()
    assert job.state == JobState.FAILED
    assert "unexpected error" in job.failure
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "FAILED"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the progress connection is PostgreSQL's"
)
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_the_progress_is_seen_by_others_before_the_import_commits(
    reference_data, dm_client, cohort_sites, database_backend, monkeypatch
):
    seen: list[tuple[int, int | None]] = []

    def importing(text, *, file_name, study, author, update=False, dry_run=False, progress):
        # As trialsite.imports does: every row inside one transaction, progress as it goes.
        with transaction.atomic():
            Participant.objects.filter(participant_id="none").update(sex="F")
            progress(3, 8)
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute(
                        "SELECT rows_done, rows_total FROM jobs_importjob ORDER BY id DESC LIMIT 1"
                    )
                    seen.append(cursor.fetchone())
            finally:
                other.close()
        return ImportReport(file_name=file_name, dry_run=dry_run)

    monkeypatch.setitem(importers.IMPORT_FUNCTIONS, ImportKind.PARTICIPANTS, importing)
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c.csv")

    run_worker()

    assert seen == [(3, 8)]
    assert latest_job().state == JobState.PREVIEW_READY
    assert ImportJob.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker's lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_an_import_whose_worker_stopped_is_failed_with_nothing_written(
    reference_data, dm_client, cohort_sites, database_backend
):
    """A worker killed during the dry run leaves its task running and the job "checking"; no
    worker holds the job's lock (jobs.liveness), so its page says what happened."""
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c.csv")
    job = latest_job()
    DBTaskResult.objects.filter(id=job.task_result_id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=1)
    )

    progress = dm_client.get(reverse("import_job_progress", args=[job.pk])).json()

    assert (progress["active"], progress["state"]) == (False, JobState.FAILED)
    job.refresh_from_db()
    assert "The background worker stopped before finishing, and nothing was written." in (
        job.failure
    )
    page = dm_client.get(job.get_absolute_url()).content.decode()
    assert "The background worker stopped before finishing" in page
    assert Participant.objects.count() == 0
