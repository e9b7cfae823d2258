"""Cohort figures (responses.selectors.cohort): the observed and mITT sets, the not evaluable and
the not infused, against hand counts, in a fixed number of queries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from responses.reports import headline_sentence
from responses.scoring.analysis import NotEvaluableReason
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.cohort import cohort_summary, mitt_summary, not_evaluable_at, not_infused
from tests.factories import VisitRow, build_cohort, grades
from tests.responses.cohorts import (
    AFTER_M3,
    AS_OF,
    BL_PRESENT,
    M3_DATE,
    M3_GRADES,
    M3_LAST_DAY,
    bl_visit,
    child,
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
        cohort_summary(study=study, endpoint="bicla", as_of=AS_OF)


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


def test_a_not_evaluable_visit_left_out_of_window_is_not_named_twice(study, report_cohort):
    # H-008's Month 3 on study day 40 (window 76..104), PGA missing: not evaluable, in progress.
    out_of_window = VisitRow(40, {"low_complement"}, None, M3_GRADES)
    late = child("S01", "F", 9, 30_000, visits={"BL": bl_visit(BL_PRESENT, "2.00"),
                                                "M3": out_of_window})  # fmt: skip
    build_cohort(study, {"H-008": late})

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


def test_not_evaluable_participants_are_named_with_their_reason(study, report_cohort):
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
    assert [(p.participant_id, p.baseline_sledai) for p in summary.excluded] == [("H-008", 2)]
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
