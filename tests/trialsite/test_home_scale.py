"""Home's panels of visits due or missed, out of window and in progress are chosen in the
database: the same visits as the window rules of the models (Visit.in_window,
selectors.window_status), the first of them on Home with their total and a link to the whole
list, page by page, in a number of queries that does not grow with the cohort."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from trialsite import selectors, services, views
from trialsite.models import Participant, Visit, VisitDefinition

INFUSED = date(2026, 2, 9)
ENROLLED = date(2025, 12, 1)


def definition(code: str) -> VisitDefinition:
    return VisitDefinition.objects.get(code=code)


def visit_on(participant: Participant, code: str, study_day: int) -> Visit:
    assert participant.infusion_date is not None
    return services.visit_create(
        participant=participant,
        visit_definition=definition(code),
        visit_date=participant.infusion_date + timedelta(days=study_day),
        author=None,
        reason="test",
    )


# --------------------------------------------------------------------------------------------
# Out of window
# --------------------------------------------------------------------------------------------


@pytest.fixture
def edge_visits(study, site_a) -> dict[str, Visit]:
    """Visits on both sides of their window's edges (the default schedule's windows)."""
    infused = ParticipantFactory(
        study=study,
        site=site_a,
        participant_id="S01-001",
        enrollment_date=ENROLLED,
        infusion_date=INFUSED,
    )
    not_infused = ParticipantFactory(
        study=study,
        site=site_a,
        participant_id="S01-002",
        enrollment_date=ENROLLED,
        infusion_date=None,
        dose_cells_per_kg=None,
    )
    return {
        "SCR day -43": visit_on(infused, "SCR", -43),  # window -42 to -8: one day early
        "BL day -14": visit_on(infused, "BL", -14),  # window -14 to -1: its first day
        "D0 day 0": visit_on(infused, "D0", 0),  # window 0 to 0
        "D7 day 4": visit_on(infused, "D7", 4),  # window 5 to 9: one day early
        "D14 day 11": visit_on(infused, "D14", 11),  # window 11 to 17: its first day
        "M1 day 35": visit_on(infused, "M1", 35),  # window 21 to 35: its last day
        "M2 day 64": visit_on(infused, "M2", 64),  # window 49 to 63: one day late
        "UNS day 200": visit_on(infused, "UNS", 200),  # unscheduled: never out of window
        "not infused SCR": services.visit_create(
            participant=not_infused,
            visit_definition=definition("SCR"),
            visit_date=date(2026, 1, 1),
            author=None,
            reason="test",
        ),
    }


def test_out_of_window_visits_are_those_outside_their_window_by_a_day_or_more(
    coordinator_a, edge_visits
):
    found = list(selectors.out_of_window_visits(coordinator_a))
    assert found == [edge_visits[name] for name in ("M2 day 64", "D7 day 4", "SCR day -43")]


def test_out_of_window_visits_agree_with_the_models_window_rule(coordinator_a, edge_visits):
    old_definition = [
        visit
        for visit in selectors.visits_visible_to(coordinator_a).order_by("-visit_date")
        if not visit.visit_definition.repeatable
        and visit.participant.infusion_date is not None
        and visit.in_window is False
    ]
    assert list(selectors.out_of_window_visits(coordinator_a)) == old_definition


def test_a_later_infusion_date_moves_visits_out_of_window(coordinator_a, edge_visits):
    participant = edge_visits["D0 day 0"].participant
    Participant.objects.filter(pk=participant.pk).update(infusion_date=INFUSED + timedelta(1))
    found = {visit.visit_definition.code for visit in selectors.out_of_window_visits(coordinator_a)}
    # Day 0 becomes day -1 (D0 out), day 11 day 10 (D14 out), day 35 day 34 (M1 in), day 64
    # day 63 (M2 in), day 4 day 3 (D7 still out), day -43 day -44 (SCR still out), day -14
    # day -15 (BL out).
    assert found == {"D0", "D14", "D7", "SCR", "BL"}
    assert found == {
        visit.visit_definition.code
        for visit in Visit.objects.select_related("participant", "visit_definition")
        if visit.in_window is False and visit.participant.infusion_date is not None
    }


# --------------------------------------------------------------------------------------------
# Due or missed
# --------------------------------------------------------------------------------------------

TODAY = date(2026, 6, 1)


def old_schedule_alerts(user, today: date) -> list[tuple[str, str, str, date]]:
    """The definition Home used before: every scheduled visit of every infused participant on
    study, neither recorded nor missed, whose ``window_status`` is due or overdue."""
    alerts = []
    participants = selectors.participants_visible_to(user).filter(
        infusion_date__isnull=False, withdrawal_date__isnull=True
    )
    definitions = VisitDefinition.objects.filter(repeatable=False).order_by("study_id", "order")
    for participant in participants.order_by("participant_id"):
        recorded = set(participant.visits.values_list("visit_definition_id", flat=True))
        recorded |= set(participant.missed_visits.values_list("visit_definition_id", flat=True))
        for scheduled in definitions:
            if scheduled.study_id != participant.study_id or scheduled.pk in recorded:
                continue
            status = selectors.window_status(participant, scheduled, None, today)
            window = selectors.window_dates(participant, scheduled)
            if status in (selectors.DUE, selectors.OVERDUE) and window is not None:
                alerts.append((participant.participant_id, scheduled.code, status, window[1]))
    alerts.sort(key=lambda alert: (alert[2] != selectors.DUE, alert[3]))
    return alerts


@pytest.fixture
def due_cohort(study, site_a, site_b) -> dict[str, Participant]:
    """Participants infused so that Month 1 (window days 21 to 35) stands at the edges of its
    window on TODAY; the visits before Month 1 are recorded or missed, except for "late"."""

    def infused(participant_id: str, days_ago: int, **details: object) -> Participant:
        return ParticipantFactory(
            study=study,
            site=details.pop("site", site_a),
            participant_id=participant_id,
            enrollment_date=ENROLLED,
            infusion_date=TODAY - timedelta(days=days_ago),
            **details,
        )

    people = {
        "opens tomorrow": infused("S01-001", 20),
        "opens today": infused("S01-002", 21),
        "closes today": infused("S01-003", 35),
        "closed yesterday": infused("S01-004", 36),
        "recorded": infused("S01-005", 30),
        "missed": infused("S01-006", 30),
        "withdrawn": infused("S01-007", 30, withdrawal_date=TODAY - timedelta(days=1)),
        "other site": infused("S02-001", 30, site=site_b),
        "late": infused("S01-008", 100),
    }
    for name, participant in people.items():
        if name == "late":
            continue
        for code, day in (("SCR", -20), ("BL", -7), ("D0", 0), ("D7", 7), ("D14", 14)):
            visit_on(participant, code, day)
    visit_on(people["recorded"], "M1", 29)
    services.missed_visit_record(
        participant=people["missed"],
        visit_definition=definition("M1"),
        reason="missed",
        author=None,
        audit_reason="test",
    )
    people["not infused"] = ParticipantFactory(
        study=study, site=site_a, infusion_date=None, dose_cells_per_kg=None
    )
    return people


def test_month_1_is_due_from_the_first_to_the_last_day_of_its_window(coordinator_a, due_cohort):
    alerts = selectors.schedule_alerts(coordinator_a, TODAY)
    month_1 = {
        alert.participant.participant_id: alert.status
        for alert in alerts
        if alert.definition.code == "M1"
    }
    assert month_1 == {
        "S01-002": selectors.DUE,
        "S01-003": selectors.DUE,
        "S01-004": selectors.OVERDUE,
        "S01-008": selectors.OVERDUE,
    }
    late = [
        alert.definition.code for alert in alerts if alert.participant.participant_id == "S01-008"
    ]
    # Infused 100 days ago with nothing recorded: M3 (window 76 to 104) is due, the rest
    # overdue, Screening and Baseline included.
    assert late == ["M3", "SCR", "BL", "D0", "D7", "D14", "M1", "M2"]


@pytest.mark.parametrize("days", [-400, -30, 0, 15, 60, 400])
def test_schedule_alerts_agree_with_the_window_status_rule(coordinator_a, due_cohort, days: int):
    today = TODAY + timedelta(days=days)
    found = [
        (alert.participant.participant_id, alert.definition.code, alert.status, alert.window_end)
        for alert in selectors.schedule_alerts(coordinator_a, today)
    ]
    assert found == old_schedule_alerts(coordinator_a, today)


def test_a_slice_of_schedule_alerts_is_the_same_rows_as_the_whole_list(coordinator_a, due_cohort):
    alerts = selectors.schedule_alerts(coordinator_a, TODAY)
    everything = list(alerts)
    assert len(alerts) == len(everything) == 11  # Month 1 of three, everything of "late"
    assert alerts[3:7] == everything[3:7]
    assert alerts[10] == everything[10]
    with pytest.raises(IndexError):
        alerts[11]


# --------------------------------------------------------------------------------------------
# Home and the lists it links to, at two sizes
# --------------------------------------------------------------------------------------------


def cohort_of_size(study, site, size: int) -> None:
    """``size`` participants, each late for everything after Day 7, whose Day 7 (entry in
    progress) is out of window."""
    for number in range(size):
        participant = ParticipantFactory(
            study=study,
            site=site,
            participant_id=f"S01-{number + 1:03d}",
            enrollment_date=ENROLLED,
            infusion_date=INFUSED + timedelta(days=number),
        )
        visit_on(participant, "D7", 2)


#: Queries of Home for a coordinator, whatever the cohort's size: session, user, second factor
#: and rights (5), the visits due (three: the first with their total, their participants and
#: visits), out of window and in progress (one each, the total beside the rows), recent changes
#: (one per audited kind of record, the visits and participants named: 20), queries, serious
#: adverse events, the sites, the session saved (3).
HOME_QUERIES = 35


@pytest.mark.parametrize("size", [3, 30])
def test_home_reads_a_fixed_number_of_queries(
    client, coordinator_a, study, site_a, size, django_assert_max_num_queries
):
    cohort_of_size(study, site_a, size)
    client.force_login(coordinator_a)
    with django_assert_max_num_queries(HOME_QUERIES):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    context = response.context
    assert context["out_of_window"].total == size
    assert len(context["out_of_window"].rows) == min(size, views.HOME_VISITS)
    assert context["incomplete"].total == size
    assert len(context["alerts"].rows) == min(context["alerts"].total, views.HOME_ALERTS)


def test_home_links_to_every_visit_it_cannot_show(client, coordinator_a, study, site_a):
    cohort_of_size(study, site_a, 12)
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("visits_out_of_window")}">and 2 more: see all 12' in page
    assert f'href="{reverse("visits_in_progress")}">and 2 more: see all 12' in page
    due = len(selectors.schedule_alerts(coordinator_a, timezone.localdate()))
    assert due > views.HOME_ALERTS  # Screening, Baseline and Day 0 at least, for each
    assert f'href="{reverse("visits_due")}">and {due - 15} more: see all {due}' in page


def test_home_has_no_link_when_every_row_fits(client, coordinator_a, study, site_a):
    cohort_of_size(study, site_a, 1)
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    assert reverse("visits_out_of_window") not in page
    assert reverse("visits_in_progress") not in page


LIST_QUERIES = 16


@pytest.mark.parametrize("name", ["visits_due", "visits_out_of_window", "visits_in_progress"])
@pytest.mark.parametrize("size", [3, 30])
def test_the_visit_lists_read_a_fixed_number_of_queries(
    client, coordinator_a, study, site_a, name, size, django_assert_max_num_queries
):
    cohort_of_size(study, site_a, size)
    client.force_login(coordinator_a)
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse(name), {"page": "2"})
    assert response.status_code == 200


def test_the_out_of_window_list_shows_every_visit_page_by_page(
    client, coordinator_a, study, site_a, monkeypatch
):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 4)
    cohort_of_size(study, site_a, 10)
    client.force_login(coordinator_a)
    response = client.get(reverse("visits_out_of_window"), {"page": "2"})
    shown = [visit.participant.participant_id for visit in response.context["page"]]
    # Newest first: participant 10 was infused last, so its Day 7 is the newest.
    assert shown == ["S01-006", "S01-005", "S01-004", "S01-003"]
    page = response.content.decode()
    assert "Showing 5\u20138 of 10" in page
    assert "day 2, window 5 to 9" in page


def test_the_visit_lists_show_only_the_users_sites(client, coordinator_a, study, site_a):
    other = SiteFactory(code="S09")
    participant = ParticipantFactory(
        study=study, site=other, participant_id="S09-001", enrollment_date=ENROLLED
    )
    visit_on(participant, "D7", 2)
    UserFactory(username="coord_b", role="Coordinator", sites=[other])
    client.force_login(coordinator_a)
    for name in ("visits_due", "visits_out_of_window", "visits_in_progress"):
        page = client.get(reverse(name)).content.decode()
        # The ID and the link, not the bare site code, which a random token may hold.
        assert "S09-001" not in page, name
        assert participant.get_absolute_url() not in page, name
