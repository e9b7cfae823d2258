"""Report pages and downloads (responses.views): numbers against hand counts, filters, data cuts,
site boundaries and query budgets."""

import csv
import io
from datetime import date

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from responses.exports import COHORT_COLUMNS, MITT_COLUMNS, RESPONSES_COLUMNS
from tests.factories import SiteFactory, UserFactory, build_cohort, grades
from tests.responses.cohorts import (
    AFTER_M3,
    BL_PRESENT,
    bl_visit,
    child,
    m3_visit,
    report_load_cohort,
)
from trialsite.demo import load_demo
from trialsite.models import Study

REPORT_PAGES = ["cohort_summary", "report_matrix", "report_baseline", "report_plots"]
CSV_REQUESTS = [
    ("cohort_summary", {"format": "csv"}),
    ("cohort_summary", {"format": "csv", "table": "mitt"}),
    ("cohort_summary", {"format": "csv", "table": "not_infused"}),
    ("report_matrix", {"format": "csv"}),
    ("report_baseline", {"format": "csv"}),
]


def test_coordinator_sees_only_own_site_in_pages_and_csv(client, study, report_cohort):
    client.force_login(UserFactory(role="Coordinator", sites=[SiteFactory(code="S01")]))
    for name, params in [(name, {}) for name in REPORT_PAGES] + CSV_REQUESTS:
        content = client.get(reverse(name), params).content.decode()
        assert "S02" not in content, name
        for other in ("H-003", "H-005", "H-007"):
            assert other not in content, name
        # Asking for the other site is ignored: the user's sites bound every report.
        asked = client.get(reverse(name), {**params, "site": "S02"}).content.decode()
        for other in ("H-003", "H-005", "H-007"):
            assert other not in asked, name
    matrix = client.get(reverse("report_matrix"), {"site": "S02"}).content.decode()
    assert "H-001" in matrix


def test_coordinator_summary_counts_only_own_site(client, study, report_cohort):
    client.force_login(UserFactory(role="Coordinator", sites=[SiteFactory(code="S01")]))
    page = client.get(reverse("cohort_summary")).content.decode()
    # S01 at Month 3: H-001 responder, H-002 and H-006 non-responders (H-003 is at S02).
    assert "1 of 3 participants with follow-up reaching Month 3" in page
    assert "not evaluable:" not in page


def test_a_participant_id_written_like_math_shows_as_typed_on_the_plots_page(client, study):
    # Matplotlib reads "$...$" as mathtext: "$x^{$" did not parse and the page answered 500.
    visits = {
        "BL": bl_visit(BL_PRESENT, "2.00", grades(renal="B")),
        "M3": m3_visit({"rash"}, "1.00", grades(renal="D")),
    }
    build_cohort(study, {"$x^{$": child("S01", "F", 9, 100_000, visits=visits)})
    client.force_login(UserFactory(role="Data manager"))
    response = client.get(reverse("report_plots"))
    assert response.status_code == 200
    assert ">$x^{$</text>" in response.content.decode()


#: What the comment of the test below counts, and the top bar's count of the monitor queries
#: awaiting the user (1).
REPORT_QUERY_BUDGET = 21


@pytest.mark.parametrize("endpoint", ["sri4", "bicla", "lldas"])
@pytest.mark.parametrize("size", [2, 12])
def test_report_queries_do_not_grow_with_the_cohort(
    client, study, size, endpoint, django_assert_max_num_queries
):
    build_cohort(study, report_load_cohort(size))
    client.force_login(UserFactory(role="Data manager"))
    # Per request: session, user, permissions and the session save (6); the report itself
    # reads the study, filter choices, latest result time and its tables (the summary: the
    # observed set 2, the mITT set 3, those not infused 1, the not evaluable 1; responses.csv
    # 3): at most 14, whatever the size and the endpoint.
    filters = {"site": "S01", "age": "6-11", "as_of": AFTER_M3.isoformat(), "endpoint": endpoint}
    for name, params in [(name, filters) for name in REPORT_PAGES]:
        with django_assert_max_num_queries(REPORT_QUERY_BUDGET, info=name):
            assert client.get(reverse(name), params).status_code == 200
    for name, params in CSV_REQUESTS:
        with django_assert_max_num_queries(REPORT_QUERY_BUDGET, info=name):
            assert client.get(reverse(name), {**params, **filters}).status_code == 200


def test_matrix_csv_has_the_responses_csv_columns(client, study, report_cohort):
    client.force_login(UserFactory(role="Data manager"))
    rows = csv_rows(client.get(reverse("report_matrix"), {"format": "csv"}))
    assert tuple(rows[0]) == RESPONSES_COLUMNS
    # Follow-up visits with an assessment: Month 3 of H-001, H-002, H-003, H-006.
    assert [(row[0], row[2], row[12]) for row in rows[1:]] == [
        ("H-001", "M3", "responder"),
        ("H-002", "M3", "non-responder"),
        ("H-003", "M3", "not evaluable"),
        ("H-006", "M3", "non-responder"),
    ]


# The data cut in the URL, and the analysis cohort (tests/responses/cohorts.py, hand counts in
# test_exports.py) on the page.


def test_every_page_and_download_reports_as_of_the_data_cut_in_the_url(
    data_manager_for_cohort, study
):
    client = data_manager_for_cohort
    cut = {"as_of": "2025-05-10"}  # before the Month 3 visits (2025-05-11)
    page = client.get(reverse("cohort_summary"), cut).content.decode()
    assert "No participant with follow-up reaching Month 3 is evaluable for SRI-4 yet." in page
    assert "Data cut: 2025-05-10" in page
    assert 'name="as_of" value="2025-05-10"' in page
    assert f'href="{reverse("report_matrix")}?as_of=2025-05-10"' in page
    # H-007 is infused on 2025-05-20, after this cut.
    assert "Enrolled on or before the data cut but not infused: 1 participant" in page
    rows = csv_rows(client.get(reverse("report_matrix"), {**cut, "format": "csv"}))
    assert rows[1:] == []  # every follow-up visit is dated 2025-05-11
    matrix = client.get(reverse("report_matrix"), cut).content.decode()
    assert "7 participants" in matrix
    assert "Data cut: 2025-05-10" in client.get(reverse("report_plots"), cut).content.decode()
    baseline = csv_rows(client.get(reverse("report_baseline"), {**cut, "format": "csv"}))
    assert baseline[-1][:2] == ["overall", "7"]
    before_enrolment = csv_rows(
        client.get(reverse("report_baseline"), {"as_of": "2025-01-05", "format": "csv"})
    )
    assert before_enrolment[-1][:2] == ["overall", "0"]  # everyone enrolled 2025-01-06


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-13-01", "The data cut &quot;2025-13-01&quot; is not a date: write it YYYY-MM-DD"),
        ("yesterday", "The data cut &quot;yesterday&quot; is not a date"),
        ("2999-01-01", "The data cut 2999-01-01 is after today"),
    ],
)
def test_a_bad_data_cut_is_refused_with_a_message_on_every_page(
    data_manager_for_cohort, value, message
):
    for name, params in [(name, {}) for name in REPORT_PAGES] + CSV_REQUESTS:
        response = data_manager_for_cohort.get(reverse(name), {**params, "as_of": value})
        assert response.status_code == 400, name
        page = response.content.decode()
        assert message in page, name
        assert 'id="headline"' not in page
        assert "H-001" not in page  # no figure, no name
        assert f'value="{value}"' in page  # the form shows what was typed, to correct it


def test_the_summary_page_shows_both_sets_and_who_is_not_infused(client, analysis_cohort):
    client.force_login(UserFactory(role="Data manager"))
    page = client.get(reverse("cohort_summary"), {"as_of": "2024-06-30"}).content.decode()
    # Month 3 as of 2024-06-30: P01 responder, P04 non-responder, P06 in progress (O2).
    assert (
        "1 of 2 participants with follow-up reaching Month 3 achieved SRI-4 (50%; 95% CI 1-99%)"
        "; 1 more reached Month 3 but is not evaluable (data entry in progress)"
    ) in page
    assert "Enrolled on or before the data cut but not infused: 2 participants" in page
    assert "(withdrawal 1, manufacturing failure 1)" in page
    assert "withdrawal 2024-02-15" in page
    assert "P09" not in page  # enrolled after the cut
    assert "Excluded from the SRI-4 analysis, 1 participant with a baseline SLEDAI-2K below 4:" in (
        page
    )
    assert "P03</a> (S01: baseline SLEDAI-2K 2 is below 4)" in page
    assert "Excluded from SRI-4: a complete baseline SLEDAI-2K below 4" in page
    not_infused_csv = csv_rows(
        client.get(
            reverse("cohort_summary"),
            {"as_of": "2024-06-30", "format": "csv", "table": "not_infused"},
        )
    )
    # Then the facts of the file: the analysis cohort's sites (a data manager sees every site),
    # no other filter, the data cut.
    facts = ["all", "", "2024-06-30"]
    header = ["participant_id", "site", "enrollment_date", "reason", "withdrawal_date", "note"]
    assert not_infused_csv == [
        [*header, "sites", "filters", "as_of"],
        ["P10", "S01", "2024-01-02", "manufacturing failure", "", "", *facts],
        ["P11", "S01", "2024-01-02", "withdrawal", "2024-02-15", "", *facts],
    ]
    mitt_csv = csv_rows(
        client.get(
            reverse("cohort_summary"), {"as_of": "2024-06-30", "format": "csv", "table": "mitt"}
        )
    )
    assert mitt_csv[6] == [
        "M3", "5", "1", "0", "2", "1", "1", "1", "4", "0.2000", "0.0051", "0.7164",
        "sri4", "mitt", "all", "", "2024-06-30",
    ]  # fmt: skip


def test_the_headline_says_who_else_reached_the_visit_and_why_they_are_not_counted(
    client, study, analysis_cohort
):
    month_1 = study.visit_definitions.get(code="M1")
    Study.objects.filter(pk=study.pk).update(
        primary_visit=month_1, exclude_out_of_window_visits=True
    )
    client.force_login(UserFactory(role="Data manager"))
    page = client.get(reverse("cohort_summary"), {"as_of": "2024-06-30"}).content.decode()
    # Month 1 (test_exports.py's hand count) without P07's out-of-window visit: P01 P04 P05
    # P08 responders, P02 non-responder, P03 not evaluable (baseline 2, O4). 4 of 5: 80%,
    # exact 0.2836-0.9949.
    assert (
        "4 of 5 participants with follow-up reaching Month 1 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 1 more reached Month 1 but is not evaluable (baseline below 4)"
        "; 1 more reached Month 1 outside its window and is not counted (the study leaves "
        "out-of-window visits out)"
    ) in page
    assert "Out of window (left out)" in page


# The new endpoints on the pages (clinical-rules.md section 5).


def test_the_endpoint_menu_offers_every_endpoint(data_manager_for_cohort):
    page = data_manager_for_cohort.get(reverse("cohort_summary")).content.decode()
    assert '<option value="sri4" selected>SRI-4</option>' in page
    for value, label in [
        ("sri5", "SRI-5"),
        ("sri6", "SRI-6"),
        ("bicla", "BICLA"),
        ("lldas", "LLDAS"),
        ("doris", "DORIS remission"),
    ]:
        assert f'<option value="{value}">{label}</option>' in page
    chosen = data_manager_for_cohort.get(reverse("cohort_summary"), {"endpoint": "doris"})
    assert '<option value="doris" selected>DORIS remission</option>' in chosen.content.decode()


def test_the_bicla_summary_lists_who_has_no_bilag_a_or_b_at_baseline(
    data_manager_for_cohort, study
):
    # REPORT_COHORT and H-008, every BILAG-2004 system E at baseline and Month 3 (hand count in
    # tests/responses/selectors/test_cohort.py).
    visits = {
        "BL": bl_visit(BL_PRESENT, "2.00", grades()),
        "M3": m3_visit({"low_complement"}, "0.50", grades()),
    }
    build_cohort(study, {"H-008": child("S01", "F", 9, 30_000, visits=visits)})
    cut = {"endpoint": "bicla", "as_of": AFTER_M3.isoformat()}
    page = data_manager_for_cohort.get(reverse("cohort_summary"), cut).content.decode()
    assert (
        "2 of 3 participants with follow-up reaching Month 3 achieved a BICLA response (67%; 95% "
        "CI 9-99%); 2 more reached Month 3 but are not evaluable (data entry in progress: 1, no "
        "BILAG A or B at baseline: 1)"
    ) in page
    assert "BICLA responder, against baseline: every BILAG system graded A improved" in page
    assert "Excluded from BICLA: a complete baseline BILAG-2004 (all nine systems graded)" in page
    assert (
        "Excluded from the BICLA analysis, 1 participant with no BILAG A or B at baseline:"
    ) in page
    assert "H-008</a> (S01: no BILAG A or B at baseline)" in page
    assert "BICLA response rate by visit" in page
    mitt_csv = csv_rows(
        data_manager_for_cohort.get(
            reverse("cohort_summary"), {**cut, "format": "csv", "table": "mitt"}
        )
    )
    # Month 3 as of 2025-06-30: as the hand count (2 of 6: 0.3333, exact 0.0433-0.7772), H-008
    # excluded, H-007 pending.
    assert next(row for row in mitt_csv if row[0] == "M3")[:12] == [
        "M3", "6", "2", "0", "2", "1", "1", "1", "1", "0.3333", "0.0433", "0.7772"
    ]  # fmt: skip


#: Four children with BL (SLEDAI-2K 8, PGA 2.00, musculoskeletal B) and Month 3
#: (musculoskeletal D), no medication (prednisolone-equivalent 0 mg/day). Clinical SLEDAI-2K
#: leaves out low complement and increased DNA binding.
#: | id  | Month 3 present | PGA  | LLDAS                        | DORIS remission             |
#: | S-1 | none            | 0.25 | in (0 <= 4, PGA <= 1.00)     | in (clinical 0, PGA < 0.50) |
#: | S-2 | low complement  | 0.40 | in (2, present at BL)        | in (clinical 0)             |
#: | S-3 | none            | 0.00 | in                           | in                          |
#: | S-4 | rash            | 0.75 | in (2, present at BL)        | not (rash; PGA 0.75)        |
STATE_COHORT = {
    f"S-{number}": child("S01", "F", 10, 30_000,
                         visits={"BL": bl_visit(BL_PRESENT, "2.00"), "M3": m3_visit(present, pga)})
    for number, (present, pga) in enumerate(
        [(set(), "0.25"), ({"low_complement"}, "0.40"), (set(), "0.00"), ({"rash"}, "0.75")],
        start=1,
    )
}  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "headline", "says"),
    [
        # 3 of 4: 75%, exact 0.1941-0.9937; 4 of 4: 100%, exact 0.025^(1/4) = 0.3976 to 1.
        ("doris",
         "3 of 4 participants with follow-up reaching Month 3 were in DORIS remission (75%; 95% "
         "CI 19-99%)",
         ["In DORIS remission at the visit", "Participants in DORIS remission by visit",
          "Nobody is excluded from DORIS remission"]),
        ("lldas",
         "4 of 4 participants with follow-up reaching Month 3 were in LLDAS (100%; 95% CI "
         "40-100%)",
         ["In LLDAS at the visit", "Participants in LLDAS by visit",
          "Nobody is excluded from LLDAS"]),
    ],
)  # fmt: skip
def test_the_state_endpoints_say_who_was_in_the_state(client, study, endpoint, headline, says):
    build_cohort(study, STATE_COHORT)
    client.force_login(UserFactory(role="Data manager"))
    page = client.get(
        reverse("cohort_summary"), {"endpoint": endpoint, "as_of": AFTER_M3.isoformat()}
    ).content.decode()
    assert headline in page
    for text in says:
        assert text in page
    assert 'id="mitt-excluded"' not in page
    matrix = client.get(
        reverse("report_matrix"), {"endpoint": endpoint, "as_of": AFTER_M3.isoformat()}
    ).content.decode()
    label = {"doris": "DORIS remission", "lldas": "LLDAS"}[endpoint]
    assert f"(R in {label}, NR not in {label}, NE not evaluable)" in matrix
    assert "prednisolone-equivalent dose (mg/day): 0.00" in matrix
    assert "SLEDAI-2K change" not in matrix


def test_the_bicla_matrix_shows_the_systems_not_improved(data_manager_for_cohort):
    matrix = data_manager_for_cohort.get(
        reverse("report_matrix"), {"endpoint": "bicla"}
    ).content.decode()
    assert "BILAG A or B at baseline not improved" in matrix
    assert "BILAG A or B not improved: 0" in matrix  # H-001 and H-002 at Month 3
    assert "prednisolone-equivalent dose" not in matrix


def test_the_summary_lists_the_primary_visit_participant_by_participant_with_reasons(client, study):
    build_cohort(study, STATE_COHORT)
    client.force_login(UserFactory(role="Data manager"))
    page = client.get(
        reverse("cohort_summary"), {"endpoint": "doris", "as_of": AFTER_M3.isoformat()}
    ).content.decode()
    # The table of STATE_COHORT: S-4 has rash at Month 3 and PGA 0.75, the others are in
    # remission with no glucocorticoid.
    assert "DORIS remission at Month 3, participant by participant, with the reason" in page
    section = page[page.index('id="primary-results"') :]
    section = section[: section.index("</details>")]
    assert section.count("DORIS remission: yes") == 3
    assert section.count("DORIS remission: no") == 1
    assert "Rash present; PGA 0.75 ≥ 0.50" in section
    assert (
        "clinical SLEDAI-2K 0; PGA 0.25 &lt; 0.50; prednisolone-equivalent 0 mg/day ≤ 5" in section
    )


# The demo cohort stays loaded until the end of the module, so its tests come last.


DEMO_TODAY = date(2026, 11, 26)
DEMO_HEADLINE = (
    "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
)


@pytest.fixture(scope="module")
def demo_cohort(django_db_setup, django_db_blocker):
    """Load the demo once for this module; each test still runs in its own rolled-back block."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(today=min(DEMO_TODAY, timezone.localdate()))
        yield
        transaction.set_rollback(True)


@pytest.fixture
def data_manager_for_cohort(report_cohort, client):
    client.force_login(UserFactory(username="dm_cohort", role="Data manager"))
    return client


@pytest.fixture
def data_manager(demo_cohort, db, client):
    client.force_login(UserFactory(username="dm", role="Data manager"))
    return client


def test_demo_summary_states_4_of_5_at_month_3(data_manager):
    page = data_manager.get(reverse("cohort_summary")).content.decode()
    assert DEMO_HEADLINE in page
    assert "28.4%\N{EN DASH}99.5%" in page


@pytest.mark.parametrize(
    ("endpoint", "headline", "reason"),
    [
        # By hand in tests/trialsite/test_demo.py: BICLA 4 of 5 (exact 28.4%-99.5%), LLDAS 2 of
        # 5 (5.3%-85.3%), DORIS remission 1 of 5 (0.5%-71.6%) at Month 3.
        ("bicla",
         "4 of 5 participants with follow-up reaching Month 3 achieved a BICLA response (80%; "
         "95% CI 28-99%)",
         "Renal BILAG B at baseline, B at the visit: not improved"),
        ("lldas",
         "2 of 5 participants with follow-up reaching Month 3 were in LLDAS (40%; 95% CI 5-85%)",
         "prednisolone-equivalent 10 mg/day &gt; 7.5"),
        ("doris",
         "1 of 5 participants with follow-up reaching Month 3 was in DORIS remission (20%; 95% "
         "CI 1-72%)",
         "PGA 0.70 ≥ 0.50; prednisolone-equivalent 7.5 mg/day &gt; 5"),
    ],
)  # fmt: skip
def test_demo_summary_states_each_further_endpoint_at_month_3_with_reasons(
    data_manager, endpoint, headline, reason
):
    page = data_manager.get(reverse("cohort_summary"), {"endpoint": endpoint}).content.decode()
    assert headline in page
    section = page[page.index('id="primary-results"') :]
    assert reason in section[: section.index("</details>")]


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_demo_summary_csv_has_the_cohort_csv_columns_and_numbers(data_manager):
    rows = csv_rows(data_manager.get(reverse("cohort_summary"), {"format": "csv"}))
    assert tuple(rows[0]) == COHORT_COLUMNS
    today = timezone.localdate().isoformat()
    facts = ["sri4", "observed", "all", "", today]
    assert ["M3", "5", "5", "4", "0.8000", "0.2836", "0.9949", "0", *facts] in rows
    # S02-004 came to Month 1 on study day 38, outside its window (demo.py).
    assert next(row for row in rows if row[0] == "M1")[7] == "1"


def test_site_filter_changes_every_table_and_plot(data_manager):
    # S01: S01-001 and S01-002 responded at Month 3; S01-006 and S01-007 are earlier (demo.py).
    summary = data_manager.get(reverse("cohort_summary"), {"site": "S01"}).content.decode()
    assert (
        "2 of 2 participants with follow-up reaching Month 3 achieved SRI-4 (100%; 95% CI 16-100%)"
        in summary
    )
    cohort_csv = csv_rows(
        data_manager.get(reverse("cohort_summary"), {"site": "S01", "format": "csv"})
    )
    assert ["M3", "2", "2", "2", "1.0000", "0.1581", "1.0000", "0"] in [r[:8] for r in cohort_csv]
    assert {tuple(r[8:11]) for r in cohort_csv[1:]} == {("sri4", "observed", "S01")}
    mitt_csv = csv_rows(
        data_manager.get(
            reverse("cohort_summary"), {"site": "S01", "format": "csv", "table": "mitt"}
        )
    )
    assert tuple(mitt_csv[0]) == MITT_COLUMNS
    # Month 3 at S01: S01-001 and S01-002 responded; S01-006 and S01-007 (infused 70 and 60
    # days before loading) are pending, their window closing on study day 104.
    assert next(row for row in mitt_csv if row[0] == "M3")[1:3] == ["2", "2"]
    assert next(row for row in mitt_csv if row[0] == "M3")[8] == "2"
    matrix = data_manager.get(reverse("report_matrix"), {"site": "S01"}).content.decode()
    assert "4 participants" in matrix
    assert "S02-003" not in matrix
    baseline_csv = csv_rows(
        data_manager.get(reverse("report_baseline"), {"site": "S01", "format": "csv"})
    )
    assert baseline_csv[-1][:2] == ["overall", "4"]
    plots = data_manager.get(reverse("report_plots"), {"site": "S01"}).content.decode()
    assert "4 participants from study day" in plots
    assert "in 4 participants" in plots  # BILAG-2004 grades at baseline


def test_dose_sex_and_age_filters_narrow_the_baseline_table(data_manager):
    # Demo, 30000 cells/kg: S01-002 (11 y), S01-007 (8 y), S03-005 (15 y), S03-011 (10 y), girls.
    rows = csv_rows(
        data_manager.get(reverse("report_baseline"), {"dose": "30000", "format": "csv"})
    )
    assert [row[:2] for row in rows[1:]] == [["30000", "4"], ["overall", "4"]]
    rows = csv_rows(data_manager.get(reverse("report_baseline"), {"sex": "M", "format": "csv"}))
    assert rows[-1][:2] == ["overall", "2"]  # S02-003 and S02-008
    rows = csv_rows(data_manager.get(reverse("report_baseline"), {"age": "6-11", "format": "csv"}))
    # 6-11: S01-002 11, S02-004 9, S01-007 8, S03-010 6, S03-011 10.
    assert rows[-1][:2] == ["overall", "5"]


def test_invalid_filter_values_are_ignored(data_manager):
    junk = {
        "site": "XX",
        "dose": "abc",
        "sex": "Q",
        "age": "99",
        "endpoint": "sri7",
        "visit": "ZZ",
    }
    for name in REPORT_PAGES:
        response = data_manager.get(reverse(name), junk)
        assert response.status_code == 200
    assert DEMO_HEADLINE in data_manager.get(reverse("cohort_summary"), junk).content.decode()
    # "²" is a digit to str.isdigit() but no number.
    for name in REPORT_PAGES:
        assert data_manager.get(reverse(name), {"dose": "²", "page": "²"}).status_code == 200


def test_links_and_downloads_keep_the_filters(data_manager):
    page = data_manager.get(reverse("cohort_summary"), {"site": "S01", "sex": "F"}).content
    page = page.decode()
    assert f'href="{reverse("report_matrix")}?site=S01&amp;sex=F"' in page
    csv_link = "?site=S01&amp;sex=F&amp;format=csv&amp;table=mitt"
    assert f'href="{reverse("cohort_summary")}{csv_link}"' in page
    assert "Site: S01; Dose level: all; Sex: Female" in page
    today = timezone.localdate().isoformat()
    assert f"Endpoint: SRI-4; Data cut: {today}; Site: S01" in page
