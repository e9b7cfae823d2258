"""A monitor queries a Month 3 PGA; the coordinator sees it on Home and on the entry form,
answers it correcting the PGA with a reason; the monitor closes it. Runs in headless Chromium
against the live server, on a tablet-sized screen."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory, record_visit
from trialsite.models import DataQuery, QueryStatus, Study, Visit

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=100)


@pytest.fixture
def month_3(reference_data) -> Visit:
    """A coordinator of S01, a monitor, and a child of S01 with BL (arthritis 4 + rash 2, PGA
    1.00) and Month 3 (nothing present, PGA 1.00): an SRI-4 responder."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    UserFactory(username="monitor", role="Monitor")
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-501",
        enrollment_date=INFUSED - timedelta(days=30),
        infusion_date=INFUSED,
    )
    record_visit(participant, "BL", INFUSED - timedelta(days=7), sledai={"arthritis", "rash"})
    return record_visit(participant, "M3", INFUSED + timedelta(days=90))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Username")).to_be_visible()


def test_monitor_raises_coordinator_answers_with_a_correction_monitor_closes(page: Page, month_3):
    # The monitor raises a query on the PGA from the visit page.
    log_in(page, "monitor")
    page.goto(f"/visits/{month_3.pk}/")
    expect(page.get_by_role("row", name=re.compile("^SRI-4"))).to_contain_text("responder")
    raise_form = page.get_by_role("form", name="Raise a query")
    raise_form.get_by_label("About").select_option(label="PGA")
    raise_form.get_by_label("Question").fill("The clinic letter says PGA 1.30. Please check.")
    raise_form.get_by_role("button", name="Raise the query").click()
    expect(page.get_by_text("Query raised: it awaits the site's answer.")).to_be_visible()
    queries = page.locator("#visit-queries")
    expect(queries).to_contain_text("open: awaiting the site")
    expect(queries).to_contain_text("The clinic letter says PGA 1.30.")
    expect(page.get_by_role("row", name=re.compile("^PGA"))).to_contain_text("1 open query")
    screenshot(page, "queries-01-monitor-raised")
    query = DataQuery.objects.get()
    log_out(page)

    # The coordinator sees it on Home and in the navigation bar.
    log_in(page, "coordinator")
    expect(page.get_by_role("link", name=re.compile(r"^Queries\s*1$"))).to_be_visible()
    panel = page.locator("#home-queries")
    expect(panel).to_contain_text("The clinic letter says PGA 1.30.")
    screenshot(page, "queries-02-coordinator-home")

    # The entry form shows the question beside the PGA.
    page.goto(f"/visits/{month_3.pk}/entry/")
    note = page.get_by_role("note").filter(has_text="The clinic letter says PGA 1.30.")
    expect(note).to_be_visible()
    screenshot(page, "queries-03-entry-form-note")

    # The coordinator answers from the query page, correcting the PGA with a reason.
    page.goto("/")
    panel.get_by_role("link", name=f"Q{query.pk}").click()
    expect(page.get_by_role("heading", name=f"Query Q{query.pk}: PGA")).to_be_visible()
    expect(page.locator("#current-value")).to_have_text("1.00")
    page.get_by_role("textbox", name="Answer").fill(
        "Checked against the clinic letter: 1.30 is right."
    )
    page.get_by_label("Corrected value").fill("1.30")
    page.get_by_label("Reason for change").fill("Transcription error")
    screenshot(page, "queries-04-answer-form")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_text("Answer sent: the query awaits review.")).to_be_visible()
    expect(page.locator("#query-status")).to_have_text("answered: awaiting review")
    expect(page.locator("#current-value")).to_have_text("1.30")
    expect(page.get_by_role("button", name="Send the answer")).to_have_count(0)
    screenshot(page, "queries-05-answered")

    # The visit is rescored, and its trail shows the change with its reason.
    page.get_by_role("link", name=re.compile("S01-501 · M3")).click()
    expect(page.get_by_role("row", name=re.compile("^SRI-4"))).to_contain_text("non-responder")
    expect(page.get_by_role("row", name=re.compile("Transcription error")).first).to_contain_text(
        "1.00 → 1.30"
    )
    log_out(page)

    # The monitor reviews the answer and closes the query.
    log_in(page, "monitor")
    expect(page.locator("#home-queries")).to_contain_text("1.30 is right.")
    page.locator("#home-queries").get_by_role("link", name=f"Q{query.pk}").click()
    page.get_by_label("Message", exact=True).fill("Thank you.")
    page.get_by_role("button", name="Close the query").click()
    expect(page.get_by_text("Query closed.")).to_be_visible()
    expect(page.locator("#query-status")).to_have_text("closed")
    conversation = page.locator("#conversation")
    expect(conversation.get_by_role("listitem")).to_have_count(3)
    screenshot(page, "queries-06-closed")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED

    page.get_by_role("link", name="Queries", exact=True).first.click()
    expect(page.locator("#query-list")).to_contain_text("No query matches.")
    page.get_by_role("link", name=re.compile("^All")).click()
    expect(page.locator("#query-list")).to_contain_text(f"Q{query.pk}")
    screenshot(page, "queries-07-list")
