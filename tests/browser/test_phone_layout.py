"""Every page a coordinator uses fits a 390 x 844 phone: the document never scrolls sideways
(a wide table may scroll inside its own .table-responsive box). The demo cohort gives each page
realistic data; a query is raised on top of it. Phone screenshots go to test-artifacts/."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from medications.models import MedicationCourse
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode
from tests.browser.conftest import log_in, screenshot
from trialsite import queries
from trialsite.demo import DEMO_PASSWORD, load_demo
from trialsite.models import DataQuery, Participant, Visit

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

# The elements whose right edge passes the phone's width, widest first, skipping those inside
# a box that scrolls on its own (what such a box holds does not widen the page) unless no other
# element does.
OVERFLOWING = """
(limit) => {
  const scrollsOnItsOwn = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") return true;
    }
    return false;
  };
  const name = (element) => {
    const id = element.id ? "#" + element.id : "";
    const classes = [...element.classList].slice(0, 3).map((c) => "." + c).join("");
    const text = (element.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return `${element.tagName.toLowerCase()}${id}${classes} "${text}"`;
  };
  const past = [...document.querySelectorAll("body *")]
    .map((element) => [element, element.getBoundingClientRect()])
    .filter(([element, box]) => box.right > limit + 0.5);
  // (An absolutely placed element escapes a scrolling box that is not its containing block.)
  const outside = past.filter(([element]) => !scrollsOnItsOwn(element));
  return (outside.length ? outside : past)
    .sort((a, b) => b[1].right - a[1].right)
    .slice(0, 5)
    .map(([element, box]) => `${name(element)} right edge ${Math.round(box.right)} px`);
}
"""


def _world() -> dict[str, int]:
    """Name the rows whose pages a coordinator at S01 opens: a participant with visits,
    results, a CAR-T treatment record, medication courses, safety episodes and a query."""
    participant = Participant.objects.get(participant_id="S01-002")  # CRS and ICANS (demo.py)
    visits = participant.visits.order_by("visit_date")
    open_visit = visits.filter(sign_offs__isnull=True).last() or visits.last()
    m3 = visits.filter(visit_definition__code="M3").first() or visits.last()
    assert open_visit is not None
    assert m3 is not None
    query = queries.query_raise(
        visit=m3,
        field="pga",
        text="The source note says 1.30; please check the PGA.",
        author=User.objects.get(username="monitor"),
    )
    return {
        "participant": participant.pk,
        "visit": m3.pk,
        "open_visit": open_visit.pk,
        "query": query.pk,
        "course": MedicationCourse.objects.filter(participant=participant).first().pk,
        "crs": CrsEpisode.objects.filter(participant=participant).first().pk,
        "icans": IcansEpisode.objects.filter(participant=participant).first().pk,
        "adverse_event": AdverseEvent.objects.filter(participant__site__code="S01").first().pk,
    }


PAGES: dict[str, Callable[[dict[str, int]], str]] = {
    "home": lambda w: reverse("home"),
    "participant-list": lambda w: reverse("participant_list"),
    "participant-detail": lambda w: reverse("participant_detail", args=[w["participant"]]),
    "participant-changes": lambda w: reverse("participant_changes", args=[w["participant"]]),
    "participant-enrol": lambda w: reverse("participant_create"),
    "participant-edit": lambda w: reverse("participant_edit", args=[w["participant"]]),
    "visit-create": lambda w: reverse("visit_create", args=[w["participant"]]),
    "missed-visit": lambda w: reverse("missed_visit_create", args=[w["participant"]]),
    "visit-entry": lambda w: reverse("visit_entry", args=[w["open_visit"]]),
    "visit-detail": lambda w: reverse("visit_detail", args=[w["visit"]]),
    "visit-detail-open": lambda w: reverse("visit_detail", args=[w["open_visit"]]),
    "record-status": lambda w: reverse("record_status"),
    "visits-due": lambda w: reverse("visits_due"),
    "visits-out-of-window": lambda w: reverse("visits_out_of_window"),
    "visits-in-progress": lambda w: reverse("visits_in_progress"),
    "query-list": lambda w: reverse("query_list"),
    "query-detail": lambda w: reverse("query_detail", args=[w["query"]]),
    "query-raise": lambda w: reverse("query_raise", args=[w["visit"]]),
    "medication-new": lambda w: reverse("medication_course_create", args=[w["participant"]]),
    "medication-edit": lambda w: reverse("medication_course_edit", args=[w["course"]]),
    "treatment-edit": lambda w: reverse("treatment_record_edit", args=[w["participant"]]),
    "crs-new": lambda w: reverse("crs_episode_create", args=[w["participant"]]),
    "crs-detail": lambda w: reverse("crs_episode_detail", args=[w["crs"]]),
    "crs-edit": lambda w: reverse("crs_episode_edit", args=[w["crs"]]),
    "icans-new": lambda w: reverse("icans_episode_create", args=[w["participant"]]),
    "icans-detail": lambda w: reverse("icans_episode_detail", args=[w["icans"]]),
    "icans-edit": lambda w: reverse("icans_episode_edit", args=[w["icans"]]),
    "adverse-event-new": lambda w: reverse("adverse_event_create", args=[w["participant"]]),
    "adverse-event-detail": lambda w: reverse("adverse_event_detail", args=[w["adverse_event"]]),
    "adverse-event-edit": lambda w: reverse("adverse_event_edit", args=[w["adverse_event"]]),
    "report-summary": lambda w: reverse("cohort_summary"),
    "report-baseline": lambda w: reverse("report_baseline"),
    "report-matrix": lambda w: reverse("report_matrix"),
    "report-plots": lambda w: reverse("report_plots"),
    "report-safety": lambda w: reverse("report_safety"),
    "account-security": lambda w: reverse("account_security"),
}


#: Pages a monitor or data manager opens, not a coordinator (at the end of their area).
MONITOR_PAGES = {"query-raise"}

#: The pages, by area: loading the demo takes about 11 s, so each test opens an area's pages and
#: names every page of it that is too wide, not only the first.
AREAS = {
    "data-capture": [
        "home",
        "participant-list",
        "participant-detail",
        "participant-changes",
        "participant-enrol",
        "participant-edit",
        "visit-create",
        "missed-visit",
        "visit-entry",
        "visit-detail",
        "visit-detail-open",
        "record-status",
        "visits-due",
        "visits-out-of-window",
        "visits-in-progress",
    ],
    "queries": ["query-list", "query-detail", "query-raise"],
    "medications-and-treatment": ["medication-new", "medication-edit", "treatment-edit"],
    "safety": [
        "crs-new",
        "crs-detail",
        "crs-edit",
        "icans-new",
        "icans-detail",
        "icans-edit",
        "adverse-event-new",
        "adverse-event-detail",
        "adverse-event-edit",
    ],
    "reports-and-account": [
        "report-summary",
        "report-baseline",
        "report-matrix",
        "report-plots",
        "report-safety",
        "account-security",
    ],
}


@pytest.fixture
def world(reference_data) -> dict[str, int]:
    load_demo(today=timezone.localdate())
    return _world()


def test_every_page_is_in_an_area() -> None:
    assert sorted(name for names in AREAS.values() for name in names) == sorted(PAGES)


def _too_wide(page: Page, world: dict[str, int], name: str) -> str | None:
    """Open a page on the phone, keep its screenshot; say how it is too wide, if it is."""
    url = PAGES[name](world)
    response = page.goto(url)
    assert response is not None
    assert response.ok, f"{name}: {url} answered {response.status}"
    assert page.url.endswith(url), f"{name}: {url} went to {page.url}"
    page.wait_for_load_state("networkidle")
    screenshot(page, f"phone-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return None
    widest = "; ".join(page.evaluate(OVERFLOWING, PHONE["width"]))
    return f"{name} ({url}) is {width} px wide: {widest}"


@pytest.mark.parametrize("area", list(AREAS))
def test_coordinator_pages_fit_a_phone(page: Page, world, area: str) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, "coordinator", DEMO_PASSWORD)
    too_wide = []
    for name in AREAS[area]:
        if name in MONITOR_PAGES:
            log_in(page, "monitor", DEMO_PASSWORD)
        if (problem := _too_wide(page, world, name)) is not None:
            too_wide.append(problem)
    assert too_wide == [], "\n".join(too_wide)


def test_home_and_participant_at_desktop_size(page: Page, world) -> None:
    log_in(page, "coordinator", DEMO_PASSWORD)
    for name in ("home", "participant-detail", "visit-detail"):
        page.goto(PAGES[name](world))
        screenshot(page, f"desktop-{name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    assert DataQuery.objects.filter(pk=world["query"]).exists()
    assert Visit.objects.filter(pk=world["open_visit"]).exists()
