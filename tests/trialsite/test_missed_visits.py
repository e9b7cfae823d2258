"""A scheduled visit that did not take place is recorded as missed, with its reason."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from responses.selectors.cohort import mitt_summary
from tests.factories import NONE_PRESENT, UserFactory, record_visit
from tests.pages import opened_version
from trialsite import selectors, services
from trialsite.models import MissedVisit, Participant, VisitDefinition

# The participant (factories) was infused 2026-02-09: Month 6 (target day 180) is 2026-08-08.
BEFORE_M6_TARGET = date(2026, 6, 1)
M6_WINDOW_LAST_DAY = date(2026, 8, 22)  # 2026-02-09 + 194 days
AFTER_M6_WINDOW = date(2026, 11, 29)


def definition(participant: Participant, code: str) -> VisitDefinition:
    return VisitDefinition.objects.get(study=participant.study, code=code)


def mark_missed(participant: Participant, code: str, reason: str = "missed"):
    return services.missed_visit_record(
        participant=participant,
        visit_definition=definition(participant, code),
        reason=reason,
        author=None,
        audit_reason="test",
    )


@pytest.fixture
def with_baseline(participant_a: Participant) -> Participant:
    # Arthritis 4 + rash 2 = 6: not below any SRI threshold, so in every mITT set.
    baseline = {**NONE_PRESENT, "arthritis": True, "rash": True}
    record_visit(participant_a, "BL", date(2026, 2, 2), pga="2.00", sledai=baseline)
    return participant_a


def test_a_coordinator_records_a_missed_visit_and_the_timeline_shows_it(
    client, coordinator_a, with_baseline: Participant
):
    client.force_login(coordinator_a)
    url = reverse("missed_visit_create", args=[with_baseline.pk])
    response = client.post(
        url,
        {
            "visit_definition": definition(with_baseline, "M6").pk,
            "reason": "unreachable",
            "note": "",
        },
    )
    assert response.status_code == 302
    missed = MissedVisit.objects.get()
    record = missed.history.get()
    assert (record.history_user, record.history_change_reason) == (coordinator_a, "Initial entry")

    page = client.get(reverse("participant_detail", args=[with_baseline.pk])).content.decode()
    assert "participant unreachable" in page
    row = next(
        row
        for row in selectors.participant_timeline(with_baseline, AFTER_M6_WINDOW)
        if row.definition.code == "M6"
    )
    assert (row.status, row.missed) == (selectors.MISSED, missed)
    alerts = selectors.schedule_alerts(coordinator_a, AFTER_M6_WINDOW)
    assert "M6" not in {alert.definition.code for alert in alerts}
    assert "M3" in {alert.definition.code for alert in alerts}


def test_other_needs_a_note(client, coordinator_a, with_baseline: Participant):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("missed_visit_create", args=[with_baseline.pk]),
        {"visit_definition": definition(with_baseline, "M6").pk, "reason": "other", "note": ""},
    )
    assert response.status_code == 200
    assert "Say why the visit was missed." in response.content.decode()
    assert not MissedVisit.objects.exists()


def test_a_visit_that_took_place_cannot_be_missed_and_a_missed_one_cannot_be_recorded(
    with_baseline: Participant,
):
    with pytest.raises(ValidationError, match="BL is already recorded as a visit"):
        mark_missed(with_baseline, "BL", "missed")
    mark_missed(with_baseline, "M1", "missed")
    with pytest.raises(ValidationError, match="M1 is recorded as missed"):
        record_visit(with_baseline, "M1", date(2026, 3, 11))


def test_the_visit_form_says_the_visit_was_missed(
    client, coordinator_a, with_baseline: Participant
):
    mark_missed(with_baseline, "M1", "missed")
    client.force_login(coordinator_a)
    response = client.post(
        reverse("visit_create", args=[with_baseline.pk]),
        {"visit_definition": definition(with_baseline, "M1").pk, "visit_date": "2026-03-11"},
    )
    assert response.status_code == 200
    assert "M1 is recorded as missed (missed); a data manager can remove that record" in (
        response.content.decode()
    )


def test_a_missed_visit_counts_like_any_visit_not_recorded_in_the_infused_analysis(
    study, with_baseline: Participant
):
    def m6(as_of: date) -> tuple[int, int, int]:
        summary = mitt_summary(study=study, endpoint="sri4", as_of=as_of)
        row = next(row for row in summary.rows if row.visit == "M6")
        return row.denominator, row.missing, row.pending

    mark_missed(with_baseline, "M6", "unreachable")
    # Pending while Month 6's window is open (clinical-rules 4a; it closes on study day 194,
    # 2026-08-22); missing once it has closed.
    assert m6(BEFORE_M6_TARGET) == (0, 0, 1)
    assert m6(M6_WINDOW_LAST_DAY) == (0, 0, 1)
    assert m6(AFTER_M6_WINDOW) == (1, 1, 0)


def test_admin_refuses_to_record_a_visit_recorded_as_missed(client, with_baseline: Participant):
    mark_missed(with_baseline, "M1", "missed")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    data = {
        "participant": with_baseline.pk,
        "visit_definition": definition(with_baseline, "M1").pk,
        "visit_date": "2026-03-11",
        "change_reason": "From the source file",
    }
    for prefix in ("pga", "sledai", "bilag"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(reverse("admin:trialsite_visit_add"), data)
    assert response.status_code == 200
    assert "M1 is recorded as missed (missed)" in response.content.decode()
    assert not with_baseline.visits.filter(visit_definition__code="M1").exists()


def test_admin_refuses_to_mark_a_recorded_visit_missed(client, with_baseline: Participant):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:trialsite_missedvisit_add")
    response = client.post(
        url,
        {
            "participant": with_baseline.pk,
            "visit_definition": definition(with_baseline, "BL").pk,
            "reason": "missed",
            "note": "",
            "change_reason": "From the source file",
        },
    )
    assert response.status_code == 200
    assert "BL is already recorded as a visit." in response.content.decode()
    assert not MissedVisit.objects.exists()


def test_admin_removes_a_missed_visit_recorded_in_error(client, with_baseline: Participant):
    missed = mark_missed(with_baseline, "M1", "missed")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:trialsite_missedvisit_change", args=[missed.pk])
    assert opened_version(client, url)
    response = client.post(
        reverse("admin:trialsite_missedvisit_delete", args=[missed.pk]),
        {"post": "yes", "delete_reason": "Recorded for the wrong visit"},
    )
    assert response.status_code == 302
    assert not MissedVisit.objects.exists()
    assert MissedVisit.history.filter(history_type="-").get().history_change_reason == (
        "Recorded for the wrong visit"
    )
