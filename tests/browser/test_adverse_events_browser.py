"""Recording a serious adverse event as a coordinator, with the term typed and offered from the
CTCAE list, seeing it on Home, and a monitor acknowledging it there, after which it leaves Home.
Runs in headless Chromium against the live server under the strict Content-Security-Policy;
screenshots of the pages on a desktop and on a 390x844 phone go to test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from safety.models import AdverseEvent
from tests.browser.conftest import log_in, screenshots
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite.models import Participant, Study

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
INFUSED = TODAY - timedelta(days=60)
STARTED = INFUSED + timedelta(days=45)


@pytest.fixture
def participant(reference_data) -> Participant:
    """S01-801, infused 60 days ago; the site's coordinator and a monitor."""
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


def test_a_serious_adverse_event_goes_from_the_form_to_home_until_a_monitor_acknowledges_it(
    page: Page, participant: Participant, violations: list[str]
):
    log_in(page, "coordinator")
    page.goto(participant.get_absolute_url())
    page.get_by_role("link", name="Record adverse event").click()

    term = page.get_by_label("CTCAE term")
    # The term's input offers the CTCAE list as it is typed (a datalist, no script needed).
    expect(term).to_have_attribute("list", "ctcae-terms")
    expect(page.locator("datalist#ctcae-terms option[value='Lung infection']")).to_have_count(1)
    expect(page.locator("#crs-icans-advice")).to_contain_text("are not recorded here")
    term.fill("Lung infection")
    page.get_by_label("3 (severe or medically significant)").check()
    page.get_by_label("Start date").fill(STARTED.isoformat())
    page.get_by_label("Serious", exact=True).check()
    # A serious event without a criterion is refused on the form, on its field.
    page.locator("input[name=related_cart][value=possible]").check()
    page.locator("input[name=related_ld][value=not]").check()
    page.get_by_label("hospitalisation (initial or prolonged)").check()
    page.get_by_label("recovering/resolving").check()
    page.get_by_role("button", name="Record adverse event").click()
    expect(page.locator("#error-summary")).to_contain_text("1 field needs attention")
    expect(
        page.locator("#adverse-event-form").get_by_text(
            "A serious event needs at least one seriousness criterion"
        )
    ).to_be_visible()
    screenshots(page, "adverse-event-form-error")

    page.get_by_label("requires hospitalisation or prolongs it").check()
    page.get_by_role("button", name="Record adverse event").click()

    expect(page.get_by_role("alert").first).to_contain_text("Adverse event saved.")
    expect(page.locator("#seriousness-criteria")).to_contain_text(
        "requires hospitalisation or prolongs it"
    )
    expect(page.locator("#acknowledgement-status")).to_contain_text("Awaiting acknowledgement")
    screenshots(page, "adverse-event-recorded")
    sae = AdverseEvent.objects.get(participant=participant)
    assert (sae.term, sae.grade, sae.serious, sae.acknowledged_at) == (
        "Lung infection",
        3,
        True,
        None,
    )

    page.get_by_role("link", name="Home").first.click()
    panel = page.locator("#unacknowledged-saes")
    expect(panel).to_contain_text("S01-801")
    expect(panel).to_contain_text("Lung infection")
    expect(panel.get_by_role("button", name=re.compile("Acknowledge"))).to_have_count(0)
    screenshots(page, "adverse-event-home-coordinator")

    log_in(page, "monitor")
    panel = page.locator("#unacknowledged-saes")
    expect(panel).to_contain_text("Lung infection")
    screenshots(page, "adverse-event-home-monitor")
    panel.get_by_role("button", name=re.compile("Acknowledge")).click()

    expect(page.get_by_role("alert").first).to_contain_text(
        "Serious adverse event acknowledged: S01-801, Lung infection."
    )
    expect(page.locator("#unacknowledged-saes")).to_have_count(0)
    screenshots(page, "adverse-event-acknowledged")
    sae.refresh_from_db()
    assert sae.acknowledged_by is not None
    assert sae.acknowledged_by.username == "monitor"

    page.goto(participant.get_absolute_url())
    row = page.locator("#adverse-events").get_by_role("row", name=re.compile("Lung infection"))
    expect(row).to_contain_text("acknowledged")
    screenshots(page, "adverse-event-participant-page")
    assert violations == []
