"""A coordinator enrols a child, enters BL and M3, reads the SRI result, corrects the baseline,
and meets every input error on the field. Runs in headless Chromium against the live server."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
ENROLLED = TODAY - timedelta(days=130)
INFUSED = TODAY - timedelta(days=100)
BL_DATE = INFUSED - timedelta(days=7)
M3_DATE = INFUSED + timedelta(days=90)


@pytest.fixture
def coordinator(reference_data):
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    return UserFactory(username="coordinator", role="Coordinator", sites=[site])


def enrol(page: Page) -> None:
    page.get_by_role("link", name="Participants").first.click()
    page.get_by_role("link", name="Enrol a participant").click()
    page.get_by_label("Site").select_option(label="S01 Eastern Children's Hospital")
    page.get_by_label("Participant ID").fill("S01-101")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Age at enrolment").fill("12")
    page.get_by_label("Enrolment date").fill(ENROLLED.isoformat())
    page.get_by_label("CAR-T infusion date").fill(INFUSED.isoformat())
    page.get_by_label("Dose (CAR+ cells/kg)").select_option("100000")  # a study dose level
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Participant S01-101"))).to_be_visible()


def record_visit(page: Page, code: str, visit_date) -> None:
    page.get_by_role("link", name=f"Record {code}").click()
    page.get_by_label("Visit date").fill(visit_date.isoformat())
    page.get_by_role("button", name="Record and enter data").click()
    expect(page.get_by_role("heading", name="1. Physician Global Assessment")).to_be_visible()


def enter_assessments(page: Page, *, pga: str, present: list[str], bilag: dict[str, str]) -> None:
    page.get_by_label("PGA (0.00 to 3.00)").fill(pga)
    for descriptor in present:
        page.locator(f"#descriptor-{descriptor}").get_by_label("present").check()
    page.get_by_role("button", name="Mark unanswered as absent").click()
    for system, grade in bilag.items():
        page.get_by_label(system, exact=True).select_option(grade)


ARROW = "\N{RIGHTWARDS ARROW}"
GE = "\N{GREATER-THAN OR EQUAL TO}"

ALL_E = dict.fromkeys(
    [
        "Constitutional",
        "Mucocutaneous",
        "Neuropsychiatric",
        "Musculoskeletal",
        "Cardiorespiratory",
        "Gastrointestinal",
        "Ophthalmic",
        "Renal",
        "Haematological",
    ],
    "E",
)


def test_enrol_enter_bl_and_m3_then_correct_the_baseline(page: Page, coordinator):
    log_in(page, "coordinator")
    screenshot(page, "01-home")
    enrol(page)

    record_visit(page, "BL", BL_DATE)
    # Arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1).
    enter_assessments(
        page,
        pga="2.00",
        present=["arthritis", "rash", "low_complement"],
        bilag={**ALL_E, "Musculoskeletal": "B", "Mucocutaneous": "C"},
    )
    expect(page.locator("#sledai-total")).to_have_text("8")
    expect(page.locator("#sledai-band")).to_have_text("moderate")
    screenshot(page, "02-visit-entry")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("Visit saved and scored.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("SLEDAI-2K 8"))).to_be_visible()

    page.get_by_role("link", name="← S01-101").click()
    record_visit(page, "M3", M3_DATE)
    # Low complement 2: a fall of 6; PGA 2.00 -> 1.00; musculoskeletal B -> D, no new A or B.
    enter_assessments(
        page,
        pga="1.00",
        present=["low_complement"],
        bilag={**ALL_E, "Musculoskeletal": "D", "Mucocutaneous": "D"},
    )
    page.get_by_role("button", name="Save as complete").click()
    sri4 = page.get_by_role("row", name=re.compile("^SRI-4"))
    expect(sri4).to_contain_text("SRI-4: responder")
    expect(sri4).to_contain_text(
        "SLEDAI-2K fell by 6; no new BILAG A; no new BILAG B; PGA fell by 1.00"
    )
    # Components: SLEDAI-2K change, new A, new B, PGA change, treatment failure.
    expect(sri4.get_by_role("cell").nth(1)).to_have_text("-6")
    expect(sri4.get_by_role("cell").nth(2)).to_have_text("0")
    expect(sri4.get_by_role("cell").nth(3)).to_have_text("0")
    expect(sri4.get_by_role("cell").nth(4)).to_have_text("-1.00")
    expect(sri4.get_by_role("cell").nth(5)).to_have_text("no")
    screenshot(page, "03-visit-result")

    # The rash at baseline was drug-induced: baseline 6, a fall of 4 is still SRI-4, not SRI-5.
    page.get_by_role("link", name="← S01-101").click()
    screenshot(page, "04-timeline")
    page.get_by_role("link", name="BL", exact=True).click()
    page.get_by_role("link", name="Enter or correct data").click()
    page.locator("#descriptor-rash").get_by_label("absent").check()
    page.get_by_label("Reason for change").fill("Rash was drug-induced")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("Rash was drug-induced")).to_be_visible()
    # The save names the later results it changed: BL 6 -> M3 2 is a fall of 4, so SRI-5 and
    # SRI-6 no longer respond (SRI-4 does; BICLA, LLDAS and DORIS keep their outcomes).
    expect(
        page.get_by_role("alert").filter(has_text="This save changed 2 endpoint results")
    ).to_be_visible()
    expect(page.locator("#result-changes li")).to_have_text(
        [
            f"M3 SRI-5: responder {ARROW} non-responder",
            f"M3 SRI-6: responder {ARROW} non-responder",
        ]
    )
    screenshot(page, "05-baseline-corrected")
    page.get_by_role("link", name="← S01-101").click()
    page.get_by_role("link", name="M3", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("^SRI-4"))).to_contain_text("SRI-4: responder")
    expect(page.get_by_role("row", name=re.compile("^SRI-4"))).to_contain_text(
        "SLEDAI-2K fell by 4"
    )
    expect(page.get_by_role("row", name=re.compile("^SRI-5"))).to_contain_text(
        "SRI-5: non-responder"
    )
    # What it compared: the corrected baseline, the visit, and SRI-5's limits.
    sri5 = page.locator("#comparison-sri5")
    expect(sri5).to_contain_text(f"SLEDAI-2K: BL 6 {ARROW} 2 (fell by 4; needed a fall of {GE} 5)")
    expect(sri5).to_contain_text(
        f"PGA: BL 2.00 {ARROW} 1.00 (change -1.00; must not rise by 0.30 or more)"
    )
    expect(sri5).to_contain_text("BILAG-2004: new A 0 (none allowed), new B 0 (at most 1)")
    screenshot(page, "06-visit-after-correction")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "06-visit-after-correction-phone")
