"""Scheduled visits follow the schedule's order; the baseline visit comes before the infusion.

clinical-rules.md section 4: a scheduled visit dated out of the schedule's order against the
participant's other scheduled visits (SCR after BL, M3 before M1), and a BL dated on or after the
infusion, is refused on the form, in admin and in imports. Unscheduled visits may fall on any
date. The participant (factories) is enrolled 2026-01-05 and infused 2026-02-09.
"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from responses.models import EndpointResult
from tests.factories import UserFactory, record_visit
from tests.pages import opened_version, page_text
from trialsite import services
from trialsite.imports import VISIT_COLUMNS, import_visits
from trialsite.models import Participant, Visit

INFUSION = date(2026, 2, 9)


@pytest.mark.parametrize(
    ("recorded", "new", "refusal"),
    [
        pytest.param(
            [("BL", date(2026, 2, 2))],
            ("SCR", date(2026, 2, 5)),
            "Out of the schedule's order: SCR is dated 2026-02-05, after BL (2026-02-02)",
            id="screening-after-baseline",
        ),
        pytest.param(
            [("BL", date(2026, 2, 2)), ("M1", date(2026, 3, 11))],
            ("M3", date(2026, 3, 1)),
            "Out of the schedule's order: M1 is dated 2026-03-11, after M3 (2026-03-01)",
            id="month-3-before-month-1",
        ),
        pytest.param(
            [("BL", date(2026, 2, 2)), ("M3", date(2026, 5, 10))],
            ("M1", date(2026, 5, 11)),
            "Out of the schedule's order: M1 is dated 2026-05-11, after M3 (2026-05-10)",
            id="month-1-after-month-3",
        ),
        pytest.param(
            [],
            ("BL", INFUSION),
            "The baseline visit BL (2026-02-09) must be dated before the CAR-T infusion "
            "(2026-02-09).",
            id="baseline-on-the-infusion-day",
        ),
        pytest.param([], ("BL", date(2026, 2, 8)), None, id="baseline-the-day-before-infusion"),
        pytest.param(
            [("SCR", date(2026, 2, 2))], ("BL", date(2026, 2, 2)), None, id="same-day-is-in-order"
        ),
        pytest.param(
            [("BL", date(2026, 2, 2)), ("M1", date(2026, 3, 11))],
            ("UNS", date(2026, 1, 20)),
            None,
            id="unscheduled-before-baseline",
        ),
    ],
)
def test_a_scheduled_visit_out_of_order_is_refused(
    participant_a: Participant,
    recorded: list[tuple[str, date]],
    new: tuple[str, date],
    refusal: str | None,
) -> None:
    for code, visit_date in recorded:
        record_visit(participant_a, code, visit_date)
    if refusal is None:
        record_visit(participant_a, *new)
        return
    with pytest.raises(ValidationError) as refused:
        record_visit(participant_a, *new)
    assert refusal in " ".join(refused.value.message_dict["visit_date"])
    assert Visit.objects.filter(participant=participant_a).count() == len(recorded)


def test_visits_after_baseline_in_the_schedule_get_results_and_earlier_ones_do_not(
    participant_a: Participant,
) -> None:
    scr = record_visit(participant_a, "SCR", date(2026, 1, 12))
    bl = record_visit(participant_a, "BL", date(2026, 2, 2))
    d0 = record_visit(participant_a, "D0", INFUSION)
    uns_before = record_visit(participant_a, "UNS", date(2026, 1, 20))
    uns_after = record_visit(participant_a, "UNS", date(2026, 2, 20))
    with_results = set(EndpointResult.objects.values_list("visit_id", flat=True))
    assert with_results == {d0.pk, uns_after.pk}
    assert not {scr.pk, bl.pk, uns_before.pk} & with_results


def test_an_infusion_date_on_or_before_the_recorded_baseline_is_refused(
    participant_a: Participant,
) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2))
    participant_a.infusion_date = date(2026, 2, 2)
    with pytest.raises(ValidationError) as refused:
        services.participant_save(participant=participant_a, author=None, reason="Typo")
    assert "must be dated before the CAR-T infusion (2026-02-02)" in str(
        refused.value.message_dict["infusion_date"]
    )
    participant_a.refresh_from_db()
    assert participant_a.infusion_date == INFUSION


def test_the_visit_form_shows_the_refusal_on_the_date(
    client, coordinator_a, participant_a: Participant
) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2))
    m1 = record_visit(participant_a, "M1", date(2026, 3, 11))
    client.force_login(coordinator_a)
    url = reverse("visit_edit", args=[m1.pk])
    response = client.post(
        url,
        {
            "opened_version": opened_version(client, url),
            "visit_definition": m1.visit_definition_id,
            "visit_date": "2026-01-30",
            "change_reason": "Date typo",
        },
    )
    assert response.status_code == 200
    assert "Out of the schedule&#x27;s order: BL is dated 2026-02-02, after M1 (2026-01-30)" in (
        response.content.decode()
    )
    m1.refresh_from_db()
    assert m1.visit_date == date(2026, 3, 11)


def test_the_participant_form_shows_the_refusal_on_the_infusion_date(
    client, coordinator_a, participant_a: Participant, site_a
) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2))
    client.force_login(coordinator_a)
    url = reverse("participant_edit", args=[participant_a.pk])
    response = client.post(
        url,
        {
            "opened_version": opened_version(client, url),
            "site": site_a.pk,
            "participant_id": participant_a.participant_id,
            "sex": "F",
            "age_at_enrollment": "12",
            "enrollment_date": "2026-01-05",
            "infusion_date": "2026-02-01",
            "dose_cells_per_kg": "100000",
            "change_reason": "Infusion date corrected",
        },
    )
    assert response.status_code == 200
    assert "must be dated before the CAR-T infusion (2026-02-01)" in response.content.decode()


def test_admin_shows_the_refusal_on_the_visit_date(client, participant_a: Participant) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2))
    m1 = record_visit(participant_a, "M1", date(2026, 3, 11))
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:trialsite_visit_change", args=[m1.pk])
    data = {
        "opened_version": opened_version(client, url),
        "visit_date": "2026-01-30",
        "change_reason": "Date typo",
    }
    for prefix in ("pga", "sledai", "bilag"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": 0,
                f"{prefix}-INITIAL_FORMS": 0,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1,
            }
        )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Out of the schedule&#x27;s order: BL is dated 2026-02-02" in page_text(response)
    m1.refresh_from_db()
    assert m1.visit_date == date(2026, 3, 11)


def test_an_import_refuses_an_out_of_order_row_by_row_and_column(
    participant_a: Participant, study
) -> None:
    def line(code: str, visit_date: str) -> str:
        cells = {"participant_id": participant_a.participant_id, "visit": code}
        cells.update({"visit_date": visit_date, "pga": "1.00"})
        return ",".join(
            cells.get(column, "E" if column.startswith("bilag_") else "0")
            for column in VISIT_COLUMNS
        )

    rows = "\n".join(
        [
            ",".join(VISIT_COLUMNS),
            line("BL", "2026-02-02"),
            line("M1", "2026-03-11"),
            line("M3", "2026-03-01"),
        ]
    )
    report = import_visits(
        rows + "\n",
        file_name="visits.csv",
        study=study,
        author=UserFactory(username="dm", role="Data manager"),
    )
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value) == (4, "visit_date", "2026-03-01")
    assert "Out of the schedule's order: M1 is dated 2026-03-11, after M3" in problem.message
    assert not Visit.objects.exists()


def test_visits_stored_out_of_order_before_this_check_block_only_their_own_changes(
    participant_a: Participant,
) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2))
    m1 = record_visit(participant_a, "M1", date(2026, 3, 11))
    m3 = record_visit(participant_a, "M3", date(2026, 5, 10))
    Visit.objects.filter(pk=m1.pk).update(visit_date=date(2026, 5, 20))  # stored long ago
    # Another visit's answers and the participant's withdrawal still save.
    services.visit_save_assessments(
        visit=m3, sledai={}, pga=None, bilag={}, author=None, reason="Entry resumed"
    )
    participant_a.withdrawal_date = date(2026, 6, 1)
    participant_a.withdrawal_reason = "Family moved away"
    services.participant_save(participant=participant_a, author=None, reason="Withdrawn")
    # A change to the visit out of order must put it in order.
    m1.refresh_from_db()
    m1.visit_date = date(2026, 5, 21)
    with pytest.raises(ValidationError, match="M1 is dated 2026-05-21, after M3"):
        services.visit_save(visit=m1, author=None, reason="Date typo")
    m1.visit_date = date(2026, 3, 12)
    services.visit_save(visit=m1, author=None, reason="Date typo")
