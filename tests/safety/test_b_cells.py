"""B cells after the infusion (safety.b_cells, safety.plots): the participant page's B-cell
section, the safety report's B-cell plot and table with its filters and data cut, and their query
budgets. Every expected day is counted by hand from the visit dates (infusion 2025-03-03)."""

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from safety.b_cells import (
    BCellTrajectory,
    LabReading,
    b_cell_report,
    b_cell_sentence,
    participant_b_cells,
)
from safety.grading.b_cells import BCellStatus
from safety.plots import b_cell_plot
from tests.factories import SiteFactory, UserFactory, record_visit
from tests.safety.test_report_views import SAFETY_QUERY_BUDGET
from tests.safety.test_selectors import INFUSED, participant
from trialsite.models import Participant

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"
URL = reverse("report_safety")
CUT = date(2025, 6, 30)
#: What a cell shows without a value.
DASH = "\N{EN DASH}"

#: Visit code -> date and study day (infusion 2025-03-03 = day 0).
DATES = {
    "BL": date(2025, 2, 24),  # day -7
    "D7": date(2025, 3, 10),  # day 7
    "M1": date(2025, 3, 31),  # day 28
    "M2": date(2025, 4, 28),  # day 56
    "M3": date(2025, 6, 1),  # day 90
}


def counted(person: Participant, **cd19: str | None) -> None:
    """Record the visits named with their CD19+ counts (None: not done), IgG 10.00 - day/100."""
    for code, count in cd19.items():
        labs: dict[str, object] = {"cd19_per_ul": D(count) if count is not None else None}
        labs["igg_g_l"] = D("10.00") - D((DATES[code] - INFUSED).days) / 100
        record_visit(person, code, DATES[code], labs=labs)


@pytest.fixture
def b_cell_cohort(study):
    """S01-001: 400 at BL, 0 at D7, 0.99 at M1, 1.00 at M2 (reconstituted day 56), 30 at M3.
    S01-002: 300, then 0 at D7 and M1: aplasia, not yet reconstituted. S01-003: infused, no
    count. S01-004: not infused, 250 at BL. S02-001 (site S02): 50 at D7, 60 at M1: no aplasia."""
    first = participant(study, "S01-001")
    counted(first, BL="400", D7="0", M1="0.99", M2="1.00", M3="30")
    second = participant(study, "S01-002")
    counted(second, BL="300", D7="0", M1="0")
    participant(study, "S01-003")
    not_infused = participant(study, "S01-004", infused=None)
    record_visit(not_infused, "BL", DATES["BL"], labs={"cd19_per_ul": D("250")})
    other = participant(study, "S02-001", site="S02")
    counted(other, D7="50", M1="60")
    return {p.participant_id: p for p in (first, second, other)}


def report(study, *, as_of: date = CUT, threshold: str = "1"):
    return b_cell_report(
        participants=Participant.objects.filter(study=study),
        as_of=as_of,
        threshold_per_ul=D(threshold),
    )


def summary(rows) -> dict[str, tuple]:
    """Each row's first aplasia day, reconstitution day and status (the status every row is read
    with, which must be its course's)."""
    for row in rows:
        assert row.status == row.course.status, row.participant_id
    return {
        row.participant_id: (
            row.course.first_aplasia_day,
            row.course.reconstitution_day,
            row.status,
        )
        for row in rows
    }


# --------------------------------------------------------------------------------------------
# The report's reads
# --------------------------------------------------------------------------------------------


def test_report_reads_aplasia_and_reconstitution_of_the_infused(study, b_cell_cohort):
    result = report(study)

    assert summary(result.rows) == {
        "S01-001": (7, 56, BCellStatus.RECONSTITUTED),
        "S01-002": (7, None, BCellStatus.APLASIA),
        "S01-003": (None, None, BCellStatus.NO_COUNT),
        "S02-001": (None, None, BCellStatus.NO_APLASIA),
    }
    first = result.rows[0]
    assert first.baseline_cd19 is not None
    assert (first.baseline_cd19.value, first.baseline_cd19.study_day) == (D("400.00"), -7)
    assert first.latest_igg is not None
    assert (first.latest_igg.value, first.latest_igg.study_day) == (D("9.10"), 90)
    assert (result.counted, result.aplasia, result.reconstituted) == (3, 2, 1)
    assert b_cell_sentence(result) == (
        "B-cell aplasia in 2 of 3 infused participants with a CD19+ count after the infusion; "
        "reconstituted in 1 of them."
    )


def test_baseline_is_the_last_count_up_to_day_0_and_igg_the_latest_recorded(study):
    """Counts at screening (day -28), baseline (day -7), infusion (day 0) and day 1, and an
    unscheduled visit on day 0 after the infusion visit with an IgG but no count: the baseline
    is the infusion visit's count, day 1 being after the infusion. The last visit has a count but
    no IgG: the latest IgG is the visit's before."""
    person = participant(study, "S01-001")
    record_visit(person, "SCR", date(2025, 2, 3), labs={"cd19_per_ul": D("500")})
    record_visit(person, "BL", DATES["BL"], labs={"cd19_per_ul": D("420"), "igg_g_l": D("9.0")})
    record_visit(person, "D0", INFUSED, labs={"cd19_per_ul": D("380"), "igg_g_l": D("8.5")})
    record_visit(person, "UNS", INFUSED, labs={"igg_g_l": D("8.4")})
    record_visit(person, "UNS", date(2025, 3, 4), labs={"cd19_per_ul": D("5")})
    record_visit(person, "D7", DATES["D7"], labs={"cd19_per_ul": D("0"), "igg_g_l": D("7.2")})
    record_visit(person, "M1", DATES["M1"], labs={"cd19_per_ul": D("0")})

    (row,) = report(study).rows

    assert row.baseline_cd19 == LabReading(INFUSED, 0, D("380.00"))
    assert row.latest_igg == LabReading(DATES["D7"], 7, D("7.20"))
    assert (row.course.first_aplasia_day, row.course.reconstitution_day) == (7, None)
    assert row.status == BCellStatus.APLASIA
    assert row.trajectory.points == (
        (-28, D("500.00")),
        (-7, D("420.00")),
        (0, D("380.00")),
        (1, D("5.00")),
        (7, D("0.00")),
        (28, D("0.00")),
    )


def test_visits_after_the_data_cut_do_not_count(study, b_cell_cohort):
    # M2 (2025-04-28) is after the cut: S01-001 is still in aplasia as of 2025-04-27.
    result = report(study, as_of=date(2025, 4, 27))

    assert summary(result.rows)["S01-001"] == (7, None, BCellStatus.APLASIA)
    assert result.rows[0].course.latest.study_day == 28


def test_participants_infused_after_the_cut_are_left_out(study, b_cell_cohort):
    result = report(study, as_of=date(2025, 3, 2))

    assert result.rows == ()
    assert b_cell_sentence(result) == (
        "No CD19+ B-cell count after the infusion on or before the data cut."
    )


def test_the_threshold_decides_aplasia_at_its_boundary(study, b_cell_cohort):
    # With a threshold of 2, 1.00 at M2 is still aplasia; 30 at M3 (day 90) reconstitutes.
    result = report(study, threshold="2")

    assert summary(result.rows)["S01-001"] == (7, 90, BCellStatus.RECONSTITUTED)
    # With 0.99, 0 at D7 is aplasia and 0.99 at M1 (day 28) reconstitutes.
    assert summary(report(study, threshold="0.99").rows)["S01-001"][:2] == (7, 28)


def test_the_plot_data_are_each_participants_counts_by_study_day(study, b_cell_cohort):
    assert report(study).trajectories == (
        BCellTrajectory(
            "S01-001",
            ((-7, D("400.00")), (7, D("0.00")), (28, D("0.99")), (56, D("1.00")), (90, D("30.00"))),
        ),
        BCellTrajectory("S01-002", ((-7, D("300.00")), (7, D("0.00")), (28, D("0.00")))),
        BCellTrajectory("S02-001", ((7, D("50.00")), (28, D("60.00")))),
    )


# --------------------------------------------------------------------------------------------
# The participant page's reads
# --------------------------------------------------------------------------------------------


def test_participant_b_cells_give_the_latest_count_course_and_immunoglobulins(study, b_cell_cohort):
    person = Participant.objects.select_related("study").get(participant_id="S01-002")

    b_cells = participant_b_cells(person)

    assert b_cells is not None
    assert b_cells.latest_cd19 is not None
    assert (b_cells.latest_cd19.value, b_cells.latest_cd19.study_day) == (D("0.00"), 28)
    assert b_cells.course is not None
    assert (b_cells.course.first_aplasia_day, b_cells.course.reconstitution_day) == (7, None)
    ig = b_cells.latest_immunoglobulins
    assert ig is not None
    assert (ig.igg_g_l, ig.iga_g_l, ig.igm_g_l, ig.study_day) == (D("9.72"), None, None, 28)
    assert b_cells.threshold_per_ul == D("1")


def test_participant_without_an_infusion_date_has_counts_but_no_course(study, b_cell_cohort):
    person = Participant.objects.select_related("study").get(participant_id="S01-004")

    b_cells = participant_b_cells(person)

    assert b_cells is not None
    assert b_cells.course is None
    assert b_cells.latest_cd19 is not None
    assert (b_cells.latest_cd19.value, b_cells.latest_cd19.study_day) == (D("250.00"), None)


def test_participant_without_any_count_has_no_b_cells(study, b_cell_cohort):
    person = Participant.objects.select_related("study").get(participant_id="S01-003")
    assert participant_b_cells(person) is None


# --------------------------------------------------------------------------------------------
# The plot
# --------------------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "CD19+ B cells over study day" in root.find(f"{SVG}title").text
    return root


def texts(root: ET.Element) -> str:
    return " ".join(element.text or "" for element in root.iter(f"{SVG}text"))


TRAJECTORIES = (
    BCellTrajectory("P-001", ((-7, D("400")), (7, D("0")), (90, D("12")))),
    BCellTrajectory("P-002", ((-7, D("250")), (7, D("0")))),
)


def test_the_plot_is_accessible_svg_with_the_threshold_and_plain_log_ticks():
    plot = b_cell_plot(TRAJECTORIES, D("1"))

    shown = texts(parse(str(plot.svg)))
    for text in ("CD19+ B cells (cells/µL, log scale)", "aplasia: below 1 cells/µL", "1000"):
        assert text in shown
    assert "$" not in shown  # tick labels are plain text, never mathtext
    assert plot.description.startswith("2 participants from study day -7 to 90")
    assert "aplasia threshold 1 cells/µL" in plot.description
    assert plot.svg == b_cell_plot(TRAJECTORIES, D("1")).svg


def test_the_plot_without_any_count_says_there_is_no_data():
    root = parse(str(b_cell_plot((), D("1")).svg))
    assert "No data for these filters" in texts(root)


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------


@pytest.fixture
def data_manager_client(client, db):
    client.force_login(UserFactory(username="dm_b_cells", role="Data manager"))
    return client


def table_rows(page: str) -> dict[str, str]:
    """Return the text of each row of the report's B-cell table, by participant."""
    body = page.split('id="b-cell-table"')[1].split("</table>")[0]
    rows = {}
    for row in body.split("<tr data-participant=")[1:]:
        participant_id = row.split('"')[1]
        text = ET.fromstring("<tr>" + row.split(">", 1)[1].split("</tr>")[0] + "</tr>")
        rows[participant_id] = " | ".join(
            " ".join("".join(cell.itertext()).split()) for cell in text
        )
    return rows


def test_report_shows_the_b_cell_plot_sentence_and_table(data_manager_client, b_cell_cohort):
    page = data_manager_client.get(URL, {"as_of": CUT.isoformat()}).content.decode()

    section = page.split('id="b-cells"')[1]
    assert 'class="report-plot-svg"' in section
    assert "B-cell aplasia in 2 of 3 infused participants" in section
    # The dose cell's text: "1", the multiplication sign, "10" and a superscript 5.
    dose = "1 \N{MULTIPLICATION SIGN} 105"
    assert table_rows(page) == {
        "S01-001": f"S01-001 | S01 | {dose} | 400.00 | 7 | 56 | 30.00 (day 90) | 9.10 (day 90)",
        "S01-002": f"S01-002 | S01 | {dose} | 300.00 | 7 | not yet | 0.00 (day 28) | 9.72 (day 28)",
        "S01-003": f"S01-003 | S01 | {dose} | {DASH} | no count after the infusion | {DASH} | "
        f"{DASH} | {DASH}",
        "S02-001": f"S02-001 | S02 | {dose} | {DASH} | no aplasia recorded | {DASH} | "
        "60.00 (day 28) | 9.72 (day 28)",
    }


def test_report_b_cells_follow_the_site_filter_and_the_users_sites(client, b_cell_cohort):
    client.force_login(
        UserFactory(username="coord_b", role="Coordinator", sites=[SiteFactory(code="S02")])
    )

    own_site = table_rows(client.get(URL, {"as_of": CUT.isoformat()}).content.decode())
    assert list(own_site) == ["S02-001"]


def test_report_b_cells_follow_the_studys_threshold(data_manager_client, study, b_cell_cohort):
    study.b_cell_aplasia_threshold_per_ul = D("2")
    study.save()

    page = data_manager_client.get(URL, {"as_of": CUT.isoformat(), "site": "S01"}).content.decode()

    assert table_rows(page)["S01-001"].split(" | ")[4:6] == ["7", "90"]
    assert "below 2.00 cells/µL" in page


@pytest.mark.parametrize("size", [2, 12])
def test_report_queries_do_not_grow_with_the_counts(
    data_manager_client, study, size, django_assert_max_num_queries
):
    for n in range(size):
        person = participant(study, f"S01-{n:03d}", site="S01" if n % 2 else "S02")
        counted(person, BL="300", D7="0", M1=str(n % 3), M2="5")
    with django_assert_max_num_queries(SAFETY_QUERY_BUDGET):
        assert data_manager_client.get(URL, {"as_of": CUT.isoformat()}).status_code == 200


def test_participant_page_shows_the_b_cells(client, coordinator_a, study, site_a):
    person = participant(study, "S01-001")
    counted(person, BL="400", D7="0", M1="0.99", M2="1.00")
    client.force_login(coordinator_a)

    page = client.get(reverse("participant_detail", args=[person.pk])).content.decode()

    section = page.split('id="b-cells"')[1].split("</section>")[0]
    text = " ".join(ET.fromstring("<div>" + section.split(">", 1)[1] + "</div>").itertext())
    text = " ".join(text.split())
    assert "Latest CD19+ B cells 1.00 cells/µL (2025-04-28, day 56)" in text
    assert "B-cell aplasia yes, from day 7" in text
    assert "B-cell reconstitution day 56" in text
    assert (
        "Latest immunoglobulins IgG 9.44 g/L, IgA not done, IgM not done (2025-04-28, day 56)"
        in (text)
    )
    assert "below 1.00 cells/µL" in text


def test_participant_page_without_a_count_has_no_b_cell_section(
    client, coordinator_a, study, site_a
):
    person = participant(study, "S01-001")
    record_visit(person, "BL", DATES["BL"])
    client.force_login(coordinator_a)

    page = client.get(reverse("participant_detail", args=[person.pk])).content.decode()

    assert 'id="b-cells"' not in page


@pytest.mark.parametrize("codes", [("BL", "D7"), ("BL", "D7", "M1", "M2", "M3")])
def test_participant_b_cells_are_read_in_one_query(study, codes, django_assert_num_queries):
    counted(participant(study, "S01-001"), **dict.fromkeys(codes, "0"))
    person = Participant.objects.select_related("study").get(participant_id="S01-001")
    with django_assert_num_queries(1):
        assert participant_b_cells(person) is not None
