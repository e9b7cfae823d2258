"""A visit's sign-offs as the monitor, the investigator and the data manager give them: verify,
sign (a wrong password refused), an edit refused, unlock with a reason, the voided signature in
the trail, and the record status dashboard. Runs in headless Chromium against the live server."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import (
    TEST_PASSWORD,
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    record_visit,
)
from trialsite.models import Study, Visit

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=100)


@pytest.fixture
def baseline(reference_data) -> Visit:
    """A complete baseline of S01-501, and the people who sign it off."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="monitor", role="Monitor")
    UserFactory(username="investigator", role="Investigator", sites=[site])
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    data_manager = UserFactory(username="datamanager", role="Data manager")
    TOTPDevice.objects.create(user=data_manager, name="Phone", confirmed=True)
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-501",
        enrollment_date=INFUSED - timedelta(days=30),
        infusion_date=INFUSED,
    )
    return record_visit(participant, "BL", INFUSED - timedelta(days=7), sledai={"arthritis"})


def test_verify_sign_refuse_an_edit_unlock_and_see_the_voided_signature(
    page: Page, baseline: Visit
):
    visit_url = f"/visits/{baseline.pk}/"
    status = page.locator("#record-status")

    log_in(page, "monitor")
    page.goto(visit_url)
    expect(status).to_contain_text("complete")
    page.get_by_role("link", name="Verify against source").click()
    page.get_by_label("PGA").check()
    screenshot(page, "sign-offs-verify")
    page.get_by_role("button", name="Record verification").click()
    expect(page.get_by_role("alert")).to_contain_text("Source verification recorded.")
    expect(status).to_contain_text("source-verified")

    log_in(page, "investigator")
    page.goto(visit_url)
    page.get_by_role("link", name="Sign", exact=True).click()
    expect(page.get_by_text("I confirm these assessments are accurate.")).to_be_visible()
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(
        page.get_by_text("This password was not accepted; the visit was not signed.")
    ).to_be_visible()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    screenshot(page, "sign-offs-sign")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(status).to_contain_text("signed")
    expect(page.locator("#sign-offs")).to_contain_text("I confirm these assessments are accurate.")

    log_in(page, "coordinator")
    page.goto(visit_url)
    expect(page.get_by_role("link", name="Enter or correct data")).to_have_count(0)
    page.goto(f"{visit_url}entry/")  # a bookmarked entry form
    expect(page.get_by_role("alert")).to_contain_text("its data cannot change")
    expect(page).to_have_url(re.compile(f"{visit_url}$"))

    log_in(page, "datamanager")
    page.goto(visit_url)
    page.get_by_role("link", name="Unlock").click()
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Reason for unlocking").fill("Site corrects the arthritis finding")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("its signature and verification are void")
    sign_offs = page.locator("#sign-offs")
    expect(sign_offs.locator("del", has_text="Signed")).to_be_visible()
    expect(sign_offs).to_contain_text("Site corrects the arthritis finding")
    expect(status).to_contain_text("complete")
    trail = page.locator("table", has=page.get_by_text("sign-off: signed")).first
    expect(trail).to_contain_text("Site corrects the arthritis finding")
    screenshot(page, "sign-offs-unlocked")

    page.get_by_role("link", name="Record status").click()
    row = page.get_by_role("row", name=re.compile("S01-501"))
    expect(row.get_by_role("link", name="complete")).to_be_visible()
    screenshot(page, "record-status")
