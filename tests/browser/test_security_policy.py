"""The Content-Security-Policy in a real browser: every main page, the admin included, runs its
scripts and draws its plots without one violation (no inline script anywhere)."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import VIOLATION, log_in
from trialsite.demo import DEMO_PASSWORD, load_demo
from trialsite.models import Participant, Visit

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_page_breaks_the_content_security_policy(page: Page, reference_data) -> None:
    load_demo(today=timezone.localdate())
    violations: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if VIOLATION.search(message.text):
            violations.append(f"{page.url}: {message.text}")

    page.on("console", note)
    participant = Participant.objects.get(participant_id="S01-001")
    visit = Visit.objects.filter(participant=participant).order_by("visit_date").first()
    assert visit is not None

    log_in(page, "admin", DEMO_PASSWORD)
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    for url in (
        reverse("participant_detail", args=[participant.pk]),
        reverse("visit_detail", args=[visit.pk]),
        reverse("visit_entry", args=[visit.pk]),
        reverse("cohort_summary"),
        reverse("report_plots"),
        reverse("admin:index"),
        reverse("admin:trialsite_participant_change", args=[participant.pk]),
        reverse("admin:trialsite_study_change", args=[participant.study_id]),
        reverse("account_security"),
        reverse("two_factor_setup"),  # its QR code is inline SVG
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    # The entry page's script ran: the running SLEDAI-2K total is shown.
    page.goto(reverse("visit_entry", args=[visit.pk]))
    expect(page.locator("#sledai-band")).not_to_be_empty()

    assert violations == []
