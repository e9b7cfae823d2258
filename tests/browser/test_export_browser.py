"""A data manager exports the audit trail from Home: the file is written by the worker while the
page follows it with its polling script, under the strict Content-Security-Policy, then
downloaded. Screenshots on a desktop and on a 390x844 phone go to test-artifacts/."""

import csv
from io import StringIO

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from jobs.models import ExportJob, ExportState
from tests.browser.conftest import log_in, run_worker_after_a_poll, screenshots
from tests.factories import UserFactory
from tests.jobs.conftest import DATABASES
from trialsite.audit_export import AUDIT_TRAIL_COLUMNS

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


@pytest.fixture
def data_manager(reference_data, settings):
    """The data manager "datamanager" with an authenticator app; the export waits for the
    worker, as in production."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    user = UserFactory(username="datamanager", role="Data manager")
    TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return user


def test_a_data_manager_exports_the_audit_trail_and_downloads_it(
    page: Page, data_manager, polls: list[str], violations: list[str]
):
    log_in(page, "datamanager")
    page.get_by_role("button", name="Export audit trail (CSV)").click()

    expect(page.get_by_role("heading", name="Waiting to start…")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_be_visible()
    screenshots(page, "export-waiting")
    run_worker_after_a_poll(page)

    expect(page.get_by_text("Only you may download it; it is kept 7 days.")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_have_attribute("value", "100")
    screenshots(page, "export-done")
    with page.expect_download() as download:
        page.locator("#export-download").click()

    job = ExportJob.objects.get()
    assert job.state == ExportState.DONE
    assert download.value.suggested_filename == job.file_name
    text = download.value.path().read_text(encoding="utf-8")
    header, *rows = csv.reader(StringIO(text))
    assert header == list(AUDIT_TRAIL_COLUMNS)
    assert ["user datamanager", "created"] in [row[4:6] for row in rows]
    assert len(polls) >= 1

    page.get_by_role("link", name="Your exports").first.click()
    expect(page.locator("#export-jobs")).to_contain_text(job.file_name)
    expect(page.locator("#export-jobs")).to_contain_text("Ready to download")
    screenshots(page, "export-list")
    assert violations == []
