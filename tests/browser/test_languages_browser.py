"""The language can be chosen on the login page (before logging in), by keyboard too; the site
then speaks Chinese, with the visit and site names in Chinese. Headless Chromium, live server."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.factories import (
    TEST_PASSWORD,
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    record_visit,
)
from trialsite import services
from trialsite.models import Study

pytestmark = pytest.mark.django_db(transaction=True)

INFUSED = timezone.localdate() - timedelta(days=100)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def coordinator(reference_data):
    site = SiteFactory(code="S01", name="Eastern Children's Hospital")
    site.name_zh_hans = "东部儿童医院"
    services.save_with_audit(site, author=None, reason="Chinese name")
    participant = ParticipantFactory(
        study=Study.objects.get(), site=site, participant_id="S01-001", infusion_date=INFUSED
    )
    record_visit(participant, "M3", INFUSED + timedelta(days=90))
    return UserFactory(username="coordinator", role="Coordinator", sites=[site])


def test_chinese_chosen_on_the_login_page_names_visits_and_sites_in_chinese(
    page: Page, coordinator
):
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    # By keyboard: from the site's name (the page starts in the username), Tab reaches the
    # language selector, and the arrow key chooses the next language, which reloads the page.
    page.get_by_role("link", name="SLE CAR-T trial").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Language")).to_be_focused()
    page.keyboard.press("ArrowDown")
    # The login page again, in Chinese (the msgstr of "Log in" in locale/zh_Hans).
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page).to_have_url(f"{page.url.split('/accounts/')[0]}/accounts/login/?next=/")
    expect(page.get_by_label("语言")).to_have_value("zh-hans")
    screenshot(page, "login_zh")
    page.set_viewport_size(PHONE)
    screenshot(page, "login_zh_phone")
    page.set_viewport_size({"width": 1024, "height": 1366})

    page.locator("#id_username").fill("coordinator")
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    participant = coordinator.site_memberships.get().site.participants.get()
    page.goto(f"/participants/{participant.pk}/")
    expect(page.get_by_text("S01 东部儿童医院")).to_be_visible()
    expect(page.get_by_text("第3个月").first).to_be_visible()
    screenshot(page, "participant_zh")
    page.set_viewport_size(PHONE)
    screenshot(page, "participant_zh_phone")
    page.set_viewport_size({"width": 1024, "height": 1366})

    # Back to English from the navigation bar: the same names in English.
    page.get_by_label("语言").select_option("en")
    expect(page.get_by_text("S01 Eastern Children's Hospital")).to_be_visible()
    expect(page.get_by_text("Month 3").first).to_be_visible()
