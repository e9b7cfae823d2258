"""A monitor queries the oxygen of a CRS episode from the episode's page; the coordinator finds
the query on Home, opens it, follows the link to the episode, corrects the oxygen there with a
reason for the change (the episode is regraded), then answers; the monitor closes the query. And
on a 390x844 phone the query page of a record query does not scroll sideways. Runs in headless
Chromium against the live server; screenshots go to test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from safety.models import CrsEpisode
from tests.browser.conftest import log_in, screenshot
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.medications.conftest import record_course
from tests.safety.test_treatment import record_treatment
from tests.safety.test_views import record_crs
from trialsite import queries
from trialsite.models import DataQuery, Participant, QueryStatus, Study

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=20)
ONSET = INFUSED + timedelta(days=3)
PHONE = {"width": 390, "height": 844}
LOW_FLOW = "low-flow nasal cannula (≤ 6 L/min) or blow-by"
HIGH_FLOW = "high-flow nasal cannula (> 6 L/min), face mask, non-rebreather or Venturi mask"
QUESTION = "The nursing notes show a face mask at 8 L/min on day 4. Please check the oxygen."


@pytest.fixture
def participant(reference_data) -> Participant:
    """S01-801, infused 20 days ago, with a coordinator of S01 and a monitor."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    UserFactory(username="monitor", role="Monitor")
    return ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-801",
        enrollment_date=INFUSED - timedelta(days=30),
        infusion_date=INFUSED,
    )


@pytest.fixture
def episode(participant: Participant) -> CrsEpisode:
    """A CRS episode 3 days after the infusion: 38.5 °C, no hypotension, low-flow oxygen
    (grade 2, driven by the oxygen)."""
    return record_crs(participant, onset=ONSET, hypotension="none", oxygen="low_flow")


def test_monitor_queries_crs_oxygen_coordinator_corrects_and_answers_monitor_closes(
    page: Page, participant: Participant, episode: CrsEpisode
):
    episode_url = reverse("crs_episode_detail", args=[episode.pk])
    subject = f"S01-801 CRS episode from {ONSET.isoformat()}"

    # The monitor raises a query on the oxygen from the episode's page.
    log_in(page, "monitor")
    page.goto(episode_url)
    expect(page.locator("#grade-heading")).to_contain_text("Grade 2")
    expect(page.locator("#queries")).to_contain_text("No query on this episode.")
    raise_form = page.get_by_role("form", name="Raise a query")
    about = raise_form.get_by_label("About")
    # The select names the fields as the models do, in lower case (as a visit's does).
    for label in ("the whole record", "oxygen", "hypotension", "highest temperature (°C)"):
        expect(about.get_by_role("option", name=label, exact=True)).to_have_count(1)
    about.select_option(label="oxygen")
    raise_form.get_by_label("Question").fill(QUESTION)
    screenshot(page, "record-queries-01-monitor-raises")
    raise_form.get_by_role("button", name="Raise the query").click()
    expect(page.get_by_text("Query raised: it awaits the site's answer.")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(episode_url)))
    table = page.locator("#record-queries")
    expect(table).to_contain_text("Oxygen")
    expect(table).to_contain_text("open: awaiting the site")
    expect(table).to_contain_text("face mask at 8 L/min")
    screenshot(page, "record-queries-02-monitor-raised")
    query = DataQuery.objects.get()
    assert (query.field, query.status, query.visit_id) == ("oxygen", QueryStatus.OPEN, None)

    # The coordinator finds it on Home; its record links to the episode.
    log_in(page, "coordinator")
    panel = page.locator("#home-queries")
    expect(panel).to_contain_text("face mask at 8 L/min")
    record_link = panel.get_by_role("link", name=subject)
    expect(record_link).to_have_attribute("href", episode_url)
    screenshot(page, "record-queries-03-coordinator-home")

    # The participant page lists it among the queries on the participant's records.
    page.goto(participant.get_absolute_url())
    section = page.locator("section", has=page.locator("#record-queries"))
    expect(section.get_by_role("heading")).to_have_text(
        "Queries on treatment, safety and medication records"
    )
    expect(page.locator("#record-queries").get_by_role("link", name=f"Q{query.pk}")).to_be_visible()
    expect(page.locator("#record-queries")).to_contain_text(f"CRS episode from {ONSET.isoformat()}")
    screenshot(page, "record-queries-04-participant-page")

    # The query page: what is queried, and an answer without a corrected value.
    page.goto("/")
    panel.get_by_role("link", name=f"Q{query.pk}").click()
    expect(page.get_by_role("heading", name=f"Query Q{query.pk}: Oxygen")).to_be_visible()
    expect(page.locator("#queried-record")).to_have_attribute("href", episode_url)
    expect(page.locator("#queried-record")).to_contain_text(subject.replace(" CRS", " · CRS"))
    expect(page.locator("#current-value")).to_have_text(LOW_FLOW)
    expect(page.get_by_label("Corrected value")).to_have_count(0)
    expect(page.locator("#correct-on-record-page")).to_contain_text(
        "Correct a record's value on the record's page, with the reason for the change, "
        "then answer."
    )
    expect(page.get_by_role("link", name="Open the record")).to_have_attribute("href", episode_url)
    screenshot(page, "record-queries-05-query-page-open")

    # The coordinator follows the record link and corrects the oxygen with a reason.
    page.locator("#queried-record").click()
    expect(page).to_have_url(re.compile(re.escape(episode_url) + "$"))
    page.get_by_role("link", name="Change entries").click()
    page.get_by_label(HIGH_FLOW).check()
    page.get_by_label("Reason for change").fill("Face mask at 8 L/min on day 4, per nursing notes")
    screenshot(page, "record-queries-06-coordinator-corrects")
    page.get_by_role("button", name="Save and grade").click()
    expect(page.locator("#grade-heading")).to_contain_text("Grade 3")
    expect(page.locator("#entries")).to_contain_text(HIGH_FLOW)
    expect(page.locator("#record-queries")).to_contain_text("open: awaiting the site")
    screenshot(page, "record-queries-07-episode-corrected")
    episode.refresh_from_db()
    assert (episode.oxygen, episode.grade) == ("high_flow", 3)

    # Back on the query page, the current value is the corrected one; the coordinator answers.
    page.locator("#record-queries").get_by_role("link", name=f"Q{query.pk}").click()
    expect(page.locator("#current-value")).to_have_text(HIGH_FLOW)
    page.get_by_role("textbox", name="Answer").fill(
        "Checked the nursing notes: corrected to high-flow oxygen on the episode."
    )
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_text("Answer sent: the query awaits review.")).to_be_visible()
    expect(page.locator("#query-status")).to_have_text("answered: awaiting review")
    expect(page.get_by_role("button", name="Send the answer")).to_have_count(0)
    screenshot(page, "record-queries-08-answered")

    # The monitor reviews the answer and closes the query.
    log_in(page, "monitor")
    expect(page.locator("#home-queries")).to_contain_text("corrected to high-flow oxygen")
    screenshot(page, "record-queries-09-monitor-home")
    page.locator("#home-queries").get_by_role("link", name=f"Q{query.pk}").click()
    page.get_by_label("Message", exact=True).fill("Thank you.")
    page.get_by_role("button", name="Close the query").click()
    expect(page.get_by_text("Query closed.")).to_be_visible()
    expect(page.locator("#query-status")).to_have_text("closed")
    expect(page.locator("#conversation").get_by_role("listitem")).to_have_count(3)
    screenshot(page, "record-queries-10-closed")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED

    # The episode's page shows the closed query.
    page.locator("#queried-record").click()
    expect(page.locator("#record-queries")).to_contain_text("closed")
    screenshot(page, "record-queries-11-episode-query-closed")


def test_record_query_page_fits_a_phone_and_the_participant_page_offers_queries(
    page: Page, participant: Participant, episode: CrsEpisode
):
    monitor = UserFactory(username="monitor")
    record_treatment(
        participant,
        leukapheresis_date=INFUSED - timedelta(days=20),
        lymphodepletion_start_date=INFUSED - timedelta(days=6),
    )
    record_course(participant, start=INFUSED - timedelta(days=30))
    query = queries.query_raise_on_record(
        record=episode, field="max_temp_c", text=QUESTION, author=monitor
    )
    page.set_viewport_size(PHONE)

    # The coordinator's query page, with its answer form, fits the phone.
    log_in(page, "coordinator")
    page.goto(query.get_absolute_url())
    expect(
        page.get_by_role("heading", name=f"Query Q{query.pk}: Highest temperature (°C)")
    ).to_be_visible()
    expect(page.locator("#current-value")).to_have_text("38.5 °C")
    expect(page.get_by_role("button", name="Send the answer")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "record-queries-12-query-page-phone")

    # The monitor's participant page offers a query on the treatment and on each course.
    log_in(page, "monitor")
    page.goto(participant.get_absolute_url())
    treatment = page.locator("#treatment")
    expect(treatment.get_by_role("link", name="Raise a query CAR-T treatment")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Query prednisolone"))).to_be_visible()
    screenshot(page, "record-queries-13-participant-page-monitor-phone")
    page.get_by_role("link", name="Raise a query CAR-T treatment").click()
    expect(page.get_by_label("About")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "record-queries-14-raise-on-treatment-phone")
