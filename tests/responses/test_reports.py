"""Cohort reports: numbers against hand counts, filters, site boundaries and query budgets."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from responses.exports import COHORT_COLUMNS, MITT_COLUMNS, RESPONSES_COLUMNS
from responses.reports import FilterChoices, ReportFilters, headline_sentence
from responses.scoring.analysis import NotEvaluableReason
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.scoring.statistics import whole_percents
from responses.selectors.baseline import baseline_characteristics
from responses.selectors.cohort import (
    CohortRow,
    NotEvaluable,
    cohort_summary,
    mitt_summary,
    not_evaluable_at,
    not_infused,
)
from responses.selectors.matrix import response_matrix
from tests import factories
from tests.factories import SiteFactory, UserFactory
from trialsite import services
from trialsite.demo import load_demo
from trialsite.models import Participant, Study

ENROLLED = date(2025, 1, 6)
INFUSED = date(2025, 2, 10)
BL_DATE = INFUSED - timedelta(days=7)
M3_DATE = INFUSED + timedelta(days=90)  # 2025-05-11, also the Month 3 target date
M3_LAST_DAY = INFUSED + timedelta(days=104)  # 2025-05-25, the last day of Month 3's window
AFTER_M3 = date(2025, 6, 30)
REPORT_PAGES = ["cohort_summary", "report_matrix", "report_baseline", "report_plots"]

# Baseline: arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1 weights).
BL_PRESENT = {"arthritis", "rash", "low_complement"}


def record_visit(
    participant: Participant,
    code: str,
    visit_date: date,
    present: set[str],
    pga: str | None,
    bilag: dict[str, str],
) -> None:
    factories.record_visit(
        participant,
        code,
        visit_date,
        sledai={field: field in present for field in SLEDAI_FIELDS},
        pga=pga,
        bilag=bilag,
    )


def grades(**named: str) -> dict[str, str]:
    return {**dict.fromkeys(BILAG_SYSTEMS, "E"), **named}


def enrol(study: Study, participant_id: str, site: str, sex: str, age: int, dose: int, **dates):
    return services.participant_create(
        study=study,
        site=SiteFactory(code=site),
        participant_id=participant_id,
        sex=sex,
        age_at_enrollment=age,
        enrollment_date=ENROLLED,
        infusion_date=dates.pop("infusion_date", INFUSED),
        dose_cells_per_kg=dose,
        author=None,
        reason="test",
        **dates,
    )


@pytest.fixture
def cohort(study):
    """Seven children; every baseline has musculoskeletal B, Month 3 has it D (no new A or B).

    | id    | site | sex | age | dose   | BL SLEDAI | BL PGA | Month 3                           |
    | H-001 | S01  | F   | 8   | 30000  | 8         | 2.00   | SLEDAI 2 (fall 6): responder      |
    | H-002 | S01  | F   | 14  | 100000 | 8 (renal A)| 1.50  | SLEDAI 6 (fall 2): non-responder  |
    | H-003 | S02  | M   | 15  | 100000 | 8         | 2.50   | PGA missing: not evaluable        |
    | H-004 | S01  | F   | 10  | 30000  | 12 (+pyuria 4)| 1.00 | not recorded: missing          |
    | H-005 | S02  | F   | 16  | 100000 | 8         | 2.20   | withdrew 2025-04-01: withdrawn    |
    | H-006 | S01  | M   | 5   | 30000  | 8         | 1.80   | SLEDAI 2, rescue 2025-04-15: TF   |
    | H-007 | S02  | F   | 12  | 100000 | 8         | 2.10   | infused 2025-05-20: not yet due   |
    """
    rows = [
        ("H-001", "S01", "F", 8, 30_000, "2.00", {}, {}),
        ("H-002", "S01", "F", 14, 100_000, "1.50", {}, {}),
        ("H-003", "S02", "M", 15, 100_000, "2.50", {}, {}),
        ("H-004", "S01", "F", 10, 30_000, "1.00", {}, {}),
        ("H-005", "S02", "F", 16, 100_000, "2.20", {"withdrawal_date": date(2025, 4, 1)}, {}),
        ("H-006", "S01", "M", 5, 30_000, "1.80", {"treatment_failure_date": date(2025, 4, 15)}, {}),
        ("H-007", "S02", "F", 12, 100_000, "2.10", {"infusion_date": date(2025, 5, 20)}, {}),
    ]
    people = {}
    for pid, site, sex, age, dose, pga, dates, _unused in rows:
        people[pid] = enrol(study, pid, site, sex, age, dose, **dates)
        present = BL_PRESENT | ({"pyuria"} if pid == "H-004" else set())
        bl_grades = grades(musculoskeletal="B", **({"renal": "A"} if pid == "H-002" else {}))
        bl_date = BL_DATE if pid != "H-007" else date(2025, 5, 13)
        record_visit(people[pid], "BL", bl_date, present, pga, bl_grades)
    m3_grades = grades(musculoskeletal="D")
    record_visit(people["H-001"], "M3", M3_DATE, {"low_complement"}, "0.50", m3_grades)
    record_visit(
        people["H-002"],
        "M3",
        M3_DATE,
        {"arthritis", "low_complement"},
        "0.50",
        grades(musculoskeletal="D", renal="C"),
    )
    record_visit(people["H-003"], "M3", M3_DATE, {"low_complement"}, None, m3_grades)
    record_visit(people["H-006"], "M3", M3_DATE, {"low_complement"}, "0.50", m3_grades)
    return people


def row_of(rows, code: str):
    return next(row for row in rows if row.visit == code)


def test_cohort_summary_at_month_3_matches_the_hand_count(study, cohort):
    rows = cohort_summary(
        study=study, endpoint="sri4", as_of=AFTER_M3, participants=Participant.objects.all()
    )
    m3 = row_of(rows, "M3")
    # Reached: H-001, H-002, H-003, H-006. Evaluable: all but H-003 (PGA missing).
    # Responders: H-001 only (H-002 fell by 2; H-006 had rescue therapy before Month 3).
    assert (m3.reached, m3.evaluable, m3.responders, m3.out_of_window) == (4, 3, 1, 0)
    # 1 of 3: exact 95% interval 0.0084-0.9057 (published: 1 - 0.975^(1/3) = 0.0084).
    assert (m3.rate, m3.ci_low, m3.ci_high) == (
        Decimal("0.3333"),
        Decimal("0.0084"),
        Decimal("0.9057"),
    )
    assert headline_sentence(m3, "SRI-4") == (
        "1 of 3 participants with follow-up reaching Month 3 achieved SRI-4 (33%; 95% CI 1-91%)"
    )
    not_evaluable = not_evaluable_at(
        study=study, visit_definition=study.primary_visit, endpoint="sri4", as_of=AFTER_M3
    )
    assert headline_sentence(m3, "SRI-4", not_evaluable=not_evaluable) == (
        "1 of 3 participants with follow-up reaching Month 3 achieved SRI-4 (33%; 95% CI 1-91%)"
        "; 1 more reached Month 3 but is not evaluable (data entry in progress)"
    )


def test_headline_sentence_of_the_seed_cohort_rounds_to_whole_percents():
    # 4 of 5: 80%, exact interval 0.2836-0.9949 (Clopper-Pearson, published).
    row = CohortRow(
        "M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
    )
    assert headline_sentence(row, "SRI-4") == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
    )


@pytest.mark.parametrize(
    ("successes", "trials", "percents"),
    [
        # Clopper-Pearson 95%: 4/5 0.2836-0.9949; 9/10 0.554984-0.997471, whose lower limit
        # is 55% (55.498%), not the 56% that rounding 0.5550 again would give.
        (4, 5, (80, 28, 99)),
        (9, 10, (90, 55, 100)),
        (0, 5, (0, 0, 52)),
    ],
)
def test_sentence_percents_are_rounded_once_from_the_exact_values(successes, trials, percents):
    assert whole_percents(successes, trials) == percents


def test_headline_sentence_without_evaluable_participants_says_so():
    row = CohortRow("M3", "Month 3", 1, 0, 0, None, None, None, 0)
    assert headline_sentence(row, "SRI-5") == (
        "No participant with follow-up reaching Month 3 is evaluable for SRI-5 yet."
    )
    item = not_evaluable_item("H-1", NotEvaluableReason.LOOKBACK_DIFFERS)
    assert headline_sentence(row, "SRI-5", not_evaluable=[item], out_of_window_left_out=2) == (
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
    assert headline_sentence(row, "SRI-4", not_evaluable=items) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 3 more reached Month 3 but are not evaluable (data entry in progress: 1, baseline "
        "below 4: 2)"
    )
    assert headline_sentence(row, "SRI-4", not_evaluable=items[:1]) == (
        "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)"
        "; 1 more reached Month 3 but is not evaluable (baseline below 4)"
    )


def test_a_not_evaluable_visit_left_out_of_window_is_not_named_twice(study, cohort):
    # H-008's Month 3 on study day 40 (window 76..104), PGA missing: not evaluable, in progress.
    late = enrol(study, "H-008", "S01", "F", 9, 30_000)
    record_visit(late, "BL", BL_DATE, BL_PRESENT, "2.00", grades(musculoskeletal="B"))
    out_of_window = INFUSED + timedelta(days=40)
    record_visit(late, "M3", out_of_window, {"low_complement"}, None, grades(musculoskeletal="D"))

    def named() -> list[str]:
        items = not_evaluable_at(
            study=study, visit_definition=study.primary_visit, endpoint="sri4", as_of=AFTER_M3
        )
        return [item.participant_id for item in items]

    assert named() == ["H-003", "H-008"]
    # Left out by the study's setting, H-008 is counted once: among the visits out of window,
    # not among the not evaluable.
    Study.objects.filter(pk=study.pk).update(exclude_out_of_window_visits=True)
    study.refresh_from_db()
    assert named() == ["H-003"]


def test_not_evaluable_participants_are_named_with_their_reason(study, cohort):
    (item,) = not_evaluable_at(
        study=study,
        visit_definition=study.primary_visit,
        endpoint="sri4",
        as_of=AFTER_M3,
        participants=Participant.objects.all(),
    )
    assert (item.participant_id, item.site, item.visit_date) == ("H-003", "S02", M3_DATE)
    # Its PGA is blank, so its entry was saved in progress (O2).
    assert item.reason_parts == (("data entry in progress at the visit", {}),)
    assert item.category == NotEvaluableReason.ENTRY_IN_PROGRESS


def mitt_at(study: Study, as_of: date, code: str = "M3"):
    summary = mitt_summary(
        study=study, endpoint="sri4", as_of=as_of, participants=Participant.objects.all()
    )
    return row_of(summary.rows, code)


def test_mitt_at_month_3_counts_every_category(study, cohort):
    m3 = mitt_at(study, AFTER_M3)
    # Infused by 2025-06-30: all seven (H-007 on 2025-05-20). Month 3's window closes on study
    # day 104: 2025-05-25 for H-001..H-006, 2025-09-01 for H-007.
    # H-001 responder, H-002 non-responder, H-003 incomplete (recorded, in progress), H-004
    # missing (not recorded, window closed), H-005 treatment failure (withdrew 2025-04-01, on or
    # before 05-25), H-006 treatment failure (recorded non-responder by rescue 2025-04-15, O1),
    # H-007 pending (window open on the cut). Nobody's baseline is below 4 (8 or 12).
    assert (
        m3.denominator,
        m3.responders,
        m3.non_responders,
        m3.treatment_failure,
        m3.incomplete,
        m3.missing,
        m3.excluded,
        m3.pending,
    ) == (6, 1, 1, 2, 1, 1, 0, 1)
    # 1 of 6: published exact limits 0.0042-0.6412.
    assert (m3.rate, m3.ci_low, m3.ci_high) == (
        Decimal("0.1667"),
        Decimal("0.0042"),
        Decimal("0.6412"),
    )


def test_mitt_counts_a_visit_not_recorded_as_missing_from_the_day_after_its_window(study, cohort):
    # H-004 has no Month 3. On the window's last day (2025-05-25) it is pending; the day after,
    # missing. The recorded visits (2025-05-11) count either way.
    on_last_day = mitt_at(study, M3_LAST_DAY)
    assert (on_last_day.missing, on_last_day.pending, on_last_day.denominator) == (0, 2, 5)
    day_after = mitt_at(study, M3_LAST_DAY + timedelta(days=1))
    assert (day_after.missing, day_after.pending, day_after.denominator) == (1, 1, 6)


def test_mitt_as_of_a_cut_before_the_visits_counts_only_what_had_happened(study, cohort):
    # Cut 2025-05-10: the Month 3 visits (05-11) are not yet recorded and the window is open
    # (closes 05-25): pending, except H-005 (withdrew 04-01) and H-006 (rescue 04-15), treatment
    # failure. H-007 is infused 05-20, after the cut: not in the set, but listed as not infused.
    m3 = mitt_at(study, M3_DATE - timedelta(days=1))
    assert (m3.denominator, m3.treatment_failure, m3.pending, m3.responders) == (2, 2, 4, 0)
    listed = not_infused(study=study, as_of=M3_DATE - timedelta(days=1))
    assert [(p.participant_id, p.category) for p in listed.participants] == [
        ("H-007", "not infused yet")
    ]


def test_a_withdrawal_before_infusion_counts_only_from_its_date(study, cohort):
    # H-009 is never infused and withdraws on 2025-07-10: on 2025-06-30 still waiting.
    enrol(
        study,
        "H-009",
        "S01",
        "F",
        9,
        30_000,
        infusion_date=None,
        withdrawal_date=date(2025, 7, 10),
        withdrawal_reason="Family moved away",
    )

    def listed(as_of: date) -> list[tuple[str, str, date | None]]:
        found = not_infused(study=study, as_of=as_of).participants
        return [(p.participant_id, p.category, p.withdrawal_date) for p in found]

    assert listed(AFTER_M3) == [("H-009", "not infused yet", None)]
    assert listed(date(2025, 7, 10)) == [("H-009", "withdrawal", date(2025, 7, 10))]


def test_mitt_excludes_a_baseline_below_x_even_without_a_follow_up_visit(study, cohort):
    # A new child with a complete baseline of 2 (rash) and no follow-up visit at all: the
    # exclusion comes from the baseline itself, at every visit (no stored result says O4).
    low = enrol(study, "H-008", "S01", "F", 9, 30_000)
    record_visit(low, "BL", BL_DATE, {"rash"}, "1.00", grades(musculoskeletal="B"))
    summary = mitt_summary(study=study, endpoint="sri4", as_of=AFTER_M3)
    assert {row.excluded for row in summary.rows} == {1}
    assert [(p.participant_id, p.baseline_sledai) for p in summary.excluded] == [("H-008", 2)]
    m3 = row_of(summary.rows, "M3")
    assert (m3.denominator, m3.missing) == (6, 1)  # H-008 is not missing: it is excluded


def test_mitt_excludes_a_complete_baseline_sledai_below_x_while_its_entry_is_in_progress(
    study, cohort
):
    # Baseline SLEDAI-2K complete (rash: 2, below 4) but the PGA not given yet, so the entry is
    # in progress: the SLEDAI-2K alone decides the exclusion (clinical-rules.md section 4a).
    low = enrol(study, "H-008", "S01", "F", 9, 30_000)
    record_visit(low, "BL", BL_DATE, {"rash"}, None, grades(musculoskeletal="B"))
    assert low.visits.get().entry_status == "in_progress"
    summary = mitt_summary(study=study, endpoint="sri4", as_of=AFTER_M3)
    assert [(p.participant_id, p.baseline_sledai) for p in summary.excluded] == [("H-008", 2)]
    # One descriptor left unanswered: the total is unknown, so not excluded (missing at M3).
    baseline = low.visits.get()
    services.visit_save_assessments(
        visit=baseline,
        sledai={field: None if field == "fever" else field == "rash" for field in SLEDAI_FIELDS},
        pga=None,
        bilag=grades(musculoskeletal="B"),
        author=None,
        reason="Fever not yet known",
    )
    summary = mitt_summary(study=study, endpoint="sri4", as_of=AFTER_M3)
    assert summary.excluded == ()
    assert row_of(summary.rows, "M3").missing == 2


def test_baseline_characteristics_by_dose_and_overall(study, cohort):
    table = baseline_characteristics(
        study=study, as_of=AFTER_M3, participants=Participant.objects.all()
    )
    low, high, overall = table.groups
    assert table.doses == (30_000, 100_000)
    # 30000: H-001 (8 y, F), H-004 (10 y, F), H-006 (5 y, M); SLEDAI 8, 12, 8; PGA 2.00 1.00 1.80.
    assert (low.n, low.female, low.male) == (3, 2, 1)
    assert (low.age.median, low.age.low, low.age.high) == (8, 5, 10)
    assert (low.sledai.median, low.sledai.low, low.sledai.high) == (8, 8, 12)
    assert (low.pga.median, low.pga.low, low.pga.high) == (
        Decimal("1.80"),
        Decimal("1.00"),
        Decimal("2.00"),
    )
    assert (low.bilag_a_systems, low.bilag_b_systems) == (0, 3)
    # 100000: H-002 14, H-003 15, H-005 16, H-007 12 -> median (14 + 15) / 2 = 14.5.
    # PGA 1.50, 2.10, 2.20, 2.50 -> median (2.10 + 2.20) / 2 = 2.15, exactly.
    assert (high.n, high.female, high.male) == (4, 3, 1)
    assert high.age.median == Decimal("14.5")
    assert high.pga.median == Decimal("2.15")
    assert (high.bilag_a_systems, high.bilag_b_systems) == (1, 4)  # H-002 renal A
    # Overall: ages 5 8 10 12 14 15 16 -> 12; PGA 1.00 .. 2.50, middle 2.00.
    assert (overall.n, overall.age.median, overall.age.low, overall.age.high) == (7, 12, 5, 16)
    assert (overall.pga.median, overall.pga.low, overall.pga.high) == (
        Decimal("2.00"),
        Decimal("1.00"),
        Decimal("2.50"),
    )
    assert overall.dose_counts == ((30_000, 3), (100_000, 4))
    assert (overall.bilag_a_systems, overall.bilag_b_systems, overall.baseline_missing) == (1, 7, 0)


def test_a_baseline_still_in_progress_is_left_out_of_the_baseline_table(study, cohort):
    h007 = Participant.objects.get(participant_id="H-007")
    baseline = h007.visits.get(visit_definition=study.baseline_visit)
    services.visit_save_assessments(
        visit=baseline,
        sledai=baseline.sledai.answers(),
        pga=baseline.pga.score,
        bilag=baseline.bilag.grades(),
        complete=False,
        author=None,
        reason="Awaiting source verification",
    )
    table = baseline_characteristics(
        study=study, as_of=AFTER_M3, participants=Participant.objects.all()
    )
    overall = table.groups[-1]
    # H-007 (12 y, PGA 2.10) still counts in n and age, but no longer in SLEDAI-2K, PGA, BILAG:
    # PGA 1.00 1.50 1.80 2.00 2.20 2.50 -> median (1.80 + 2.00) / 2 = 1.90.
    assert (overall.n, overall.baseline_missing) == (7, 1)
    assert overall.pga.median == Decimal("1.90")
    assert overall.bilag_b_systems == 6


def test_response_matrix_cells_hold_stored_totals_and_outcomes(study, cohort):
    matrix = response_matrix(
        study=study, endpoint="sri4", as_of=AFTER_M3, participants=Participant.objects.all()
    )
    codes = [column.visit for column in matrix.columns]
    assert codes[0] == "BL"
    assert "M3" in codes
    rows = {row.participant_id: row for row in matrix.rows}
    assert list(rows) == [f"H-00{n}" for n in range(1, 8)]
    bl, m3 = codes.index("BL"), codes.index("M3")
    h1 = rows["H-001"].cells
    assert (h1[bl].sledai_total, h1[bl].outcome) == (8, None)
    # Month 3: low complement 2, a fall of 6; PGA 2.00 -> 0.50.
    assert (h1[m3].sledai_total, h1[m3].outcome, h1[m3].sledai_change) == (2, "responder", -6)
    assert (h1[m3].pga_change, h1[m3].treatment_failure, h1[m3].study_day) == (
        Decimal("-1.50"),
        False,
        90,
    )
    assert rows["H-006"].cells[m3].treatment_failure is True
    assert rows["H-004"].cells[m3] is None


# --------------------------------------------------------------------------------------------
# Pages: the demo cohort, filters, CSV, site boundaries, query budgets
# --------------------------------------------------------------------------------------------


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
    default = ReportFilters.from_query(QueryDict(""), choices)
    assert (default.as_of, default.as_of_given) == (timezone.localdate(), False)
    assert default.querystring == ""


CSV_REQUESTS = [
    ("cohort_summary", {"format": "csv"}),
    ("cohort_summary", {"format": "csv", "table": "mitt"}),
    ("cohort_summary", {"format": "csv", "table": "not_infused"}),
    ("report_matrix", {"format": "csv"}),
    ("report_baseline", {"format": "csv"}),
]


def test_coordinator_sees_only_own_site_in_pages_and_csv(client, study, cohort):
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


def test_coordinator_summary_counts_only_own_site(client, study, cohort):
    client.force_login(UserFactory(role="Coordinator", sites=[SiteFactory(code="S01")]))
    page = client.get(reverse("cohort_summary")).content.decode()
    # S01 at Month 3: H-001 responder, H-002 and H-006 non-responders (H-003 is at S02).
    assert "1 of 3 participants with follow-up reaching Month 3" in page
    assert "not evaluable:" not in page


def test_a_participant_id_written_like_math_shows_as_typed_on_the_plots_page(client, study):
    # Matplotlib reads "$...$" as mathtext: "$x^{$" did not parse and the page answered 500.
    participant = enrol(study, "$x^{$", "S01", "F", 9, 100_000)
    record_visit(participant, "BL", BL_DATE, BL_PRESENT, "2.00", grades(renal="B"))
    record_visit(participant, "M3", M3_DATE, {"rash"}, "1.00", grades(renal="D"))
    client.force_login(UserFactory(role="Data manager"))
    response = client.get(reverse("report_plots"))
    assert response.status_code == 200
    assert ">$x^{$</text>" in response.content.decode()


def build_cohort(study: Study, size: int) -> None:
    """Each participant: BL (SLEDAI 8) and Month 3 (SLEDAI 2, a responder), at S01 or S02; and
    for every third one, a child enrolled but never infused."""
    for number in range(size):
        if number % 3 == 0:
            enrol(study, f"N-{number:03d}", "S01", "F", 7, 100_000, infusion_date=None)
        participant = enrol(
            study, f"Q-{number:03d}", f"S0{1 + number % 2}", "F", 6 + number % 12, 100_000
        )
        record_visit(participant, "BL", BL_DATE, BL_PRESENT, "2.00", grades(renal="B"))
        record_visit(participant, "M3", M3_DATE, {"rash"}, "1.00", grades(renal="D"))


REPORT_QUERY_BUDGET = 20


@pytest.mark.parametrize("size", [2, 12])
def test_report_queries_do_not_grow_with_the_cohort(
    client, study, size, django_assert_max_num_queries
):
    build_cohort(study, size)
    client.force_login(UserFactory(role="Data manager"))
    # Per request: session, user, permissions and the session save (6); the report itself
    # reads the study, filter choices, latest result time and its tables (the summary: the
    # observed set 2, the mITT set 3, those not infused 1, the not evaluable 1): at most 14,
    # whatever the size.
    filters = {"site": "S01", "age": "6-11", "as_of": AFTER_M3.isoformat()}
    for name, params in [(name, filters) for name in REPORT_PAGES]:
        with django_assert_max_num_queries(REPORT_QUERY_BUDGET, info=name):
            assert client.get(reverse(name), params).status_code == 200
    for name, params in CSV_REQUESTS:
        with django_assert_max_num_queries(REPORT_QUERY_BUDGET, info=name):
            assert client.get(reverse(name), {**params, **filters}).status_code == 200


def test_matrix_csv_has_the_responses_csv_columns(client, study, cohort):
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


# The data cut in the URL, and the analysis cohort (tests/responses/conftest.py, hand counts in
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
    assert "with a baseline SLEDAI-2K below 4:" in page
    assert "P03</a> (S01, baseline 2)" in page
    not_infused_csv = csv_rows(
        client.get(
            reverse("cohort_summary"),
            {"as_of": "2024-06-30", "format": "csv", "table": "not_infused"},
        )
    )
    assert not_infused_csv == [
        ["participant_id", "site", "enrollment_date", "reason", "withdrawal_date", "note"],
        ["P10", "S01", "2024-01-02", "manufacturing failure", "", ""],
        ["P11", "S01", "2024-01-02", "withdrawal", "2024-02-15", ""],
    ]
    mitt_csv = csv_rows(
        client.get(
            reverse("cohort_summary"), {"as_of": "2024-06-30", "format": "csv", "table": "mitt"}
        )
    )
    assert mitt_csv[6] == [
        "M3", "5", "1", "0", "2", "1", "1", "1", "4", "0.2000", "0.0051", "0.7164"
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
def data_manager_for_cohort(cohort, client):
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


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_demo_summary_csv_has_the_cohort_csv_columns_and_numbers(data_manager):
    rows = csv_rows(data_manager.get(reverse("cohort_summary"), {"format": "csv"}))
    assert tuple(rows[0]) == COHORT_COLUMNS
    assert ["M3", "5", "5", "4", "0.8000", "0.2836", "0.9949", "0"] in rows
    # S02-004 came to Month 1 on study day 38, outside its window (demo.py).
    assert next(row for row in rows if row[0] == "M1")[-1] == "1"


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
    assert ["M3", "2", "2", "2", "1.0000", "0.1581", "1.0000", "0"] in cohort_csv
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
    # Demo: 0.3 x10^5 = S01-002 (11 y), S01-007 (8 y), S03-005 (15 y), S03-011 (10 y), all girls.
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
        "endpoint": "bicla",
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
