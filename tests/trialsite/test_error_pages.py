"""The error pages (templates/400.html, 403.html, 404.html, 500.html): in the site's words, with
a way back Home, and never a word about what was refused or not found."""

import re
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.factories import UserFactory, record_visit

NO_ACCESS = "You do not have access to this page"
NO_ACCESS_WHY = (
    "Your role does not allow this action. If you need it for your work, ask a data manager."
)
NOT_FOUND = "Page not found"
NOT_FOUND_WHY = "This page does not exist, or it belongs to a site you do not have access to."
HOME_LINK = f'href="{reverse("home")}"'


@pytest.fixture(autouse=True)
def production(settings):
    """Django shows its error templates only when DEBUG is off (404 has a debug page)."""
    settings.DEBUG = False


@pytest.fixture
def monitor(site_b):
    return UserFactory(username="monitor", role="Monitor", sites=[site_b])


def main_content(page: str) -> str:
    """Return the page's <main> element: what it says, without the layout around it."""
    match = re.search(r"<main\b.*?</main>", page, re.DOTALL)
    assert match is not None, "the page has no <main>"
    return match.group(0)


@pytest.mark.parametrize("method", ["get", "post"])
def test_monitor_opening_the_visit_entry_form_gets_the_friendly_403(
    client, monitor, participant_a, method
):
    visit = record_visit(participant_a, "BL", date(2026, 2, 2))
    client.force_login(monitor)

    response = getattr(client, method)(reverse("visit_entry", args=[visit.pk]))

    assert response.status_code == 403
    page = response.content.decode()
    assert NO_ACCESS in page
    assert NO_ACCESS_WHY in page
    assert HOME_LINK in main_content(page)
    assert "monitor" in page  # the site's layout, with the user's name in the menu
    assert "403 Forbidden" not in page


def test_the_403_page_does_not_show_the_exception_message(monitor):
    request = RequestFactory().get("/visits/1/entry/")
    request.user = monitor

    response = defaults.permission_denied(request, PermissionDenied("needs change_visit at S02"))

    assert response.status_code == 403
    page = response.content.decode()
    assert NO_ACCESS in page
    assert "change_visit" not in page


@pytest.mark.parametrize("name", ["participant_detail", "participant_edit", "visit_create"])
def test_coordinator_guessing_another_sites_participant_gets_the_friendly_404(
    client, coordinator_a, participant_b, name
):
    record_visit(participant_b, "BL", date(2026, 2, 2))
    client.force_login(coordinator_a)

    response = client.get(reverse(name, args=[participant_b.pk]))

    assert response.status_code == 404
    page = response.content.decode()
    assert NOT_FOUND in page
    assert NOT_FOUND_WHY in page
    assert HOME_LINK in main_content(page)
    for other_site in (participant_b.participant_id, "S02", "Site two", "No Participant matches"):
        assert other_site not in page


def test_another_sites_visit_looks_exactly_like_one_that_does_not_exist(
    client, coordinator_a, participant_b
):
    visit = record_visit(participant_b, "BL", date(2026, 2, 2))
    client.force_login(coordinator_a)

    other_site = client.get(reverse("visit_detail", args=[visit.pk]))
    missing = client.get(reverse("visit_detail", args=[visit.pk + 1000]))

    assert other_site.status_code == missing.status_code == 404
    assert main_content(other_site.content.decode()) == main_content(missing.content.decode())
    assert NOT_FOUND_WHY in main_content(other_site.content.decode())


def test_unknown_address_gets_the_friendly_404(client, coordinator_a):
    client.force_login(coordinator_a)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert NOT_FOUND in page
    assert "/no-such-page/" not in main_content(page)


def test_unknown_address_gets_the_404_page_before_login_too(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()


def test_admin_still_works_and_its_404_is_the_sites(superuser_client):
    assert superuser_client.get(reverse("admin:index")).status_code == 200

    response = superuser_client.get("/admin/trialsite/no-such-model/")

    assert response.status_code == 404
    assert NOT_FOUND in response.content.decode()


def test_the_404_page_does_not_show_the_exception_message(coordinator_a):
    request = RequestFactory().get("/participants/99/")
    request.user = coordinator_a

    response = defaults.page_not_found(request, Http404("No Participant matches S02-001"))

    assert "S02-001" not in response.content.decode()


def test_error_pages_speak_the_users_language(client, monitor, participant_a, settings):
    visit = record_visit(participant_a, "BL", date(2026, 2, 2))
    client.force_login(monitor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    forbidden = client.get(reverse("visit_entry", args=[visit.pk])).content.decode()
    not_found = client.get("/no-such-page/").content.decode()

    assert "您无权访问此页面" in forbidden
    assert NO_ACCESS not in forbidden
    assert "页面不存在" in not_found


def test_bad_request_gets_the_friendly_400(client, db):
    response = client.get(reverse("login"), headers={"host": "not-our-site.example"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The request could not be read" in page
    assert HOME_LINK in main_content(page)


def test_the_500_page_renders_without_a_request_or_context():
    # Django renders 500.html with no context at all: no request, no user, no messages.
    page = render_to_string("500.html")

    assert "Something went wrong" in page
    assert "tell a data manager" in page
    assert HOME_LINK in main_content(page)


def test_server_error_handler_uses_the_500_page():
    response = defaults.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_a_form_posted_without_its_security_token_says_nothing_was_saved(
    coordinator_a, participant_a
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator_a)

    response = browser.post(reverse("visit_create", args=[participant_a.pk]), {})

    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page
    assert "Nothing was saved." in page
    assert 'href="/"' in page  # in the site's layout, with the way back Home
