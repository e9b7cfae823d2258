"""The safety report page (reports/safety/): sentences and tables against hand counts, filters,
the data cut, site boundaries, CSV downloads, the printed report and query budgets."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from safety.exports import SAFETY_COLUMNS, SAFETY_SUMMARY_COLUMNS
from tests.factories import SiteFactory, UserFactory
from tests.safety.test_selectors import (
    CUT,
    eleven_infused,
    participant,
    record_crs,
    record_icans,
)

URL = reverse("report_safety")
AS_OF = {"as_of": CUT.isoformat()}


def page_text(client, params=None) -> str:
    response = client.get(URL, params or {})
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def two_sites(study):
    """S01: S01-001 (CRS 2 then 4 after the cut; ICANS 1, resolved after the cut), S01-002 (no
    episode), S01-003 (not infused). S02: S02-001 (CRS 3, dose 30000 cells/kg)."""
    first = participant(study, "S01-001")
    record_crs(first, date(2025, 3, 4), 2, date(2025, 3, 6))
    record_icans(first, date(2025, 3, 8), 1, date(2025, 4, 2))
    record_crs(first, date(2025, 4, 10), 4)
    participant(study, "S01-002")
    participant(study, "S01-003", infused=None)
    other = participant(study, "S02-001", site="S02", dose=30_000, infused=date(2025, 3, 10))
    record_crs(other, date(2025, 3, 11), 3, date(2025, 3, 14))


@pytest.fixture
def data_manager_client(client, db):
    client.force_login(UserFactory(username="dm_safety", role="Data manager"))
    return client


@pytest.fixture
def coordinator_client(client, db):
    client.force_login(
        UserFactory(username="coord_safety", role="Coordinator", sites=[SiteFactory(code="S01")])
    )
    return client


def test_the_page_states_the_worst_grades_of_the_infused(data_manager_client, study):
    eleven_infused(study)
    page = page_text(data_manager_client, AS_OF)
    assert "Grade 1 CRS in 9 of 11 infused participants (81.8%)" in page
    assert "Grade 3 CRS in 1 of 11 infused participants (9.1%)" in page
    assert "Grade 2 ICANS in 2 of 11 infused participants (18.2%)" in page
    assert "11 participants infused on or before the data cut." in page


def test_the_tables_show_counts_timing_and_each_participant(data_manager_client, two_sites):
    page = page_text(data_manager_client, AS_OF)
    # Three infused by 2025-03-31: CRS worst 2 (S01-001), 0 (S01-002), 3 (S02-001); ICANS
    # worst 1 (S01-001), 0 for the other two.
    assert "Grade 2 CRS in 1 of 3 infused participants (33.3%)" in page
    assert "Grade 3 CRS in 1 of 3 infused participants (33.3%)" in page
    assert "Grade 1 ICANS in 1 of 3 infused participants (33.3%)" in page
    assert (
        "1 participant enrolled on or before the data cut but not infused is not counted." in page
    )
    grade_0 = page.split('<tr data-grade="0">')[1].split("</tr>")[0]
    assert '>1</td><td class="text-end">33.3%</td>' in grade_0  # CRS: S01-002
    assert '>2</td><td class="text-end">66.7%</td>' in grade_0  # ICANS: S01-002, S02-001
    # CRS onsets: day 1 (S01-001) and day 1 (S02-001, 03-11 after 03-10), 3 and 4 days.
    crs_timing = page.split('<tr data-kind="crs">')[1].split("</tr>")[0]
    assert "1 (1\N{EN DASH}1)" in crs_timing
    assert "3.5 (3\N{EN DASH}4)" in crs_timing
    first = page.split('<tr data-participant="S01-001">')[1].split("</tr>")[0]
    assert "CRS grade 2, day 1, 3 days; ICANS grade 1, day 5, ongoing" in first
    assert "1 \N{MULTIPLICATION SIGN} 10<sup>5</sup>" in first
    assert "grade 4" not in first  # after the cut
    assert "no episode" in page.split('<tr data-participant="S01-002">')[1].split("</tr>")[0]
    assert "S01-003" not in page


def test_a_coordinator_sees_only_their_sites_in_the_page_and_downloads(
    coordinator_client, two_sites
):
    for params in [AS_OF, {**AS_OF, "site": "S02"}]:
        page = page_text(coordinator_client, params)
        assert "S02-001" not in page
        assert "S02" not in page.split('id="participant-table"')[1]
        # S01 alone: S01-001 (CRS 2) and S01-002 (none) infused.
        assert "Grade 2 CRS in 1 of 2 infused participants (50.0%)" in page
        assert "Grade 3 CRS" not in page
        for table in ("safety", "safety_summary"):
            response = coordinator_client.get(URL, {**params, "format": "csv", "table": table})
            assert "S02" not in response.content.decode()
    summary = csv_rows(
        coordinator_client.get(URL, {**AS_OF, "format": "csv", "table": "safety_summary"})
    )
    assert summary[1:4] == [
        ["crs", "0", "1", "2", "50.0"],
        ["crs", "1", "0", "2", "0.0"],
        ["crs", "2", "1", "2", "50.0"],
    ]


def test_the_downloads_are_the_exports_of_the_filtered_set(data_manager_client, two_sites):
    response = data_manager_client.get(URL, {**AS_OF, "format": "csv", "table": "safety"})
    assert response["Content-Disposition"] == f'attachment; filename="safety_all_{CUT}.csv"'
    assert csv_rows(response) == [
        list(SAFETY_COLUMNS),
        ["S01-001", "S01", "crs", "2025-03-04", "1", "2025-03-06", "3", "2"],
        ["S01-001", "S01", "icans", "2025-03-08", "5", "", "", "1"],
        ["S02-001", "S02", "crs", "2025-03-11", "1", "2025-03-14", "4", "3"],
    ]
    response = data_manager_client.get(
        URL, {**AS_OF, "dose": "30000", "format": "csv", "table": "safety_summary"}
    )
    name = f"safety_summary_all_dose30000_{CUT}.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    rows = csv_rows(response)
    assert tuple(rows[0]) == SAFETY_SUMMARY_COLUMNS
    # Dose 30000 cells/kg: S02-001 alone, worst CRS 3.
    assert rows[4] == ["crs", "3", "1", "1", "100.0"]
    assert rows[7] == ["icans", "0", "1", "1", "100.0"]
    page = page_text(data_manager_client, {**AS_OF, "site": "S01"})
    download = "?site=S01&amp;as_of=2025-03-31&amp;format=csv&amp;table=safety"
    assert f'href="{URL}{download}"' in page
    assert "table=safety_summary" in page


def test_the_printed_report_names_the_data_cut_and_the_filters(data_manager_client, two_sites):
    page = page_text(data_manager_client, {**AS_OF, "site": "S01", "sex": "F"})
    assert "Data cut: 2025-03-31; Site: S01; Dose level: all; Sex: Female; Age band: all" in page
    assert "Endpoint:" not in page.split('class="report-filters-in-force"')[1].split("</span>")[0]
    assert "data-print" in page
    # The tabs, the filters and the download buttons are left off the printed page.
    assert 'class="report-tabs no-print' in page
    assert 'class="report-filters no-print' in page
    assert 'class="btn btn-sm btn-outline-primary no-print"' in page
    assert "latest result computed" in page  # the episodes' last save


def test_the_page_is_a_tab_of_the_reports(data_manager_client, two_sites):
    page = page_text(data_manager_client, AS_OF)
    assert f'active" aria-current="page" href="{URL}?as_of=2025-03-31"' in page
    summary = data_manager_client.get(reverse("cohort_summary"), AS_OF).content.decode()
    assert f'href="{URL}?as_of=2025-03-31"' in summary


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-13-01", "The data cut &quot;2025-13-01&quot; is not a date: write it YYYY-MM-DD"),
        ("2999-01-01", "The data cut 2999-01-01 is after today"),
    ],
)
def test_a_bad_data_cut_is_refused_with_a_message(data_manager_client, two_sites, value, message):
    for params in [{}, {"format": "csv", "table": "safety"}]:
        response = data_manager_client.get(URL, {**params, "as_of": value})
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page
        assert "S01-001" not in page
        assert 'id="safety-sentences"' not in page


def test_a_cut_before_every_episode_shows_no_crs(data_manager_client, two_sites):
    page = page_text(data_manager_client, {"as_of": "2025-03-03"})
    # Only S01-001 and S01-002 are infused by 2025-03-03, neither has an episode yet.
    assert "No CRS in 2 infused participants" in page
    assert "No ICANS in 2 infused participants" in page


def test_a_user_without_a_role_may_not_see_the_report(client, two_sites):
    client.force_login(UserFactory(username="no_role", sites=[SiteFactory(code="S01")]))
    assert client.get(URL).status_code == 403


#: Per request (9): the session, the user, their second-factor device, their own and their
#: roles' permissions, the top bar's count of monitor queries awaiting them, and the session
#: save (3). The page (8): the study, the sites, the doses, the schedule (for the filters), the
#: participants, their CRS and their ICANS episodes, and the latest change of an episode. The B
#: cells (2): the infused participants, then their counts. The adverse events by term and grade
#: (1).
SAFETY_QUERY_BUDGET = 20


@pytest.mark.parametrize("size", [2, 12])
def test_report_queries_do_not_grow_with_the_cohort(
    data_manager_client, study, size, django_assert_max_num_queries
):
    for n in range(size):
        person = participant(study, f"S01-{n:03d}", site="S01" if n % 2 else "S02")
        record_crs(person, date(2025, 3, 5), n % 5, date(2025, 3, 7))
        record_icans(person, date(2025, 3, 6), n % 4)
    for params in [
        AS_OF,
        {**AS_OF, "site": "S01"},
        {**AS_OF, "format": "csv", "table": "safety"},
        {**AS_OF, "format": "csv", "table": "safety_summary"},
    ]:
        with django_assert_max_num_queries(SAFETY_QUERY_BUDGET, info=str(params)):
            assert data_manager_client.get(URL, params).status_code == 200


def test_the_participant_tables_turn_pages_together_and_the_counts_keep_everyone(
    data_manager_client, two_sites, monkeypatch
):
    monkeypatch.setattr("safety.report_views.PARTICIPANTS_PER_PAGE", 2)
    # The three infused by the cut, by ID: S01-001 and S01-002 on page 1, S02-001 on page 2.
    pages = [page_text(data_manager_client, {**AS_OF, "page": number}) for number in (1, 2)]

    def listed(page: str, table: str) -> list[str]:
        body = page.split(f'id="{table}"')[1].split("</table>")[0]
        return [row.split('"')[0] for row in body.split('<tr data-participant="')[1:]]

    for table in ("participant-table", "b-cell-table"):
        assert listed(pages[0], table) == ["S01-001", "S01-002"]
        assert listed(pages[1], table) == ["S02-001"]
    assert pages[0].count("Showing 1\N{EN DASH}2 of 3") == 2  # under each table
    assert pages[1].count("Showing 3\N{EN DASH}3 of 3") == 2
    for page in pages:
        assert "Grade 3 CRS in 1 of 3 infused participants (33.3%)" in page
    # Each table's links open the next page at that table.
    assert 'href="?as_of=2025-03-31&amp;page=2#participants"' in pages[0]
    assert 'href="?as_of=2025-03-31&amp;page=2#b-cells"' in pages[0]
    assert 'id="participants"' in pages[0]
    assert 'id="b-cells"' in pages[0]
