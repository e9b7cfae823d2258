"""The demo cohort: built through the services, idempotent, 4 of 5 SRI-4 responders at M3, and
BICLA, LLDAS and DORIS remission at M3 with responders and non-responders, their stored results
equal to fresh ones."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import translation

from responses.models import EndpointResult
from responses.scoring.common import Outcome
from responses.scoring.sri import Assessment, sri, treatment_failed
from responses.services import stale_results
from safety.checks import treatment_record_errors
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, TreatmentRecord
from trialsite.demo import DEMO_REASON, load_demo
from trialsite.models import Participant, RecordSignOff, Site, Visit, VisitDefinition

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo_cohort(django_db_setup, django_db_blocker):
    """Load the demo once for this module; each test still runs in its own rolled-back block."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(today=TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_cohort, db):
    return None


def assessment(visit: Visit) -> Assessment:
    return Assessment(
        sledai=visit.sledai.answers(), pga=visit.pga.score, bilag=visit.bilag.grades()
    )


def test_demo_has_3_sites_and_11_infused_children_aged_6_to_17(demo):
    participants = Participant.objects.all()
    assert Site.objects.count() == 3
    assert participants.count() == 11
    assert all(p.infusion_date is not None for p in participants)
    assert {p.age_at_enrollment for p in participants} <= set(range(6, 18))
    assert min(p.age_at_enrollment for p in participants) == 6
    assert max(p.age_at_enrollment for p in participants) == 17
    assert {p.dose_cells_per_kg for p in participants} == {30_000, 100_000, 300_000}


def test_demo_sites_and_visits_have_english_and_chinese_names(demo):
    assert list(Site.objects.order_by("code").values_list("code", "name_en", "name_zh_hans")) == [
        ("S01", "Eastern Children's Hospital", "东部儿童医院"),
        ("S02", "Northern University Children's Hospital", "北方大学儿童医院"),
        ("S03", "Southern Women and Children's Medical Center", "南方妇女儿童医疗中心"),
    ]
    with translation.override("zh-hans"):
        names = {
            visit.visit_definition.code: visit.visit_definition.name
            for visit in Visit.objects.all()
        }
    assert {names["D7"], names["M3"]} == {"第7天", "第3个月"}


def test_demo_fills_a_missing_chinese_name_with_its_reason(demo):
    site = Site.objects.get(code="S02")
    Site.objects.filter(pk=site.pk).update(name_zh_hans=None)
    VisitDefinition.objects.filter(code="M6").update(name_zh_hans="")
    load_demo(today=TODAY)
    site.refresh_from_db()
    assert site.name_zh_hans == "北方大学儿童医院"
    assert site.history.latest("history_id").history_change_reason == DEMO_REASON
    assert VisitDefinition.objects.get(code="M6").name_zh_hans == "第6个月"


def test_every_demo_visit_has_complete_sledai_pga_and_bilag(demo):
    for visit in Visit.objects.select_related("sledai", "pga", "bilag"):
        assert None not in visit.sledai.answers().values(), visit
        assert visit.pga.score is not None, visit
        assert None not in visit.bilag.grades().values(), visit
        assert visit.visit_date <= TODAY


def test_five_reached_month_3_and_four_of_them_are_sri4_responders(demo):
    m3_visits = Visit.objects.filter(visit_definition__code="M3").select_related(
        "participant", "sledai", "pga", "bilag"
    )
    assert m3_visits.count() == 5
    outcomes = {}
    for visit in m3_visits:
        participant = visit.participant
        baseline = participant.visits.get(visit_definition__code="BL")
        failed = treatment_failed(
            visit_date=visit.visit_date,
            treatment_failure_date=participant.treatment_failure_date,
            withdrawal_date=participant.withdrawal_date,
        )
        result = sri(
            threshold=4,
            baseline=assessment(baseline),
            visit=assessment(visit),
            treatment_failure=failed,
        )
        outcomes[participant.participant_id] = (result.outcome, result.sledai_change)
    # Hand check from the cohort table in trialsite/demo.py: baseline total - Month 3 total.
    assert outcomes == {
        "S01-001": (Outcome.RESPONDER, 4 - 16),
        "S01-002": (Outcome.RESPONDER, 2 - 18),
        "S02-003": (Outcome.RESPONDER, 4 - 19),
        "S02-004": (Outcome.RESPONDER, 5 - 14),
        "S03-005": (Outcome.NON_RESPONDER, 8 - 10),
    }


def test_demo_results_equal_fresh_ones(demo):
    assert stale_results() == []


# Month 3 of the five who reached it, by hand from trialsite/demo.py (COHORT: the descriptors
# not resolved by day 90 and the last PGA; the courses on the M3 date; for LLDAS the previous
# assessed visit is M2, day 56, and no descriptor present at M3 was absent at M2):
# - S01-001, day 90: low complement + DNA binding = 4, clinical 0; PGA 0.40; prednisolone 5
#   (from day 70). BICLA: B -> D, B -> C, B -> C, SLEDAI 16 -> 4, PGA -1.70: yes. LLDAS: 4 <= 4,
#   0.40 <= 1.00, 5 <= 7.5: yes. DORIS: 0, 0.40 < 0.50, 5 <= 5, no biologic: yes.
# - S01-002, day 91: low complement = 2, clinical 0; PGA 0.70; prednisolone 7.5 (days 42-104).
#   BICLA: renal A -> C, SLEDAI 18 -> 2: yes. LLDAS: 2 <= 4, 0.70 <= 1.00, 7.5 <= 7.5: yes.
#   DORIS: PGA 0.70 >= 0.50 and 7.5 > 5: no.
# - S02-003, day 89: 4, clinical 0; PGA 0.60; prednisone 10 (days 49-97). BICLA: A -> C, B -> C,
#   B -> D, SLEDAI 19 -> 4: yes. LLDAS: 10 > 7.5 (its only failure): no. DORIS: PGA 0.60 >=
#   0.50 and 10 > 5: no.
# - S02-004, day 90: leukopenia 1 + 4 = 5, clinical 1; PGA 0.40; no glucocorticoid from day 90.
#   BICLA: B -> D, B -> D, SLEDAI 14 -> 5: yes. LLDAS: 5 > 4: no. DORIS: leukopenia: no.
# - S03-005, day 91: proteinuria 4 + 4 = 8, clinical 4; PGA 1.20; rituximab on day 64 (and 78).
#   BICLA: renal B -> B: no. LLDAS: 8 > 4, proteinuria, 1.20 > 1.00, rituximab started on day
#   64, within the 28 days before (days 63-90): no. DORIS: proteinuria, 1.20 >= 0.50, a biologic
#   after infusion: no.
# BICLA 4 of 5, LLDAS 2 of 5, DORIS remission 1 of 5; everyone evaluable.
MONTH_3_STATES = {
    "bicla": {
        "S01-001": "responder",
        "S01-002": "responder",
        "S02-003": "responder",
        "S02-004": "responder",
        "S03-005": "non-responder",
    },
    "lldas": {
        "S01-001": "responder",
        "S01-002": "responder",
        "S02-003": "non-responder",
        "S02-004": "non-responder",
        "S03-005": "non-responder",
    },
    "doris": {
        "S01-001": "responder",
        "S01-002": "non-responder",
        "S02-003": "non-responder",
        "S02-004": "non-responder",
        "S03-005": "non-responder",
    },
}
MONTH_3_COUNTS = {"bicla": (4, 5), "lldas": (2, 5), "doris": (1, 5)}  # responders, evaluable


@pytest.mark.parametrize("endpoint", ["bicla", "lldas", "doris"])
def test_month_3_has_responders_and_non_responders_for_each_further_endpoint(demo, endpoint):
    stored = dict(
        EndpointResult.objects.filter(
            endpoint=endpoint, visit__visit_definition__code="M3"
        ).values_list("visit__participant__participant_id", "outcome")
    )
    assert stored == MONTH_3_STATES[endpoint]
    responders = sum(outcome == "responder" for outcome in stored.values())
    evaluable = sum(outcome in ("responder", "non-responder") for outcome in stored.values())
    assert (responders, evaluable) == MONTH_3_COUNTS[endpoint]


def test_month_3_reasons_name_the_medications(demo):
    reasons = {
        (participant_id, endpoint): reason
        for participant_id, endpoint, reason in EndpointResult.objects.filter(
            visit__visit_definition__code="M3", endpoint__in=["lldas", "doris"]
        ).values_list("visit__participant__participant_id", "endpoint", "reason")
    }
    rituximab = Participant.objects.get(participant_id="S03-005").infusion_date + timedelta(days=64)
    assert reasons["S02-003", "lldas"] == "prednisolone-equivalent 10 mg/day > 7.5"
    assert reasons["S01-002", "doris"] == (
        "PGA 0.70 ≥ 0.50; prednisolone-equivalent 7.5 mg/day > 5"
    )
    assert "prednisolone-equivalent 7.5 mg/day ≤ 7.5" in reasons["S01-002", "lldas"]
    assert "prednisolone-equivalent 5 mg/day ≤ 5" in reasons["S01-001", "doris"]
    assert reasons["S02-003", "doris"] == ("PGA 0.60 ≥ 0.50; prednisolone-equivalent 10 mg/day > 5")
    assert (
        f"rituximab started on {rituximab.isoformat()}, in the 28 days before the visit"
        in reasons["S03-005", "lldas"]
    )
    assert (
        f"rituximab given on {rituximab.isoformat()}, after the infusion (a biologic)"
        in reasons["S03-005", "doris"]
    )


def test_the_non_responder_keeps_proteinuria_at_month_3(demo):
    m3 = Visit.objects.get(participant__participant_id="S03-005", visit_definition__code="M3")
    assert m3.sledai.proteinuria is True
    assert m3.pga.score == Decimal("1.20")


def test_the_other_six_are_earlier_in_follow_up(demo):
    without_m3 = Participant.objects.exclude(visits__visit_definition__code="M3")
    assert without_m3.count() == 6
    for participant in without_m3:
        assert participant.study_day(TODAY) < 90


def test_demo_shows_one_out_of_window_visit(demo):
    flagged = [str(v) for v in Visit.objects.select_related("participant") if v.in_window is False]
    assert flagged == ["S02-004 M1"]


def test_demo_has_the_seed_studys_safety_figures(demo):
    # Grade 1 CRS in 9 of the 11 infused children, grade 1 ICANS in 2, nothing of grade 2 or more.
    crs = CrsEpisode.objects.values_list("participant__participant_id", "grade")
    icans = IcansEpisode.objects.values_list("participant__participant_id", "grade")
    assert len({participant for participant, _grade in crs}) == 9
    assert {grade for _participant, grade in crs} == {1}
    assert sorted(icans) == [("S01-002", 1), ("S02-003", 1)]
    # The site S02's investigator confirmed the grades of S02's episodes; the others await it.
    confirmed = CrsEpisode.objects.filter(confirmed_by__username="investigator")
    assert {e.participant.site.code for e in confirmed} == {"S02"}
    assert CrsEpisode.objects.filter(confirmed_by__isnull=True).count() == 6


def test_every_demo_child_has_a_protocol_treatment_record_consistent_with_its_dose(demo):
    records = TreatmentRecord.objects.select_related("participant")
    assert records.count() == 11
    for record in records:
        participant = record.participant
        assert treatment_record_errors(record, participant) == {}
        assert Decimal(20) <= record.weight_kg <= Decimal(60)
        assert (record.fludarabine_mg_m2_per_day, record.cyclophosphamide_mg_m2_per_day) == (
            30,
            300,
        )
        assert record.lymphodepletion_days == 3
        assert not record.dose_reduced
        # Lymphodepletion on days -5 to -3; the dose per kg times the weight, exactly.
        assert participant.study_day(record.lymphodepletion_start_date) == -5
        assert record.total_car_cells == participant.dose_cells_per_kg * record.weight_kg


def test_demo_has_cytopenias_after_lymphodepletion_and_two_serious_adverse_events(demo):
    events = AdverseEvent.objects.select_related("participant", "acknowledged_by")
    neutropenia = events.filter(term="Neutrophil count decreased", grade__gte=3)
    lymphopenia = events.filter(term="Lymphocyte count decreased", grade=4)
    assert neutropenia.values("participant").distinct().count() >= 5
    assert lymphopenia.values("participant").distinct().count() >= 3
    # Lymphopenia starts on day -2, after lymphodepletion and before the CAR-T cells.
    assert {event.related_cart for event in lymphopenia} == {"not"}
    serious = {
        event.participant.participant_id: (event.term, event.grade, event.acknowledged_by)
        for event in events.filter(serious=True)
    }
    assert set(serious) == {"S02-004", "S01-006"}
    assert serious["S02-004"][:2] == ("Lung infection", 3)
    assert serious["S02-004"][2].username == "monitor"
    assert serious["S01-006"] == ("Febrile neutropenia", 3, None)  # awaits acknowledgement
    assert events.filter(serious=True, hospitalisation=False).count() == 0


def test_demo_data_carries_its_audit_reason(demo):
    record = Participant.objects.get(participant_id="S01-001").history.get()
    assert record.history_change_reason == "Demo cohort (manage.py load_demo)"
    assert record.history_user.username == "admin"


def test_every_audit_entry_of_the_demo_names_the_demo_superuser_but_sign_offs(demo):
    audited = [
        model
        for model in apps.get_app_config("trialsite").get_models()
        if hasattr(model, "history") and not model.__name__.startswith("Historical")
    ]
    authors = {
        model.__name__: set(model.history.values_list("history_user__username", flat=True))
        for model in audited
        if model.history.exists()
    }
    assert {"Site", "SiteMembership", "Participant", "Visit", "PgaAssessment"} <= set(authors)
    # A sign-off is given by the demo user whose role gives it: a signature is the signer's own.
    assert {name: users for name, users in authors.items() if users != {"admin"}} == {
        "VisitSignOff": {"monitor", "investigator", "datamanager"},
        "RecordSignOff": {"monitor", "investigator", "datamanager"},
    }


def test_load_demo_twice_changes_nothing(demo):
    counts = (Participant.objects.count(), Visit.objects.count())
    history = Participant.history.count()
    assert load_demo(today=date(2026, 12, 1)).participants_created == []
    assert (Participant.objects.count(), Visit.objects.count()) == counts
    assert Participant.history.count() == history


@pytest.mark.parametrize(
    ("username", "role", "sites"),
    [
        ("coordinator", "Coordinator", {"S01"}),
        ("investigator", "Investigator", {"S02"}),
        ("monitor", "Monitor", set()),
        ("datamanager", "Data manager", set()),
    ],
)
def test_demo_users_have_one_role_each(demo, username, role, sites):
    user = get_user_model().objects.get(username=username)
    assert [g.name for g in user.groups.all()] == [role]
    assert {m.site.code for m in user.site_memberships.all()} == sites
    assert not user.is_staff


def test_demo_takes_some_early_visits_through_their_sign_offs(demo):
    def statuses(participant_id: str) -> dict[str, set[str]]:
        visits = Visit.objects.filter(participant__participant_id=participant_id)
        return {
            visit.visit_definition.code: set(
                visit.sign_offs.filter(voided_at=None).values_list("kind", flat=True)
            )
            for visit in visits
        }

    assert statuses("S02-003")["D7"] == {"verified", "signed", "locked"}
    assert statuses("S02-004")["BL"] == {"verified", "signed"}
    assert statuses("S02-004")["D7"] == set()
    assert statuses("S01-001")["BL"] == {"verified"}
    assert statuses("S01-002")["BL"] == set()


def test_demo_signs_off_the_treatment_and_crs_of_participants_whose_visits_are_signed(demo):
    def in_force(participant_id: str) -> set[tuple[str, str]]:
        return set(
            RecordSignOff.objects.filter(
                participant__participant_id=participant_id, voided_at=None
            ).values_list("record_type__model", "kind")
        )

    locked = {"verified", "signed", "locked"}
    assert in_force("S02-003") == {
        (model, kind) for model in ("treatmentrecord", "crsepisode") for kind in locked
    }
    assert in_force("S02-004") == {
        (model, kind) for model in ("treatmentrecord", "crsepisode") for kind in locked - {"locked"}
    }
    assert in_force("S01-001") == set()
