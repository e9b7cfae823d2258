"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server."""

import os
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from tests.factories import TEST_PASSWORD
from tests.two_factor import next_code

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests make
# there are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, reference_data, settings):
    settings.AXES_ENABLED = False
    context = browser.new_context(
        viewport={"width": 1024, "height": 1366}, base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Keep a picture of a main screen for people to look at (test-artifacts/)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


#: The viewports of the desktop and phone screenshots.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def screenshots(page, name: str) -> None:
    """Keep the page as a desktop and a phone show it; the phone's page must not scroll
    sideways."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def log_in(page, username: str, password: str = TEST_PASSWORD) -> None:
    """Log in on the login page, then on the code page for a user with an authenticator app;
    land on Home. Whoever was logged in before is logged out first."""
    page.context.clear_cookies()
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if TOTPDevice.objects.filter(user__username=username, confirmed=True).exists():
        enter_code(page, username)
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()


def enter_code(page, username: str) -> None:
    """Pass the code page that follows the password, with the code that the user's
    authenticator app shows now."""
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    page.get_by_label("6-digit code").fill(next_code(device))
    page.get_by_role("button", name="Continue").click()


#: What Chromium logs when the Content-Security-Policy refuses something.
VIOLATION = re.compile("Content Security Policy|Refused to", re.IGNORECASE)
#: The progress of a background job, which its page polls (an import, a schedule change).
PROGRESS_URL = re.compile(r"/\d+/progress/$")


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Collect what the browser refused under the Content-Security-Policy."""
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if VIOLATION.search(message.text):
            found.append(f"{page.url}: {message.text}")

    page.on("console", note)
    return found


@pytest.fixture
def polls(page: Page) -> list[str]:
    """Hold the page's progress requests (a job's page polling) while the test thread runs the
    worker.

    Playwright hands a routed request to its handler only while the test thread is inside a
    Playwright call, so no poll reaches the live server while the worker writes (an SQLite test
    database is one connection shared by both threads)."""
    seen: list[str] = []

    def handle(route: Route) -> None:
        seen.append(route.request.url)
        route.continue_()

    page.route(PROGRESS_URL, handle)
    return seen


def run_worker_after_a_poll(page: Page) -> None:
    """Wait for the page to ask how far its job has got, then run the queued tasks as
    `manage.py db_worker --batch` does."""
    with page.expect_response(PROGRESS_URL):
        pass
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO(), verbosity=0
    )
