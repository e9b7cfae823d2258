"""Admins manage studies, the schedule, sites, users and their sites; each change has a reason."""

from datetime import date

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import SiteFactory, UserFactory
from tests.pages import opened_version
from trialsite import services
from trialsite.models import Site, SiteMembership

REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)


@pytest.fixture
def superuser_client(client, participant_a, study):
    services.visit_create(
        participant=participant_a,
        visit_definition=study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test data",
    )
    SiteFactory(code="S02")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(("app_label", "model_name"), REGISTERED)
def test_every_admin_list_and_add_page_opens(superuser_client, app_label, model_name):
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")
    assert superuser_client.get(changelist).status_code == 200
    assert superuser_client.get(changelist, {"q": "S01"}).status_code == 200
    assert superuser_client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code in (
        200,
        403,
    )


def test_admin_change_records_the_reason_and_author(superuser_client):
    site = Site.objects.get(code="S01")
    url = reverse("admin:trialsite_site_change", args=[site.pk])
    response = superuser_client.post(
        url,
        {
            "code": "S01",
            "name_en": "Renamed hospital",
            "name_zh_hans": "",
            "change_reason": "Hospital merged",
            "opened_version": opened_version(superuser_client, url),
        },
    )
    assert response.status_code == 302, response.content.decode()
    record = site.history.latest("history_date")
    assert record.name == "Renamed hospital"
    assert record.history_change_reason == "Hospital merged"
    assert record.history_user.username == "root"


def test_admin_change_without_reason_is_refused(superuser_client):
    site = Site.objects.get(code="S01")
    response = superuser_client.post(
        reverse("admin:trialsite_site_change", args=[site.pk]),
        {"code": "S01", "name_en": "Renamed hospital", "change_reason": ""},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    site.refresh_from_db()
    assert site.name != "Renamed hospital"


def test_admin_adds_a_user_to_a_site(superuser_client):
    user = UserFactory(username="newcoord", role="Coordinator")
    site = Site.objects.get(code="S02")
    response = superuser_client.post(
        reverse("admin:trialsite_sitemembership_add"),
        {"user": user.pk, "site": site.pk, "change_reason": "New coordinator at S02"},
    )
    assert response.status_code == 302, response.content.decode()
    assert SiteMembership.objects.filter(user=user, site=site).exists()


def test_admin_deletion_asks_why_and_keeps_the_reason(superuser_client):
    user = UserFactory(username="leaver", role="Coordinator")
    membership = SiteMembership.objects.create(user=user, site=Site.objects.get(code="S02"))
    url = reverse("admin:trialsite_sitemembership_delete", args=[membership.pk])
    assert 'name="delete_reason"' in superuser_client.get(url).content.decode()

    refused = superuser_client.post(url, {"post": "yes", "delete_reason": "  "}, follow=True)

    assert "Every change needs a reason." in refused.content.decode()
    assert SiteMembership.objects.filter(pk=membership.pk).exists()

    response = superuser_client.post(url, {"post": "yes", "delete_reason": "Left the hospital"})

    assert response.status_code == 302
    assert not SiteMembership.objects.filter(pk=membership.pk).exists()
    deleted = SiteMembership.history.get(id=membership.pk, history_type="-")
    assert deleted.history_change_reason == "Left the hospital"
    assert deleted.history_user.username == "root"
