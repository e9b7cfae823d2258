"""Site and visit names in English and Simplified Chinese (trialsite/translation.py): pages show
the reader's language, an empty Chinese name shows the English one, admin edits both side by
side with the reason and author audited, and the English name is only ever written by name."""

from datetime import date
from html import escape

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import translation

from tests.factories import ParticipantFactory, SiteFactory, UserFactory, record_visit
from tests.pages import opened_version, page_text
from tests.trialsite.test_audit_export import download
from trialsite import services
from trialsite.models import Site, VisitDefinition

EASTERN = "Eastern Children's Hospital"
EASTERN_ZH = "东部儿童医院"


@pytest.fixture
def eastern(db):
    site = SiteFactory(code="S01", name=EASTERN)
    site.name_zh_hans = EASTERN_ZH
    services.save_with_audit(site, author=None, reason="Chinese name")
    return site


@pytest.fixture
def month_3_visit(study, eastern):
    participant = ParticipantFactory(study=study, site=eastern, participant_id="S01-001")
    return record_visit(participant, "M3", date(2026, 5, 1))


@pytest.fixture
def coordinator_client(client, eastern):
    client.force_login(UserFactory(username="coord", role="Coordinator", sites=[eastern]))
    return client


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def name_column(model, pk):
    """The name column as stored (the ORM reads ``name`` in the active language)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_default_schedule_has_its_chinese_names(study):
    # The names of migration 0002 and their translations (migration 0018).
    expected = {
        "SCR": ("Screening", "筛选"),
        "BL": (
            "Baseline (before lymphodepletion)",
            "基线\N{FULLWIDTH LEFT PARENTHESIS}清淋预处理前\N{FULLWIDTH RIGHT PARENTHESIS}",
        ),
        "D0": ("Infusion", "输注"),
        "D7": ("Day 7", "第7天"),
        "D14": ("Day 14", "第14天"),
        "M1": ("Month 1", "第1个月"),
        "M2": ("Month 2", "第2个月"),
        "M3": ("Month 3", "第3个月"),
        "M6": ("Month 6", "第6个月"),
        "M9": ("Month 9", "第9个月"),
        "M12": ("Month 12", "第12个月"),
        "UNS": ("Unscheduled", "计划外访视"),
    }
    names = {
        code: (en, zh)
        for code, en, zh in study.visit_definitions.values_list("code", "name_en", "name_zh_hans")
    }
    assert names == expected
    m3 = study.visit_definitions.get(code="M3")
    assert name_column(VisitDefinition, m3.pk) == "Month 3"


@pytest.mark.parametrize(
    ("language", "visit_name", "site_name", "absent"),
    [
        ("en", "Month 3", EASTERN, "第3个月"),
        ("zh-hans", "第3个月", EASTERN_ZH, "Month 3"),
    ],
)
def test_visit_and_participant_pages_show_the_names_in_the_readers_language(
    coordinator_client, month_3_visit, language, visit_name, site_name, absent
):
    client = in_language(coordinator_client, language)
    visit_page = client.get(reverse("visit_detail", args=[month_3_visit.pk])).content.decode()
    assert f"M3 {visit_name}" in visit_page
    assert absent not in visit_page
    participant_page = client.get(
        reverse("participant_detail", args=[month_3_visit.participant.pk])
    ).content.decode()
    assert visit_name in participant_page
    assert f"S01 {escape(site_name)}" in participant_page


def test_a_site_without_a_chinese_name_shows_its_english_name(db):
    site = SiteFactory(code="S05", name="Western Hospital")
    assert site.name_zh_hans in (None, "")
    with translation.override("zh-hans"):
        site = Site.objects.get(pk=site.pk)
        assert site.name == "Western Hospital"
        assert str(site) == "S05 Western Hospital"


def test_a_name_set_in_chinese_never_becomes_the_english_name(db):
    # With Chinese active, ``name`` is the Chinese name: a site given only that has no English
    # name, and is refused with the English name's field named.
    with translation.override("zh-hans"):
        site = Site(code="S06", name="西部医院")
        with pytest.raises(ValidationError) as refused:
            services.save_with_audit(site, author=None, reason="New site")
    assert "name_en" in refused.value.message_dict
    assert not Site.objects.filter(code="S06").exists()


def test_a_save_in_chinese_keeps_the_english_name_in_the_name_column_and_history(eastern):
    with translation.override("zh-hans"):
        site = Site.objects.get(pk=eastern.pk)
        site.name_zh_hans = "东部儿童医院(新院区)"
        services.save_with_audit(site, author=None, reason="New campus")
    assert name_column(Site, eastern.pk) == EASTERN
    version = eastern.history.latest("history_id")
    assert (version.name, version.name_zh_hans) == (EASTERN, "东部儿童医院(新院区)")
    assert version.history_change_reason == "New campus"


@pytest.fixture
def root_client(client, eastern):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_admin_edits_both_names_side_by_side_with_an_audited_reason(root_client, eastern, language):
    client = in_language(root_client, language)
    url = reverse("admin:trialsite_site_change", args=[eastern.pk])
    page = client.get(url).content.decode()
    assert 'name="name_en"' in page
    assert 'name="name_zh_hans"' in page
    response = client.post(
        url,
        {
            "code": "S01",
            "name_en": "Eastern Children's Medical Center",
            "name_zh_hans": "东部儿童医学中心",
            "change_reason": "Hospital renamed",
            "opened_version": opened_version(client, url),
        },
    )
    assert response.status_code == 302, response.content.decode()
    site = Site.objects.get(pk=eastern.pk)
    # Whatever the admin's language, the English field holds the English name.
    assert (site.name_en, site.name_zh_hans) == (
        "Eastern Children's Medical Center",
        "东部儿童医学中心",
    )
    assert name_column(Site, eastern.pk) == "Eastern Children's Medical Center"
    version = site.history.latest("history_id")
    assert (version.name, version.name_zh_hans) == (
        "Eastern Children's Medical Center",
        "东部儿童医学中心",
    )
    assert version.history_change_reason == "Hospital renamed"
    assert version.history_user.username == "root"


def test_admin_requires_the_english_name_but_not_the_chinese(root_client, eastern):
    url = reverse("admin:trialsite_site_change", args=[eastern.pk])
    data = {
        "code": "S01",
        "name_en": "",
        "name_zh_hans": EASTERN_ZH,
        "change_reason": "Names",
        "opened_version": opened_version(root_client, url),
    }
    response = root_client.post(url, data)
    assert response.status_code == 200
    assert Site.objects.get(pk=eastern.pk).name_en == EASTERN
    data.update(name_en=EASTERN, name_zh_hans="", opened_version=opened_version(root_client, url))
    assert root_client.post(url, data).status_code == 302
    with translation.override("zh-hans"):
        assert Site.objects.get(pk=eastern.pk).name == EASTERN


def test_the_schedule_admin_edits_a_visits_names(root_client, study):
    m3 = study.visit_definitions.get(code="M3")
    url = reverse("admin:trialsite_visitdefinition_change", args=[m3.pk])
    response = in_language(root_client, "zh-hans").post(
        url,
        {
            "study": study.pk,
            "code": "M3",
            "name_en": "Month 3 (primary)",
            "name_zh_hans": "第3个月(主要终点)",
            "order": m3.order,
            "target_day": m3.target_day,
            "window_low": m3.window_low,
            "window_high": m3.window_high,
            "change_reason": "Primary timepoint named",
            "opened_version": opened_version(root_client, url),
        },
    )
    assert response.status_code == 302, response.content.decode()
    m3.refresh_from_db()
    assert (m3.name_en, m3.name_zh_hans) == ("Month 3 (primary)", "第3个月(主要终点)")
    assert name_column(VisitDefinition, m3.pk) == "Month 3 (primary)"


def test_the_login_page_offers_the_language_and_reloads_in_it(client, db):
    login = reverse("login")
    page = client.get(login).content.decode()
    assert 'name="language"' in page
    assert f'name="next" type="hidden" value="{login}"' in page
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": login})
    assert response.status_code == 302
    assert response["Location"] == login
    assert '<h1 class="h3 mb-3">登录</h1>' in client.get(login).content.decode()


def test_the_audit_trail_shows_a_chinese_name_change_in_english_labels(client, eastern):
    site = Site.objects.get(pk=eastern.pk)
    site.name_zh_hans = "东部儿童医学中心"
    site.name_en = "Eastern Children's Medical Center"
    services.save_with_audit(site, author=None, reason="Hospital renamed")
    in_language(client, "zh-hans")
    rows = download(client, UserFactory(username="root", is_superuser=True))
    changes = {
        row["field"]: (row["old"], row["new"])
        for row in rows
        if row["record"] == "site S01" and row["reason"] == "Hospital renamed"
    }
    # Whatever the reader's language, the trail is in English: the name column is the English
    # name, and the Chinese name is labelled with its language.
    assert changes == {
        "name": (EASTERN, "Eastern Children's Medical Center"),
        "name (Simplified Chinese)": (EASTERN_ZH, "东部儿童医学中心"),
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_old_version_shows_the_names_it_had(root_client, eastern, language):
    site = Site.objects.get(pk=eastern.pk)
    site.name_en = "Eastern Children's Medical Center"
    site.name_zh_hans = "东部儿童医学中心"
    services.save_with_audit(site, author=None, reason="Hospital renamed")
    first = eastern.history.earliest("history_id")
    assert (first.instance.name_en, first.history_object.name_en) == (EASTERN, EASTERN)
    url = reverse("admin:trialsite_site_simple_history", args=[eastern.pk, first.history_id])
    page = page_text(in_language(root_client, language).get(url))
    assert f'name="name_en" value="{escape(EASTERN)}"' in page
    assert "Medical Center" not in page


@pytest.mark.parametrize(
    ("language", "entered", "absent"),
    [
        ("en", ("visit entered", "PGA entered"), "已录入"),
        ("zh-hans", ("访视 已录入", "PGA 已录入"), "entered"),
    ],
)
def test_the_visit_history_says_what_was_done_in_the_readers_language(
    coordinator_client, month_3_visit, language, entered, absent
):
    client = in_language(coordinator_client, language)
    visit_page = client.get(reverse("visit_detail", args=[month_3_visit.pk])).content.decode()
    for words in entered:
        assert f"<td>{words}</td>" in visit_page
    assert absent not in visit_page
