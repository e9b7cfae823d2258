"""A data manager imports a file from the browser: upload, the dry run's preview, confirm, the
summary and the result file. The jobs run at once here (the immediate backend, tests/conftest.py);
tests/jobs/test_worker.py runs them on the database backend with the worker."""

import csv
import logging
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs import importers
from jobs.models import ImportJob, ImportKind, JobState
from tests.factories import UserFactory
from tests.jobs.conftest import data_file, latest_job, upload
from trialsite.imports import PARTICIPANT_COLUMNS, import_participants
from trialsite.models import Participant, Study, Visit

PARTICIPANTS_HEADER = ",".join(PARTICIPANT_COLUMNS)


def participants_file(*lines: str) -> bytes:
    return "\n".join([PARTICIPANTS_HEADER, *lines, ""]).encode()


def page_text(response) -> str:
    return response.content.decode()


def result_rows(client, job: ImportJob) -> list[dict[str, str]]:
    response = client.get(reverse("import_job_result", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(StringIO(b"".join(response.streaming_content).decode())))


def import_cohort_participants(author: User) -> None:
    report = import_participants(
        data_file("cohort_participants.csv").decode(),
        file_name="cohort_participants.csv",
        study=Study.objects.get(),
        author=author,
    )
    assert report.written, report.problems


# --------------------------------------------------------------------------------------------
# Upload -> preview -> confirm -> done
# --------------------------------------------------------------------------------------------


def test_an_upload_shows_the_dry_run_and_writes_nothing(dm_client, cohort_sites):
    response = upload(
        dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "cohort.csv"
    )

    job = latest_job()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert job.state == JobState.PREVIEW_READY
    assert Participant.objects.count() == 0
    page = dm_client.get(job.get_absolute_url())
    text = page_text(page)
    assert "Preview: what the import would do" in text
    # The file's eight participants, none existing yet.
    assert page.context["report"].created == tuple(f"C-00{n}" for n in range(1, 9))
    assert "<strong>8</strong> would be created" in text
    assert "<strong>0</strong> would be changed" in text
    assert "Confirm and import" in text


def test_confirming_imports_the_file_and_shows_the_summary(dm_client, data_manager, cohort_sites):
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "cohort.csv")
    job = latest_job()

    response = dm_client.post(reverse("import_job_confirm", args=[job.pk]), follow=True)

    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.finished_at is not None
    assert (job.rows_done, job.rows_total) == (8, 8)
    assert Participant.objects.count() == 8
    participant = Participant.objects.get(participant_id="C-005")
    assert participant.history.get().history_change_reason == "imported from cohort.csv"
    assert participant.history.get().history_user == data_manager
    text = page_text(response)
    assert "Imported" in text
    assert "<strong>8</strong> created" in text
    assert 'value="100"' in text
    assert "Download the result (CSV)" in text
    assert "Confirm and import" not in text


def test_a_visits_file_is_imported_and_scored(dm_client, data_manager, cohort_sites):
    import_cohort_participants(data_manager)
    upload(dm_client, ImportKind.VISITS, data_file("cohort_visits.csv"), "cohort_visits.csv")
    job = latest_job()
    assert job.state == JobState.PREVIEW_READY
    assert len(job.preview["created"]) == 23  # the 23 data rows of the file
    assert Visit.objects.count() == 0

    dm_client.post(reverse("import_job_confirm", args=[job.pk]))

    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert Visit.objects.count() == 23
    # C-001's M3 (tests/trialsite/test_imports.py: SLEDAI-2K 14 -> 4, PGA -1.00): a responder.
    m3 = Visit.objects.get(participant__participant_id="C-001", visit_definition__code="M3")
    assert m3.endpoint_results.get(endpoint="sri4").outcome == "responder"


def test_the_preview_lists_each_changed_record_by_row_with_its_columns(
    dm_client, data_manager, cohort_sites
):
    import_cohort_participants(data_manager)
    changed = participants_file(
        "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",  # row 2: as stored
        "C-002,S01,F,12,2025-01-06,2025-02-10,300000,,",  # row 3: age 11 -> 12, dose 1e5 -> 3e5
        "C-003,S02,M,16,2025-01-06,2025-02-10,30000,,",  # row 4: site S01 -> S02
    )

    upload(dm_client, ImportKind.PARTICIPANTS, changed, "corrections.csv", update=True)

    job = latest_job()
    page = dm_client.get(job.get_absolute_url())
    report = page.context["report"]
    assert [(c.row, c.label, c.columns) for c in report.changed] == [
        (3, "C-002", ("age_at_enrollment", "dose_cells_per_kg")),
        (4, "C-003", ("site",)),
    ]
    assert report.unchanged == ("C-001",)
    assert report.created == ()
    text = page_text(page)
    assert "<strong>2</strong> would be changed" in text
    assert "<code>age_at_enrollment</code>, <code>dose_cells_per_kg</code>" in text
    assert Participant.objects.get(participant_id="C-002").age_at_enrollment == 11


def test_an_existing_record_without_change_existing_records_is_a_problem(
    dm_client, data_manager, cohort_sites
):
    import_cohort_participants(data_manager)

    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "again.csv")

    report = dm_client.get(latest_job().get_absolute_url()).context["report"]
    assert len(report.problems) == 8
    assert (report.problems[0].row, report.problems[0].column) == (2, "participant_id")
    assert "already exists" in report.problems[0].message


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------

WITH_PROBLEMS = participants_file(
    "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",
    "C-002,S01,X,11,2025-01-06,2025-02-10,100000,,",  # row 3: sex X
    "C-003,S09,M,16,2025-13-06,2025-02-10,30000,,",  # row 4: unknown site, month 13
)


def test_every_problem_is_shown_by_row_and_column_with_the_cell_value(dm_client, cohort_sites):
    upload(dm_client, ImportKind.PARTICIPANTS, WITH_PROBLEMS, "problems.csv")

    job = latest_job()
    page = dm_client.get(job.get_absolute_url())
    problems = [(p.row, p.column, p.value) for p in page.context["report"].problems]
    assert problems == [(3, "sex", "X"), (4, "site", "S09"), (4, "enrollment_date", "2025-13-06")]
    assert job.problem_count == 3
    text = page_text(page)
    assert "The file has 3 problems; nothing can be imported." in text
    assert "<code>enrollment_date</code>" in text
    assert "<code>2025-13-06</code>" in text
    assert "Confirm and import" not in text


def test_a_file_with_problems_cannot_be_confirmed(dm_client, cohort_sites):
    upload(dm_client, ImportKind.PARTICIPANTS, WITH_PROBLEMS, "problems.csv")
    job = latest_job()

    response = dm_client.post(reverse("import_job_confirm", args=[job.pk]), follow=True)

    assert "A file with problems cannot be imported; correct it first." in page_text(response)
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_READY
    assert job.result is None
    assert Participant.objects.count() == 0


def test_a_file_not_in_utf8_is_refused_with_a_message(dm_client, cohort_sites):
    # "Hôpital" in Latin-1: ô is the single byte 0xF4, the 8th byte of the first data row.
    content = PARTICIPANTS_HEADER.encode() + b"\nH\xf4pital\n"
    position = len(PARTICIPANTS_HEADER) + 1 + 2  # header, line break, "H", then the ô

    response = upload(dm_client, ImportKind.PARTICIPANTS, content, "latin1.csv")

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        f"latin1.csv is not UTF-8 text (byte {position}); save it as CSV UTF-8."
    ]
    assert not ImportJob.objects.exists()


def test_a_file_with_a_byte_order_mark_is_read_as_the_commands_read_it(dm_client, cohort_sites):
    content = b"\xef\xbb\xbf" + data_file("cohort_participants.csv")

    upload(dm_client, ImportKind.PARTICIPANTS, content, "excel.csv")

    job = latest_job()
    assert job.problem_count == 0
    assert len(job.preview["created"]) == 8


def test_an_unexpected_error_fails_the_job_with_a_message_and_logs_it(
    dm_client, cohort_sites, monkeypatch, caplog
):
    def broken(text, **options):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(importers.IMPORT_FUNCTIONS, ImportKind.PARTICIPANTS, broken)

    with caplog.at_level(logging.ERROR, logger="jobs.tasks"):
        upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "x.csv")

    job = latest_job()
    assert job.state == JobState.FAILED
    text = page_text(dm_client.get(job.get_absolute_url()))
    assert "The import stopped on an unexpected error, and nothing was imported." in text
    assert "disk on fire" not in text
    assert "Traceback" not in text
    logged = [record for record in caplog.records if record.name == "jobs.tasks"]
    assert logged[0].getMessage() == f"Import job {job.pk} (participants, x.csv) failed"
    assert "disk on fire" in caplog.text


# --------------------------------------------------------------------------------------------
# The result file
# --------------------------------------------------------------------------------------------


def test_the_result_file_lists_every_row_by_action(dm_client, data_manager, cohort_sites):
    import_cohort_participants(data_manager)
    Participant.objects.filter(participant_id__in=["C-007", "C-008"]).delete()
    upload(
        dm_client,
        ImportKind.PARTICIPANTS,
        participants_file(
            "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",  # row 2: unchanged
            "C-002,S01,F,12,2025-01-06,2025-02-10,100000,,",  # row 3: age 11 -> 12
            "C-007,S03,F,8,2025-01-06,2025-02-10,3e4,,",  # row 4: created again
        ),
        "mixed.csv",
        update=True,
    )
    job = latest_job()
    dm_client.post(reverse("import_job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == JobState.DONE

    rows = result_rows(dm_client, job)

    assert [list(row.values()) for row in rows] == [
        ["3", "C-002", "changed", "age_at_enrollment", "", ""],
        ["", "C-007", "created", "", "", ""],
        ["", "C-001", "unchanged", "", "", ""],
    ]
    assert list(rows[0]) == ["row", "record", "action", "columns", "value", "message"]


def test_the_preview_file_lists_every_problem_with_its_value(dm_client, cohort_sites):
    upload(dm_client, ImportKind.PARTICIPANTS, WITH_PROBLEMS, "problems.csv")

    rows = result_rows(dm_client, latest_job())

    assert [(r["row"], r["record"], r["action"], r["columns"], r["value"]) for r in rows] == [
        ("3", "", "problem", "sex", "X"),
        ("4", "", "problem", "site", "S09"),
        ("4", "", "problem", "enrollment_date", "2025-13-06"),
        # Row 2 has no problem: the dry run created C-001 before rolling everything back.
        ("", "C-001", "created", "", ""),
    ]
    assert all(row["message"] for row in rows if row["action"] == "problem")


# --------------------------------------------------------------------------------------------
# Who may import; confirming once
# --------------------------------------------------------------------------------------------


@pytest.fixture
def job(dm_client, cohort_sites) -> ImportJob:
    upload(dm_client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c.csv")
    return latest_job()


@pytest.mark.parametrize("role", ["Coordinator", "Investigator", "Monitor"])
def test_only_data_managers_reach_the_import_pages(client, job, role):
    client.force_login(UserFactory(username="other", role=role))
    urls = [
        reverse("import_job_list"),
        reverse("import_job_create"),
        job.get_absolute_url(),
        reverse("import_job_progress", args=[job.pk]),
        reverse("import_job_result", args=[job.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("import_job_confirm", args=[job.pk])).status_code == 403
    response = upload(client, ImportKind.PARTICIPANTS, data_file("cohort_participants.csv"), "c")
    assert response.status_code == 403
    assert ImportJob.objects.count() == 1


def test_the_import_pages_send_anonymous_users_to_login(job):
    for url in (reverse("import_job_list"), job.get_absolute_url()):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_imports_link_shows_for_data_managers_only(client, dm_client, coordinator_a):
    assert reverse("import_job_list") in page_text(dm_client.get(reverse("home")))
    client.force_login(coordinator_a)
    assert reverse("import_job_list") not in page_text(client.get(reverse("home")))


def test_only_the_author_confirms_the_import(client, job):
    client.force_login(UserFactory(username="dm2", role="Data manager"))
    page = client.get(job.get_absolute_url())
    assert "Only dm, who uploaded the file, can confirm its import." in page_text(page)

    assert client.post(reverse("import_job_confirm", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_READY


def test_a_second_confirmation_imports_nothing_more(dm_client, job):
    dm_client.post(reverse("import_job_confirm", args=[job.pk]))

    response = dm_client.post(reverse("import_job_confirm", args=[job.pk]), follow=True)

    assert "This import was confirmed already." in page_text(response)
    assert Participant.objects.count() == 8


# --------------------------------------------------------------------------------------------
# Progress and the list
# --------------------------------------------------------------------------------------------


def test_the_progress_answers_how_far_the_job_has_got(dm_client, job):
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, rows_done=2)

    progress = dm_client.get(reverse("import_job_progress", args=[job.pk])).json()

    assert progress == {
        "state": "running",
        "state_label": "Importing",
        "active": True,
        "rows_done": 2,
        "rows_total": 8,
        "percent": 25,
        "rows_label": "2 of 8 rows",
    }


def test_a_running_job_page_follows_its_progress_with_a_script_or_a_refresh(dm_client, job):
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, rows_done=2)

    text = page_text(dm_client.get(job.get_absolute_url()))

    # As the progress answers it (above), until the script asks again.
    assert "Importing&hellip;</h2>" in text
    assert "<p data-progress-rows>2 of 8 rows</p>" in text
    assert '<progress class="w-100" id="job-progress" max="8" value="2"' in text
    assert f'data-progress-url="{reverse("import_job_progress", args=[job.pk])}"' in text
    assert "jobs/import_progress.js" in text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in text


def test_the_list_shows_the_latest_job_first_25_a_page(dm_client, job):
    for number in range(26):
        ImportJob.objects.create(
            created_by=job.created_by,
            study=job.study,
            kind=ImportKind.VISITS,
            file_name=f"visits-{number:02d}.csv",
            file_text="",
            language="en",
        )

    first = dm_client.get(reverse("import_job_list"))
    second = dm_client.get(reverse("import_job_list"), {"page": 2})

    names = [row.file_name for row in first.context["page"]]
    assert names[:2] == ["visits-25.csv", "visits-24.csv"]
    assert len(names) == 25
    assert [row.file_name for row in second.context["page"]] == ["visits-00.csv", "c.csv"]
