"""Recording CRS and ICANS episodes as a coordinator: the grade and what drove it after saving,
and the ICANS form asking for the tool of the age at onset (its script, loaded under the strict
Content-Security-Policy). Runs in headless Chromium against the live server; screenshots of the
pages on a desktop and on a 390x844 phone go to test-artifacts/."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from safety import services
from safety.models import CrsEpisode, IcansEpisode
from tests.browser.conftest import log_in, screenshots
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite.models import Participant, Study

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=20)
ONSET = INFUSED + timedelta(days=3)


@pytest.fixture
def participants(reference_data) -> dict[str, Participant]:
    """S01-701 (12 at enrolment) and S01-702 (10 at enrolment, so 10 at onset), both infused 20
    days ago, and their site's coordinator."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    study = Study.objects.get()
    enrolled = INFUSED - timedelta(days=30)
    return {
        participant_id: ParticipantFactory(
            study=study,
            site=site,
            participant_id=participant_id,
            age_at_enrollment=age,
            enrollment_date=enrolled,
            infusion_date=INFUSED,
        )
        for participant_id, age in (("S01-701", 12), ("S01-702", 10))
    }


def test_coordinator_records_crs_and_sees_grade_3_driven_by_hypotension(
    page: Page, participants: dict[str, Participant], violations: list[str]
):
    participant = participants["S01-701"]
    log_in(page, "coordinator")
    page.goto(participant.get_absolute_url())
    page.get_by_role("link", name="Record CRS episode").click()
    page.get_by_label("Onset date").fill(ONSET.isoformat())
    page.get_by_label("Highest temperature (°C)").fill("38.5")
    page.get_by_label("needing one vasopressor (with or without vasopressin)").check()
    page.get_by_label("low-flow nasal cannula (≤ 6 L/min) or blow-by").check()
    screenshots(page, "safety-crs-form")
    page.get_by_role("button", name="Record and grade").click()

    expect(page.get_by_role("alert")).to_contain_text("CRS episode saved and graded.")
    expect(page.locator("#grade-heading")).to_contain_text("Grade 3")
    expect(page.locator("#grade-explanation")).to_have_text(
        "Grade 3 CRS — driven by hypotension: needing one vasopressor (with or without vasopressin)"
    )
    expect(page.locator("#grade-status")).to_contain_text("awaiting the investigator's")
    screenshots(page, "safety-crs-graded")
    assert CrsEpisode.objects.get(participant=participant).grade == 3

    page.get_by_role("link", name=participant.participant_id).first.click()
    row = page.locator("#safety").get_by_role("row", name=re.compile("CRS"))
    expect(row).to_contain_text("Grade 3")
    expect(row).to_contain_text("hypotension")
    expect(row).to_contain_text("awaiting confirmation")
    screenshots(page, "safety-participant-page")
    assert violations == []


def test_icans_form_asks_for_capd_at_age_10_and_grades_capd_4_as_grade_1(
    page: Page, participants: dict[str, Participant], violations: list[str]
):
    participant = participants["S01-702"]
    log_in(page, "coordinator")
    page.goto(participant.get_absolute_url())
    page.get_by_role("link", name="Record ICANS episode").click()
    tool = page.get_by_label("Encephalopathy tool")
    advice = page.locator("#icans-tool-advice")
    expect(advice).to_contain_text("Enter the onset date")
    expect(tool.locator("option", has_text="ICE")).to_have_count(1)  # no onset yet: both

    page.get_by_label("Onset date").fill(ONSET.isoformat())
    expect(advice).to_have_text("Age 10 at onset: assess with CAPD (0-32)")
    expect(tool.locator("option", has_text="ICE")).to_have_count(0)
    expect(tool).to_have_value("capd")
    score = page.get_by_label("CAPD score (0-32; 0 is normal)")
    expect(score).to_have_attribute("max", "32")
    score.fill("4")
    page.get_by_label("alert", exact=True).check()
    page.locator("input[name=seizure][value=none]").check()
    page.locator("input[name=motor][value=none]").check()
    page.locator("input[name=raised_icp][value=none]").check()
    screenshots(page, "safety-icans-form")
    page.get_by_role("button", name="Record and grade").click()

    expect(page.get_by_role("alert")).to_contain_text("ICANS episode saved and graded.")
    expect(page.locator("#grade-heading")).to_contain_text("Grade 1")
    expect(page.locator("#grade-explanation")).to_have_text(
        "Grade 1 ICANS — driven by encephalopathy score: CAPD 4"
    )
    screenshots(page, "safety-icans-graded")
    episode = IcansEpisode.objects.get(participant=participant)
    assert (episode.tool, episode.tool_score, episode.grade) == ("capd", 4, 1)
    assert violations == []


def test_investigator_confirms_and_a_coordinators_change_withdraws_the_confirmation(
    page: Page, participants: dict[str, Participant], violations: list[str]
):
    participant = participants["S01-701"]
    UserFactory(username="investigator", role="Investigator", sites=[participant.site])
    episode = services.crs_episode_save(
        episode=CrsEpisode(
            participant=participant,
            onset_date=ONSET,
            max_temp_c=Decimal("38.5"),
            hypotension="no_vasopressor",
            oxygen="none",
        ),
        author=None,
        reason="test",
    )
    log_in(page, "investigator")
    page.goto(participant.get_absolute_url())
    page.locator("#safety").get_by_role("link", name="CRS", exact=True).click()
    expect(page.locator("#grade-explanation")).to_have_text(
        "Grade 2 CRS — driven by hypotension: not needing vasopressors"
    )
    page.get_by_role("button", name="Confirm this grade").click()
    expect(page.get_by_role("alert").first).to_contain_text("Grade confirmed.")
    expect(page.locator("#grade-status")).to_contain_text("Confirmed by investigator on")
    screenshots(page, "safety-crs-confirmed")

    log_in(page, "coordinator")
    page.goto(reverse("crs_episode_edit", args=[episode.pk]))
    expect(page.locator("#grade-status")).to_contain_text(
        "Changing any entry withdraws the investigator's confirmation"
    )
    page.get_by_label("low-flow nasal cannula (≤ 6 L/min) or blow-by").check()
    page.get_by_role("button", name="Save and grade").click()
    expect(page.locator("#crs-episode-form").get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Reason for change").fill("Oxygen started overnight")
    page.get_by_role("button", name="Save and grade").click()
    expect(page.get_by_text("the investigator's confirmation was withdrawn")).to_be_visible()
    expect(page.locator("#grade-status")).to_contain_text("awaiting the investigator's")
    episode.refresh_from_db()
    assert (episode.grade, episode.confirmed_at) == (2, None)
    assert violations == []
