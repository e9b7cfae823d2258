"""Every input error is answered on its field, with the value kept."""

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


@pytest.fixture
def participant(reference_data):
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    participant = ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-201",
        enrollment_date=TODAY - timedelta(days=130),
        infusion_date=TODAY - timedelta(days=100),
    )
    baseline = services.visit_create(
        participant=participant,
        visit_definition=participant.study.baseline_visit,
        visit_date=TODAY - timedelta(days=107),
        author=None,
        reason="test",
    )
    services.visit_save_assessments(
        visit=baseline,
        sledai={**dict.fromkeys(SLEDAI_FIELDS, False), "arthritis": True},
        pga=Decimal("1.50"),
        bilag={**dict.fromkeys(BILAG_SYSTEMS, "E"), "musculoskeletal": "B"},
        author=None,
        reason="test",
    )
    return participant


def field_error(page: Page, field_id: str):
    """The error shown with a field (Bootstrap's invalid-feedback or our inline message)."""
    containers = " or ".join(
        f"contains(@class,'{name}')" for name in ("mb-3", "descriptor", "col-sm-3")
    )
    return page.locator(f"#{field_id}").locator(f"xpath=ancestor::*[{containers}][1]")


def open_visit_form(page: Page, participant, code: str) -> None:
    page.goto(f"/participants/{participant.pk}/visits/new/?code={code}")


def test_visit_date_errors_are_shown_on_the_field(page: Page, participant):
    log_in(page, "coordinator")

    open_visit_form(page, participant, "M1")
    before_enrolment = (participant.enrollment_date - timedelta(days=1)).isoformat()
    page.get_by_label("Visit date").fill(before_enrolment)
    page.get_by_role("button", name="Record and enter data").click()
    expect(field_error(page, "id_visit_date")).to_contain_text("before the enrolment date")
    expect(page.get_by_label("Visit date")).to_have_value(before_enrolment)

    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    page.get_by_label("Visit date").fill(tomorrow)
    page.get_by_role("button", name="Record and enter data").click()
    expect(field_error(page, "id_visit_date")).to_contain_text("in the future")
    expect(page.get_by_label("Visit date")).to_have_value(tomorrow)

    open_visit_form(page, participant, "BL")
    page.get_by_label("Visit date").fill((TODAY - timedelta(days=105)).isoformat())
    page.get_by_role("button", name="Record and enter data").click()
    expect(field_error(page, "id_visit_definition")).to_contain_text("BL is already recorded")
    screenshot(page, "05-visit-form-error")


def test_assessment_errors_are_shown_on_the_field_with_values_kept(page: Page, participant):
    log_in(page, "coordinator")
    open_visit_form(page, participant, "M3")
    page.get_by_label("Visit date").fill((TODAY - timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Record and enter data").click()

    # Complete with blanks: every unanswered descriptor, the PGA and each BILAG system flagged.
    page.locator("#descriptor-rash").get_by_label("present").check()
    page.get_by_role("button", name="Save as complete").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#descriptor-seizure")).to_contain_text(
        "Answer this, or mark it not done, before marking the visit complete."
    )
    expect(page.locator("#descriptor-rash").get_by_label("present")).to_be_checked()

    # PGA out of range and with too many decimals.
    page.get_by_role("button", name="Mark unanswered as absent").click()
    page.get_by_label("PGA (0.00 to 3.00)").fill("3.5")
    page.get_by_role("button", name="Save in progress").click()
    expect(field_error(page, "id_pga")).to_contain_text("PGA is between 0.00 and 3.00.")
    expect(page.get_by_label("PGA (0.00 to 3.00)")).to_have_value("3.5")
    page.get_by_label("PGA (0.00 to 3.00)").fill("1.234")
    page.get_by_role("button", name="Save in progress").click()
    expect(field_error(page, "id_pga")).to_contain_text("PGA has at most two decimal places")

    # Musculoskeletal was B at baseline: it cannot be "never involved" now.
    page.get_by_label("PGA (0.00 to 3.00)").fill("1.00")
    page.get_by_label("Musculoskeletal", exact=True).select_option("E")
    page.get_by_role("button", name="Save in progress").click()
    expect(field_error(page, "id_bilag_musculoskeletal")).to_contain_text(
        re.compile("Musculoskeletal cannot be E \\(never involved\\) at M3: it was graded B at BL")
    )
    expect(page.get_by_label("Musculoskeletal", exact=True)).to_have_value("E")
    screenshot(page, "06-entry-errors")

    # Saved in progress with blanks allowed: the visit does not feed the endpoints yet.
    page.get_by_label("Musculoskeletal", exact=True).select_option("D")
    page.get_by_role("button", name="Save in progress").click()
    expect(page.locator("#record-status")).to_contain_text("in progress")
    expect(page.get_by_role("row", name=re.compile("^SRI-4"))).to_contain_text("not evaluable")


def test_the_error_summary_lists_every_field_and_its_links_focus_the_field(
    browser, live_server, page: Page, participant
):
    log_in(page, "coordinator")
    open_visit_form(page, participant, "M3")
    page.get_by_label("Visit date").fill((TODAY - timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Record and enter data").click()

    # Complete with the PGA out of range, rash the only descriptor answered, no BILAG grade:
    # the PGA, the 23 other descriptors and the 9 systems need attention, 33 fields.
    page.get_by_label("PGA (0.00 to 3.00)").fill("3.5")
    page.locator("#descriptor-rash").get_by_label("present").check()
    page.get_by_role("button", name="Save as complete").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(page.get_by_role("alert", name="33 fields need attention")).to_be_visible()
    links = summary.get_by_role("link")
    expect(links).to_have_count(33)
    # In the order of the page: the PGA, the descriptors, the systems.
    expect(links.first).to_have_text(
        "Physician Global Assessment (PGA): PGA is between 0.00 and 3.00."
    )
    expect(links.first).to_have_attribute("href", "#id_pga")
    answer_needed = "Answer this, or mark it not done, before marking the visit complete."
    expect(links.nth(1)).to_have_text(f"Seizure: {answer_needed}")
    expect(links.last).to_have_text(f"Haematological: {answer_needed}")
    expect(summary.get_by_role("link", name="Rash:")).to_have_count(0)
    screenshot(page, "entry-error-summary")

    # A link puts the focus on its field: a radio group's first radio, a select, the PGA.
    summary.get_by_role("link", name=f"Seizure: {answer_needed}").click()
    expect(page.locator("#id_sledai_seizure_0")).to_be_focused()
    summary.get_by_role("link", name=f"Renal: {answer_needed}").click()
    expect(page.locator("#id_bilag_renal")).to_be_focused()
    summary.get_by_role("link", name="Physician Global Assessment (PGA)").click()
    expect(page.locator("#id_pga")).to_be_focused()

    # On a phone the summary fits the screen.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    try:
        small = phone.new_page()
        log_in(small, "coordinator")
        small.goto(page.url)
        small.get_by_role("button", name="Save as complete").click()
        expect(small.locator("#error-summary")).to_be_focused()
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(small, "entry-error-summary-phone")
    finally:
        phone.close()


def test_leaving_a_form_with_unsaved_changes_asks_first(page: Page, participant):
    log_in(page, "coordinator")
    baseline = participant.visits.get()
    page.goto(f"/visits/{baseline.pk}/entry/")
    page.get_by_label("PGA (0.00 to 3.00)").fill("2.10")
    dialogs = []

    def answer(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
