"""What the report pages share (responses.reports): the headline sentence and the filters."""

from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone

from responses.reports import (
    FilterChoices,
    ReportFilters,
    endpoint_rule,
    export_scope,
    filter_description,
    headline_sentence,
    mitt_excluded_heading,
    mitt_exclusion_rule,
    report_filename,
)
from responses.scoring.analysis import MittExclusion, NotEvaluableReason
from responses.selectors.cohort import CohortRow, ExcludedParticipant, MittSummary, NotEvaluable
from tests.responses.cohorts import M3_DATE


def test_headline_sentence_of_the_seed_cohort_rounds_to_whole_percents():
    # 4 of 5: 80%, exact interval 0.2836-0.9949 (Clopper-Pearson, published).
    row = CohortRow(
        "M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
    )
    assert headline_sentence(row, "sri4") == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
    )


def test_headline_sentence_without_evaluable_participants_says_so():
    row = CohortRow("M3", "Month 3", 1, 0, 0, None, None, None, 0)
    assert headline_sentence(row, "sri5") == (
        "No participant with follow-up reaching Month 3 is evaluable for SRI-5 yet."
    )
    item = not_evaluable_item("H-1", NotEvaluableReason.LOOKBACK_DIFFERS)
    assert headline_sentence(row, "sri5", not_evaluable=[item], out_of_window_left_out=2) == (
        "No participant with follow-up reaching Month 3 is evaluable for SRI-5 yet. "
        "1 participant reached Month 3 but is not evaluable (look-back windows differ). "
        "2 participants reached Month 3 outside its window and are not counted (the study "
        "leaves out-of-window visits out)."
    )


def not_evaluable_item(participant_id: str, category: NotEvaluableReason, **params: str):
    return NotEvaluable(1, participant_id, "S01", M3_DATE, (), category, params)


def test_headline_sentence_counts_the_not_evaluable_by_reason_in_the_rules_order():
    # 4 of 5: 80%, exact 0.2836-0.9949 (published), as in the seed sentence.
    row = CohortRow(
        "M3", "Month 3", 8, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
    )
    below = {"total": "3", "threshold": "4"}
    items = [
        not_evaluable_item("H-1", NotEvaluableReason.BASELINE_BELOW_THRESHOLD, **below),
        not_evaluable_item("H-2", NotEvaluableReason.ENTRY_IN_PROGRESS),
        not_evaluable_item("H-3", NotEvaluableReason.BASELINE_BELOW_THRESHOLD, **below),
    ]
    assert headline_sentence(row, "sri4", not_evaluable=items) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 3 more reached Month 3 but are not evaluable (data entry in progress: 1, baseline "
        "below 4: 2)"
    )
    assert headline_sentence(row, "sri4", not_evaluable=items[:1]) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 1 more reached Month 3 but is not evaluable (baseline below 4)"
    )


# 3 of 4: 75%, exact 95% interval 0.1941-0.9937 (1 of 4 is 0.0063-0.8059, mirrored); 1 of 1:
# 100%, exact 0.025-1 (the lower limit is 0.025^(1/1)).
MONTH_6_3_OF_4 = CohortRow(
    "M6", "Month 6", 4, 4, 3, Decimal("0.7500"), Decimal("0.1941"), Decimal("0.9937"), 0
)
# 1 of 4: exact 95% interval 0.63%-80.6% (Clopper-Pearson), shown 1-81%.
MONTH_6_1_OF_4 = CohortRow(
    "M6", "Month 6", 4, 4, 1, Decimal("0.2500"), Decimal("0.0063"), Decimal("0.8059"), 0
)
MONTH_6_1_OF_1 = CohortRow(
    "M6", "Month 6", 1, 1, 1, Decimal("1.0000"), Decimal("0.0250"), Decimal("1.0000"), 0
)


@pytest.mark.parametrize(
    ("endpoint", "row", "sentence"),
    [
        pytest.param("doris", MONTH_6_3_OF_4,
                     "3 of 4 participants with follow-up reaching Month 6 were in DORIS "
                     "remission (75%; 95% CI 19-99%)", id="doris"),
        pytest.param("lldas", MONTH_6_3_OF_4,
                     "3 of 4 participants with follow-up reaching Month 6 were in LLDAS "
                     "(75%; 95% CI 19-99%)", id="lldas"),
        pytest.param("bicla", MONTH_6_3_OF_4,
                     "3 of 4 participants with follow-up reaching Month 6 achieved a BICLA "
                     "response (75%; 95% CI 19-99%)", id="bicla"),
        pytest.param("sri6", MONTH_6_3_OF_4,
                     "3 of 4 participants with follow-up reaching Month 6 achieved SRI-6 "
                     "(75%; 95% CI 19-99%)", id="sri6"),
        pytest.param("doris", MONTH_6_1_OF_4,
                     "1 of 4 participants with follow-up reaching Month 6 was in DORIS "
                     "remission (25%; 95% CI 1-81%)", id="doris-one-responder"),
        pytest.param("lldas", MONTH_6_1_OF_4,
                     "1 of 4 participants with follow-up reaching Month 6 was in LLDAS "
                     "(25%; 95% CI 1-81%)", id="lldas-one-responder"),
        pytest.param("doris", MONTH_6_1_OF_1,
                     "1 of 1 participant with follow-up reaching Month 6 was in DORIS "
                     "remission (100%; 95% CI 3-100%)", id="doris-one"),
        pytest.param("lldas", MONTH_6_1_OF_1,
                     "1 of 1 participant with follow-up reaching Month 6 was in LLDAS "
                     "(100%; 95% CI 3-100%)", id="lldas-one"),
        pytest.param("bicla", MONTH_6_1_OF_1,
                     "1 of 1 participant with follow-up reaching Month 6 achieved a BICLA "
                     "response (100%; 95% CI 3-100%)", id="bicla-one"),
    ],
)  # fmt: skip
def test_headline_sentence_says_what_each_endpoint_means(endpoint, row, sentence):
    assert headline_sentence(row, endpoint) == sentence


def test_headline_sentence_names_the_endpoint_when_nobody_is_evaluable():
    row = CohortRow("M3", "Month 3", 1, 0, 0, None, None, None, 0)
    item = not_evaluable_item("H-1", NotEvaluableReason.NO_BILAG_A_OR_B_AT_BASELINE)
    assert headline_sentence(row, "doris") == (
        "No participant with follow-up reaching Month 3 is evaluable for DORIS remission yet."
    )
    assert headline_sentence(row, "bicla", not_evaluable=[item]) == (
        "No participant with follow-up reaching Month 3 is evaluable for BICLA yet. "
        "1 participant reached Month 3 but is not evaluable (no BILAG A or B at baseline)."
    )


@pytest.mark.parametrize(
    ("endpoint", "says"),
    [
        ("sri4", ["SRI-4 responder", "SLEDAI-2K fell by at least 4", "below 4."]),
        ("sri6", ["SRI-6 responder", "SLEDAI-2K fell by at least 6", "below 6."]),
        ("bicla", ["BICLA responder", "SLEDAI-2K not higher", "without a BILAG A or B"]),
        ("lldas", ["In LLDAS", "SLEDAI-2K at most 4", "PGA at most 1.00", "7.5 mg/day",
                   "28 days"]),
        ("doris", ["In DORIS remission", "clinical SLEDAI-2K 0", "PGA below 0.50",
                   "5 mg/day", "study CAR-T"]),
    ],
)  # fmt: skip
def test_each_endpoint_rule_is_explained_beside_its_report(endpoint, says):
    rule = endpoint_rule(endpoint)
    for text in says:
        assert text in rule


def mitt_summary_of(exclusion: MittExclusion, threshold: int | None, excluded: int):
    people = tuple(
        ExcludedParticipant(n, f"H-{n}", "S01", (("no BILAG A or B at baseline", {}),))
        for n in range(excluded)
    )
    return MittSummary((), 5, exclusion, threshold, people)


def test_the_mitt_exclusion_is_explained_for_each_endpoint():
    sri = mitt_summary_of(MittExclusion.BASELINE_SLEDAI_BELOW_THRESHOLD, 5, 2)
    assert mitt_exclusion_rule(sri, "SRI-5") == (
        "Excluded from SRI-5: a complete baseline SLEDAI-2K below 5 (a drop of 5 is impossible)."
    )
    assert mitt_excluded_heading(sri, "SRI-5") == (
        "Excluded from the SRI-5 analysis, 2 participants with a baseline SLEDAI-2K below 5:"
    )
    bicla = mitt_summary_of(MittExclusion.NO_BILAG_A_OR_B_AT_BASELINE, None, 1)
    assert "with no system graded A or B" in mitt_exclusion_rule(bicla, "BICLA")
    assert mitt_excluded_heading(bicla, "BICLA") == (
        "Excluded from the BICLA analysis, 1 participant with no BILAG A or B at baseline:"
    )
    nobody = mitt_summary_of(MittExclusion.NOBODY, None, 0)
    assert mitt_exclusion_rule(nobody, "LLDAS") == (
        "Nobody is excluded from LLDAS: it is a state at the visit, not a change from baseline."
    )
    assert mitt_excluded_heading(nobody, "LLDAS") == ""


def test_filters_parse_only_offered_values():
    choices = FilterChoices(sites=("S01",), doses=(30_000,), visits=())
    query = QueryDict("site=S02&dose=30000&sex=F&age=12-17&endpoint=sri5&as_of=2024-06-30")
    filters = ReportFilters.from_query(query, choices)
    assert (filters.site, filters.dose, filters.sex, filters.age, filters.endpoint) == (
        None,
        30_000,
        "F",
        "12-17",
        "sri5",
    )
    assert (filters.as_of, filters.as_of_given) == (date(2024, 6, 30), True)
    assert filters.querystring == "?dose=30000&sex=F&age=12-17&endpoint=sri5&as_of=2024-06-30"
    for endpoint in ("bicla", "lldas", "doris"):
        chosen = ReportFilters.from_query(QueryDict(f"endpoint={endpoint}"), choices)
        assert (chosen.endpoint, chosen.querystring) == (endpoint, f"?endpoint={endpoint}")
    unknown = ReportFilters.from_query(QueryDict("endpoint=sri7"), choices)
    assert unknown.endpoint == "sri4"
    default = ReportFilters.from_query(QueryDict(""), choices)
    assert (default.as_of, default.as_of_given) == (timezone.localdate(), False)
    assert default.querystring == ""


CUT = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("kind", "filters", "options", "name"),
    [
        # A coordinator of S01, the mITT set of SRI-4, nothing else chosen.
        (
            "cohort",
            ReportFilters(as_of=CUT, sites=("S01",)),
            {"endpoint": True, "population": "mitt"},
            "cohort_sri4_mitt_S01_2026-11-29.csv",
        ),
        # Every site (None), BICLA observed, every other filter chosen; "<6" is ages 0 to 5.
        (
            "cohort",
            ReportFilters(endpoint="bicla", dose=100_000, sex="F", age="<6", as_of=CUT),
            {"endpoint": True, "population": "observed"},
            "cohort_bicla_observed_all_dose100000_F_age0-5_2026-11-29.csv",
        ),
        # No endpoint or population in the name of a file without them; two sites.
        (
            "responses",
            ReportFilters(endpoint="lldas", age="6-11", as_of=CUT, sites=("S01", "S03")),
            {},
            "responses_S01-S03_age6-11_2026-11-29.csv",
        ),
        ("baseline", ReportFilters(as_of=CUT, sites=()), {}, "baseline_none_2026-11-29.csv"),
        # Unsafe characters in a site code: quotes, slashes, spaces, semicolons, non-ASCII.
        (
            "not-infused",
            ReportFilters(as_of=CUT, sites=('S/0 1";x', "Z\u00fcrich", "..")),
            {},
            "not-infused_S-0-1-x-Z-rich-x_2026-11-29.csv",
        ),
    ],
)
def test_report_filename_names_what_the_download_holds(kind, filters, options, name):
    assert report_filename(kind, filters, **options) == name


def test_report_filename_is_always_ascii_letters_digits_dash_and_underscore():
    filters = ReportFilters(sex='"\r\n', age="../..", as_of=CUT, sites=("\u00a0",))
    name = report_filename("cohort", filters, endpoint=True, population="mitt")
    assert name == "cohort_sri4_mitt_x_x_age_2026-11-29.csv"
    stem = name.removesuffix(".csv")
    assert stem.isascii()
    assert all(c.isalnum() or c in "-_" for c in stem)


def test_the_sites_a_report_holds_are_named_for_a_user_who_sees_only_some():
    # A coordinator of S01 and S03 (no site chosen) holds both; with S03 chosen, S03 only.
    mine = FilterChoices(sites=("S01", "S03"), doses=(), visits=())
    own = ReportFilters.from_query(QueryDict(""), mine)
    assert own.sites == ("S01", "S03")
    assert ("Site", "S01, S03") in filter_description(own)
    assert mine.every_site_label == "all my sites (S01, S03)"
    chosen = ReportFilters.from_query(QueryDict("site=S03"), mine)
    assert ("Site", "S03") in filter_description(chosen)
    # A monitor sees every site: "all", in the description and the filter's empty choice.
    every = FilterChoices(sites=("S01", "S02", "S03"), doses=(), visits=(), all_sites=True)
    monitor = ReportFilters.from_query(QueryDict(""), every)
    assert monitor.sites is None
    assert ("Site", "all") in filter_description(monitor)
    assert every.every_site_label == "all"


def test_export_scope_repeats_the_filters_of_the_download():
    filters = ReportFilters.from_query(
        QueryDict("site=S01&dose=30000&sex=M&age=12-17&endpoint=doris&as_of=2024-06-30"),
        FilterChoices(sites=("S01", "S02"), doses=(30_000,), visits=()),
    )
    scope = export_scope(filters, endpoint=True)
    assert scope.cohort_cells() == (
        "doris", "", "S01", "dose=30000;sex=M;age=12-17", date(2024, 6, 30)
    )  # fmt: skip
    # Without the endpoint (responses.csv, baseline, not infused) and without any filter.
    plain = export_scope(ReportFilters(as_of=date(2024, 6, 30)))
    assert plain.cells() == ("all", "", date(2024, 6, 30))
    assert plain.endpoint == ""
