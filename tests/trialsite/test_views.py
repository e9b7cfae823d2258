"""The data-capture screens: what they show, what they refuse, and their query budgets."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ALL_E,
    NONE_PRESENT,
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    build_cohort,
    grades,
    record_visit,
    with_bl_and_m3,
)
from tests.pages import opened_version
from trialsite import services
from trialsite.models import EntryStatus, Participant, Visit, VisitDefinition


@pytest.fixture
def cohort_of(study, site_a, coordinator_a):
    """Enrol ``size`` more participants at S01 (infused 2026-02-09), each with BL_AND_M3."""

    def grow(size: int) -> list[Participant]:
        start = Participant.objects.count()
        table = {
            f"{site_a.code}-{start + n:03d}": with_bl_and_m3(site_a.code)
            for n in range(1, size + 1)
        }
        return list(build_cohort(study, table).values())

    return grow


# Each screen's budget holds for 2 and for 12 participants: no query per participant.
SCREENS = {
    "home": lambda participant: reverse("home"),
    "participant_list": lambda participant: reverse("participant_list"),
    "participant_detail": lambda participant: reverse("participant_detail", args=[participant.pk]),
    "visit_detail": lambda participant: reverse(
        "visit_detail", args=[participant.visits.get(visit_definition__code="M3").pk]
    ),
    "visit_entry": lambda participant: reverse(
        "visit_entry", args=[participant.visits.get(visit_definition__code="M3").pk]
    ),
}
# Two of them ask whether the coordinator has set up, or must set up, a second factor; one counts
# the monitor queries awaiting the user (the top bar; Home's panel of them reads that many).
# Home's recent changes read one history per audited kind of record, sign-offs (of visits and
# of the other records), queries,
# CRS and ICANS episodes, adverse events, CAR-T treatment records and medication courses
# included, then the participants of the rows' visits and the visits shown; Home's panel of
# serious adverse events awaiting acknowledgement reads them in one more (and counts them in
# another only when more than ten await: tests/safety/test_adverse_events.py).
QUERY_BUDGET = 33


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_screen_query_count_does_not_grow_with_the_cohort(
    client, coordinator_a, cohort_of, django_assert_max_num_queries, screen
):
    client.force_login(coordinator_a)
    for size in (2, 10):
        participants = cohort_of(size)
        url = SCREENS[screen](participants[0])
        with django_assert_max_num_queries(QUERY_BUDGET):
            assert client.get(url).status_code == 200


# A save through the entry form: the session and the user, the form's checks under the
# participant's lock (version, BILAG-2004 history), the rows that changed with their history,
# and the participant's rescore, each a fixed number of queries whatever the participant's
# visits or the cohort.
SAVE_QUERY_BUDGET = 43


def entry_form_data(client, url: str) -> dict[str, object]:
    """What the visit entry form posts back unchanged: each field's value as the page shows it."""
    response = client.get(url)
    assert response.status_code == 200
    return {
        bound.html_name: bound.value()
        for bound in response.context["form"]
        if bound.value() is not None
    }


def test_a_save_through_the_entry_form_does_not_grow_with_the_visits_or_the_cohort(
    client, coordinator_a, cohort_of, django_assert_max_num_queries
):
    (participant,) = cohort_of(1)
    m3 = participant.visits.get(visit_definition__code="M3")
    url = reverse("visit_entry", args=[m3.pk])
    client.force_login(coordinator_a)

    def save(pga: str) -> int:
        data = {
            **entry_form_data(client, url),
            "pga": pga,
            "entry_status": "complete",
            "change_reason": "PGA transcribed wrongly",
        }
        with django_assert_max_num_queries(SAVE_QUERY_BUDGET) as captured:
            assert client.post(url, data).status_code == 302
        return len(captured)

    first = save("1.10")
    for code, day in (
        ("D14", date(2026, 2, 23)),
        ("M1", date(2026, 3, 11)),
        ("M2", date(2026, 4, 9)),
    ):
        record_visit(participant, code, day)
    cohort_of(10)
    second = save("1.20")

    m3.refresh_from_db()
    assert m3.pga.score == Decimal("1.20")
    assert participant.visits.count() == 5
    assert first == second


def test_timeline_shows_missing_visits_and_the_sri_result(client, coordinator_a, cohort_of):
    (participant,) = cohort_of(1)
    client.force_login(coordinator_a)
    page = client.get(reverse("participant_detail", args=[participant.pk])).content.decode()
    # Arthritis 4 + rash 2 = 6 at baseline, 0 at Month 3: a fall of 6.
    assert "SRI-4: responder" in page
    assert "SLEDAI-2K fell by 6" in page
    assert "missing: window closed" in page  # D0, D7... were never recorded
    assert "Record SCR" in page


def test_visit_page_shows_bicla_and_the_states_with_each_condition(
    client, coordinator_a, cohort_of
):
    (participant,) = cohort_of(1)
    m3 = participant.visits.get(visit_definition__code="M3")
    client.force_login(coordinator_a)
    page = client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    # Every BILAG-2004 system E at baseline: nothing for BICLA to improve.
    assert "BICLA: not evaluable" in page
    assert "no BILAG A or B at baseline" in page
    # Month 3: SLEDAI-2K 0, PGA 1.00, no glucocorticoid: in LLDAS (PGA <= 1.00), not in DORIS
    # remission (PGA not below 0.50); one line per condition.
    assert "LLDAS: yes" in page
    assert "<li>PGA 1.00 ≤ 1.00</li>" in page
    assert "<li>prednisolone-equivalent 0 mg/day ≤ 7.5</li>" in page
    assert "DORIS remission: no" in page
    assert "<li>PGA 1.00 ≥ 0.50</li>" in page


def test_coordinator_cannot_enrol_into_another_site(client, coordinator_a, site_b):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("participant_create"),
        {
            "site": site_b.pk,
            "participant_id": "S02-900",
            "sex": "F",
            "age_at_enrollment": 10,
            "enrollment_date": "2026-03-01",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Participant.objects.filter(participant_id="S02-900").exists()


def test_enrolment_then_withdrawal_needs_a_reason(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    data = {
        "site": site_a.pk,
        "participant_id": "S01-900",
        "sex": "M",
        "age_at_enrollment": 16,
        "enrollment_date": "2026-03-01",
        "infusion_date": "2026-04-01",
        "dose_cells_per_kg": "30000",
    }
    response = client.post(reverse("participant_create"), data)
    participant = Participant.objects.get(participant_id="S01-900")
    assert response.url == participant.get_absolute_url()
    assert participant.history.get().history_change_reason == "Initial entry"

    edit = reverse("participant_edit", args=[participant.pk])
    data["opened_version"] = opened_version(client, edit)
    response = client.post(edit, {**data, "withdrawal_date": "2026-06-01"})
    page = response.content.decode()
    assert "Give the reason for the withdrawal." in page
    assert "This field is required." in page  # the reason for the change itself
    response = client.post(
        edit,
        {
            **data,
            "withdrawal_date": "2026-06-01",
            "withdrawal_reason": "Family moved abroad",
            "change_reason": "Withdrawal reported by phone",
        },
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.withdrawal_date == date(2026, 6, 1)
    latest = participant.history.latest("history_date")
    assert latest.history_change_reason == "Withdrawal reported by phone"
    assert latest.history_user == coordinator_a


def test_visit_entry_in_progress_keeps_blanks_and_feeds_no_endpoint(
    client, coordinator_a, cohort_of
):
    (participant,) = cohort_of(1)
    m3 = participant.visits.get(visit_definition__code="M3")
    client.force_login(coordinator_a)
    url = reverse("visit_entry", args=[m3.pk])
    response = client.post(
        url,
        {
            "opened_version": opened_version(client, url),
            "pga": "0.80",
            "lookback_days": "10",
            "sledai_arthritis": "0",
            "entry_status": "in_progress",
            "change_reason": "Waiting for the urine results",
        },
    )
    assert response.status_code == 302
    m3.refresh_from_db()
    assert m3.entry_status == EntryStatus.IN_PROGRESS
    assert m3.sledai.rash is None
    result = m3.endpoint_results.get(endpoint="sri4")
    assert result.outcome == "not evaluable"
    assert result.reason == "data entry in progress at the visit"


def test_visit_page_shows_what_the_last_save_changed(client, coordinator_a, cohort_of):
    (participant,) = cohort_of(1)
    m3 = participant.visits.get(visit_definition__code="M3")
    services.visit_save_assessments(
        visit=m3,
        sledai=NONE_PRESENT,
        pga=Decimal("0.70"),
        bilag=ALL_E,
        author=coordinator_a,
        reason="PGA transcribed wrongly",
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    assert "PGA transcribed wrongly" in page
    assert "1.00 &rarr; <strong>0.70</strong>" in page


@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ({"lab_platelets": "99.9"}, ["thrombocytopenia"]),
        ({"lab_platelets": "100"}, []),
        ({"lab_upcr": "51", "lab_upcr_unit": "mg/mmol"}, ["proteinuria"]),
        ({"lab_c3": "0.8", "lab_c3_lower_limit": "0.9"}, ["low_complement"]),
        ({"lab_platelets": "not a number", "lab_wbc": "-1"}, []),
    ],
)
def test_lab_suggestions_come_from_the_scoring_rules(client, coordinator_a, query, suggested):
    client.force_login(coordinator_a)
    response = client.get(reverse("lab_suggestions"), query)
    assert response.json()["suggested"] == suggested


def test_home_lists_due_and_incomplete_visits(client, coordinator_a, study, site_a):
    infused = timezone.localdate() - timedelta(days=30)
    participant = ParticipantFactory(
        study=study,
        site=site_a,
        participant_id="S01-300",
        enrollment_date=infused - timedelta(days=40),
        infusion_date=infused,
    )
    visit = services.visit_create(
        participant=participant,
        visit_definition=VisitDefinition.objects.get(study=study, code="D14"),
        visit_date=infused + timedelta(days=14),
        author=coordinator_a,
        reason="test",
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    assert "S01-300" in page
    # Day 30: Month 1 (window 21-35) is due; D14 was recorded, its entry still in progress.
    assert "due now" in page
    assert reverse("visit_entry", args=[visit.pk]) in page
    assert "visit created" in page  # recent changes


def test_other_site_visits_never_appear_on_home(client, coordinator_a, study):
    other = SiteFactory(code="S09")
    build_cohort(study, {"S09-001": with_bl_and_m3(other.code)})
    UserFactory(username="coord_b", role="Coordinator", sites=[other])
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    assert "S09" not in page
    assert not Visit.objects.filter(participant__site__code="S01").exists()


def test_moving_a_visit_date_that_would_break_bilag_history_is_refused_on_the_field(
    client, coordinator_a, cohort_of, study
):
    (participant,) = cohort_of(1)
    # Month 3 (2026-05-10) has renal E. An unscheduled visit after it with renal B is fine;
    # moving that visit before Month 3 would put Month 3's E after an involved grade.
    uns = record_visit(
        participant,
        "UNS",
        date(2026, 6, 1),
        sledai=NONE_PRESENT,
        pga="1.00",
        bilag=grades(renal="B"),
    )
    client.force_login(coordinator_a)
    url = reverse("visit_edit", args=[uns.pk])
    response = client.post(
        url,
        {
            "opened_version": opened_version(client, url),
            "visit_definition": uns.visit_definition_id,
            "visit_date": "2026-03-01",
            "change_reason": "Date typo",
        },
    )
    assert response.status_code == 200
    assert (
        "Renal cannot be E (never involved) at M3: it was graded B at UNS on 2026-03-01."
        in response.content.decode()
    )
    uns.refresh_from_db()
    assert uns.visit_date == date(2026, 6, 1)


def test_a_participant_id_taken_at_another_site_is_refused_on_the_field(
    client, coordinator_a, study, site_a
):
    ParticipantFactory(study=study, site=SiteFactory(code="S07"), participant_id="X-001")
    client.force_login(coordinator_a)
    response = client.post(
        reverse("participant_create"),
        {
            "site": site_a.pk,
            "participant_id": "X-001",
            "sex": "F",
            "age_at_enrollment": 9,
            "enrollment_date": "2026-03-01",
        },
    )
    assert response.status_code == 200
    assert "This participant ID is already used in this study." in response.content.decode()


@pytest.mark.parametrize("dose", ["abc", "²", "-1", "1e5"])
def test_a_nonsense_list_filter_is_ignored(client, coordinator_a, dose):
    client.force_login(coordinator_a)
    assert client.get(reverse("participant_list"), {"dose": dose}).status_code == 200


def test_participant_dates_cannot_be_in_the_future(study, site_a):
    participant = ParticipantFactory.build(
        study=study,
        site=site_a,
        enrollment_date=timezone.localdate(),
        infusion_date=timezone.localdate() + timedelta(days=1),
    )
    with pytest.raises(ValidationError) as excinfo:
        participant.full_clean()
    assert excinfo.value.message_dict == {"infusion_date": ["This date is in the future."]}
