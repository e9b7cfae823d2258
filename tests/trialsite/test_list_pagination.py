"""The participant list and the query list come page by page, sorted by the column the user
chose (``?sort=<key>``, ``?sort=-<key>`` descending), their filters kept from page to page; a
page or sort they do not know falls back to the first page and the default sort."""

from datetime import date, timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    BL_AND_M3,
    TEST_PASSWORD,
    ParticipantFactory,
    ParticipantRow,
    build_cohort,
    record_visit,
)
from trialsite import queries, query_views, selectors, services, views
from trialsite.models import DataQuery, VisitStatus
from trialsite.pagination import paginate, query_string, sort_columns, sort_order

# --------------------------------------------------------------------------------------------
# The helpers
# --------------------------------------------------------------------------------------------

SORTS = {"id": ("participant_id", "pk"), "site": ("site__code", "-enrollment_date", "pk")}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ("id", ("participant_id", "pk"))),
        ("site", ("site", ("site__code", "-enrollment_date", "pk"))),
        ("-site", ("-site", ("-site__code", "enrollment_date", "-pk"))),
        ("-id", ("-id", ("-participant_id", "-pk"))),
        ("--id", ("id", ("participant_id", "pk"))),
        ("-", ("id", ("participant_id", "pk"))),
        ("password", ("id", ("participant_id", "pk"))),
    ],
    ids=lambda value: repr(value),
)
def test_sort_order_reads_the_key_and_reverses_every_field_when_descending(sort, expected):
    request = RequestFactory().get("/", {"sort": sort})
    assert sort_order(request, SORTS, "id") == expected


def test_sort_columns_link_to_the_other_direction_and_keep_the_filters():
    request = RequestFactory().get("/", {"site": "S01", "sort": "site", "page": "3"})
    columns = sort_columns(request, list(SORTS), "site")
    assert columns["site"].aria_sort == "ascending"
    assert columns["site"].url == "?site=S01&sort=-site"
    assert columns["id"].aria_sort == "none"
    assert columns["id"].url == "?site=S01&sort=id"
    assert sort_columns(request, list(SORTS), "-site")["site"].url == "?site=S01&sort=site"
    assert sort_columns(request, list(SORTS), "-site")["site"].aria_sort == "descending"


def test_query_string_drops_the_page_and_keeps_the_rest():
    request = RequestFactory().get("/", {"q": "S01 & co", "page": "2", "status": "x"})
    assert query_string(request.GET, status="open") == "?q=S01+%26+co&status=open"


@pytest.mark.parametrize(
    ("page", "shown"),
    [("2", [3, 4, 5]), ("", [0, 1, 2]), ("abc", [0, 1, 2]), ("-1", [6]), ("99", [6])],
)
def test_a_page_number_out_of_range_gives_the_nearest_page(page, shown):
    request = RequestFactory().get("/", {"page": page})
    assert list(paginate(request, list(range(7)), 3)) == shown


# --------------------------------------------------------------------------------------------
# The participant list
# --------------------------------------------------------------------------------------------

#: Participant, site, enrolment, infusion, dose, withdrawal.
PARTICIPANTS = [
    ("P-01", "S02", date(2025, 3, 1), date(2025, 4, 1), 300_000, None),
    ("P-02", "S01", date(2025, 1, 10), None, None, None),
    ("P-03", "S01", date(2025, 2, 1), date(2025, 3, 1), 100_000, date(2025, 9, 1)),
    ("P-04", "S02", date(2025, 1, 10), date(2025, 2, 15), 30_000, None),
    ("P-05", "S01", date(2025, 5, 1), date(2025, 6, 1), 100_000, None),
    ("P-06", "S02", date(2025, 4, 1), None, None, None),
    ("P-07", "S01", date(2025, 3, 1), date(2025, 4, 1), 300_000, None),
]


@pytest.fixture
def seven(study, site_a, site_b):
    sites = {"S01": site_a, "S02": site_b}
    for participant_id, site, enrolled, infused, dose, withdrawn in PARTICIPANTS:
        ParticipantFactory(
            study=study,
            site=sites[site],
            participant_id=participant_id,
            enrollment_date=enrolled,
            infusion_date=infused,
            dose_cells_per_kg=dose,
            withdrawal_date=withdrawn,
        )


# Each order worked out by hand from PARTICIPANTS: equal values by participant ID (descending
# in a descending sort), an empty date or dose last either way; status enrolled (P-02, P-06),
# infused, withdrawn (P-03).
ORDERS = {
    "id": [1, 2, 3, 4, 5, 6, 7],
    "-id": [7, 6, 5, 4, 3, 2, 1],
    "site": [2, 3, 5, 7, 1, 4, 6],
    "-site": [6, 4, 1, 7, 5, 3, 2],
    "enrolled": [2, 4, 3, 1, 7, 6, 5],
    "-enrolled": [5, 6, 7, 1, 3, 4, 2],
    "infusion": [4, 3, 1, 7, 5, 2, 6],
    "-infusion": [5, 7, 1, 3, 4, 6, 2],
    "dose": [4, 3, 5, 1, 7, 2, 6],
    "-dose": [7, 1, 5, 3, 4, 6, 2],
    "status": [2, 6, 1, 4, 5, 7, 3],
    "-status": [3, 7, 5, 4, 1, 6, 2],
}


def participant_ids(response) -> list[int]:
    return [int(participant.participant_id[2:]) for participant in response.context["page"]]


@pytest.mark.parametrize(("sort", "order"), ORDERS.items(), ids=list(ORDERS))
def test_each_sort_of_the_participant_list_shows_the_right_rows_on_page_two(
    client, data_manager, seven, monkeypatch, sort, order
):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 3)
    client.force_login(data_manager)
    response = client.get(reverse("participant_list"), {"sort": sort, "page": "2"})
    assert participant_ids(response) == order[3:6]
    assert "Showing 4\u20136 of 7" in response.content.decode()


def test_the_sorted_column_says_so_and_links_to_the_other_direction(client, data_manager, seven):
    client.force_login(data_manager)
    page = client.get(reverse("participant_list"), {"sort": "-dose"}).content.decode()
    assert '<th scope="col" class="text-end" aria-sort="descending">' in page
    assert 'href="?sort=dose"' in page
    assert 'href="?sort=-id"' not in page  # only the sorted column links to its reverse
    assert page.count("aria-sort=") == 1


def test_filters_and_sort_are_kept_from_page_to_page(client, data_manager, seven, monkeypatch):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 2)
    client.force_login(data_manager)
    params = {"site": "S01", "sort": "-enrolled"}
    first = client.get(reverse("participant_list"), params)
    assert participant_ids(first) == [5, 7]
    page = first.content.decode()
    assert "Showing 1\u20132 of 4" in page
    assert 'href="?site=S01&amp;sort=-enrolled&amp;page=2"' in page
    # The filter form sends the sort back with the filters; sorting goes back to page 1.
    assert '<input type="hidden" name="sort" value="-enrolled">' in page
    assert 'href="?site=S01&amp;sort=enrolled"' in page
    second = client.get(reverse("participant_list"), {**params, "page": "2"})
    assert participant_ids(second) == [3, 2]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "-3"},
        {"page": "1e9"},
        {"page": "99999999999999999999999"},
        {"sort": "password"},
        {"sort": "-"},
        {"sort": "--id"},
        {"sort": "visit_count"},
        {"sort": "site__code"},
    ],
    ids=lambda value: str(value),
)
def test_a_bad_page_or_sort_of_the_participant_list_falls_back_safely(
    client, data_manager, seven, monkeypatch, params
):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 5)
    client.force_login(data_manager)
    response = client.get(reverse("participant_list"), params)
    assert response.status_code == 200
    shown = participant_ids(response)
    assert shown in ([1, 2, 3, 4, 5], [6, 7])  # the first page, or the last


def test_the_participant_list_counts_each_participants_visits(client, coordinator_a, study):
    build_cohort(
        study,
        {
            "S01-001": ParticipantRow(
                "S01", "F", 12, 100_000, date(2026, 1, 5), date(2026, 2, 9), BL_AND_M3
            ),
            "S01-002": ParticipantRow("S01", "M", 9, None, date(2026, 1, 5), None),
        },
    )
    client.force_login(coordinator_a)
    response = client.get(reverse("participant_list"))
    assert [(p.participant_id, p.visit_count) for p in response.context["page"]] == [
        ("S01-001", 2),
        ("S01-002", 0),
    ]


#: Session, user, second factor and rights (5), the count and the page, the sites and doses of
#: the filters, the navigation bar's count of queries, the session saved (3).
PARTICIPANT_LIST_QUERIES = 13


@pytest.mark.parametrize("size", [3, 30])
def test_the_participant_list_reads_a_fixed_number_of_queries(
    client, coordinator_a, study, site_a, size, django_assert_max_num_queries
):
    for number in range(size):
        participant = ParticipantFactory(
            study=study, site=site_a, participant_id=f"S01-{number:03d}"
        )
        if number % 2:  # visits are counted in the database, never read
            services.visit_create(
                participant=participant,
                visit_definition=study.baseline_visit,
                visit_date=date(2026, 2, 2),
                author=None,
                reason="test",
            )
    client.force_login(coordinator_a)
    with django_assert_max_num_queries(PARTICIPANT_LIST_QUERIES):
        response = client.get(reverse("participant_list"), {"sort": "-status", "page": "1"})
    assert len(response.context["page"]) == size


# --------------------------------------------------------------------------------------------
# The query list
# --------------------------------------------------------------------------------------------


@pytest.fixture
def four_queries(study, site_a, monitor, coordinator_a) -> dict[int, DataQuery]:
    """Queries 1 to 4, raised 20, 10, 5 and 1 days ago: 1 on S01-002 (closed), 2 on S01-001
    (answered), 3 on S01-002 (open), 4 on S01-001 (open)."""
    row = ParticipantRow("S01", "F", 12, 100_000, date(2026, 1, 5), date(2026, 2, 9), BL_AND_M3)
    people = build_cohort(study, {"S01-001": row, "S01-002": row})
    visits = {
        pid: participant.visits.get(visit_definition__code="M3")
        for pid, participant in people.items()
    }
    now = timezone.now()
    raised = {}
    for number, (participant_id, field, days) in enumerate(
        [
            ("S01-002", "pga", 20),
            ("S01-001", "pga", 10),
            ("S01-002", "c3", 5),
            ("S01-001", "c3", 1),
        ],
        start=1,
    ):
        query = queries.query_raise(
            visit=visits[participant_id], field=field, text="Source?", author=monitor
        )
        DataQuery.objects.filter(pk=query.pk).update(raised_at=now - timedelta(days=days))
        raised[number] = query
    queries.query_answer(query=raised[2], text="Checked.", author=coordinator_a)
    queries.query_close(query=raised[1], text="Not needed.", author=monitor)
    return raised


# Worked out by hand from four_queries; equal values by the time raised, then the number.
QUERY_ORDERS = {
    "opened": [1, 2, 3, 4],
    "-opened": [4, 3, 2, 1],
    "age": [4, 3, 2, 1],
    "-age": [1, 2, 3, 4],
    "participant": [2, 4, 1, 3],
    "-participant": [3, 1, 4, 2],
    "status": [3, 4, 2, 1],  # open, answered, closed
    "-status": [1, 2, 4, 3],
}


@pytest.mark.parametrize(("sort", "order"), QUERY_ORDERS.items(), ids=list(QUERY_ORDERS))
def test_each_sort_of_the_query_list_shows_the_right_rows_on_page_two(
    client, monitor, four_queries, monkeypatch, sort, order
):
    monkeypatch.setattr(query_views, "PAGE_SIZE", 2)
    client.force_login(monitor)
    response = client.get(reverse("query_list"), {"status": "all", "sort": sort, "page": "2"})
    assert [row.query for row in response.context["rows"]] == [
        four_queries[number] for number in order[2:]
    ]
    assert "Showing 3\u20134 of 4" in response.content.decode()


def test_the_query_list_is_oldest_first_unless_sorted(client, monitor, four_queries):
    client.force_login(monitor)
    response = client.get(reverse("query_list"), {"status": "all", "sort": "nonsense"})
    assert [row.query for row in response.context["rows"]] == [
        four_queries[n] for n in (1, 2, 3, 4)
    ]
    page = response.content.decode()
    link = '<a class="link-body-emphasis text-decoration-none" href="?status=all&amp;sort=age">'
    assert f'aria-sort="descending">{link}Age' in page


def test_the_query_lists_status_tabs_keep_the_sort(client, monitor, four_queries):
    client.force_login(monitor)
    response = client.get(reverse("query_list"), {"sort": "participant", "page": "2"})
    tabs = {key: url for key, _label, _count, url in response.context["status_tabs"]}
    assert tabs["open"] == "?sort=participant&status=open"


@pytest.mark.parametrize("params", [{"page": "x"}, {"page": "-1"}, {"sort": "raised_by"}])
def test_a_bad_page_or_sort_of_the_query_list_falls_back_safely(
    client, monitor, four_queries, params
):
    client.force_login(monitor)
    assert client.get(reverse("query_list"), params).status_code == 200


#: Session, user, rights (6), the status counts, the count and the page, with their
#: conversations and records (3), the sites of the filter, the navigation bar's count.
QUERY_LIST_QUERIES = 16


@pytest.mark.parametrize("size", [3, 30])
def test_the_query_list_reads_a_fixed_number_of_queries(
    client, monitor, study, size, django_assert_max_num_queries
):
    row = ParticipantRow("S01", "F", 12, 100_000, date(2026, 1, 5), date(2026, 2, 9), BL_AND_M3)
    people = build_cohort(study, {"S01-001": row})
    visit = people["S01-001"].visits.get(visit_definition__code="M3")
    for _number in range(size):
        queries.query_raise(visit=visit, field="pga", text="Source?", author=monitor)
    client.force_login(monitor)
    with django_assert_max_num_queries(QUERY_LIST_QUERIES):
        response = client.get(reverse("query_list"), {"sort": "-participant"})
    assert len(response.context["rows"]) == size


# --------------------------------------------------------------------------------------------
# The record status dashboard
# --------------------------------------------------------------------------------------------


@pytest.fixture
def statuses(study, site_a, monitor, investigator_a, data_manager, coordinator_a):
    """Five participants of S01 whose scheduled visits stand at every status: S01-001 BL locked
    and M3 complete, S01-002 BL signed and M1 missed, S01-003 BL verified, S01-004 BL in
    progress, S01-005 nothing."""
    row = ParticipantRow("S01", "F", 12, 100_000, date(2026, 1, 5), date(2026, 2, 9))
    people = build_cohort(study, {f"S01-00{n}": row for n in range(1, 6)})
    baselines = {
        pid: record_visit(people[pid], "BL", date(2026, 2, 2), complete=pid != "S01-004")
        for pid in ("S01-001", "S01-002", "S01-003", "S01-004")
    }
    record_visit(people["S01-001"], "M3", date(2026, 5, 10))
    for pid in ("S01-001", "S01-002", "S01-003"):
        services.visit_verify(visit=baselines[pid], author=monitor)
    for pid in ("S01-001", "S01-002"):
        services.visit_sign(visit=baselines[pid], author=investigator_a, password=TEST_PASSWORD)
    services.visit_lock(visit=baselines["S01-001"], author=data_manager)
    services.missed_visit_record(
        participant=people["S01-002"],
        visit_definition=study.visit_definitions.get(code="M1"),
        reason="missed",
        author=coordinator_a,
        audit_reason="test",
    )
    return people


def test_the_dashboards_legend_counts_every_page_as_its_cells_do(client, monitor, statuses):
    grid = selectors.record_status_grid(monitor)
    study = selectors.current_study()
    counted = selectors.record_status_counts(
        selectors.record_status_participants(monitor, study=study),
        selectors.record_status_definitions(study),
        participant_count=5,
    )
    # 5 participants x 11 scheduled visits: 6 recorded or missed, 49 not started.
    assert counted == {
        VisitStatus.NOT_STARTED: 49,
        VisitStatus.IN_PROGRESS: 1,
        VisitStatus.COMPLETE: 1,
        VisitStatus.VERIFIED: 1,
        VisitStatus.SIGNED: 1,
        VisitStatus.LOCKED: 1,
        VisitStatus.MISSED: 1,
    }
    assert counted == grid.counts()


def test_the_dashboard_shows_a_page_of_participants_and_counts_them_all(
    client, monitor, statuses, monkeypatch
):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 2)
    client.force_login(monitor)
    response = client.get(reverse("record_status"), {"site": "S01", "page": "2"})
    assert [row.participant.participant_id for row in response.context["grid"].rows] == [
        "S01-003",
        "S01-004",
    ]
    assert response.context["counts"][VisitStatus.NOT_STARTED] == 49
    page = response.content.decode()
    assert "Showing 3\u20134 of 5" in page
    assert 'href="?site=S01&amp;page=3"' in page
