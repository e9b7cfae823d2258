"""A coordinator of one site enrols a child from the keyboard: the site and the next ID are
filled in, the dates are typed as YYYY-MM-DD, and a visit recorded twice links to the first."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite.models import Participant, Site

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
ENROLLED = TODAY - timedelta(days=30)
INFUSED = TODAY - timedelta(days=10)


@pytest.fixture
def coordinator(reference_data):
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    ParticipantFactory(site=site, participant_id="S01-001")
    return UserFactory(username="coordinator", role="Coordinator", sites=[site])


def open_enrolment(page: Page) -> None:
    log_in(page, "coordinator")
    page.goto("/participants/")
    page.get_by_role("link", name="Enrol a participant").click()


def test_enrolment_from_the_keyboard(page: Page, coordinator):
    open_enrolment(page)
    site = Site.objects.get(code="S01")
    expect(page.get_by_label("Site")).to_have_value(str(site.pk))
    expect(page.get_by_label("Participant ID")).to_have_value("S01-002")
    expect(page.get_by_label("Withdrawal date")).to_have_count(0)
    expect(page.get_by_label("Reason for change")).to_have_count(0)
    enrolment_date = page.get_by_label("Enrolment date")
    expect(enrolment_date).to_have_attribute("placeholder", "YYYY-MM-DD")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Age at enrolment").fill("12")
    # Typed key by key, as the coordinator does: a date input swallowed digits here.
    enrolment_date.press_sequentially(ENROLLED.isoformat())
    page.get_by_label("CAR-T infusion date").press_sequentially(INFUSED.isoformat())
    page.get_by_label("Dose (CAR+ cells/kg)").select_option("100000")
    screenshot(page, "enrolment-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Participant S01-002"))).to_be_visible()
    participant = Participant.objects.get(participant_id="S01-002")
    assert (participant.enrollment_date, participant.infusion_date) == (ENROLLED, INFUSED)


def test_a_date_typed_otherwise_is_refused_naming_the_format(page: Page, coordinator):
    open_enrolment(page)
    page.get_by_label("Sex").select_option("M")
    page.get_by_label("Age at enrolment").fill("9")
    page.get_by_label("Enrolment date").fill(ENROLLED.strftime("%m/%d/%Y"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter the date as YYYY-MM-DD, e.g. 2026-03-14.")).to_be_visible()
    assert not Participant.objects.filter(participant_id="S01-002").exists()


def test_the_enrolment_form_on_a_phone(browser, live_server, coordinator, settings):
    settings.AXES_ENABLED = False
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_enrolment(page)
    expect(page.get_by_label("Participant ID")).to_have_value("S01-002")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "enrolment-form-phone")
    context.close()


def test_a_visit_recorded_twice_links_to_the_first(page: Page, coordinator):
    log_in(page, "coordinator")
    participant = Participant.objects.get(participant_id="S01-001")
    page.goto(f"/participants/{participant.pk}/visits/new/")
    page.locator("#id_visit_definition").select_option(str(participant.study.baseline_visit_id))
    page.get_by_label("Visit date").fill("2026-02-02")
    page.get_by_role("button", name="Record and enter data").click()
    expect(page.get_by_role("heading", name="1. Physician Global Assessment")).to_be_visible()
    page.goto(f"/participants/{participant.pk}/visits/new/")
    page.locator("#id_visit_definition").select_option(str(participant.study.baseline_visit_id))
    page.get_by_label("Visit date").fill("2026-02-03")
    page.get_by_role("button", name="Record and enter data").click()
    page.get_by_role("link", name="Open BL to change it.").click()
    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("BL"))).to_be_visible()
