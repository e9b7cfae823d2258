"""An ICANS episode and a change of its participant's age at once, on PostgreSQL: the episode's
tool always fits the stored age, because both writes lock the participant.

Without the lock the episode's save checks the tool against the age it read, pauses, and
commits after the age change has committed: a CAPD score for a participant now 13 at onset.
"""

import time
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from safety import checks
from safety import services as safety_services
from safety.models import IcansEpisode
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.trialsite.test_concurrency import PAUSE_SECONDS, run_together
from trialsite import services
from trialsite.models import Participant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
    ),
]


@pytest.fixture
def slow_tool_check(monkeypatch) -> None:
    """Pause between checking an ICANS episode's tool against the age and saving it."""
    check = checks.icans_entry_errors

    def check_then_pause(episode):
        errors = check(episode)
        time.sleep(4 * PAUSE_SECONDS)
        return errors

    monkeypatch.setattr(safety_services, "icans_entry_errors", check_then_pause)


def test_an_icans_save_and_an_age_change_never_both_commit(reference_data, slow_tool_check):
    author = UserFactory(username="dm", role="Data manager")
    participant = ParticipantFactory(
        site=SiteFactory(code="S01"), participant_id="S01-001", age_at_enrollment=10
    )

    def record_icans() -> None:
        episode = IcansEpisode(
            participant=Participant.objects.get(pk=participant.pk),
            onset_date=date(2026, 2, 14),
            tool="capd",
            tool_score=4,
            consciousness="alert",
            seizure="none",
            motor="none",
            raised_icp="none",
        )
        safety_services.icans_episode_save(episode=episode, author=author, reason="ward chart")

    def correct_age() -> None:
        time.sleep(PAUSE_SECONDS)  # the episode's save has read the age of 10
        stored = Participant.objects.get(pk=participant.pk)
        stored.age_at_enrollment = 13
        services.participant_save(participant=stored, author=author, reason="age corrected")

    raised = run_together([record_icans, correct_age])

    assert len(raised) == 1, raised
    assert isinstance(raised[0], ValidationError)
    stored = Participant.objects.get(pk=participant.pk)
    assert checks.participant_safety_errors(stored) == {}
    assert checks.stale_grades() == []
