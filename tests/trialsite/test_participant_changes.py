"""A participant's changes page (their part of the audit trail, newest or oldest first, a page
at a time) and the pages of a visit's changes. Who may open it: tests/trialsite/test_access.py
(a participant's page)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import ALL_E, NONE_PRESENT, ParticipantFactory, UserFactory, record_visit
from tests.pages import page_text
from tests.trialsite.test_audit_export import at, enrol_s01_001
from trialsite import services
from trialsite.models import Participant, Visit


def correct_pga(visit: Visit, pga: str, reason: str, user) -> None:
    services.visit_save_assessments(
        visit=visit,
        sledai=NONE_PRESENT,
        pga=Decimal(pga),
        bilag=ALL_E,
        author=user,
        reason=reason,
    )


def table_rows(response) -> list[list[str]]:
    """The changes table's rows, each as its cells' text (tags dropped, spaces joined)."""
    body = page_text(response).split('id="participant-changes"', 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return rows


@pytest.fixture
def s01_001(study):
    """S01-001, enrolled, with a baseline visit entered and its PGA corrected once, on three
    days (the history of tests/trialsite/test_audit_export.py's exact rows)."""
    coordinator = UserFactory(username="coord", role="Coordinator")
    with at("2026-02-01T01:30:00"):
        participant = enrol_s01_001(study, coordinator)
    with at("2026-02-02T02:00:00"):
        visit = record_visit(
            participant, "BL", date(2026, 1, 20), pga="1.00", user=coordinator, reason="Entered"
        )
    with at("2026-02-03T09:15:00"):
        correct_pga(visit, "1.50", "Transcription error", coordinator)
    return participant


def test_the_page_lists_every_change_of_the_participant_newest_first(client, monitor, s01_001):
    client.force_login(monitor)

    rows = table_rows(client.get(reverse("participant_changes", args=[s01_001.pk])))

    # When (Asia/Shanghai: UTC+8), who, visit, what, changes, reason. Rows of one save share
    # its time; newest first, they come in the reverse of the export's order.
    assert rows == [
        [
            "2026-02-03 17:15",
            "coord",
            "BL 2026-01-20",
            "PGA changed",
            "PGA: 1.00 &rarr; 1.50",
            "Transcription error",
        ],
        ["2026-02-02 10:00", "coord", "BL 2026-01-20", "BILAG-2004 entered", "", "Entered"],
        ["2026-02-02 10:00", "coord", "BL 2026-01-20", "SLEDAI-2K entered", "", "Entered"],
        ["2026-02-02 10:00", "coord", "BL 2026-01-20", "PGA entered", "", "Entered"],
        [
            "2026-02-02 10:00",
            "coord",
            "BL 2026-01-20",
            "visit changed",
            "data entry: in progress &rarr; complete",
            "Entered",
        ],
        ["2026-02-02 10:00", "coord", "BL 2026-01-20", "visit entered", "", "Entered"],
        ["2026-02-01 09:30", "coord", "", "participant entered", "", "Consent signed"],
    ]


def test_no_other_participants_change_is_shown(client, monitor, s01_001, site_b):
    other_here = enrol_s01_001(s01_001.study, None, participant_id="S01-002")
    elsewhere = ParticipantFactory(study=s01_001.study, site=site_b, participant_id="S02-001")
    for participant in (other_here, elsewhere):
        visit = record_visit(participant, "BL", date(2026, 1, 21), user=None, reason="Theirs")
        correct_pga(visit, "2.00", "Theirs corrected", None)
    client.force_login(monitor)

    rows = table_rows(client.get(reverse("participant_changes", args=[s01_001.pk])))

    assert len(rows) == 7
    assert {row[5] for row in rows} == {"Transcription error", "Entered", "Consent signed"}


def test_sorted_by_when_the_oldest_come_first(client, monitor, s01_001):
    client.force_login(monitor)
    url = reverse("participant_changes", args=[s01_001.pk])
    page = page_text(client.get(url))
    assert 'aria-sort="descending"' in page
    assert 'href="?sort=when"' in page

    rows = table_rows(client.get(url, {"sort": "when"}))

    assert [row[3] for row in rows][:2] == ["participant entered", "visit entered"]
    assert rows[-1][3] == "PGA changed"
    assert 'aria-sort="ascending"' in page_text(client.get(url, {"sort": "when"}))


def test_a_long_trail_comes_a_page_at_a_time(client, monitor, s01_001):
    visit = Visit.objects.get()
    for n in range(30):  # 30 corrections: 37 changes in all
        correct_pga(visit, f"{1 + n % 2}.00" if n % 2 else "1.75", f"Correction {n}", None)
    client.force_login(monitor)
    url = reverse("participant_changes", args=[s01_001.pk])

    first, second = client.get(url), client.get(url, {"page": 2})

    assert "Showing 1\N{EN DASH}30 of 37" in page_text(first)
    assert [row[5] for row in table_rows(first)][:2] == ["Correction 29", "Correction 28"]
    assert "Showing 31\N{EN DASH}37 of 37" in page_text(second)
    assert table_rows(second)[-1][3] == "participant entered"


def test_the_query_count_does_not_grow_with_the_trail(
    client, monitor, s01_001, django_assert_max_num_queries
):
    visit = Visit.objects.get()
    client.force_login(monitor)
    url = reverse("participant_changes", args=[s01_001.pk])
    for corrections in (2, 40):
        for n in range(corrections):
            correct_pga(visit, "2.00" if n % 2 else "2.50", f"Correction {n}", None)
        # The session, the user, their second factor and rights (5), the menu's open queries,
        # the participant, a query per kind of record, one per kind with versions that have a
        # previous version (read by id; the PGA's and the visit's here) and the names of the
        # visits and participants (each read as they are now and as deleted).
        with django_assert_max_num_queries(36):
            assert client.get(url).status_code == 200


def test_a_deleted_visit_stays_in_the_participants_changes(client, monitor, s01_001):
    with at("2026-02-04T03:00:00"):
        services.visit_delete(visit=Visit.objects.get(), author=None, reason="Wrong participant")
    client.force_login(monitor)

    rows = table_rows(client.get(reverse("participant_changes", args=[s01_001.pk])))

    deleted = [row[2:4] + row[5:] for row in rows if row[0] == "2026-02-04 11:00"]
    assert ["BL 2026-01-20", "visit deleted", "Wrong participant"] in deleted
    assert ["BL 2026-01-20", "PGA deleted", "Wrong participant"] in deleted


def test_the_participant_page_links_its_changes(client, monitor, s01_001):
    client.force_login(monitor)
    page = page_text(client.get(reverse("participant_detail", args=[s01_001.pk])))
    assert f'href="{reverse("participant_changes", args=[s01_001.pk])}"' in page


def test_a_visits_changes_come_a_page_at_a_time_and_link_the_participants(client, monitor, s01_001):
    visit = Visit.objects.get()
    for n in range(30):
        correct_pga(visit, "2.00" if n % 2 else "2.50", f"Correction {n}", None)
    client.force_login(monitor)
    url = reverse("visit_detail", args=[visit.pk])

    first, second = page_text(client.get(url)), page_text(client.get(url, {"page": 2}))

    # Six changes of the visit's entry and its correction, then 30 more: 36 in all.
    assert "Showing 1\N{EN DASH}30 of 36" in first
    assert 'href="?page=2#changes"' in first
    assert "Showing 31\N{EN DASH}36 of 36" in second
    assert "Transcription error" in second
    assert "Correction 0" not in second
    participant_changes = reverse("participant_changes", args=[s01_001.pk])
    assert f'href="{participant_changes}">Every change of S01-001</a>' in first


def test_another_sites_participant_is_not_found(client, s01_001, site_b):
    client.force_login(UserFactory(username="coord_b", role="Coordinator", sites=[site_b]))
    url = reverse("participant_changes", args=[s01_001.pk])
    assert client.get(url).status_code == 404
    assert Participant.objects.filter(pk=s01_001.pk).exists()
