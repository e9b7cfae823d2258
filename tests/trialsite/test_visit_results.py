"""The visit pages show what a save changed and what a result compares against."""

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import grades, record_visit
from tests.pages import opened_version
from trialsite import services
from trialsite.models import Visit

pytestmark = pytest.mark.django_db

ARROW = "\N{RIGHTWARDS ARROW}"
# Baseline: arthritis 4 + rash 2 + low complement 2 + fever 1 + thrombocytopenia 1 = 10
# (clinical-rules.md section 1 weights); Month 3: rash 2 + low complement 2 = 4, a fall of 6.
BASELINE_PRESENT = {"arthritis", "rash", "low_complement", "fever", "thrombocytopenia"}
M3_PRESENT = {"rash", "low_complement"}
# Musculoskeletal B -> D improves; mucocutaneous C -> B is one new BILAG B (at most one allowed).
BASELINE_BILAG = grades(musculoskeletal="B", mucocutaneous="C")
M3_BILAG = grades(musculoskeletal="D", mucocutaneous="B")


def text(page: str) -> str:
    """The page's text: no tags, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def entry_data(present: set[str], *, pga: str, bilag: dict[str, str], status: str) -> dict:
    data = {
        "pga": pga,
        "lookback_days": "10",
        "entry_status": status,
        "change_reason": "Corrected from the source notes",
    }
    data.update({f"sledai_{field}": "1" if field in present else "0" for field in SLEDAI_FIELDS})
    data.update({f"bilag_{system}": bilag[system] for system in BILAG_SYSTEMS})
    return data


def post_entry(client, visit: Visit, data: dict):
    url = reverse("visit_entry", args=[visit.pk])
    return client.post(url, {"opened_version": opened_version(client, url), **data}, follow=True)


@pytest.fixture
def visits(participant_a):
    bl = record_visit(
        participant_a,
        "BL",
        date(2026, 2, 2),
        sledai=BASELINE_PRESENT,
        pga=Decimal("2.00"),
        bilag=BASELINE_BILAG,
    )
    m3 = record_visit(
        participant_a, "M3", date(2026, 5, 10), sledai=M3_PRESENT, pga="1.00", bilag=M3_BILAG
    )
    return bl, m3


def test_the_visit_page_shows_the_baseline_values_and_the_limits(client, coordinator_a, visits):
    _bl, m3 = visits
    client.force_login(coordinator_a)
    page = text(client.get(reverse("visit_detail", args=[m3.pk])).content.decode())
    pga = f"PGA: BL 2.00 {ARROW} 1.00 (change -1.00; must not rise by 0.30 or more)"
    bilag = "BILAG-2004: new A 0 (none allowed), new B 1 (at most 1)"
    for endpoint, needed in (("SRI-4", 4), ("SRI-5", 5), ("SRI-6", 6)):
        row = page.split(f"{endpoint}: ")[1].split("SRI-")[0]
        assert f"SLEDAI-2K: BL 10 {ARROW} 4 (fell by 6; needed a fall of \u2265 {needed})" in row
        assert pga in row
        assert bilag in row
    bicla = page.split("BICLA: ")[1].split("LLDAS")[0]
    assert f"SLEDAI-2K: BL 10 {ARROW} 4 (fell by 6; must not rise)" in bicla
    assert pga in bicla
    assert f"{bilag}; A or B at baseline not improved 0 (each must improve)" in bicla


def test_a_visit_with_a_missing_baseline_value_says_so(client, coordinator_a, participant_a):
    record_visit(participant_a, "BL", date(2026, 2, 2), sledai=BASELINE_PRESENT, pga=None)
    m3 = record_visit(participant_a, "M3", date(2026, 5, 10), sledai=M3_PRESENT, pga="1.00")
    client.force_login(coordinator_a)
    page = text(client.get(reverse("visit_detail", args=[m3.pk])).content.decode())
    assert f"PGA: BL not recorded {ARROW} 1.00 (must not rise by 0.30 or more)" in page


def test_saving_in_progress_says_the_visit_does_not_count_yet(client, coordinator_a, visits):
    _bl, m3 = visits
    client.force_login(coordinator_a)
    response = post_entry(
        client, m3, entry_data(M3_PRESENT, pga="1.00", bilag=M3_BILAG, status="in_progress")
    )
    page = response.content.decode()
    assert "Saved in progress: blanks are allowed; the visit does not count for the" in page
    assert "Visit saved and scored." not in page
    # In progress, M3's results are not evaluable; the message lists each one that changed.
    assert f"M3 SRI-4: responder {ARROW} not evaluable" in text(page)


def test_a_baseline_correction_lists_the_later_results_it_changed(client, coordinator_a, visits):
    bl, _m3 = visits
    client.force_login(coordinator_a)
    # Without the rash at baseline: 10 - 2 = 8, a fall of 4 to M3: SRI-4 (>= 4) still, SRI-5
    # and SRI-6 no longer; BICLA holds (4 <= 8). LLDAS at M3 (SLEDAI-2K 4, PGA 1.00) now fails
    # on the rash at M3, new since BL; DORIS stays no (PGA 1.00 is not below 0.50).
    response = post_entry(
        client,
        bl,
        entry_data(
            BASELINE_PRESENT - {"rash"}, pga="2.00", bilag=BASELINE_BILAG, status="complete"
        ),
    )
    page = response.content.decode()
    assert "Visit saved and scored." in page
    changes = page.split('id="result-changes"')[1].split("</ul>")[0]
    items = [text(item).strip() for item in re.findall(r"<li>(.*?)</li>", changes, re.S)]
    assert items == [
        f"M3 SRI-5: responder {ARROW} non-responder",
        f"M3 SRI-6: responder {ARROW} non-responder",
        f"M3 LLDAS: yes {ARROW} no",
    ]
    assert "This save changed 3 endpoint results:" in text(page)


def test_a_save_that_changes_no_outcome_shows_no_list(client, coordinator_a, visits):
    bl, _m3 = visits
    client.force_login(coordinator_a)
    response = post_entry(
        client,
        bl,
        entry_data(BASELINE_PRESENT, pga="1.90", bilag=BASELINE_BILAG, status="complete"),
    )
    page = response.content.decode()
    assert "Visit saved and scored." in page
    assert 'id="result-changes"' not in page


def test_a_visits_first_results_are_not_listed_as_changes(client, coordinator_a, visits):
    bl, _m3 = visits
    m6 = services.visit_create(
        participant=bl.participant,
        visit_definition=bl.participant.study.visit_definitions.get(code="M6"),
        visit_date=date(2026, 8, 10),
        author=coordinator_a,
        reason="Booked",
    )
    client.force_login(coordinator_a)
    data = entry_data(M3_PRESENT, pga="1.00", bilag=M3_BILAG, status="complete")
    del data["change_reason"]  # a first entry
    page = post_entry(client, m6, data).content.decode()
    # M6 gets its six results at this save; they are on its page, not news: no list.
    assert "Visit saved and scored." in page
    assert 'id="result-changes"' not in page
    assert "SRI-4: responder" in text(page)
