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
