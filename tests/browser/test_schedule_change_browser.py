"""An administrator moves a visit of the schedule in admin, in a study with a participant: admin
opens the change's page, which waits for the worker (the database backend, as in production),
follows the rescoring with its polling script under the strict Content-Security-Policy, and
says when the change is applied. Screenshots on a desktop and on a phone go to test-artifacts/."""

from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from jobs.models import ChangeState, ScheduleChange
from jobs.progress import PROGRESS_DATABASE
from responses.models import EndpointResult
from tests.browser.conftest import log_in, run_worker_after_a_poll, screenshots
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite import services
from trialsite.models import Study, VisitDefinition

DATABASES = ["default", *([PROGRESS_DATABASE] if PROGRESS_DATABASE in settings.DATABASES else [])]
pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)

REASON = "Protocol amendment 4: screening after baseline"


def test_an_administrator_changes_the_schedule_and_follows_the_rescoring(
    page: Page, reference_data, settings, polls: list[str], violations: list[str]
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=root, name="Phone", confirmed=True)
    study = Study.objects.get()
    screening = VisitDefinition.objects.get(study=study, code="SCR")
    # Before BL in the schedule, the screening visit has no SRI result; after it, with no
    # baseline visit, its SRI-4 is "no baseline visit" (clinical-rules.md section 4).
    visit = services.visit_create(
        participant=ParticipantFactory(study=study, site=SiteFactory(code="S01")),
        visit_definition=screening,
        visit_date=date(2026, 1, 12),
        author=None,
        reason="r",
    )

    log_in(page, "root")
    page.goto(reverse("admin:trialsite_visitdefinition_change", args=[screening.pk]))
    page.get_by_label("Order").fill("50")
    page.get_by_label("Reason for this change").fill(REASON)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="Change of SCR Screening")).to_be_visible()
    expect(page.get_by_text("The change of SCR Screening is saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Waiting to be applied…")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_be_visible()
    screenshots(page, "schedule-change-waiting")
    assert VisitDefinition.objects.get(pk=screening.pk).order == 1
    assert not EndpointResult.objects.filter(visit=visit).exists()

    run_worker_after_a_poll(page)

    expect(page.locator("#change-state")).to_have_text("Applied")
    expect(page.locator("#done-line")).to_contain_text("1 participant rescored.")
    screenshots(page, "schedule-change-applied")
    assert ScheduleChange.objects.get().state == ChangeState.DONE
    assert VisitDefinition.objects.get(pk=screening.pk).order == 50
    assert EndpointResult.objects.get(visit=visit, endpoint="sri4").reason == "no baseline visit"
    assert len(polls) >= 1
    assert violations == []
