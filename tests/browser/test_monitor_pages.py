"""What a monitor sees: a visit's labs on its page, read-only, and the site's own page (not a bare
"403 Forbidden") where the role may not go. Runs in headless Chromium against the live server."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory, record_visit
from trialsite.models import Study, Visit

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=100)


@pytest.fixture
def baseline_with_labs(reference_data) -> Visit:
    """A monitor, and a baseline of S01 with arthritis 4 + rash 2 and some of the labs done."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="monitor", role="Monitor")
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-401",
        enrollment_date=INFUSED - timedelta(days=30),
        infusion_date=INFUSED,
    )
    return record_visit(
        participant,
        "BL",
        INFUSED - timedelta(days=7),
        sledai={"arthritis", "rash"},
        pga="1.50",
        labs={
            "platelets": Decimal("85"),
            "wbc": Decimal("2.5"),
            "max_temperature_c": Decimal("37.2"),
            "urine_rbc_per_hpf": Decimal("8"),
            "urinary_casts": False,
            "upcr": Decimal("62.4"),
            "upcr_unit": "mg/mmol",
            "c3": Decimal("0.65"),
            "c3_lower_limit": Decimal("0.9"),
        },
    )


def test_monitor_reads_the_labs_on_the_visit_page(page: Page, baseline_with_labs):
    log_in(page, "monitor")
    page.goto(f"/visits/{baseline_with_labs.pk}/")

    labs = page.locator("#lab-values")
    expect(page.get_by_role("heading", name="Labs")).to_be_visible()
    expect(labs.get_by_role("row", name="Platelets")).to_contain_text("85.00")
    expect(labs.get_by_role("row", name="Platelets")).to_contain_text("x10^9/L")
    expect(labs.get_by_role("row", name="Urine protein:creatinine ratio")).to_contain_text(
        "62.40 mg/mmol"
    )
    c4 = labs.get_by_role("row").filter(has=page.get_by_role("rowheader", name="C4", exact=True))
    expect(c4).to_contain_text("not done")
    expect(page.get_by_role("link", name="Enter or correct data")).to_have_count(0)
    screenshot(page, "monitor-01-visit-labs")


def test_monitor_opening_the_entry_form_gets_the_sites_403_page(page: Page, baseline_with_labs):
    log_in(page, "monitor")
    response = page.goto(f"/visits/{baseline_with_labs.pk}/entry/")

    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()
    expect(page.get_by_text("ask a data manager")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("monitor")
    screenshot(page, "monitor-02-no-access")

    page.get_by_role("link", name="Back to Home").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()


def test_unknown_page_gets_the_sites_404_page(page: Page, baseline_with_labs, settings):
    settings.DEBUG = False  # with DEBUG on, Django shows its technical 404 page instead
    log_in(page, "monitor")
    response = page.goto("/participants/999999/")

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    screenshot(page, "monitor-03-page-not-found")
