"""A coordinator enters a whole Baseline with the keyboard only, at REDCap speed: fewer than 90
key presses from the moment the entry page has loaded (PGA, the 24 SLEDAI-2K descriptors, the
nine BILAG-2004 systems, saved as complete)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_DESCRIPTORS
from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory, grades
from trialsite import services
from trialsite.models import EntryStatus, Study, Visit

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
#: The goal set by the coordinators (REDCap took them about 90).
MOST_KEY_PRESSES = 89
#: Arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1).
PRESENT = {"arthritis", "rash", "low_complement"}
GRADES = grades(musculoskeletal="B", mucocutaneous="C")


@pytest.fixture
def baseline(reference_data) -> Visit:
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-401",
        enrollment_date=TODAY - timedelta(days=130),
        infusion_date=TODAY - timedelta(days=100),
    )
    return services.visit_create(
        participant=participant,
        visit_definition=participant.study.baseline_visit,
        visit_date=TODAY - timedelta(days=107),
        author=None,
        reason="test",
    )


class Keyboard:
    """The page's keyboard, counting every key press (a typed character is one press, and so
    is a chord such as Shift+Tab)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def test_a_complete_baseline_takes_fewer_than_90_key_presses(page: Page, baseline: Visit):
    log_in(page, "coordinator")
    page.goto(f"/visits/{baseline.pk}/entry/")
    keys = Keyboard(page)

    # The PGA has the focus: no tabbing through the navigation.
    expect(page.locator("#id_pga")).to_be_focused()
    keys.type("2")
    keys.press("Tab")  # PGA not done; the slider, which repeats the input, is not a stop
    expect(page.locator("#id_pga_not_done")).to_be_focused()

    # The labs come next, before the descriptors they suggest: none today.
    keys.press("Tab")
    expect(page.locator("#id_lab_platelets")).to_be_focused()
    labs = page.locator("#labs input, #labs select, #immune-labs input, #immune-labs select")
    keys.press("Tab", labs.count())
    expect(page.get_by_role("button", name="Mark unanswered as absent")).to_be_focused()
    keys.press("Enter")
    keys.press("Tab")  # the look-back window keeps the study's
    expect(page.locator("#id_lookback_days")).to_be_focused()

    # One Tab per descriptor (a radio group is one stop); an arrow turns absent to present.
    for descriptor in SLEDAI_DESCRIPTORS:
        keys.press("Tab")
        expect(page.locator(f"#descriptor-{descriptor.field} input:focus")).to_be_checked()
        if descriptor.field in PRESENT:
            keys.press("ArrowRight")
            expect(page.locator(f"#descriptor-{descriptor.field} input:focus")).to_have_value("1")
    expect(page.locator("#sledai-total")).to_have_text("8")
    expect(page.locator("#sledai-unanswered")).to_have_text("0")

    # A BILAG-2004 system is graded by typing its letter.
    for system in BILAG_SYSTEMS:
        keys.press("Tab")
        expect(page.locator(f"#id_bilag_{system}")).to_be_focused()
        keys.type(GRADES[system].lower())
        expect(page.locator(f"#id_bilag_{system}")).to_have_value(GRADES[system])

    keys.press("Tab")  # Save in progress
    keys.press("Tab")
    expect(page.get_by_role("button", name="Save as complete")).to_be_focused()
    keys.press("Enter")

    expect(page.get_by_role("row", name=re.compile("SLEDAI-2K 8"))).to_be_visible()
    visit = Visit.objects.select_related("pga", "sledai", "bilag").get(pk=baseline.pk)
    assert visit.entry_status == EntryStatus.COMPLETE
    assert visit.pga.score == Decimal("2.00")
    assert {field for field, present in visit.sledai.answers().items() if present} == PRESENT
    assert None not in visit.sledai.answers().values()
    assert visit.bilag.grades() == GRADES
    print(f"Keyboard-only complete Baseline: {keys.count} key presses")
    assert keys.count <= MOST_KEY_PRESSES


def test_the_entry_page_in_its_new_order_on_a_desktop_and_a_phone(
    browser, live_server, page: Page, baseline: Visit
):
    log_in(page, "coordinator")
    page.goto(f"/visits/{baseline.pk}/entry/")
    headings = page.locator("#visit-entry h2")
    expect(headings).to_have_text(
        ["1. Physician Global Assessment", "2. Labs", "3. SLEDAI-2K", "4. BILAG-2004"]
    )
    # Absent first, the commonest answer; the slider is not a Tab stop.
    expect(page.locator("#descriptor-seizure .form-check-label")).to_have_text(
        ["absent", "present", "not done"]
    )
    expect(page.locator("#pga-slider")).to_have_attribute("tabindex", "-1")
    screenshot(page, "entry-keyboard-order")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    try:
        small = phone.new_page()
        small.set_default_timeout(10_000)
        log_in(small, "coordinator")
        small.goto(f"/visits/{baseline.pk}/entry/")
        expect(small.locator("#id_pga")).to_be_focused()
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(small, "entry-keyboard-order-phone")
    finally:
        phone.close()
