"""Safety writes at once, on PostgreSQL. An ICANS episode and a change of its participant's age:
the episode's tool always fits the stored age, because both writes lock the participant. A
change to an episode and its signature: one is refused.

Without the lock the episode's save checks the tool against the age it read, pauses, and
commits after the age change has committed: a CAPD score for a participant now 13 at onset.
"""

import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from safety import checks
from safety import services as safety_services
from safety.models import CrsEpisode, IcansEpisode
from tests.factories import TEST_PASSWORD, ParticipantFactory, SiteFactory, UserFactory
from tests.trialsite.test_concurrency import PAUSE_SECONDS, run_together
from trialsite import services
from trialsite.models import Participant, RecordSignOff

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


def test_a_change_and_a_signature_of_an_episode_never_both_commit(reference_data, monkeypatch):
    """A coordinator's change and the investigator's signature of the same CRS episode at once:
    one of them is refused, so no signature covers entries it never saw."""
    site = SiteFactory(code="S01")
    participant = ParticipantFactory(site=site, participant_id="S01-001")
    coordinator = UserFactory(username="coord", role="Coordinator", sites=[site])
    investigator = UserFactory(username="inv", role="Investigator", sites=[site])
    monitor = UserFactory(username="mon", role="Monitor")
    episode = safety_services.crs_episode_save(
        episode=CrsEpisode(
            participant=participant,
            onset_date=date(2026, 2, 12),
            max_temp_c=Decimal("38.5"),
            hypotension="none",
            oxygen="none",
        ),
        author=coordinator,
        reason="ward chart",
    )
    services.record_verify(record=episode, author=monitor)
    safety_services.episode_confirm(episode=episode, author=investigator)
    save = safety_services.save_record_with_audit

    def save_then_pause(record, **kwargs):
        saved = save(record, **kwargs)  # saved, the verification voided: not yet committed
        time.sleep(4 * PAUSE_SECONDS)
        return saved

    monkeypatch.setattr(safety_services, "save_record_with_audit", save_then_pause)

    def change() -> None:
        stored = CrsEpisode.objects.get(pk=episode.pk)
        stored.oxygen = "low_flow"
        safety_services.crs_episode_save(episode=stored, author=coordinator, reason="chart")

    def sign() -> None:
        time.sleep(PAUSE_SECONDS)
        services.record_sign(
            record=CrsEpisode.objects.get(pk=episode.pk),
            author=investigator,
            password=TEST_PASSWORD,
        )

    raised = run_together([change, sign])

    assert len(raised) == 1, raised
    assert isinstance(raised[0], ValidationError)
    stored = CrsEpisode.objects.get(pk=episode.pk)
    signatures = RecordSignOff.objects.filter(kind="signed", voided_at__isnull=True)
    assert (stored.oxygen == "low_flow") != signatures.exists()
