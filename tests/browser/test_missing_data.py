"""Missing data as a coordinator records it: an answer "not done" with its reason, and a visit
missed, and what each means for SRI-4 and the infused (mITT) analysis."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite import services
from trialsite.models import Study

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()


def participant_with_baseline(infused_days_ago: int):
    """A participant of site S01 infused that many days ago, with a complete baseline a week
    before: arthritis 4 + rash 2 + alopecia 2 = SLEDAI-2K 8."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-301",
        enrollment_date=TODAY - timedelta(days=infused_days_ago + 30),
        infusion_date=TODAY - timedelta(days=infused_days_ago),
    )
    baseline = services.visit_create(
        participant=participant,
        visit_definition=participant.study.baseline_visit,
        visit_date=TODAY - timedelta(days=infused_days_ago + 7),
        author=None,
        reason="test",
    )
    services.visit_save_assessments(
        visit=baseline,
        sledai={
            **dict.fromkeys(SLEDAI_FIELDS, False),
            "arthritis": True,
            "rash": True,
            "alopecia": True,
        },
        pga=Decimal("1.50"),
        bilag=dict.fromkeys(BILAG_SYSTEMS, "E"),
        author=None,
        reason="test",
    )
    return participant


@pytest.fixture
def participant(reference_data):
    return participant_with_baseline(infused_days_ago=100)


def test_pga_not_done_where_sledai_fell_by_2_saves_complete_as_a_non_responder(
    page: Page, participant
):
    log_in(page, "coordinator")
    page.goto(f"/participants/{participant.pk}/visits/new/?code=M3")
    page.get_by_label("Visit date").fill((TODAY - timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Record and enter data").click()

    # Month 3: arthritis 4 + rash 2 = 6, a fall of 2; every other answer given, PGA not done.
    page.locator("#descriptor-arthritis").get_by_label("present").check()
    page.locator("#descriptor-rash").get_by_label("present").check()
    page.get_by_role("button", name="Mark unanswered as absent").click()
    for system in ("Constitutional", "Mucocutaneous", "Neuropsychiatric", "Musculoskeletal"):
        page.get_by_label(system, exact=True).select_option("E")
    for system in ("Cardiorespiratory", "Gastrointestinal", "Ophthalmic", "Renal"):
        page.get_by_label(system, exact=True).select_option("E")
    page.get_by_label("Haematological", exact=True).select_option("E")
    reason = page.get_by_label("Reason not done: PGA")
    expect(reason).to_be_hidden()
    page.get_by_label("PGA (0.00 to 3.00)").fill("1.20")
    page.get_by_label("PGA not done").check()
    expect(page.get_by_label("PGA (0.00 to 3.00)")).to_be_disabled()
    expect(page.get_by_label("PGA (0.00 to 3.00)")).to_have_value("")
    expect(reason).to_be_visible()

    # Without a reason the save is refused on the reason's field.
    page.get_by_role("button", name="Save as complete").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(
        page.locator("#visit-entry").get_by_text("Give the reason it was not done.")
    ).to_be_visible()
    screenshot(page, "12-pga-not-done-needs-a-reason")

    page.get_by_label("Reason not done: PGA").fill("Physician called away to an emergency")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.locator("#record-status")).to_contain_text("complete")
    expect(page.get_by_role("row", name=re.compile("^PGA"))).to_contain_text("ND")
    expect(page.get_by_text("PGA: Physician called away to an emergency")).to_be_visible()
    sri4 = page.get_by_role("row", name=re.compile("^SRI-4"))
    expect(sri4).to_contain_text("SRI-4: non-responder")
    expect(sri4).to_contain_text(
        "SLEDAI-2K fell by 2; PGA missing at the visit; the missing answers cannot change this"
    )
    screenshot(page, "13-pga-not-done-non-responder")


def test_a_missed_month_6_counts_as_missing_in_the_mitt_table(page: Page, reference_data):
    # Infused 200 days ago: Month 6's window (study days 166 to 194) closed 6 days ago.
    participant = participant_with_baseline(infused_days_ago=200)
    log_in(page, "coordinator")
    page.goto(f"/participants/{participant.pk}/")
    page.get_by_role("link", name="M6 missed").click()
    page.get_by_label("Reason").select_option(label="participant unreachable")
    page.get_by_role("button", name="Record as missed").click()
    m6 = page.get_by_role("row", name=re.compile("^M6"))
    expect(m6).to_contain_text("missed")
    expect(m6).to_contain_text("participant unreachable")

    page.get_by_role("link", name="Reports").click()
    row = page.locator("#mitt-table tr[data-visit='M6']")
    cells = row.locator("td")
    # Window ends, denominator, responders, non-responders, treatment failure, incomplete,
    # missing, excluded, pending.
    expect(cells.nth(1)).to_have_text("1")  # denominator
    expect(cells.nth(6)).to_have_text("1")  # missing
    expect(cells.nth(8)).to_have_text("0")  # pending
    screenshot(page, "14-missed-month-6-in-mitt")
