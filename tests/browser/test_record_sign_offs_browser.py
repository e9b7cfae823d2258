"""A CRS episode's sign-offs, beside the visits', as the monitor, the investigator, the
coordinator and the data manager meet them on the episode's page: the monitor verifies it against
source from its Sign-offs card; the investigator of the site signs it with a password (a wrong
one refused first); the coordinator finds it frozen, without "Change entries"; the data manager
locks it, then unlocks it with a reason, and the card shows the voided sign-offs struck through.
And on a 390x844 phone, the data manager's participant page shows the signed CAR-T treatment's
card and the verified medication course's status; the page does not scroll sideways (the
medication table scrolls within its frame). Runs in headless Chromium against the live server;
screenshots go to test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from safety.models import CrsEpisode
from tests.browser.conftest import log_in, screenshot
from tests.factories import TEST_PASSWORD, ParticipantFactory, SiteFactory, UserFactory
from tests.medications.conftest import record_course
from tests.safety.test_treatment import record_treatment
from tests.safety.test_views import record_crs
from trialsite import services
from trialsite.models import Participant, RecordSignOff, Study

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=20)
ONSET = INFUSED + timedelta(days=3)
PHONE = {"width": 390, "height": 844}
MEANING = "I confirm these assessments are accurate."
FROZEN = (
    "This record's data cannot change while it is signed or locked; a data manager can unlock "
    "it, with a reason."
)
REASON = "The site corrects the oxygen after the monitor's visit"


@pytest.fixture
def participant(reference_data) -> Participant:
    """S01-801, infused 20 days ago, and the people who sign off its records: a monitor, an
    investigator and a coordinator of S01, a data manager with an authenticator app."""
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    UserFactory(username="monitor", role="Monitor")
    UserFactory(username="investigator", role="Investigator", sites=[site])
    UserFactory(username="coordinator", role="Coordinator", sites=[site])
    data_manager = UserFactory(username="datamanager", role="Data manager")
    TOTPDevice.objects.create(user=data_manager, name="Phone", confirmed=True)
    return ParticipantFactory(
        study=Study.objects.get(),
        site=site,
        participant_id="S01-801",
        enrollment_date=INFUSED - timedelta(days=30),
        infusion_date=INFUSED,
    )


@pytest.fixture
def episode(participant: Participant) -> CrsEpisode:
    """A grade 2 CRS episode 3 days after the infusion."""
    return record_crs(participant, onset=ONSET, hypotension="none", oxygen="low_flow")


def test_monitor_verifies_investigator_signs_coordinator_frozen_data_manager_locks_unlocks(
    page: Page, participant: Participant, episode: CrsEpisode
):
    episode_url = reverse("crs_episode_detail", args=[episode.pk])
    card = page.locator("#sign-offs")
    alert = page.get_by_role("alert")

    # The monitor verifies the episode against source from its Sign-offs card.
    log_in(page, "monitor")
    page.goto(episode_url)
    expect(card.get_by_role("heading", name="Sign-offs")).to_be_visible()
    expect(card.get_by_role("link")).to_have_count(1)
    screenshot(page, "record-sign-offs-01-monitor-episode")
    card.get_by_role("link", name="Verify against source").click()
    expect(page).to_have_url(re.compile(r"/records/safety\.crsepisode/\d+/sign-offs/verify/$"))
    expect(page.get_by_role("heading", name="Source data verification")).to_be_visible()
    expect(page.get_by_text("match the source documents")).to_be_visible()
    screenshot(page, "record-sign-offs-02-verify-page")
    page.get_by_role("button", name="Record verification").click()
    expect(alert).to_contain_text("Source verification recorded.")
    expect(page).to_have_url(re.compile(re.escape(episode_url) + "$"))
    expect(card).to_contain_text("Source-verified")
    expect(card.get_by_role("link")).to_have_count(0)
    screenshot(page, "record-sign-offs-03-verified")

    # The investigator of the site confirms the grade (the signature covers it), then signs: a
    # wrong password is refused, the right one signs.
    log_in(page, "investigator")
    page.goto(episode_url)
    page.get_by_role("button", name="Confirm this grade").click()
    expect(page.locator("#grade-status")).to_contain_text("Confirmed by investigator")
    card.get_by_role("link", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Sign the record")).to_be_visible()
    expect(page.get_by_text(MEANING)).to_be_visible()
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(
        page.get_by_text("This password was not accepted; the record was not signed.")
    ).to_be_visible()
    screenshot(page, "record-sign-offs-04-wrong-password")
    assert not RecordSignOff.objects.filter(kind="signed").exists()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    screenshot(page, "record-sign-offs-05-sign-page")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(alert).to_contain_text("Record signed.")
    expect(card).to_contain_text(MEANING)
    expect(card).to_contain_text(FROZEN)
    expect(page.get_by_role("link", name="Change entries")).to_have_count(0)
    screenshot(page, "record-sign-offs-06-signed")

    # The coordinator finds the episode frozen: no "Change entries", and why.
    log_in(page, "coordinator")
    page.goto(episode_url)
    expect(page.locator("#grade-heading")).to_contain_text("Grade 2")
    expect(page.get_by_role("link", name="Change entries")).to_have_count(0)
    expect(card).to_contain_text(FROZEN)
    expect(card.get_by_role("link")).to_have_count(0)
    screenshot(page, "record-sign-offs-07-coordinator-frozen")

    # The data manager locks it ...
    log_in(page, "datamanager")
    page.goto(episode_url)
    expect(card.get_by_role("link", name="Lock", exact=True)).to_be_visible()
    expect(card.get_by_role("link", name="Unlock")).to_be_visible()
    screenshot(page, "record-sign-offs-08-data-manager-signed")
    card.get_by_role("link", name="Lock", exact=True).click()
    expect(page.get_by_role("heading", name="Lock the record")).to_be_visible()
    screenshot(page, "record-sign-offs-09-lock-page")
    page.get_by_role("button", name="Lock", exact=True).click()
    expect(alert).to_contain_text("Record locked.")
    expect(card).to_contain_text("Locked")
    expect(card.get_by_role("link", name="Lock", exact=True)).to_have_count(0)
    screenshot(page, "record-sign-offs-10-locked")

    # ... then unlocks it: a reason is required; the sign-offs are voided, struck through.
    card.get_by_role("link", name="Unlock").click()
    expect(page.get_by_role("heading", name="Unlock the record")).to_be_visible()
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Reason for unlocking").fill(REASON)
    screenshot(page, "record-sign-offs-11-unlock-page")
    page.get_by_role("button", name="Unlock").click()
    expect(alert).to_contain_text("Record unlocked: its signature and verification are void.")
    expect(page).to_have_url(re.compile(re.escape(episode_url) + "$"))
    for kind in ("Source-verified", "Signed", "Locked"):
        expect(card.locator("del", has_text=kind)).to_be_visible()
    expect(card.get_by_text("voided", exact=True)).to_have_count(3)
    expect(card).to_contain_text(REASON)
    expect(card).not_to_contain_text(FROZEN)
    expect(card.get_by_role("link", name="Verify against source")).to_have_count(0)
    screenshot(page, "record-sign-offs-12-unlocked")
    assert not RecordSignOff.objects.filter(voided_at__isnull=True).exists()


def test_participant_page_on_a_phone_shows_treatment_and_course_sign_offs(
    page: Page, participant: Participant
):
    monitor = UserFactory(username="monitor2", role="Monitor")
    investigator = User.objects.get(username="investigator")
    treatment = record_treatment(
        participant,
        leukapheresis_date=INFUSED - timedelta(days=20),
        lymphodepletion_start_date=INFUSED - timedelta(days=6),
    )
    services.record_verify(record=treatment, author=monitor)
    services.record_sign(record=treatment, author=investigator, password=TEST_PASSWORD)
    course = record_course(participant, start=INFUSED - timedelta(days=30)).course
    services.record_verify(record=course, author=monitor)
    page.set_viewport_size(PHONE)

    log_in(page, "datamanager")
    page.goto(participant.get_absolute_url())
    treatment_section = page.locator("#treatment")
    treatment_card = treatment_section.locator(
        "section", has=page.locator("#treatment-sign-offs-heading")
    )
    expect(treatment_card).to_contain_text("Source-verified")
    expect(treatment_card).to_contain_text("Signed")
    expect(treatment_card).to_contain_text(MEANING)
    expect(treatment_card).to_contain_text(FROZEN)
    expect(treatment_card.get_by_role("link", name="Lock", exact=True)).to_be_visible()
    expect(treatment_card.get_by_role("link", name="Unlock")).to_be_visible()
    expect(treatment_section.get_by_role("link", name=re.compile("^Change"))).to_have_count(0)

    row = page.locator("#medications").get_by_role("row", name=re.compile("prednisolone"))
    expect(row.get_by_text("source-verified", exact=True)).to_be_visible()
    # The next step, a signature, is the investigator's: the data manager has no button for it,
    # and the unsigned course stays editable.
    expect(row.get_by_role("link", name=re.compile("^Sign"))).to_have_count(0)
    expect(row.get_by_role("link", name=re.compile("^Edit"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "record-sign-offs-13-participant-page-phone")
    # The table scrolls sideways within its frame: the course's status is at its right end.
    badge = row.get_by_text("source-verified", exact=True)
    badge.scroll_into_view_if_needed()
    box = badge.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "record-sign-offs-14-course-row-phone")
