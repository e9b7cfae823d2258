"""Recording a protocol-prohibited drug after infusion as a coordinator: the participant page
proposes a treatment failure date, the coordinator confirms it, and the visits on or after it
become non-responders by treatment failure. Runs in headless Chromium against the live server
under the strict Content-Security-Policy; screenshots of the pages on a desktop and on a 390x844
phone go to test-artifacts/."""

import re
from dataclasses import replace
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from medications.models import MedicationCourse
from responses.models import EndpointResult
from tests.browser.conftest import log_in, screenshots
from tests.factories import BL_AND_M3, UserFactory, VisitRow, build_cohort, with_bl_and_m3
from tests.medications.conftest import record_course
from trialsite.models import Participant, Study

pytestmark = pytest.mark.django_db(transaction=True)

PROPOSAL = (
    "Cyclophosphamide started on 2026-05-02, after the infusion: protocol-prohibited. Record "
    "2026-05-02 as the treatment failure date?"
)


@pytest.fixture
def participant(reference_data) -> Participant:
    """S01-001, infused 2026-02-09, with BL (SLEDAI-2K 6), M1 and M3 (0): an SRI-4 responder at
    both; tapering prednisolone; and the site's coordinator."""
    visits = {
        "BL": BL_AND_M3["BL"],
        "M1": VisitRow(date(2026, 3, 10), set(), "1.00"),
        "M3": BL_AND_M3["M3"],
    }
    row = replace(with_bl_and_m3("S01"), visits=visits)
    participant = build_cohort(Study.objects.get(), {"S01-001": row})["S01-001"]
    UserFactory(username="coordinator", role="Coordinator", sites=[participant.site])
    record_course(
        participant, "prednisolone", dose="20", start=date(2026, 1, 5), stop=date(2026, 2, 22)
    )
    record_course(participant, "prednisolone", dose="10", start=date(2026, 2, 23))
    record_course(participant, "hydroxychloroquine", dose="200", start=date(2025, 6, 1))
    return participant


def sri4(participant: Participant, code: str) -> EndpointResult:
    return EndpointResult.objects.get(
        visit__participant=participant, visit__visit_definition__code=code, endpoint="sri4"
    )


def test_cyclophosphamide_after_infusion_is_confirmed_as_treatment_failure(
    page: Page, participant: Participant, violations: list[str]
):
    assert (sri4(participant, "M1").outcome, sri4(participant, "M3").outcome) == (
        "responder",
        "responder",
    )
    log_in(page, "coordinator")
    page.goto(participant.get_absolute_url())
    medications = page.locator("#medications")
    expect(medications.locator("#prednisolone-today")).to_have_text("10.00")
    page.get_by_role("link", name="Record a medication course").click()

    page.get_by_label("Drug").fill("Cyclophosphamide")
    page.get_by_label("Daily dose (mg)").fill("500")
    page.get_by_label("intravenous").check()
    page.get_by_label("Start date").fill("2026-05-02")
    page.get_by_label("Stop date").fill("2026-05-02")
    screenshots(page, "medications-course-form")
    page.get_by_role("button", name="Record course").click()

    expect(page.get_by_role("alert").first).to_contain_text("Medication course saved.")
    proposal = page.locator("#failure-proposals")
    expect(proposal).to_contain_text(PROPOSAL)
    row = medications.get_by_role("row", name=re.compile("cyclophosphamide"))
    expect(row).to_contain_text("prohibited after infusion")
    expect(row).to_contain_text("other immunosuppressant")
    screenshots(page, "medications-failure-proposed")
    participant.refresh_from_db()
    assert participant.treatment_failure_date is None  # proposed, not recorded

    proposal.get_by_role("button", name="Confirm treatment failure from 2026-05-02").click()

    expect(page.get_by_role("alert").first).to_contain_text(
        "Treatment failure recorded from 2026-05-02"
    )
    expect(page.locator("#failure-proposals")).to_have_count(0)
    m3 = page.locator("table.timeline").get_by_role("row", name=re.compile(r"^M3 Month 3\b"))
    expect(m3).to_contain_text("SRI-4: non-responder")
    expect(m3).to_contain_text("treatment failure")
    m1 = page.locator("table.timeline").get_by_role("row", name=re.compile(r"^M1 Month 1\b"))
    expect(m1).to_contain_text("SRI-4: responder")
    screenshots(page, "medications-failure-confirmed")

    participant.refresh_from_db()
    assert participant.treatment_failure_date == date(2026, 5, 2)
    assert participant.history.latest().history_change_reason == (
        "treatment failure: cyclophosphamide from 2026-05-02 (confirmed by coordinator)"
    )
    assert (sri4(participant, "M1").outcome, sri4(participant, "M3").outcome) == (
        "responder",
        "non-responder",
    )
    assert MedicationCourse.objects.get(drug="cyclophosphamide").failure_proposal_dismissed is False
    assert violations == []
