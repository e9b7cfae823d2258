"""The cohort reports in headless Chromium: each page renders its tables and plots, filters
travel in the URL, and the printed report is clean. Screenshots go to test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, log_in, screenshot
from trialsite.demo import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.django_db(transaction=True)

HEADLINE = "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"


@pytest.fixture
def demo(reference_data):
    load_demo(today=timezone.localdate())


def test_report_pages_render_tables_and_plots_and_print_cleanly(page: Page, demo):
    log_in(page, "datamanager", DEMO_PASSWORD)
    page.get_by_role("link", name="Reports").click()
    expect(page.locator("#headline")).to_have_text(HEADLINE)
    month_3 = page.locator("#summary-table tr[data-visit='M3']")
    expect(month_3).to_contain_text("28.4%\N{EN DASH}99.5%")
    expect(page.get_by_role("img", name=re.compile("SRI-4 response rate by visit"))).to_be_visible()
    screenshot(page, "reports-01-summary")

    page.get_by_role("link", name="Response matrix").click()
    expect(page.locator("#matrix-table tbody tr")).to_have_count(11)
    screenshot(page, "reports-02-matrix")

    page.get_by_role("link", name="Baseline characteristics").click()
    expect(page.locator("#baseline-table")).to_contain_text("Overall")
    screenshot(page, "reports-03-baseline")

    page.get_by_role("link", name="Plots", exact=True).click()
    for name in ("SLEDAI-2K over study day", "Physician Global Assessment", "BILAG-2004 grades"):
        plot = page.get_by_role("img", name=re.compile(name))
        expect(plot).to_be_visible()
        box = plot.bounding_box()
        assert box is not None
        assert (box["width"], box["height"]) > (300, 150)
    screenshot(page, "reports-04-plots")

    # Filters travel in the URL and through the report's own links.
    page.get_by_label("Site").select_option("S01")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"site=S01"))
    expect(page.locator(".report-meta")).to_contain_text("Site: S01")
    page.get_by_role("link", name="Cohort summary").click()
    expect(page).to_have_url(re.compile(r"/reports/\?site=S01"))
    # S01: S01-001 and S01-002 reached Month 3, both responders (demo.py).
    expect(page.locator("#headline")).to_contain_text("2 of 2 participants")
    screenshot(page, "reports-05-summary-s01")

    page.get_by_role("link", name="Clear").click()
    today = timezone.localdate()
    expect(page.get_by_label("Data cut")).to_have_value(today.isoformat())
    expect(page.locator("#mitt-table tr[data-visit='M3']")).to_be_visible()
    expect(page.locator("#not-infused")).to_contain_text("not infused: none")
    page.emulate_media(media="print")
    expect(page.locator(".report-filters")).to_be_hidden()
    expect(page.locator(".report-tabs")).to_be_hidden()
    expect(page.locator(".report-meta")).to_contain_text(f"Data cut: {today.isoformat()}")
    screenshot(page, "reports-06-summary-print")
    pdf = page.pdf(path=str(ARTIFACTS / "report.pdf"), format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    # Sections are kept whole: the two tables fill the first A4 page, the plot goes to the next.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2


def test_the_data_cut_goes_back_in_time_and_a_bad_one_is_refused(page: Page, demo):
    log_in(page, "datamanager", DEMO_PASSWORD)
    page.get_by_role("link", name="Reports").click()
    # The demo's first Month 3 visit is about 40 days old (infused 130 days ago, demo.py):
    # 60 days ago nobody had reached Month 3 yet.
    cut = timezone.localdate() - timedelta(days=60)
    page.get_by_label("Data cut").fill(cut.isoformat())
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"as_of={cut.isoformat()}"))
    expect(page.locator("#headline")).to_have_text(
        "No participant with follow-up reaching Month 3 is evaluable for SRI-4 yet."
    )
    expect(page.locator(".report-meta")).to_contain_text(f"Data cut: {cut.isoformat()}")
    # Enrolment is 35 days before infusion (demo.py): S02-008 (infused 40 days ago) and S02-009
    # (30) were enrolled by then but not yet infused; S03-010 and S03-011 not yet enrolled.
    expect(page.locator("#not-infused")).to_contain_text("not infused: 2 participants")
    screenshot(page, "reports-07-summary-data-cut")
    page.get_by_role("link", name="Response matrix").click()
    expect(page).to_have_url(re.compile(rf"/reports/matrix/\?as_of={cut.isoformat()}"))

    page.goto("/reports/?as_of=2024-02-30")
    expect(page.locator("#data-cut-refused")).to_contain_text(
        'The data cut "2024-02-30" is not a date'
    )
    expect(page.locator("#headline")).to_have_count(0)
    screenshot(page, "reports-08-bad-data-cut")


PHONE = {"width": 390, "height": 844}


def test_a_coordinator_report_names_its_site_and_its_downloads(page: Page, demo):
    log_in(page, "coordinator", DEMO_PASSWORD)
    page.get_by_role("link", name="Reports").click()
    # The coordinator sees S01 only: the report says so, never "all".
    expect(page.locator(".report-meta")).to_contain_text("Site: S01;")
    expect(page.locator("#filter-site option").first).to_have_text("all my sites (S01)")
    today = timezone.localdate().isoformat()
    with page.expect_download() as download:
        page.locator("a", has_text="Download CSV").first.click()
    assert download.value.suggested_filename == f"cohort_sri4_observed_S01_{today}.csv"
    screenshot(page, "reports-09-coordinator-summary")

    page.get_by_label("Sex").select_option("F")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name="Baseline characteristics").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"baseline_S01_F_{today}.csv"


def test_outcome_badges_keep_their_contrast_on_screen_and_in_print(page: Page, demo):
    log_in(page, "datamanager", DEMO_PASSWORD)
    page.goto("/reports/matrix/")
    # WCAG AA: white on #146c43 (6.4:1) and on #b02a37 (6.5:1); not evaluable dark on white.
    expected = {
        "responder": ("rgb(255, 255, 255)", "rgb(20, 108, 67)"),
        "non-responder": ("rgb(255, 255, 255)", "rgb(176, 42, 55)"),
        "not-evaluable": ("rgb(33, 37, 41)", "rgb(255, 255, 255)"),
    }
    # The demo has no SRI-4 visit that is not evaluable: add a badge as the include writes it.
    page.evaluate(
        """() => {
            const badge = document.createElement("span");
            badge.className = "badge outcome-badge outcome-badge-not-evaluable";
            badge.textContent = "NE";
            document.querySelector("#matrix-table td").append(badge);
        }"""
    )
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        for outcome, colours in expected.items():
            badge = page.locator(f".outcome-badge-{outcome}").first
            expect(badge).to_have_css("color", colours[0])
            expect(badge).to_have_css("background-color", colours[1])
        if media == "print":
            expect(page.locator(".outcome-badge").first).to_have_css("font-weight", "700")
            expect(page.locator(".outcome-badge").first).to_have_css(
                "border-top-color", "rgb(0, 0, 0)"
            )
    page.emulate_media(media="print")
    screenshot(page, "reports-10-matrix-print")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_reports_fit_a_phone_and_the_baseline_table_gives_percents(page: Page, demo, size):
    if size == "phone":
        page.set_viewport_size(PHONE)
    log_in(page, "datamanager", DEMO_PASSWORD)
    for path, name in (
        ("/reports/", "summary"),
        ("/reports/matrix/", "matrix"),
        ("/reports/baseline/", "baseline"),
    ):
        page.goto(path)
        expect(page.locator(".report-meta")).to_contain_text("Site: all;")
        if size == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (name, width)
        screenshot(page, f"reports-11-{name}-{size}")
    # Every categorical cell is "n (%)": the third row is Female, the last column Overall.
    expect(page.locator("#baseline-table")).to_contain_text("Female, n (%)")
    expect(page.locator("#baseline-table tbody tr").nth(2).locator("td").last).to_have_text(
        re.compile(r"^\d+ \(\d+\.\d%\)$")
    )
