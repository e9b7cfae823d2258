"""The second factor in headless Chromium: a data manager passes the code page after the
password, and a superuser without an authenticator app sets one up from its QR code page."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.factories import TEST_PASSWORD, UserFactory
from tests.two_factor import code_at, next_code

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = re.compile("Today")


def enter_password(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_data_manager_passes_the_code_page_after_a_wrong_code(page: Page, reference_data):
    user = UserFactory(username="datamanager", role="Data manager")
    phone = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)

    enter_password(page, "datamanager")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    # A code the app shows at no time near now.
    near = {code_at(phone, time.time(), steps_ahead=ahead) for ahead in range(-3, 4)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)
    page.get_by_label("6-digit code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This code is wrong or has expired.")).to_be_visible()
    expect(page.get_by_role("link", name="Participants")).to_have_count(0)

    time.sleep(1.1)  # one wrong code locks the device for a second
    page.get_by_label("6-digit code").fill(next_code(phone))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=TODAY)).to_be_visible()
    assert page.url.endswith("/")


def test_a_superuser_sets_up_an_authenticator_app_from_its_qr_code(page: Page, reference_data):
    UserFactory(username="root", is_staff=True, is_superuser=True)

    enter_password(page, "root")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    qr_code = page.locator("svg.two-factor-qr")
    expect(qr_code).to_be_visible()
    assert qr_code.bounding_box()["width"] == 200
    screenshot(page, "two-factor-setup")

    key = b32decode(page.locator("#secret-key").inner_text().replace(" ", ""))
    page.get_by_label("6-digit code").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_text("Your authenticator app is set up")).to_be_visible()
    expect(page.get_by_role("heading", name=TODAY)).to_be_visible()
    page.goto("/admin/")
    # Where an administrator resets a lost phone.
    expect(page.get_by_role("link", name="TOTP devices")).to_be_visible()
