"""What a report says it holds (issue 14): the sites named for a user who sees only some, the
downloads named by their filters and data cut, and the baseline table's percents."""

import csv
import io

from django.urls import reverse
from django.utils import timezone

from tests.factories import SiteFactory, UserFactory
from tests.responses.cohorts import AFTER_M3

CSV_REQUESTS = [
    ("cohort_summary", {"format": "csv"}, "cohort_sri4_observed"),
    ("cohort_summary", {"format": "csv", "table": "mitt"}, "cohort_sri4_mitt"),
    ("cohort_summary", {"format": "csv", "table": "not_infused"}, "not-infused"),
    ("report_matrix", {"format": "csv"}, "responses"),
    ("report_baseline", {"format": "csv"}, "baseline"),
    ("report_safety", {"format": "csv"}, "safety"),
    ("report_safety", {"format": "csv", "table": "safety_summary"}, "safety_summary"),
]


def filename(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="'), disposition
    return disposition.removeprefix('attachment; filename="').removesuffix('"')


def test_a_coordinator_report_names_their_sites_not_all(client, study, report_cohort):
    s01 = SiteFactory(code="S01")
    client.force_login(UserFactory(role="Coordinator", sites=[s01]))
    for name in ("cohort_summary", "report_matrix", "report_baseline", "report_safety"):
        page = client.get(reverse(name)).content.decode()
        assert "; Site: S01; " in page, name
        assert "Site: all" not in page, name
        assert '<option value="">all my sites (S01)</option>' in page, name
    # With two sites, both are named.
    client.force_login(UserFactory(role="Coordinator", sites=[s01, SiteFactory(code="S03")]))
    page = client.get(reverse("cohort_summary")).content.decode()
    assert "; Site: S01, S03; " in page
    assert '<option value="">all my sites (S01, S03)</option>' in page
    # With S03 chosen, S03 only.
    assert (
        "; Site: S03; " in client.get(reverse("cohort_summary"), {"site": "S03"}).content.decode()
    )


def test_a_monitor_report_holds_all_sites(client, study, report_cohort):
    client.force_login(UserFactory(role="Monitor"))
    for name in ("cohort_summary", "report_safety"):
        page = client.get(reverse(name)).content.decode()
        assert "; Site: all; " in page, name
        assert '<option value="">all</option>' in page, name


def test_every_download_is_named_by_what_it_holds(client, study, report_cohort):
    today = timezone.localdate().isoformat()
    client.force_login(UserFactory(role="Data manager"))
    for name, params, stem in CSV_REQUESTS:
        response = client.get(reverse(name), params)
        assert filename(response) == f"{stem}_all_{today}.csv", name
    chosen = {
        "site": "S02",
        "dose": "100000",
        "sex": "F",
        "age": "12-17",
        "endpoint": "bicla",
        "as_of": AFTER_M3.isoformat(),
    }
    tail = f"S02_dose100000_F_age12-17_{AFTER_M3.isoformat()}.csv"
    expected = {
        "cohort_sri4_observed": f"cohort_bicla_observed_{tail}",
        "cohort_sri4_mitt": f"cohort_bicla_mitt_{tail}",
        "not-infused": f"not-infused_{tail}",
        "responses": f"responses_{tail}",
        "baseline": f"baseline_{tail}",
        "safety": f"safety_{tail}",
        "safety_summary": f"safety_summary_{tail}",
    }
    for name, params, stem in CSV_REQUESTS:
        response = client.get(reverse(name), {**params, **chosen})
        assert filename(response) == expected[stem], name


def test_a_coordinator_download_is_named_and_filled_by_their_site(client, study, report_cohort):
    client.force_login(UserFactory(role="Coordinator", sites=[SiteFactory(code="S01")]))
    cut = AFTER_M3.isoformat()
    response = client.get(
        reverse("cohort_summary"), {"format": "csv", "table": "mitt", "as_of": cut}
    )
    assert filename(response) == f"cohort_sri4_mitt_S01_{cut}.csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {
        (r["endpoint"], r["population"], r["sites"], r["filters"], r["as_of"]) for r in rows
    } == {("sri4", "mitt", "S01", "", cut)}
    response = client.get(reverse("report_matrix"), {"format": "csv", "sex": "F", "as_of": cut})
    assert filename(response) == f"responses_S01_F_{cut}.csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    # S01's girls with Month 3: H-001 and H-002 (H-006 is a boy).
    assert [(r["participant_id"], r["sites"], r["filters"], r["as_of"]) for r in rows] == [
        ("H-001", "S01", "sex=F", cut),
        ("H-002", "S01", "sex=F", cut),
    ]


def test_the_audit_trail_download_is_dated(client, study):
    client.force_login(UserFactory(role="Data manager"))
    job = client.post(reverse("export_job_create"), {"kind": "audit_trail"}).url
    response = client.get(job + "download/")
    assert filename(response) == f"audit-trail_{timezone.localdate().isoformat()}.csv"


# The report cohort by dose level (tests/responses/selectors/test_baseline.py): 30000 cells/kg
# H-001 F, H-004 F, H-006 M (n 3); 100000 H-002 H-003 H-005 H-007, three girls and a boy (n 4);
# overall 7. Percents of the column's n, one decimal, halves up:
#   female 2/3 = 66.67 -> 66.7, 3/4 = 75.0, 5/7 = 71.43 -> 71.4;
#   male 1/3 = 33.33 -> 33.3, 1/4 = 25.0, 2/7 = 28.57 -> 28.6;
#   dose 30000: 3/3 = 100.0, 0/4 = 0.0, 3/7 = 42.86 -> 42.9;
#   dose 100000: 0/3 = 0.0, 4/4 = 100.0, 4/7 = 57.14 -> 57.1.
def test_the_baseline_table_shows_n_and_percent(client, study, report_cohort):
    client.force_login(UserFactory(role="Data manager"))
    cut = {"as_of": AFTER_M3.isoformat()}
    page = " ".join(client.get(reverse("report_baseline"), cut).content.decode().split())
    for cells in (
        ["2 (66.7%)", "3 (75.0%)", "5 (71.4%)"],
        ["1 (33.3%)", "1 (25.0%)", "2 (28.6%)"],
        ["3 (100.0%)", "0 (0.0%)", "3 (42.9%)"],
        ["0 (0.0%)", "4 (100.0%)", "4 (57.1%)"],
    ):
        row = "".join(f'<td class="text-end text-nowrap">{cell}</td>' for cell in cells)
        assert row in page, cells
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("report_baseline"), {**cut, "format": "csv"}).content.decode()
            )
        )
    )
    assert [(r["group"], r["female"], r["female_percent"], r["male_percent"]) for r in rows] == [
        ("30000", "2", "66.7", "33.3"),
        ("100000", "3", "75.0", "25.0"),
        ("overall", "5", "71.4", "28.6"),
    ]
    assert {(r["sites"], r["filters"], r["as_of"]) for r in rows} == {
        ("all", "", AFTER_M3.isoformat())
    }
