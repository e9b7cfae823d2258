"""Cohort figures (responses.selectors.cohort): the observed and mITT sets, the not evaluable and
the not infused, against hand counts, in a fixed number of queries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.reports import headline_sentence
from responses.scoring.analysis import NotEvaluableReason
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.cohort import (
    cohort_summary,
    mitt_summary,
    not_evaluable_among,
    not_infused,
    results_at,
)
from tests.factories import VisitRow, build_cohort, enrol, grades, record_visit
from tests.responses.cohorts import (
    AFTER_M3,
    AS_OF,
    BL_DATE,
    BL_PRESENT,
    M3_DATE,
    M3_GRADES,
    M3_LAST_DAY,
    bl_visit,
    child,
    m3_visit,
    responders_cohort,
    selectors_participant,
)
from trialsite import services
from trialsite.models import Participant, Study


@pytest.mark.parametrize("size", [3, 30])
def test_cohort_summary_takes_two_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, responders_cohort(size))
    with django_assert_max_num_queries(2):
        rows = cohort_summary(study=study, endpoint="sri6", as_of=AS_OF)
    m1, m3 = (next(row for row in rows if row.visit == code) for code in ("M1", "M3"))
    assert (m1.reached, m1.evaluable, m1.responders, m1.rate) == (size, size, 0, Decimal("0"))
    assert (m3.reached, m3.evaluable, m3.responders, m3.rate) == (size, size, size, Decimal(1))


def test_cohort_summary_refuses_an_unknown_endpoint(study):
    with pytest.raises(ValueError, match="Unknown endpoint"):
        cohort_summary(study=study, endpoint="sri7", as_of=AS_OF)


@pytest.mark.parametrize("size", [3, 30])
def test_mitt_summary_and_not_infused_take_fixed_queries_whatever_the_cohort_size(
    study, size, django_assert_max_num_queries
):
    build_cohort(study, responders_cohort(size))
    # As many enrolled and never infused.
    never_infused = selectors_participant("S01", infused=None)
    build_cohort(study, {f"N-{number:03d}": never_infused for number in range(size)})
    with django_assert_max_num_queries(3):
        mitt = mitt_summary(study=study, endpoint="sri4", as_of=AS_OF)
    m3 = next(row for row in mitt.rows if row.visit == "M3")
    assert (m3.denominator, m3.responders) == (size, size)
    with django_assert_max_num_queries(1):
        listed = not_infused(study=study, as_of=AS_OF)
    assert listed.count == size


# The report cohort (tests/responses/cohorts.py REPORT_COHORT), counted by hand.


def row_of(rows, code: str):
    return next(row for row in rows if row.visit == code)


def test_cohort_summary_at_month_3_matches_the_hand_count(study, report_cohort):
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
    assert headline_sentence(m3, "sri4") == (
        "1 of 3 participants with follow-up reaching Month 3 achieved SRI-4 (33%; 95% CI 1-91%)"
    )
    not_evaluable = not_evaluable_among(
        results_at(
            study=study, visit_definition=study.primary_visit, endpoint="sri4", as_of=AFTER_M3
        )
    )
    assert headline_sentence(m3, "sri4", not_evaluable=not_evaluable) == (
        "1 of 3 participants with follow-up reaching Month 3 achieved SRI-4 (33%; 95% CI 1-91%)"
        "; 1 more reached Month 3 but is not evaluable (data entry in progress)"
    )


def test_a_not_evaluable_visit_left_out_of_window_is_not_named_twice(study, report_cohort):
    # H-008's Month 3 on study day 40 (window 76..104), PGA missing: not evaluable, in progress.
    out_of_window = VisitRow(40, {"low_complement"}, None, M3_GRADES)
    late = child("S01", "F", 9, 30_000, visits={"BL": bl_visit(BL_PRESENT, "2.00"),
                                                "M3": out_of_window})  # fmt: skip
    build_cohort(study, {"H-008": late})

    def named() -> list[str]:
        items = not_evaluable_among(
            results_at(
                study=study, visit_definition=study.primary_visit, endpoint="sri4", as_of=AFTER_M3
            )
        )
        return [item.participant_id for item in items]

    assert named() == ["H-003", "H-008"]
    # Left out by the study's setting, H-008 is counted once: among the visits out of window,
    # not among the not evaluable.
    Study.objects.filter(pk=study.pk).update(exclude_out_of_window_visits=True)
    study.refresh_from_db()
    assert named() == ["H-003"]


def test_not_evaluable_participants_are_named_with_their_reason(study, report_cohort):
    (item,) = not_evaluable_among(
        results_at(
            study=study,
            visit_definition=study.primary_visit,
            endpoint="sri4",
            as_of=AFTER_M3,
            participants=Participant.objects.all(),
        )
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


def test_mitt_at_month_3_counts_every_category(study, report_cohort):
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


def test_mitt_counts_a_visit_not_recorded_as_missing_from_the_day_after_its_window(
    study, report_cohort
):
    # H-004 has no Month 3. On the window's last day (2025-05-25) it is pending; the day after,
    # missing. The recorded visits (2025-05-11) count either way.
    on_last_day = mitt_at(study, M3_LAST_DAY)
    assert (on_last_day.missing, on_last_day.pending, on_last_day.denominator) == (0, 2, 5)
    day_after = mitt_at(study, M3_LAST_DAY + timedelta(days=1))
    assert (day_after.missing, day_after.pending, day_after.denominator) == (1, 1, 6)


def test_mitt_as_of_a_cut_before_the_visits_counts_only_what_had_happened(study, report_cohort):
    # Cut 2025-05-10: the Month 3 visits (05-11) are not yet recorded and the window is open
    # (closes 05-25): pending, except H-005 (withdrew 04-01) and H-006 (rescue 04-15), treatment
    # failure. H-007 is infused 05-20, after the cut: not in the set, but listed as not infused.
    m3 = mitt_at(study, M3_DATE - timedelta(days=1))
    assert (m3.denominator, m3.treatment_failure, m3.pending, m3.responders) == (2, 2, 4, 0)
    listed = not_infused(study=study, as_of=M3_DATE - timedelta(days=1))
    assert [(p.participant_id, p.category) for p in listed.participants] == [
        ("H-007", "not infused yet")
    ]


def test_a_withdrawal_before_infusion_counts_only_from_its_date(study, report_cohort):
    # H-009 is never infused and withdraws on 2025-07-10: on 2025-06-30 still waiting.
    withdrawn = {"withdrawal_date": date(2025, 7, 10), "withdrawal_reason": "Family moved away"}
    build_cohort(study, {"H-009": child("S01", "F", 9, 30_000, infused=None, details=withdrawn)})

    def listed(as_of: date) -> list[tuple[str, str, date | None]]:
        found = not_infused(study=study, as_of=as_of).participants
        return [(p.participant_id, p.category, p.withdrawal_date) for p in found]

    assert listed(AFTER_M3) == [("H-009", "not infused yet", None)]
    assert listed(date(2025, 7, 10)) == [("H-009", "withdrawal", date(2025, 7, 10))]


def test_mitt_excludes_a_baseline_below_x_even_without_a_follow_up_visit(study, report_cohort):
    # A new child with a complete baseline of 2 (rash) and no follow-up visit at all: the
    # exclusion comes from the baseline itself, at every visit (no stored result says O4).
    build_cohort(
        study, {"H-008": child("S01", "F", 9, 30_000, visits={"BL": bl_visit({"rash"}, "1.00")})}
    )
    summary = mitt_summary(study=study, endpoint="sri4", as_of=AFTER_M3)
    assert {row.excluded for row in summary.rows} == {1}
    assert [(p.participant_id, p.reason_parts) for p in summary.excluded] == [
        ("H-008", (("baseline SLEDAI-2K %(total)s is below %(threshold)s",
                    {"total": "2", "threshold": "4"}),)),
    ]  # fmt: skip
    m3 = row_of(summary.rows, "M3")
    assert (m3.denominator, m3.missing) == (6, 1)  # H-008 is not missing: it is excluded


def test_mitt_excludes_a_complete_baseline_sledai_below_x_while_its_entry_is_in_progress(
    study, report_cohort
):
    # Baseline SLEDAI-2K complete (rash: 2, below 4) but the PGA not given yet, so the entry is
    # in progress: the SLEDAI-2K alone decides the exclusion (clinical-rules.md section 4a).
    low = build_cohort(
        study, {"H-008": child("S01", "F", 9, 30_000, visits={"BL": bl_visit({"rash"}, None)})}
    )["H-008"]
    assert low.visits.get().entry_status == "in_progress"
    summary = mitt_summary(study=study, endpoint="sri4", as_of=AFTER_M3)
    assert [p.participant_id for p in summary.excluded] == ["H-008"]
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


# BICLA, LLDAS and DORIS remission (clinical-rules.md section 5): the same analysis sets; only
# BICLA excludes anyone from its mITT set (no BILAG A or B at baseline).


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("endpoint", ["bicla", "lldas", "doris"])
def test_the_new_endpoints_take_the_same_queries_whatever_the_cohort_size(
    study, endpoint, size, django_assert_max_num_queries
):
    # responders_cohort: every BILAG-2004 system E at baseline, so everyone is outside BICLA's
    # set. Month 3 (nothing present, PGA 0.50): in LLDAS (SLEDAI-2K 0, PGA <= 1.00, no
    # prednisolone), not in DORIS remission (PGA 0.50 is not below 0.50).
    build_cohort(study, responders_cohort(size))
    with django_assert_max_num_queries(2):
        rows = cohort_summary(study=study, endpoint=endpoint, as_of=AS_OF)
    with django_assert_max_num_queries(3):
        mitt = mitt_summary(study=study, endpoint=endpoint, as_of=AS_OF)
    observed_m3, mitt_m3 = row_of(rows, "M3"), row_of(mitt.rows, "M3")
    expected = {
        "bicla": ((size, 0, 0), (0, 0, size)),
        "lldas": ((size, size, size), (size, size, 0)),
        "doris": ((size, size, 0), (size, 0, 0)),
    }[endpoint]
    assert (observed_m3.reached, observed_m3.evaluable, observed_m3.responders) == expected[0]
    assert (mitt_m3.denominator, mitt_m3.responders, mitt_m3.excluded) == expected[1]
    assert len(mitt.excluded) == expected[1][2]


# The report cohort (REPORT_COHORT) at Month 3 for the new endpoints, counted by hand. Every
# baseline: SLEDAI-2K 8, musculoskeletal B; no medication, so a prednisolone-equivalent 0 mg.
#   H-001 (Month 3 low complement: 2, PGA 2.00 -> 0.50, musculoskeletal D): BICLA responder
#     (B improved to D, SLEDAI-2K 8 -> 2, PGA fell); in LLDAS (2 <= 4, low complement is no
#     major-organ descriptor and was present at BL, PGA 0.50 <= 1.00); not in DORIS remission
#     (PGA 0.50 is not below 0.50).
#   H-002 (arthritis + low complement: 6, PGA 1.50 -> 0.50, renal A -> C, musculoskeletal
#     B -> D): BICLA responder (A and B improved, 6 not higher than 8); not in LLDAS (6 > 4);
#     not in DORIS remission (arthritis present).
#   H-003 (PGA missing, entry in progress): not evaluable for all three (O2).
#   H-006 (rescue therapy 2025-04-15, before Month 3): non-responder for all three (O1).
# Observed: reached 4, evaluable 3. mITT as for SRI-4 (test_mitt_at_month_3_counts_every_
# category): H-003 incomplete, H-004 missing, H-005 and H-006 treatment failure, H-007 pending,
# nobody excluded (every baseline has a B).
# Exact 95% intervals (Clopper-Pearson): 2 of 3 0.0943-0.9916 (1 of 3 mirrored), 1 of 3
# 0.0084-0.9057, 0 of 3 0 to 1 - 0.025^(1/3) = 0.7076; 2 of 6 0.0433-0.7772, 1 of 6
# 0.0042-0.6412, 0 of 6 0 to 1 - 0.025^(1/6) = 0.4593.
@pytest.mark.parametrize(
    ("endpoint", "observed", "mitt", "headline"),
    [
        pytest.param(
            "bicla", (4, 3, 2, "0.6667", "0.0943", "0.9916"),
            (6, 2, 0, 2, 1, 1, 0, 1, "0.3333", "0.0433", "0.7772"),
            "2 of 3 participants with follow-up reaching Month 3 achieved a BICLA response "
            "(67%; 95% CI 9-99%)",
            id="bicla"),
        pytest.param(
            "lldas", (4, 3, 1, "0.3333", "0.0084", "0.9057"),
            (6, 1, 1, 2, 1, 1, 0, 1, "0.1667", "0.0042", "0.6412"),
            "1 of 3 participants with follow-up reaching Month 3 was in LLDAS "
            "(33%; 95% CI 1-91%)",
            id="lldas"),
        pytest.param(
            "doris", (4, 3, 0, "0.0000", "0.0000", "0.7076"),
            (6, 0, 2, 2, 1, 1, 0, 1, "0.0000", "0.0000", "0.4593"),
            "0 of 3 participants with follow-up reaching Month 3 were in DORIS remission "
            "(0%; 95% CI 0-71%)",
            id="doris"),
    ],
)  # fmt: skip
def test_the_new_endpoints_at_month_3_match_the_hand_count(
    study, report_cohort, endpoint, observed, mitt, headline
):
    m3 = row_of(cohort_summary(study=study, endpoint=endpoint, as_of=AFTER_M3), "M3")
    reached, evaluable, responders, *rate = observed
    assert (m3.reached, m3.evaluable, m3.responders, m3.out_of_window) == (
        reached, evaluable, responders, 0
    )  # fmt: skip
    assert (m3.rate, m3.ci_low, m3.ci_high) == tuple(Decimal(value) for value in rate)
    summary = mitt_summary(study=study, endpoint=endpoint, as_of=AFTER_M3)
    infused_m3 = row_of(summary.rows, "M3")
    *counts, rate, low, high = mitt
    assert (
        infused_m3.denominator,
        infused_m3.responders,
        infused_m3.non_responders,
        infused_m3.treatment_failure,
        infused_m3.incomplete,
        infused_m3.missing,
        infused_m3.excluded,
        infused_m3.pending,
    ) == tuple(counts)
    assert (infused_m3.rate, infused_m3.ci_low, infused_m3.ci_high) == (
        Decimal(rate), Decimal(low), Decimal(high)
    )  # fmt: skip
    assert summary.excluded == ()
    assert headline_sentence(m3, endpoint) == headline
    (item,) = not_evaluable_among(
        results_at(
            study=study, visit_definition=study.primary_visit, endpoint=endpoint, as_of=AFTER_M3
        )
    )
    assert (item.participant_id, item.category) == ("H-003", NotEvaluableReason.ENTRY_IN_PROGRESS)


def test_bicla_excludes_a_baseline_without_bilag_a_or_b_at_every_visit(study, report_cohort):
    # H-008: every system E at baseline and at Month 3, otherwise as H-001. Its stored BICLA
    # result at Month 3 is not evaluable ("no BILAG A or B at baseline"), and it is outside
    # BICLA's mITT set at every visit; SRI-4 (baseline 8), LLDAS and DORIS keep it.
    visits = {
        "BL": bl_visit(BL_PRESENT, "2.00", grades()),
        "M3": m3_visit({"low_complement"}, "0.50", grades()),
    }
    build_cohort(study, {"H-008": child("S01", "F", 9, 30_000, visits=visits)})
    summary = mitt_summary(study=study, endpoint="bicla", as_of=AFTER_M3)
    assert {row.excluded for row in summary.rows} == {1}
    assert [(p.participant_id, p.site, p.reason_parts) for p in summary.excluded] == [
        ("H-008", "S01", (("no BILAG A or B at baseline", {}),))
    ]
    m3 = row_of(summary.rows, "M3")
    # As in the hand count above (2 of 6), H-008 outside the denominator.
    assert (m3.denominator, m3.responders, m3.excluded) == (6, 2, 1)
    for endpoint in ("sri4", "lldas", "doris"):
        assert mitt_summary(study=study, endpoint=endpoint, as_of=AFTER_M3).excluded == ()
    observed = row_of(cohort_summary(study=study, endpoint="bicla", as_of=AFTER_M3), "M3")
    assert (observed.reached, observed.evaluable, observed.responders) == (5, 3, 2)
    not_evaluable = not_evaluable_among(
        results_at(
            study=study, visit_definition=study.primary_visit, endpoint="bicla", as_of=AFTER_M3
        )
    )
    assert [(item.participant_id, item.category) for item in not_evaluable] == [
        ("H-003", NotEvaluableReason.ENTRY_IN_PROGRESS),
        ("H-008", NotEvaluableReason.NO_BILAG_A_OR_B_AT_BASELINE),
    ]
    assert headline_sentence(observed, "bicla", not_evaluable=not_evaluable) == (
        "2 of 3 participants with follow-up reaching Month 3 achieved a BICLA response (67%; 95% "
        "CI 9-99%); 2 more reached Month 3 but are not evaluable (data entry in progress: 1, no "
        "BILAG A or B at baseline: 1)"
    )


NOT_ASSESSED = {"bilag_renal": "Renal assessment not done"}


@pytest.mark.parametrize(
    ("baseline_grades", "not_done", "entry_status", "excluded"),
    [
        pytest.param(grades(), None, "complete", True, id="every-system-e-is-excluded"),
        pytest.param(grades(musculoskeletal="C", renal="D"), None, "complete", True,
                     id="only-c-d-and-e-is-excluded"),
        pytest.param(grades(renal="B"), None, "complete", False, id="one-b-is-not-excluded"),
        pytest.param(grades(renal="A"), None, "complete", False, id="one-a-is-not-excluded"),
        # Incomplete BILAG-2004: a system not graded yet (the entry stays in progress), or
        # marked not done (the entry is complete, the grade still missing).
        pytest.param({**grades(), "renal": None}, None, "in_progress", False,
                     id="a-system-not-graded-yet-is-not-excluded"),
        pytest.param({**grades(), "renal": None}, NOT_ASSESSED, "complete", False,
                     id="a-system-not-done-is-not-excluded"),
    ],
)  # fmt: skip
def test_bicla_excludes_only_a_complete_baseline_bilag_without_a_or_b(
    study, baseline_grades, not_done, entry_status, excluded
):
    participant = enrol(study, "B-001", child("S01", "F", 9, 30_000))
    baseline = record_visit(
        participant, "BL", BL_DATE, pga="2.00", sledai=BL_PRESENT, bilag=baseline_grades,
        not_done=not_done,
    )  # fmt: skip
    assert baseline.entry_status == entry_status
    summary = mitt_summary(study=study, endpoint="bicla", as_of=AFTER_M3)
    assert [p.participant_id for p in summary.excluded] == (["B-001"] if excluded else [])
    assert {row.excluded for row in summary.rows} == {1 if excluded else 0}


def test_lldas_and_doris_exclude_nobody(study):
    # A baseline below 4 (rash, 2) with no BILAG A or B: outside SRI-4's and BICLA's sets, in
    # LLDAS's and DORIS's.
    participant = enrol(study, "B-001", child("S01", "F", 9, 30_000))
    record_visit(participant, "BL", BL_DATE, pga="2.00", sledai={"rash"}, bilag=grades())
    for endpoint, excluded in [("sri4", 1), ("bicla", 1), ("lldas", 0), ("doris", 0)]:
        summary = mitt_summary(study=study, endpoint=endpoint, as_of=AFTER_M3)
        assert (len(summary.excluded), {row.excluded for row in summary.rows}) == (
            excluded, {excluded}
        ), endpoint  # fmt: skip
