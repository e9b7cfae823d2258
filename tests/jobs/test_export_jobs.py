"""Exports written in the background (jobs.tasks.write_export): who may ask for one, who may see
and download it, its page and its progress, a failure, a worker that stops. What the audit
trail holds: tests/trialsite/test_audit_export.py."""

import csv
import importlib
import logging
from dataclasses import replace
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from jobs import exporters, tasks
from jobs.models import EXPORT_KEPT_DAYS, ExportJob, ExportKind, ExportState
from tests.factories import UserFactory
from tests.jobs.conftest import DATABASES, run_worker
from tests.pages import page_text
from trialsite.audit_export import AUDIT_TRAIL_COLUMNS
from trialsite.models import Site, SiteMembership


def write_audit_trail_with(monkeypatch, write) -> None:
    """Let the audit trail's export be written by ``write`` (user, progress) -> text."""
    exporter = exporters.EXPORTERS[ExportKind.AUDIT_TRAIL]
    monkeypatch.setitem(exporters.EXPORTERS, ExportKind.AUDIT_TRAIL, replace(exporter, write=write))


def ask_for_audit_trail(client):
    return client.post(reverse("export_job_create"), {"kind": ExportKind.AUDIT_TRAIL})


def latest_export() -> ExportJob:
    return ExportJob.objects.latest("pk")


def test_a_data_manager_asks_for_the_audit_trail_and_downloads_it_from_its_page(
    client, data_manager
):
    client.force_login(data_manager)

    response = ask_for_audit_trail(client)

    job = latest_export()
    assert response.status_code == 302
    assert response.url == reverse("export_job_detail", args=[job.pk])
    assert (job.created_by, job.kind, job.state) == (data_manager, "audit_trail", "done")
    today = timezone.localdate().isoformat()
    assert job.file_name == f"audit-trail_{today}.csv"
    page = page_text(client.get(response.url))
    assert "Ready to download" in page
    assert "Only you may download it; it is kept 7 days." in page
    download_url = reverse("export_job_download", args=[job.pk])
    assert f'href="{download_url}"' in page

    download = client.get(download_url)

    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == f'attachment; filename="audit-trail_{today}.csv"'
    header, *rows = csv.reader(StringIO(download.content.decode()))
    assert header == list(AUDIT_TRAIL_COLUMNS)
    # The data manager's account, created then given its role (by the tests: no author).
    assert [(row[1], row[4], row[5]) for row in rows] == [
        ("", "user dm", "created"),
        ("", "user dm", "changed"),
    ]
    listed = page_text(client.get(reverse("export_job_list")))
    assert f'href="{response.url}"' in listed
    assert f"audit-trail_{today}.csv" in listed


def test_only_its_author_sees_and_downloads_an_export(client, data_manager):
    client.force_login(data_manager)
    ask_for_audit_trail(client)
    job = latest_export()
    # Another data manager may have an audit trail of their own, not this one: it holds what
    # its author may see, so to anyone else it does not exist.
    client.force_login(UserFactory(username="dm2", role="Data manager"))
    for page in ("detail", "progress", "download"):
        assert client.get(reverse(f"export_job_{page}", args=[job.pk])).status_code == 404
    assert reverse("export_job_detail", args=[job.pk]) not in page_text(
        client.get(reverse("export_job_list"))
    )


def test_an_author_who_lost_the_permission_may_no_longer_download(client, db):
    role = Group.objects.create(name="Auditor")
    role.permissions.add(Permission.objects.get(codename="export_audit_trail"))
    author = UserFactory(username="auditor")
    author.groups.add(role)
    client.force_login(author)
    ask_for_audit_trail(client)
    job = latest_export()
    assert job.state == ExportState.DONE

    role.permissions.clear()

    assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 403
    page = page_text(client.get(reverse("export_job_detail", args=[job.pk])))
    assert "You may no longer download this file" in page
    assert reverse("export_job_download", args=[job.pk]) not in page


def test_an_author_who_no_longer_sees_a_site_may_no_longer_download(client, site_a, site_b):
    role = Group.objects.get(name="Coordinator")
    role.permissions.add(Permission.objects.get(codename="export_audit_trail"))
    author = UserFactory(username="coord", role="Coordinator", sites=[site_a, site_b])
    client.force_login(author)
    ask_for_audit_trail(client)
    job = latest_export()
    assert job.site_ids == sorted([site_a.pk, site_b.pk])
    download = reverse("export_job_download", args=[job.pk])
    assert client.get(download).status_code == 200

    author.site_memberships.filter(site=site_b).delete()

    # The file holds site S02's rows, which the author no longer sees.
    assert client.get(download).status_code == 403
    page = page_text(client.get(reverse("export_job_detail", args=[job.pk])))
    assert "You may no longer download this file" in page
    assert download not in page


def test_an_author_who_lost_a_right_the_file_was_written_with_may_no_longer_download(
    client, data_manager
):
    client.force_login(data_manager)
    ask_for_audit_trail(client)
    job = latest_export()
    # The rights that decide what an audit trail holds, as the Data manager role holds them all.
    assert job.rights == [
        "medications.view_medicationcourse",
        "safety.view_adverseevent",
        "safety.view_crsepisode",
        "safety.view_icansepisode",
        "safety.view_treatmentrecord",
        "trialsite.view_dataquery",
    ]
    download = reverse("export_job_download", args=[job.pk])
    assert client.get(download).status_code == 200

    Group.objects.get(name="Data manager").permissions.remove(
        Permission.objects.get(codename="view_adverseevent")
    )

    # The file may hold adverse events' changes, which the author may no longer see.
    assert client.get(download).status_code == 403
    assert "You may no longer download this file" in page_text(
        client.get(reverse("export_job_detail", args=[job.pk]))
    )


def test_an_export_of_every_site_needs_every_site_to_be_downloaded(client, data_manager, site_a):
    client.force_login(data_manager)
    ask_for_audit_trail(client)
    job = latest_export()
    assert job.site_ids is None  # every site, with the users and roles
    data_manager.groups.set([Group.objects.get(name="Coordinator")])
    data_manager.groups.get().permissions.add(Permission.objects.get(codename="export_audit_trail"))
    SiteMembership.objects.create(user=data_manager, site=site_a)

    assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 403


def test_a_file_is_kept_seven_days_then_refused_and_deleted(client, data_manager):
    client.force_login(data_manager)
    ask_for_audit_trail(client)
    job, kept_since = latest_export(), timezone.now() - timedelta(days=EXPORT_KEPT_DAYS)
    download = reverse("export_job_download", args=[job.pk])
    ExportJob.objects.filter(pk=job.pk).update(finished_at=kept_since + timedelta(minutes=1))
    assert client.get(download).status_code == 200

    ExportJob.objects.filter(pk=job.pk).update(finished_at=kept_since - timedelta(minutes=1))

    # Refused at once, whether or not anything has deleted it yet.
    assert client.get(download).status_code == 404
    job.refresh_from_db()
    assert job.state == ExportState.DONE
    page = page_text(client.get(job.get_absolute_url()))
    assert "its file was deleted after 7 days. Ask for a new export." in page
    assert download not in page
    job.refresh_from_db()
    assert (job.state, job.file_text) == (ExportState.EXPIRED, "")


@pytest.mark.parametrize("state", [ExportState.QUEUED, ExportState.RUNNING, ExportState.FAILED])
def test_only_files_written_are_deleted_once_old(client, data_manager, state):
    client.force_login(data_manager)
    old = ExportJob.objects.create(
        created_by=data_manager,
        kind=ExportKind.AUDIT_TRAIL,
        file_name="audit-trail_2026-01-01.csv",
        language="en",
        state=state,
        finished_at=timezone.now() - timedelta(days=30),
    )

    client.get(reverse("export_job_list"))
    ask_for_audit_trail(client)

    old.refresh_from_db()
    assert old.state == state
    assert latest_export().state == ExportState.DONE


@pytest.mark.parametrize("role", ["Coordinator", "Investigator", "Monitor"])
def test_a_user_without_the_permission_may_not_ask_for_it(client, site_a, role):
    client.force_login(UserFactory(username="someone", role=role, sites=[site_a]))

    assert ask_for_audit_trail(client).status_code == 403

    assert not ExportJob.objects.exists()
    listed = page_text(client.get(reverse("export_job_list")))
    assert "You have not asked for an export yet." in listed
    assert 'value="audit_trail"' not in listed
    assert f'href="{reverse("export_job_list")}"' not in page_text(client.get(reverse("home")))


@pytest.mark.parametrize("page", ["list", "create", "detail", "progress", "download"])
def test_a_user_not_logged_in_is_sent_to_log_in(client, db, page):
    url = reverse(f"export_job_{page}", args=[] if page in ("list", "create") else [1])
    response = client.post(url) if page == "create" else client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_unknown_export_is_not_found_and_asking_needs_a_post(client, data_manager):
    client.force_login(data_manager)
    assert client.post(reverse("export_job_create"), {"kind": "everything"}).status_code == 404
    assert client.get(reverse("export_job_create")).status_code == 405
    assert not ExportJob.objects.exists()


def test_the_list_offers_the_exports_the_user_may_ask_for(client, data_manager):
    client.force_login(data_manager)
    listed = page_text(client.get(reverse("export_job_list")))
    assert 'name="kind" value="audit_trail"' in listed
    assert "New export: Audit trail (audit-trail.csv)" in listed
    # The menu links the list for whoever may export.
    assert f'href="{reverse("export_job_list")}"' in page_text(client.get(reverse("home")))


def test_the_list_pages_query_count_does_not_grow(
    client, data_manager, django_assert_max_num_queries
):
    client.force_login(data_manager)
    for count in (2, 12):
        while ExportJob.objects.count() < count:
            ask_for_audit_trail(client)
        # The session, the user, their second factor and rights (5), the open queries of the
        # menu, the old files deleted, the list's count and rows.
        with django_assert_max_num_queries(9):
            page = page_text(client.get(reverse("export_job_list")))
        assert page.count("audit-trail_") == count


def test_an_unexpected_error_fails_the_export_with_a_message_and_logs_it(
    client, data_manager, monkeypatch, caplog
):
    def broken(user, progress):
        raise RuntimeError("disk on fire")

    write_audit_trail_with(monkeypatch, broken)
    client.force_login(data_manager)

    with caplog.at_level(logging.ERROR, logger="jobs.tasks"):
        ask_for_audit_trail(client)

    job = latest_export()
    assert job.state == ExportState.FAILED
    assert job.file_text == ""
    page = page_text(client.get(job.get_absolute_url()))
    assert "The export stopped on an unexpected error." in page
    assert "disk on fire" not in page
    assert "disk on fire" in caplog.text
    assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 404


def test_a_failure_once_the_file_is_written_fails_the_export_and_keeps_no_file(
    client, data_manager, monkeypatch
):
    def broken(user):
        raise RuntimeError("sites unreadable")

    monkeypatch.setattr(tasks, "site_scope", broken)
    client.force_login(data_manager)

    ask_for_audit_trail(client)

    job = latest_export()
    assert (job.state, job.file_text, job.site_ids) == (ExportState.FAILED, "", None)
    assert "The export stopped on an unexpected error." in job.failure


def test_the_failure_is_written_in_the_language_of_the_page_that_asked(
    client, data_manager, monkeypatch
):
    def broken(user, progress):
        raise RuntimeError("disk on fire")

    write_audit_trail_with(monkeypatch, broken)
    client.force_login(data_manager)
    client.post(reverse("set_language"), {"language": "zh-hans"})

    ask_for_audit_trail(client)

    job = latest_export()
    assert job.language == "zh-hans"
    english = (
        "The export stopped on an unexpected error. The administrators have been told; try "
        "again later or ask them."
    )
    with translation.override("zh-hans"):
        assert job.failure == gettext(english)
    assert job.failure.startswith("导出因意外错误而停止。")


# On the database backend the export waits for a worker, as in production (the worker commits
# as it goes: these tests commit too, and the reference data come back after each flush).
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_an_export_waits_for_the_worker_and_its_page_follows_it(
    reference_data, client, database_backend
):
    author = UserFactory(username="dm", role="Data manager")
    client.force_login(author)
    ask_for_audit_trail(client)
    job = latest_export()
    assert job.state == ExportState.QUEUED
    page = page_text(client.get(job.get_absolute_url()))
    assert "Waiting to start&hellip;" in page
    assert reverse("export_job_progress", args=[job.pk]) in page
    assert reverse("export_job_download", args=[job.pk]) not in page
    assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 404
    assert client.get(reverse("export_job_progress", args=[job.pk])).json()["active"]

    run_worker()

    job.refresh_from_db()
    assert job.state == ExportState.DONE
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "SUCCESSFUL"
    progress = client.get(reverse("export_job_progress", args=[job.pk])).json()
    assert (progress["active"], progress["percent"]) == (False, 100)
    download = client.get(reverse("export_job_download", args=[job.pk]))
    assert download.content.decode().startswith(",".join(AUDIT_TRAIL_COLUMNS))


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the progress connection is PostgreSQL's"
)
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_the_export_reads_one_snapshot_and_others_see_its_progress(
    reference_data, client, database_backend, monkeypatch
):
    seen: list[object] = []

    def writing(user, progress):
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            seen.append(cursor.fetchone()[0])
            cursor.execute("SHOW transaction_read_only")
            seen.append(cursor.fetchone()[0])
        sites = Site.objects.count()
        progress(3, 8)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT rows_done, rows_total FROM jobs_exportjob ORDER BY id DESC LIMIT 1"
                )
                seen.append(cursor.fetchone())
                # A site committed while the export reads is not in what it reads.
                cursor.execute(
                    "INSERT INTO trialsite_site (code, name, name_en, name_zh_hans) "
                    "VALUES ('S99', 'Late', 'Late', '')"
                )
        finally:
            other.close()
        seen.append(Site.objects.count() - sites)
        return "when_utc\r\n"

    write_audit_trail_with(monkeypatch, writing)
    client.force_login(UserFactory(username="dm", role="Data manager"))
    ask_for_audit_trail(client)

    run_worker()

    assert seen == ["repeatable read", "on", (3, 8), 0]
    assert Site.objects.filter(code="S99").exists()
    job = latest_export()
    assert (job.state, job.file_text) == (ExportState.DONE, "when_utc\r\n")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker's lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_an_export_whose_worker_stopped_is_failed(reference_data, client, database_backend):
    client.force_login(UserFactory(username="dm", role="Data manager"))
    ask_for_audit_trail(client)
    job = latest_export()
    ExportJob.objects.filter(pk=job.pk).update(state=ExportState.RUNNING)
    DBTaskResult.objects.filter(id=job.task_result_id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=1)
    )

    progress = client.get(reverse("export_job_progress", args=[job.pk])).json()

    assert (progress["active"], progress["state"]) == (False, ExportState.FAILED)
    page = page_text(client.get(job.get_absolute_url()))
    assert "The background worker stopped before finishing" in page


def test_an_export_being_written_shows_how_far_it_has_got(client, data_manager):
    job = ExportJob.objects.create(
        created_by=data_manager,
        kind=ExportKind.AUDIT_TRAIL,
        file_name="audit-trail_2026-12-01.csv",
        language="en",
        state=ExportState.RUNNING,
        rows_done=300,
        rows_total=1200,
    )
    client.force_login(data_manager)

    text = page_text(client.get(reverse("export_job_detail", args=[job.pk])))
    progress = client.get(reverse("export_job_progress", args=[job.pk])).json()

    assert (progress["state_label"], progress["rows_label"]) == (
        "Writing the file",
        "300 of 1200 records read",
    )
    assert "Writing the file&hellip;</h2>" in text
    assert "<p data-progress-rows>300 of 1200 records read</p>" in text
    assert '<progress class="w-100" id="job-progress" max="1200" value="300"' in text
    assert f'data-progress-url="{reverse("export_job_progress", args=[job.pk])}"' in text
    assert "it holds the data as they stood when the writing started." in text
    assert "You may leave this page and come back to it from Your exports." in text


def file_compression() -> list[tuple[str, str]]:
    """Return how PostgreSQL compresses each job's file column ("l": lz4, "": its default)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attcompression FROM pg_attribute"
            " WHERE attname = 'file_text'"
            " AND attrelid IN ('jobs_exportjob'::regclass, 'jobs_importjob'::regclass)"
            " ORDER BY 1"
        )
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lz4 is PostgreSQL's")
@pytest.mark.django_db
def test_job_files_are_compressed_with_lz4_where_the_server_offers_it_and_undone_to_its_default():
    migration = importlib.import_module("jobs.migrations.0005_file_text_lz4")
    migrated = "l" if migration.lz4_offered(connection) else ""
    assert file_compression() == [("jobs_exportjob", migrated), ("jobs_importjob", migrated)]

    with connection.schema_editor() as schema_editor:
        migration.compress_as_the_server_does(apps, schema_editor)
    assert file_compression() == [("jobs_exportjob", ""), ("jobs_importjob", "")]
