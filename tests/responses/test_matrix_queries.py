"""The response matrix's pages take the same number of queries whatever the cohort size (apart
from test_paged_reports.py, whose module-wide cohort would count in both sizes)."""

from dataclasses import replace

import pytest
from django.urls import reverse

from tests.factories import UserFactory, build_cohort
from tests.responses.cohorts import MATRIX_AS_OF, matrix_child

#: Per request: the session, user, second-factor device, permissions (2), the top bar's query
#: count and the session save (3): 9; the report reads the study, the filter choices (sites,
#: doses, visits) and the latest result time: 5; the matrix counts the participants, reads
#: the page of them, the schedule and their visits: 4. 18 whatever the size, page and sort.
MATRIX_QUERY_BUDGET = 18


@pytest.mark.parametrize("size", [3, 60])
def test_matrix_pages_take_the_same_queries_whatever_the_cohort_size(
    client, study, size, django_assert_max_num_queries
):
    # Visits for the first few only: the queries do not depend on how many there are.
    table = {
        f"M-{number:03d}": replace(matrix_child(number), visits={})
        if number >= 5
        else matrix_child(number)
        for number in range(size)
    }
    build_cohort(study, table)
    client.force_login(UserFactory(role="Data manager"))
    for params in ({}, {"sort": "-infusion", "page": "2"}, {"sort": "site", "page": "x"}):
        with django_assert_max_num_queries(MATRIX_QUERY_BUDGET, info=str(params)):
            response = client.get(
                reverse("report_matrix"), {"as_of": MATRIX_AS_OF.isoformat(), **params}
            )
        assert response.status_code == 200
