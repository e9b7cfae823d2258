"""The visit page shows the stored lab values read-only, so a monitor (who cannot open the entry
form) sees them too."""

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import UserFactory, record_visit

BASELINE_DATE = date(2026, 2, 2)


class TableRows(HTMLParser):
    """Collect the text of each cell, row by row, of the table with the given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # tables open inside the one read (0: outside it)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or ("id", self.table_id) in attrs):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.cell is not None and tag in ("th", "td"):
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def lab_rows(page: str) -> list[list[str]]:
    """Return the rows of the visit page's lab table, the header row first."""
    parser = TableRows("lab-values")
    parser.feed(page)
    return parser.rows


@pytest.fixture
def monitor_client(client, site_b):
    """A monitor of another site: monitors read every site."""
    client.force_login(UserFactory(username="monitor", role="Monitor", sites=[site_b]))
    return client


def test_monitor_sees_the_stored_lab_values_with_their_units(monitor_client, participant_a):
    visit = record_visit(
        participant_a,
        "BL",
        BASELINE_DATE,
        labs={
            "platelets": Decimal("85"),
            "wbc": Decimal("2.5"),
            "urinary_casts": True,
            "upcr": Decimal("62.40"),
            "upcr_unit": "mg/mmol",
            "c3": Decimal("0.65"),
            "c3_lower_limit": Decimal("0.9"),
        },
    )

    page = monitor_client.get(reverse("visit_detail", args=[visit.pk])).content.decode()

    # In form order, labelled and with units from LabResult; a value left empty is not done,
    # and a number keeps the two decimal places it is stored with.
    assert lab_rows(page) == [
        ["Lab test", "Value", "Unit"],
        ["Platelets", "85.00", "x10^9/L"],
        ["White cells", "2.50", "x10^9/L"],
        ["Maximum temperature", "not done", ""],
        ["Urine red cells", "not done", ""],
        ["Urine white cells", "not done", ""],
        ["Heme-granular or red-cell casts", "yes", ""],
        ["24-hour urine protein", "not done", ""],
        ["Urine protein:creatinine ratio", "62.40", "mg/mmol"],
        ["C3", "0.65", "lab units"],
        ["C3 lower limit of normal", "0.90", "lab units"],
        ["C4", "not done", ""],
        ["C4 lower limit of normal", "not done", ""],
        ["Anti-dsDNA", "not done", ""],
        ["Anti-dsDNA upper limit of normal", "not done", ""],
        ["B cells and immunoglobulins"],
        ["CD19+ B cells", "not done", ""],
        ["IgG", "not done", ""],
        ["IgA", "not done", ""],
        ["IgM", "not done", ""],
    ]


def test_upcr_in_g_per_g_and_casts_absent_are_shown_as_entered(monitor_client, participant_a):
    visit = record_visit(
        participant_a,
        "BL",
        BASELINE_DATE,
        labs={"urinary_casts": False, "upcr": Decimal("0.45"), "upcr_unit": "g/g"},
    )

    rows = lab_rows(monitor_client.get(reverse("visit_detail", args=[visit.pk])).content.decode())

    assert ["Heme-granular or red-cell casts", "no", ""] in rows
    assert ["Urine protein:creatinine ratio", "0.45", "g/g"] in rows


def test_lab_values_are_read_only_for_a_monitor(monitor_client, participant_a):
    visit = record_visit(participant_a, "BL", BASELINE_DATE, labs={"platelets": Decimal("85")})

    page = monitor_client.get(reverse("visit_detail", args=[visit.pk])).content.decode()

    assert 'id="lab-values"' in page
    assert "<input" not in page.split('id="lab-values"')[1].split("</table>")[0]
    assert reverse("visit_entry", args=[visit.pk]) not in page


def test_visit_without_labs_shows_no_lab_section(monitor_client, participant_a):
    visit = record_visit(participant_a, "BL", BASELINE_DATE)

    page = monitor_client.get(reverse("visit_detail", args=[visit.pk])).content.decode()

    assert lab_rows(page) == []
    assert 'id="labs-heading"' not in page


def test_lab_labels_follow_the_users_language(monitor_client, participant_a, settings):
    visit = record_visit(participant_a, "BL", BASELINE_DATE, labs={"platelets": Decimal("85")})
    monitor_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    rows = lab_rows(monitor_client.get(reverse("visit_detail", args=[visit.pk])).content.decode())

    assert rows[0] == ["检查项目", "数值", "单位"]
    assert rows[1][1:] == ["85.00", "x10^9/L"]
    assert rows[1][0] != "Platelets"
    assert rows[2][1] == "未检测"
