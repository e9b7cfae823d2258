"""Two coordinators open the same visit; the second save is refused and keeps its entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory, record_visit
from trialsite.models import PgaAssessment, Study, Visit

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()


@pytest.fixture
def visit(reference_data) -> Visit:
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    for username in ("coordinator", "coordinator2"):
        UserFactory(username=username, role="Coordinator", sites=[site])
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-301",
        enrollment_date=TODAY - timedelta(days=60),
        infusion_date=TODAY - timedelta(days=30),
    )
    return record_visit(participant, "BL", TODAY - timedelta(days=37), pga="1.50")


def test_second_save_of_a_visit_opened_by_two_users_is_refused(
    browser, live_server, page: Page, visit
):
    other_context = browser.new_context(
        viewport={"width": 1024, "height": 1366}, base_url=live_server.url
    )
    other = other_context.new_page()
    other.set_default_timeout(10_000)
    try:
        log_in(page, "coordinator")
        log_in(other, "coordinator2")
        entry = f"/visits/{visit.pk}/entry/"
        page.goto(entry)
        other.goto(entry)

        other.get_by_label("PGA (0.00 to 3.00)").fill("1.20")
        other.get_by_label("Reason for change").fill("PGA corrected from source")
        other.get_by_role("button", name="Save as complete").click()
        expect(other.get_by_text("Visit saved and scored.")).to_be_visible()

        page.get_by_label("PGA (0.00 to 3.00)").fill("0.90")
        page.get_by_label("Reason for change").fill("Typo")
        page.get_by_role("button", name="Save as complete").click()

        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("another user changed this record after you opened it")
        expect(summary).to_contain_text("coordinator2")
        expect(summary).to_contain_text("PGA: 1.50 → 1.20")
        expect(page.get_by_label("PGA (0.00 to 3.00)")).to_have_value("0.90")
        screenshot(page, "stale-form-refused")
        assert PgaAssessment.objects.get(visit=visit).score == Decimal("1.20")

        # Having seen the other save, the coordinator saves again on purpose.
        page.get_by_role("button", name="Save as complete").click()
        expect(page.get_by_text("Visit saved and scored.")).to_be_visible()
        assert PgaAssessment.objects.get(visit=visit).score == Decimal("0.90")
    finally:
        other_context.close()


def test_a_double_click_on_save_sends_the_form_once(page: Page, visit):
    log_in(page, "coordinator")
    page.goto(f"/visits/{visit.pk}/entry/")
    page.get_by_label("PGA (0.00 to 3.00)").fill("1.10")
    page.get_by_label("Reason for change").fill("PGA corrected from source")
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else 0)
    # A second post would carry the page's old version and be refused as someone else's change.
    # Two clicks 20 ms apart, while the first save is still on its way.
    page.get_by_role("button", name="Save as complete").evaluate(
        "button => { button.click(); setTimeout(() => button.click(), 20); }"
    )
    expect(page.get_by_text("Visit saved and scored.")).to_be_visible()
    assert len(posts) == 1
    expect(page.get_by_text("another user changed this record")).to_have_count(0)
    assert PgaAssessment.objects.get(visit=visit).score == Decimal("1.10")
    assert PgaAssessment.history.filter(visit_id=visit.pk, score=Decimal("1.10")).count() == 1
