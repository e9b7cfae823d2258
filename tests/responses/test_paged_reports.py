"""The report lists page by page (trialsite.pagination, 50 participants a page): the response
matrix, sorted by participant, site, dose or infusion date (the right participants on page 2 in
each order, bad page and sort parameters falling back, the CSV download whole; its number of
queries: test_matrix_queries.py), and the summary's list of the primary visit."""

import csv
import io
import re

import pytest
from django.db import transaction
from django.urls import reverse

from responses.selectors.matrix import MATRIX_PAGE_SIZE
from tests.factories import UserFactory, build_cohort
from tests.responses.cohorts import MATRIX_AS_OF as AS_OF
from tests.responses.cohorts import MATRIX_COHORT, MATRIX_SIZE
from trialsite.models import Study


@pytest.fixture(scope="module")
def matrix_cohort(django_db_setup, django_db_blocker):
    """Build the cohort once for this module; each test still runs in its own rolled-back
    block."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_cohort(Study.objects.get(), MATRIX_COHORT)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def data_manager_client(matrix_cohort, db, client):
    client.force_login(UserFactory(username="dm_matrix", role="Data manager"))
    return client


def shown_ids(client, **params: str) -> list[str]:
    response = client.get(reverse("report_matrix"), {"as_of": AS_OF.isoformat(), **params})
    assert response.status_code == 200
    page = response.content.decode()
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', body)


def sorted_ids(key: str) -> list[str]:
    """The order the matrix promises: by the column, then by participant ID (both reversed
    for a descending sort), an empty dose or infusion date last either way."""
    descending = key.startswith("-")
    column = key.removeprefix("-")

    def value(participant_id: str) -> object:
        row = MATRIX_COHORT[participant_id]
        return {
            "participant": participant_id,
            "site": row.site,
            "dose": row.dose,
            "infusion": row.infused,
        }[column]

    known = [pid for pid in MATRIX_COHORT if value(pid) is not None]
    empty = [pid for pid in MATRIX_COHORT if value(pid) is None]
    known.sort(key=lambda pid: (value(pid), pid), reverse=descending)
    empty.sort(reverse=descending)
    return known + empty


def test_the_matrix_shows_50_participants_a_page(data_manager_client):
    assert MATRIX_PAGE_SIZE == 50
    first = shown_ids(data_manager_client)
    assert first == sorted(MATRIX_COHORT)[:50]
    assert shown_ids(data_manager_client, page="2") == sorted(MATRIX_COHORT)[50:]
    page = data_manager_client.get(reverse("report_matrix"), {"as_of": AS_OF.isoformat()})
    assert f"{MATRIX_SIZE} participants" in page.content.decode()
    assert f"Showing 1\N{EN DASH}50 of {MATRIX_SIZE}" in page.content.decode()


@pytest.mark.parametrize(
    "sort",
    ["participant", "-participant", "site", "-site", "dose", "-dose", "infusion", "-infusion"],
)
def test_page_2_holds_the_next_participants_in_each_sort(data_manager_client, sort):
    expected = sorted_ids(sort)
    assert shown_ids(data_manager_client, sort=sort) == expected[:50]
    assert shown_ids(data_manager_client, sort=sort, page="2") == expected[50:]


def test_the_sorted_column_says_so_and_its_link_reverses_the_sort(data_manager_client):
    page = data_manager_client.get(
        reverse("report_matrix"), {"as_of": AS_OF.isoformat(), "sort": "dose", "page": "2"}
    ).content.decode()
    head = page[page.index("<thead>") : page.index("</thead>")]
    assert head.count('aria-sort="ascending"') == 1
    dose_head = re.search(r'<th scope="col" aria-sort="ascending"><a [^>]*href="([^"]+)"', head)
    assert dose_head is not None
    # The link keeps the data cut, reverses the sort and goes back to the first page.
    assert dose_head.group(1) == f"?as_of={AS_OF.isoformat()}&amp;sort=-dose"
    # Applying other filters keeps the sort.
    assert '<input type="hidden" name="sort" value="dose">' in page


@pytest.mark.parametrize(
    ("params", "expected_page"),
    [
        pytest.param({"page": "abc"}, 1, id="page-not-a-number"),
        pytest.param({"page": "²"}, 1, id="page-a-superscript-digit"),
        pytest.param({"page": "0"}, 2, id="page-0-the-last"),
        pytest.param({"page": "-1"}, 2, id="page-negative-the-last"),
        pytest.param({"page": "999"}, 2, id="page-past-the-end-the-last"),
        pytest.param({"sort": "age"}, 1, id="sort-unknown"),
        pytest.param({"sort": "--dose", "page": "2"}, 2, id="sort-doubly-descending"),
        pytest.param({"sort": "", "page": ""}, 1, id="both-empty"),
    ],
)
def test_bad_page_and_sort_parameters_fall_back(data_manager_client, params, expected_page):
    # The default sort (by participant ID), on the first page, or the last for a number out
    # of range; never an error.
    by_id = sorted(MATRIX_COHORT)
    expected = by_id[:50] if expected_page == 1 else by_id[50:]
    assert shown_ids(data_manager_client, **params) == expected


def test_the_csv_download_holds_every_participant_whatever_the_page(data_manager_client):
    response = data_manager_client.get(
        reverse("report_matrix"),
        {"as_of": AS_OF.isoformat(), "format": "csv", "page": "2", "sort": "-site"},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    infused = [pid for pid, row in MATRIX_COHORT.items() if row.infused is not None]
    assert len(infused) > MATRIX_PAGE_SIZE
    # Month 3, the one follow-up visit of each infused participant, by participant ID.
    assert [(row[0], row[2]) for row in rows] == [(pid, "M3") for pid in sorted(infused)]


def test_the_summary_lists_the_primary_visit_50_participants_a_page(data_manager_client):
    # Each infused child came to Month 3, the primary visit, and responded: baseline SLEDAI-2K
    # 8, Month 3 rash alone (2), a fall of 6; PGA 2.00 -> 1.00; renal B -> D.
    reached = sorted(pid for pid, row in MATRIX_COHORT.items() if row.infused is not None)
    assert len(reached) > 50

    def summary(**params: str) -> tuple[str, list[str]]:
        page = data_manager_client.get(
            reverse("cohort_summary"), {"as_of": AS_OF.isoformat(), **params}
        ).content.decode()
        section = page[page.index('id="primary-results"') : page.index("</details>")]
        ids = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', section)
        return page, ids

    page, listed = summary()
    assert listed == reached[:50]
    assert f"Showing 1\N{EN DASH}50 of {len(reached)}" in page
    assert '<details class="mb-3" id="primary-results">' in page  # closed on the first visit
    page, listed = summary(page="2")
    assert listed == reached[50:]
    assert '<details class="mb-3" id="primary-results" open>' in page
    # The headline counts everyone who reached Month 3, whatever the page of the list.
    n = len(reached)
    assert f"{n} of {n} participants with follow-up reaching Month 3 achieved SRI-4" in page
