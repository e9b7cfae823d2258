"""Results on save: every write path rescores, and a stored result always equals a fresh one."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from responses.models import EndpointResult, VisitScore
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.common import latest_computed_at
from responses.services import stale_results
from tests.factories import ParticipantFactory, UserFactory, record_visit
from tests.pages import admin_visit_form, opened_version
from trialsite import services
from trialsite.demo import load_demo
from trialsite.models import Participant, Visit, VisitDefinition

NONE_PRESENT = dict.fromkeys(SLEDAI_FIELDS, False)
ALL_E = dict.fromkeys(BILAG_SYSTEMS, "E")
# Baseline: arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1 weights).
BASELINE_SLEDAI = {**NONE_PRESENT, "arthritis": True, "rash": True, "low_complement": True}
# Month 3: low complement 2 = 2, a fall of 6.
M3_SLEDAI = {**NONE_PRESENT, "low_complement": True}
BASELINE_BILAG = {**ALL_E, "musculoskeletal": "B", "mucocutaneous": "C"}
M3_BILAG = {**ALL_E, "musculoskeletal": "D", "mucocutaneous": "D"}


def sri4(visit: Visit) -> EndpointResult:
    return EndpointResult.objects.get(visit=visit, endpoint="sri4")


def code(study, visit_code: str) -> VisitDefinition:
    return VisitDefinition.objects.get(study=study, code=visit_code)


@pytest.fixture
def responder_visits(participant_a):
    """One participant (infused 2026-02-09) with BL and M3: an SRI-4 responder by hand."""
    bl = record_visit(
        participant_a,
        "BL",
        date(2026, 2, 2),
        sledai=BASELINE_SLEDAI,
        pga=Decimal("2.00"),
        bilag=BASELINE_BILAG,
        reason="r",
    )
    m3 = record_visit(
        participant_a,
        "M3",
        date(2026, 5, 10),
        sledai=M3_SLEDAI,
        pga=Decimal("1.00"),
        bilag=M3_BILAG,
        reason="r",
    )
    return participant_a, bl, m3


def test_saving_a_visit_stores_its_scores_and_sri_results(responder_visits):
    _participant, bl, m3 = responder_visits
    assert VisitScore.objects.get(visit=bl).sledai_total == 8
    assert VisitScore.objects.get(visit=m3).sledai_total == 2
    # musculoskeletal B -> 8, mucocutaneous C -> 1 (A=12, B=8, C=1, D=E=0).
    assert VisitScore.objects.get(visit=bl).bilag_numeric == 9
    result = sri4(m3)
    assert result.outcome == "responder"
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b) == (-6, 0, 0)
    assert result.pga_change == Decimal("-1.00")
    assert result.treatment_failure is False
    # SRI-5 (fall 6 >= 5) and SRI-6 (6 >= 6) respond too; the baseline visit has no result.
    # BICLA: musculoskeletal B -> D improved, no new A or B, SLEDAI-2K 2 <= 8, PGA -1.00.
    # LLDAS: SLEDAI-2K 2 (low complement, not a major organ), nothing new since BL, PGA 1.00,
    # no glucocorticoid. DORIS: clinical SLEDAI-2K 0 (low complement does not count), but PGA
    # 1.00 is not below 0.50.
    assert {r.endpoint: r.outcome for r in m3.endpoint_results.all()} == {
        "sri4": "responder",
        "sri5": "responder",
        "sri6": "responder",
        "bicla": "responder",
        "lldas": "responder",
        "doris": "non-responder",
    }
    assert EndpointResult.objects.get(visit=m3, endpoint="doris").reason == "PGA 1.00 ≥ 0.50"
    lldas = EndpointResult.objects.get(visit=m3, endpoint="lldas")
    assert "no descriptor new since BL" in lldas.reason
    assert lldas.prednisolone_mg == Decimal("0")
    assert not EndpointResult.objects.filter(visit=bl).exists()
    assert stale_results() == []


def test_editing_the_baseline_recomputes_later_visits(responder_visits):
    _participant, bl, m3 = responder_visits
    # Baseline without rash: 4 + 2 = 6, a fall of 4: still SRI-4, no longer SRI-5.
    services.visit_save_assessments(
        visit=bl,
        sledai={**BASELINE_SLEDAI, "rash": False},
        pga=Decimal("2.00"),
        bilag=BASELINE_BILAG,
        author=None,
        reason="Rash was drug-induced",
    )
    outcomes = {r.endpoint: r.outcome for r in m3.endpoint_results.all()}
    # BICLA still holds (2 <= 6); LLDAS and DORIS read M3 itself, and low complement was
    # present at BL too.
    assert outcomes == {
        "sri4": "responder",
        "sri5": "non-responder",
        "sri6": "non-responder",
        "bicla": "responder",
        "lldas": "responder",
        "doris": "non-responder",
    }
    assert sri4(m3).sledai_change == -4
    assert stale_results() == []


def test_a_rescore_writes_only_the_columns_that_changed(responder_visits):
    _participant, bl, m3 = responder_visits
    with CaptureQueriesContext(connection) as queries:
        services.visit_save_assessments(
            visit=bl,
            sledai={**BASELINE_SLEDAI, "rash": False},  # 6 at baseline: a fall of 4, not 6
            pga=Decimal("2.00"),
            bilag=BASELINE_BILAG,
            author=None,
            reason="Rash was drug-induced",
        )

    (update,) = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('UPDATE "responses_endpointresult"')
    ]
    assert '"sledai_change" =' in update
    assert '"outcome" =' in update
    assert '"pga_change" =' not in update  # -1.00 before and after
    assert '"treatment_failure" =' not in update
    assert (sri4(m3).sledai_change, sri4(m3).pga_change) == (-4, Decimal("-1.00"))
    assert stale_results() == []


def test_baseline_pga_change_of_exactly_0_30_makes_a_non_responder(responder_visits):
    _participant, bl, m3 = responder_visits
    services.visit_save_assessments(
        visit=bl,
        sledai=BASELINE_SLEDAI,
        pga=Decimal("0.70"),
        bilag=BASELINE_BILAG,
        author=None,
        reason="Corrected PGA",
    )
    result = sri4(m3)
    assert result.outcome == "non-responder"
    assert result.pga_change == Decimal("0.30")
    assert result.reason == "PGA rose by 0.30"


@pytest.mark.parametrize(
    ("failure_days_after_m3", "outcome"),
    [(-1, "non-responder"), (0, "non-responder"), (1, "responder")],
    ids=["failure-before-visit", "failure-on-visit", "failure-after-visit"],
)
def test_treatment_failure_date_change_recomputes(responder_visits, failure_days_after_m3, outcome):
    participant, _bl, m3 = responder_visits
    participant.treatment_failure_date = m3.visit_date + timedelta(days=failure_days_after_m3)
    services.participant_save(participant=participant, author=None, reason="Rescue therapy")
    assert sri4(m3).outcome == outcome
    assert sri4(m3).treatment_failure is (failure_days_after_m3 <= 0)


def test_withdrawal_before_the_visit_makes_a_non_responder(responder_visits):
    participant, _bl, m3 = responder_visits
    participant.withdrawal_date = m3.visit_date - timedelta(days=3)
    participant.withdrawal_reason = "Family moved away"
    services.participant_save(participant=participant, author=None, reason="Withdrawn")
    assert sri4(m3).outcome == "non-responder"
    # Every other component passes, so the reason names only the failure.
    assert sri4(m3).reason == "treatment failure"


def test_moving_the_baseline_after_a_later_visit_is_refused_and_changes_nothing(responder_visits):
    _participant, bl, m3 = responder_visits
    before = sri4(m3).outcome
    bl.visit_date = date(2026, 5, 11)
    with pytest.raises(ValidationError) as refused:
        services.visit_save(visit=bl, author=None, reason="Date typo")
    assert "Out of the schedule's order: BL is dated 2026-05-11" in str(refused.value)
    bl.refresh_from_db()
    assert bl.visit_date == date(2026, 2, 2)
    assert sri4(m3).outcome == before
    assert stale_results() == []


def test_deleting_the_baseline_makes_later_visits_not_evaluable(responder_visits):
    _participant, bl, m3 = responder_visits
    bl_pk = bl.pk
    services.visit_delete(visit=bl, author=None, reason="Entered for the wrong participant")
    assert sri4(m3).outcome == "not evaluable"
    assert sri4(m3).reason == "no baseline visit"
    deletion = Visit.history.get(id=bl_pk, history_type="-")
    assert deletion.history_change_reason == "Entered for the wrong participant"
    assert deletion.visit_date == date(2026, 2, 2)
    assert stale_results() == []


def test_grade_e_after_involvement_is_refused_and_nothing_is_saved(responder_visits):
    _participant, _bl, m3 = responder_visits
    with pytest.raises(ValidationError) as excinfo:
        services.visit_save_assessments(
            visit=m3,
            sledai=M3_SLEDAI,
            pga=Decimal("0.50"),
            bilag={**M3_BILAG, "musculoskeletal": "E"},
            author=None,
            reason="r",
        )
    assert excinfo.value.message_dict == {
        "musculoskeletal": [
            "Musculoskeletal cannot be E (never involved) at M3: it was graded B at BL on "
            "2026-02-02."
        ]
    }
    m3.refresh_from_db()
    assert m3.bilag.musculoskeletal == "D"
    assert m3.pga.score == Decimal("1.00")


def test_an_earlier_visit_with_involvement_cannot_precede_a_grade_e(responder_visits, study):
    participant, _bl, _m3 = responder_visits
    m1 = services.visit_create(
        participant=participant,
        visit_definition=code(study, "M1"),
        visit_date=date(2026, 3, 9),
        author=None,
        reason="r",
    )
    with pytest.raises(ValidationError, match="Renal cannot be E"):
        services.visit_save_assessments(
            visit=m1,
            sledai=M3_SLEDAI,
            pga=Decimal("1.00"),
            bilag={**M3_BILAG, "renal": "C"},
            author=None,
            reason="r",
        )


def test_recompute_responses_check_finds_a_tampered_result(responder_visits):
    _participant, _bl, m3 = responder_visits
    call_command("recompute_responses", "--check")
    EndpointResult.objects.filter(visit=m3, endpoint="sri4").update(outcome="non-responder")
    # From the shell, CommandError exits with status 1.
    with pytest.raises(CommandError, match="1 stored result differs"):
        call_command("recompute_responses", "--check")
    call_command("recompute_responses")
    assert sri4(m3).outcome == "responder"
    call_command("recompute_responses", "--check")


def test_demo_loader_stores_results_equal_to_fresh_ones(db):
    load_demo(today=date(2026, 11, 26))
    assert stale_results() == []
    m3_outcomes = EndpointResult.objects.filter(
        endpoint="sri4", visit__visit_definition__code="M3"
    ).values_list("visit__participant__participant_id", "outcome")
    assert dict(m3_outcomes) == {
        "S01-001": "responder",
        "S01-002": "responder",
        "S02-003": "responder",
        "S02-004": "responder",
        "S03-005": "non-responder",
    }


def admin_visit_post(client, visit: Visit, pga: str, renal: str, reason: str) -> dict:
    """The admin change form of a visit as stored, with another PGA and renal grade."""
    return admin_visit_form(
        client,
        visit,
        pga=pga,
        sledai=visit.sledai.answers(),
        bilag={**visit.bilag.grades(), "renal": renal},
        reason=reason,
    )


def test_admin_edit_of_the_baseline_recomputes_and_records_the_reason(
    superuser_client, responder_visits
):
    _participant, bl, m3 = responder_visits
    response = superuser_client.post(
        reverse("admin:trialsite_visit_change", args=[bl.pk]),
        admin_visit_post(
            superuser_client, bl, pga="0.70", renal="E", reason="PGA corrected from source"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert sri4(m3).outcome == "non-responder"
    assert sri4(m3).pga_change == Decimal("0.30")
    record = bl.pga.history.latest("history_date")
    assert record.history_change_reason == "PGA corrected from source"
    assert record.history_user.username == "root"
    assert stale_results() == []


def test_admin_refuses_grade_e_after_involvement_on_the_field(superuser_client, responder_visits):
    _participant, bl, m3 = responder_visits
    services.visit_save_assessments(
        visit=m3,
        sledai=M3_SLEDAI,
        pga=Decimal("1.00"),
        bilag={**M3_BILAG, "renal": "C"},
        author=None,
        reason="r",
    )
    services.visit_save_assessments(
        visit=bl,
        sledai=BASELINE_SLEDAI,
        pga=Decimal("2.00"),
        bilag={**BASELINE_BILAG, "renal": "B"},
        author=None,
        reason="r",
    )
    m3.refresh_from_db()
    response = superuser_client.post(
        reverse("admin:trialsite_visit_change", args=[m3.pk]),
        admin_visit_post(superuser_client, m3, pga="1.00", renal="E", reason="r"),
    )
    assert response.status_code == 200
    assert "Renal cannot be E (never involved) at M3" in response.content.decode()
    m3.refresh_from_db()
    assert m3.bilag.renal == "C"


def test_admin_change_of_the_study_baseline_recomputes_everything(
    superuser_client, responder_visits, study
):
    _participant, _bl, m3 = responder_visits
    study_url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = {
        "name": study.name,
        "protocol_number": study.protocol_number,
        "baseline_visit": code(study, "M1").pk,
        "primary_visit": study.primary_visit_id,
        "sledai_lookback_days": 10,
        "b_cell_aplasia_threshold_per_ul": "1.00",
        "change_reason": "Protocol amendment",
        "opened_version": opened_version(superuser_client, study_url),
        "visit_definitions-TOTAL_FORMS": 0,
        "visit_definitions-INITIAL_FORMS": 0,
        "visit_definitions-MIN_NUM_FORMS": 0,
        "visit_definitions-MAX_NUM_FORMS": 1000,
        "dose_levels-TOTAL_FORMS": 0,
        "dose_levels-INITIAL_FORMS": 0,
        "dose_levels-MIN_NUM_FORMS": 0,
        "dose_levels-MAX_NUM_FORMS": 1000,
    }
    response = superuser_client.post(reverse("admin:trialsite_study_change", args=[study.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    # There is no M1 visit, so M3 (after M1 in the schedule) has no baseline.
    assert sri4(m3).outcome == "not evaluable"
    assert stale_results() == []


def test_a_visit_moved_to_another_participant_rescores_both(responder_visits, study, site_a):
    _participant, bl, m3 = responder_visits
    other = ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    bl.participant = other
    services.visit_save(visit=bl, author=None, reason="Entered under the wrong participant")
    assert sri4(m3).reason == "no baseline visit"
    assert stale_results() == []


def test_admin_keeps_a_recorded_visit_with_its_participant(
    superuser_client, responder_visits, study, site_a
):
    _participant, bl, _m3 = responder_visits
    other = ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    data = admin_visit_post(superuser_client, bl, pga="2.00", renal="E", reason="r")
    data["participant"] = other.pk
    response = superuser_client.post(reverse("admin:trialsite_visit_change", args=[bl.pk]), data)
    assert response.status_code == 302
    bl.refresh_from_db()
    assert bl.participant_id != other.pk


def test_admin_deletes_a_visit_with_its_assessments_and_rescores(
    superuser_client, responder_visits
):
    _participant, bl, m3 = responder_visits
    url = reverse("admin:trialsite_visit_delete", args=[bl.pk])
    assert "Cannot delete" not in superuser_client.get(url).content.decode()
    response = superuser_client.post(url, {"post": "yes", "delete_reason": "Duplicate entry"})
    assert response.status_code == 302
    assert not Visit.objects.filter(pk=bl.pk).exists()
    assert sri4(m3).reason == "no baseline visit"
    assert stale_results() == []


def test_admin_reordering_the_schedule_rescores(superuser_client, participant_a, study):
    # Without a BL visit, follow-up visits are those after BL in the schedule.
    scr = services.visit_create(
        participant=participant_a,
        visit_definition=code(study, "SCR"),
        visit_date=date(2026, 1, 12),
        author=None,
        reason="r",
    )
    assert not EndpointResult.objects.filter(visit=scr).exists()
    definition = code(study, "SCR")
    url = reverse("admin:trialsite_visitdefinition_change", args=[definition.pk])
    response = superuser_client.post(
        url,
        {
            "opened_version": opened_version(superuser_client, url),
            "study": study.pk,
            "code": "SCR",
            "name_en": "Screening",
            "target_day": -28,
            "window_low": -42,
            "window_high": -8,
            "order": 50,
            "change_reason": "Schedule reordered",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert EndpointResult.objects.get(visit=scr, endpoint="sri4").reason == "no baseline visit"
    assert stale_results() == []


def test_admin_cannot_clear_the_study_baseline(superuser_client, study):
    data = {
        "name": study.name,
        "protocol_number": study.protocol_number,
        "baseline_visit": "",
        "primary_visit": study.primary_visit_id,
        "sledai_lookback_days": 10,
        "b_cell_aplasia_threshold_per_ul": "1.00",
        "change_reason": "r",
        "visit_definitions-TOTAL_FORMS": 0,
        "visit_definitions-INITIAL_FORMS": 0,
        "visit_definitions-MIN_NUM_FORMS": 0,
        "visit_definitions-MAX_NUM_FORMS": 1000,
        "dose_levels-TOTAL_FORMS": 0,
        "dose_levels-INITIAL_FORMS": 0,
        "dose_levels-MIN_NUM_FORMS": 0,
        "dose_levels-MAX_NUM_FORMS": 1000,
    }
    response = superuser_client.post(reverse("admin:trialsite_study_change", args=[study.pk]), data)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_users_are_deactivated_not_deleted(superuser_client):
    user = UserFactory(username="leaver", role="Coordinator")
    url = reverse("admin:auth_user_delete", args=[user.pk])
    assert superuser_client.get(url).status_code == 403


def test_a_save_updates_results_in_place_and_leaves_unchanged_rows_alone(responder_visits):
    _participant, bl, m3 = responder_visits
    scores_before = {score.visit_id: score for score in VisitScore.objects.all()}
    results_before = {(r.visit_id, r.endpoint): r for r in EndpointResult.objects.all()}

    # Month 3 PGA 1.00 -> 2.40: +0.40 from baseline 2.00 is worsening (>= 0.30).
    services.visit_save_assessments(
        visit=m3, sledai=M3_SLEDAI, pga=Decimal("2.40"), bilag=M3_BILAG, author=None, reason="r"
    )

    scores_after = {score.visit_id: score for score in VisitScore.objects.all()}
    results_after = {(r.visit_id, r.endpoint): r for r in EndpointResult.objects.all()}
    # The same rows, updated where their values changed: no delete and insert.
    assert {k: r.pk for k, r in results_after.items()} == {
        k: r.pk for k, r in results_before.items()
    }
    assert {k: s.pk for k, s in scores_after.items()} == {k: s.pk for k, s in scores_before.items()}
    assert sri4(m3).outcome == "non-responder"
    assert sri4(m3).computed_at > results_before[(m3.pk, "sri4")].computed_at
    # Neither visit's totals changed, so their rows were not written.
    assert scores_after[bl.pk].computed_at == scores_before[bl.pk].computed_at
    assert scores_after[m3.pk].computed_at == scores_before[m3.pk].computed_at
    assert stale_results() == []


def test_deleting_a_visit_removes_exactly_its_results(responder_visits):
    _participant, bl, m3 = responder_visits
    kept = set(EndpointResult.objects.filter(visit=m3).values_list("pk", flat=True))
    services.visit_delete(visit=bl, author=None, reason="Entered in error")
    assert set(EndpointResult.objects.filter(visit=m3).values_list("pk", flat=True)) == kept
    assert not VisitScore.objects.filter(visit_id=bl.pk).exists()
    assert sri4(m3).reason == "no baseline visit"
    assert stale_results() == []


def test_the_latest_computed_time_moves_when_only_a_result_changes(responder_visits):
    participant, _bl, m3 = responder_visits
    participants = Participant.objects.filter(pk=participant.pk)
    before = latest_computed_at(participants)
    # A PGA change moves the SRI results, not the visit totals (whose rows stay as they were).
    services.visit_save_assessments(
        visit=m3, sledai=M3_SLEDAI, pga=Decimal("2.40"), bilag=M3_BILAG, author=None, reason="r"
    )
    assert latest_computed_at(participants) == sri4(m3).computed_at > before


def test_lldas_compares_with_the_latest_earlier_visit_with_a_sledai_entry(participant_a, study):
    # BL has rash; M1 is recorded without any assessment yet; M3 has rash: compared with BL,
    # rash is not new, so LLDAS holds (SLEDAI-2K 2, PGA 0.50, no glucocorticoid).
    rash = {**NONE_PRESENT, "rash": True}
    record_visit(participant_a, "BL", date(2026, 2, 2), sledai=rash, bilag=BASELINE_BILAG)
    services.visit_create(
        participant=participant_a,
        visit_definition=code(study, "M1"),
        visit_date=date(2026, 3, 9),
        author=None,
        reason="r",
    )
    m3 = record_visit(
        participant_a, "M3", date(2026, 5, 10), sledai=rash, pga="0.50", bilag=M3_BILAG
    )
    lldas = EndpointResult.objects.get(visit=m3, endpoint="lldas")
    assert lldas.outcome == "responder"
    assert "no descriptor new since BL" in lldas.reason
    # Once M1 has a SLEDAI-2K without rash, rash is new at M3.
    m1 = Visit.objects.get(participant=participant_a, visit_definition__code="M1")
    services.visit_save_assessments(
        visit=m1,
        sledai=NONE_PRESENT,
        pga=Decimal("0.50"),
        bilag=M3_BILAG,
        labs=None,
        not_done=None,
        complete=None,
        author=None,
        reason="r",
    )
    lldas.refresh_from_db()
    assert (lldas.outcome, lldas.reason) == ("non-responder", "Rash new since M1")
    assert stale_results() == []


def test_a_visit_without_any_sledai_answer_is_not_the_previous_assessed_visit(participant_a, study):
    # An unscheduled visit saved with only a PGA, in progress, between BL and M3: its SLEDAI-2K
    # row has no answer, so LLDAS at M3 still compares with BL (rash present at both).
    rash = {**NONE_PRESENT, "rash": True}
    record_visit(participant_a, "BL", date(2026, 2, 2), sledai=rash, bilag=BASELINE_BILAG)
    uns = services.visit_create(
        participant=participant_a,
        visit_definition=code(study, "UNS"),
        visit_date=date(2026, 5, 1),
        author=None,
        reason="r",
    )
    services.visit_save_assessments(
        visit=uns, sledai={}, pga=Decimal("0.50"), bilag={}, complete=False, author=None, reason="r"
    )
    m3 = record_visit(
        participant_a, "M3", date(2026, 5, 10), sledai=rash, pga="0.50", bilag=M3_BILAG
    )
    lldas = EndpointResult.objects.get(visit=m3, endpoint="lldas")
    assert (lldas.outcome, lldas.reason.split("; ")[1]) == (
        "responder",
        "no descriptor new since BL",
    )
    # Once the unscheduled visit has a SLEDAI-2K answer, it is the previous assessed visit, and
    # its entry in progress leaves M3's LLDAS open.
    services.visit_save_assessments(
        visit=uns,
        sledai={"rash": True},
        pga=Decimal("0.50"),
        bilag={},
        complete=False,
        author=None,
        reason="r",
    )
    lldas.refresh_from_db()
    assert (lldas.outcome, lldas.reason) == ("not evaluable", "data entry in progress at UNS")
    assert stale_results() == []
