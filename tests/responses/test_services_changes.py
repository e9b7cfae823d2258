"""What a recompute changed: the endpoint results whose outcome a save changed, at any visit."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from responses.models import EndpointResult
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import ResultChange, participant_recompute_responses, stale_results
from tests.factories import grades, record_visit
from trialsite import services

NONE_PRESENT = dict.fromkeys(SLEDAI_FIELDS, False)
# Baseline: arthritis 4 + low complement 2 + fever 1 = 7 (clinical-rules.md section 1 weights).
BASELINE_SLEDAI = {**NONE_PRESENT, "arthritis": True, "low_complement": True, "fever": True}
# Month 3: low complement 2 = 2, a fall of 5: SRI-4 and SRI-5 responders, not SRI-6 (5 < 6).
M3_SLEDAI = {**NONE_PRESENT, "low_complement": True}
BASELINE_BILAG = grades(musculoskeletal="B", mucocutaneous="C")
M3_BILAG = grades(musculoskeletal="D", mucocutaneous="D")


@pytest.fixture
def visits(participant_a):
    bl = record_visit(
        participant_a,
        "BL",
        date(2026, 2, 2),
        sledai=BASELINE_SLEDAI,
        pga=Decimal("2.00"),
        bilag=BASELINE_BILAG,
    )
    m3 = record_visit(
        participant_a,
        "M3",
        date(2026, 5, 10),
        sledai=M3_SLEDAI,
        pga=Decimal("1.00"),
        bilag=M3_BILAG,
    )
    return participant_a, bl, m3


def save_baseline(bl, sledai, pga: str = "2.00") -> services.SavedAssessments:
    return services.visit_save_assessments(
        visit=bl, sledai=sledai, pga=Decimal(pga), bilag=BASELINE_BILAG, author=None, reason="r"
    )


def test_a_baseline_correction_lists_exactly_the_outcome_it_flipped(visits):
    _participant, bl, m3 = visits
    assert {r.endpoint: r.outcome for r in m3.endpoint_results.all()}["sri5"] == "responder"
    # The fever was an infection: baseline 4 + 2 = 6, a fall of 4. SRI-4 (>= 4) still responds
    # and SRI-6 did not before; SRI-5 (>= 5) no longer does. BICLA (2 <= 6, musculoskeletal
    # B -> D), LLDAS and DORIS (states at M3, nothing new at M3) keep their outcomes.
    saved = save_baseline(bl, {**BASELINE_SLEDAI, "fever": False})

    assert saved.visit == bl
    assert saved.changes == (ResultChange(m3.pk, "M3", "sri5", "responder", "non-responder"),)
    # SRI-4's reason changed (fell by 5 -> fell by 4), its outcome did not: not listed.
    assert EndpointResult.objects.get(visit=m3, endpoint="sri4").reason.startswith(
        "SLEDAI-2K fell by 4"
    )
    assert saved.changes[0].endpoint_label == "SRI-5"
    assert stale_results() == []


def test_removing_the_rash_at_baseline_flips_sri5_and_sri6_in_the_endpoints_order(participant_a):
    rash_baseline = {**BASELINE_SLEDAI, "fever": False, "rash": True}  # 4 + 2 + 2 = 8
    bl = record_visit(
        participant_a, "BL", date(2026, 2, 2), sledai=rash_baseline, bilag=BASELINE_BILAG
    )
    m3 = record_visit(participant_a, "M3", date(2026, 5, 10), sledai=M3_SLEDAI, bilag=M3_BILAG)
    # 8 -> 2 fell by 6: SRI-4/5/6 responders; without the rash 6 -> 2 fell by 4: SRI-4 only.
    saved = save_baseline(bl, {**rash_baseline, "rash": False}, pga="1.00")
    assert saved.changes == (
        ResultChange(m3.pk, "M3", "sri5", "responder", "non-responder"),
        ResultChange(m3.pk, "M3", "sri6", "responder", "non-responder"),
    )


def test_a_save_that_changes_no_outcome_lists_nothing(visits):
    _participant, bl, _m3 = visits
    assert save_baseline(bl, BASELINE_SLEDAI).changes == ()
    # PGA 2.00 -> 1.90 at baseline: M3's PGA change -1.00 -> -0.90, every outcome the same.
    assert save_baseline(bl, BASELINE_SLEDAI, pga="1.90").changes == ()


def test_an_in_progress_save_lists_the_visit_s_own_results_as_not_evaluable(visits):
    _participant, _bl, m3 = visits
    saved = services.visit_save_assessments(
        visit=m3,
        sledai=M3_SLEDAI,
        pga=Decimal("1.00"),
        bilag=M3_BILAG,
        complete=False,
        author=None,
        reason="r",
    )
    # Before: SRI-4 and SRI-5 responders (fall 5), SRI-6 non-responder (5 < 6), BICLA and
    # LLDAS responders, DORIS non-responder (PGA 1.00 >= 0.50); in progress, none is evaluable.
    assert saved.changes == tuple(
        ResultChange(m3.pk, "M3", endpoint, before, "not evaluable")
        for endpoint, before in [
            ("sri4", "responder"),
            ("sri5", "responder"),
            ("sri6", "non-responder"),
            ("bicla", "responder"),
            ("lldas", "responder"),
            ("doris", "non-responder"),
        ]
    )


def test_a_result_added_or_removed_is_a_change_from_or_to_none(visits):
    participant, bl, m3 = visits
    EndpointResult.objects.filter(visit=m3, endpoint="sri4").delete()
    EndpointResult.objects.create(  # the baseline is compared with nothing: not expected
        visit=bl,
        endpoint="bicla",
        outcome="responder",
        reason="tampered",
        reason_parts=[],
        treatment_failure=False,
        computed_at=timezone.now(),
    )
    assert participant_recompute_responses(participant=participant) == [
        ResultChange(m3.pk, "M3", "sri4", None, "responder"),
        ResultChange(bl.pk, "BL", "bicla", "responder", None),
    ]
    assert stale_results() == []


def test_listing_the_changes_reads_no_row_by_row(visits):
    participant, bl, _m3 = visits
    counts = []
    for code, day in (("M6", date(2026, 8, 10)), ("M9", date(2026, 11, 5))):
        with CaptureQueriesContext(connection) as few:
            save_baseline(bl, {**BASELINE_SLEDAI, "fever": len(counts) == 1})  # a change
        counts.append(len(few))
        record_visit(participant, code, day, sledai=M3_SLEDAI, bilag=M3_BILAG)
    # One follow-up visit with 6 results, then two with 12: the same number of queries.
    assert counts[0] == counts[1]
