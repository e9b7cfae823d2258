"""A data manager imports a visits file from the browser: uploads it, reads the dry run's
preview, confirms, and watches the import finish. The jobs wait on the database backend, as in
production, until the test runs the worker (`db_worker --batch`); the page follows them with
its polling script, under the strict Content-Security-Policy. Screenshots on a desktop and on a
390x844 phone go to test-artifacts/."""

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from jobs.models import ImportJob, JobState
from jobs.progress import PROGRESS_DATABASE
from tests.browser.conftest import log_in, run_worker_after_a_poll, screenshots
from tests.factories import SiteFactory, UserFactory
from tests.jobs.conftest import DATA, data_file
from trialsite.imports import import_participants
from trialsite.models import Study, Visit

DATABASES = ["default", *([PROGRESS_DATABASE] if PROGRESS_DATABASE in settings.DATABASES else [])]
pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


@pytest.fixture
def cohort(reference_data, settings):
    """The participants of tests/data/cohort_participants.csv, imported by the command's
    function, and the data manager "datamanager" with an authenticator app; the jobs wait for
    the worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for code in ("S01", "S02", "S03"):
        SiteFactory(code=code)
    data_manager = UserFactory(username="datamanager", role="Data manager")
    TOTPDevice.objects.create(user=data_manager, name="Phone", confirmed=True)
    report = import_participants(
        data_file("cohort_participants.csv").decode(),
        file_name="cohort_participants.csv",
        study=Study.objects.get(),
        author=data_manager,
    )
    assert report.written


def test_a_data_manager_imports_a_visits_file_and_watches_it_finish(
    page: Page, cohort, polls: list[str], violations: list[str]
):
    log_in(page, "datamanager")
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Imports")).to_be_visible()
    page.get_by_role("link", name="Import a CSV file").click()

    page.get_by_label("The file holds").select_option(label="Visits (visits.csv)")
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(DATA / "cohort_visits.csv"))
    screenshots(page, "import-upload")
    page.get_by_role("button", name="Check the file").click()

    # The dry run waits for a worker; the page polls until it has run.
    expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_be_visible()
    screenshots(page, "import-checking")
    run_worker_after_a_poll(page)

    expect(page.get_by_role("heading", name="Preview: what the import would do")).to_be_visible()
    counts = page.locator("#import-counts")
    expect(counts).to_contain_text("23 would be created")
    expect(counts).to_contain_text("0 would be changed")
    expect(counts).to_contain_text("0 problems")
    page.locator("#import-created summary").click()
    expect(page.locator("#import-created")).to_contain_text("C-001 BL")
    screenshots(page, "import-preview")
    assert Visit.objects.count() == 0

    page.get_by_role("button", name="Confirm and import").click()

    expect(page.get_by_role("heading", name="Waiting to import…")).to_be_visible()
    bar = page.locator("progress#job-progress")
    expect(bar).to_have_attribute("max", "23")
    expect(bar).to_have_attribute("value", "0")
    screenshots(page, "import-waiting")
    run_worker_after_a_poll(page)

    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-counts")).to_contain_text("23 created")
    expect(page.get_by_role("link", name="Download the result (CSV)")).to_be_visible()
    screenshots(page, "import-done")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the result (CSV)").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,record,action,columns,value,message"
    assert lines[1] == ",C-001 BL,created,,,"
    assert len(lines) == 24

    job = ImportJob.objects.get()
    assert job.state == JobState.DONE
    assert Visit.objects.count() == 23
    reasons = set(Visit.history.values_list("history_change_reason", flat=True))
    assert reasons == {"imported from cohort_visits.csv"}
    assert len(polls) >= 2
    page.get_by_role("link", name="Imports").first.click()
    expect(page.locator("#import-jobs")).to_contain_text("cohort_visits.csv")
    expect(page.locator("#import-jobs")).to_contain_text("Done")
    screenshots(page, "import-list")
    assert violations == []


def visits_with_problems() -> bytes:
    """tests/data/cohort_visits.csv with three mistakes: row 3 (C-001 M1) has PGA 3.50, row 5
    (C-001 M3) the date 2025-02-30, and row 6 names a participant that does not exist."""
    lines = data_file("cohort_visits.csv").decode().splitlines()
    lines[2] = lines[2].replace(",1.50,", ",3.50,", 1)
    lines[4] = lines[4].replace("2025-05-12", "2025-02-30", 1)
    lines[5] = lines[5].replace("C-002", "C-099", 1)
    return ("\n".join(lines) + "\n").encode()


def test_a_file_with_problems_shows_each_by_row_and_column_and_cannot_be_imported(
    page: Page, cohort, settings, violations: list[str]
):
    # The immediate backend: the dry run runs inside the upload's request.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    log_in(page, "datamanager")
    page.goto("/imports/new/")
    page.get_by_label("The file holds").select_option(label="Visits (visits.csv)")
    page.get_by_label("CSV file (UTF-8)").set_input_files(
        files=[{"name": "visits.csv", "mimeType": "text/csv", "buffer": visits_with_problems()}]
    )
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "The file has 3 problems; nothing can be imported."
    )
    problems = page.locator("#import-problems tbody tr")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("row 3")
    expect(problems.nth(0)).to_contain_text("pga")
    expect(problems.nth(0)).to_contain_text("3.50")
    expect(problems.nth(1)).to_contain_text("row 5")
    expect(problems.nth(1)).to_contain_text("visit_date")
    expect(problems.nth(1)).to_contain_text("2025-02-30")
    expect(problems.nth(2)).to_contain_text("row 6")
    expect(problems.nth(2)).to_contain_text("participant_id")
    expect(page.get_by_role("button", name="Confirm and import")).to_have_count(0)
    screenshots(page, "import-problems")
    assert Visit.objects.count() == 0
    assert violations == []
