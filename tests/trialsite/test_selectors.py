"""The read side of data capture (trialsite/selectors.py)."""

from datetime import date
from decimal import Decimal

from tests.factories import record_visit
from trialsite import services
from trialsite.models import BilagAssessment, PgaAssessment, SledaiAssessment
from trialsite.selectors import recent_changes


def test_recent_changes_name_every_audited_visit_record(participant_a, coordinator_a) -> None:
    # The home page's recent changes read the same audited records as a visit's audit trail:
    # the visit, its SLEDAI-2K, PGA, BILAG-2004, labs and answers marked not done.
    record_visit(
        participant_a,
        "BL",
        date(2026, 2, 2),
        pga=None,
        not_done={"pga": "physician away"},
        labs={"platelets": Decimal("210")},
        user=coordinator_a,
    )

    changes = recent_changes(coordinator_a, limit=20)

    assert sorted(str(change.what) for change in changes) == [
        "BILAG-2004",
        "PGA",
        "PGA not done (physician away)",
        "SLEDAI-2K",
        "labs",
        "participant",
        "visit",  # created
        "visit",  # its entry status set
    ]
    assert {change.participant_id for change in changes} == {"S01-001"}


def test_a_save_that_changed_only_sledai_shows_only_sledai_changed(
    participant_a, coordinator_a
) -> None:
    visit = record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a)
    services.visit_save_assessments(
        visit=visit,
        sledai={**visit.sledai.answers(), "arthritis": True},
        pga=visit.pga.score,
        bilag=visit.bilag.grades(),
        author=coordinator_a,
        reason="Arthritis seen in the clinic notes",
    )

    latest = recent_changes(coordinator_a, limit=1)[0]
    assert (str(latest.what), str(latest.kind)) == ("SLEDAI-2K", "changed")
    assert latest.reason == "Arthritis seen in the clinic notes"
    assert PgaAssessment.history.filter(visit_id=visit.pk).count() == 1  # only its creation
    assert BilagAssessment.history.filter(visit_id=visit.pk).count() == 1
    assert SledaiAssessment.history.filter(visit_id=visit.pk).count() == 2


def test_recent_changes_include_missed_and_deleted_visits_with_their_participant(
    participant_a, coordinator_a, study
) -> None:
    visit = record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a)
    services.visit_delete(visit=visit, author=coordinator_a, reason="Entered for the wrong child")
    services.missed_visit_record(
        participant=participant_a,
        visit_definition=study.visit_definitions.get(code="M1"),
        reason="unreachable",
        author=coordinator_a,
        audit_reason="Family cancelled",
    )

    changes = recent_changes(coordinator_a, limit=2)

    assert [(str(c.what), str(c.kind), c.participant_id) for c in changes] == [
        ("missed visit", "created", "S01-001"),
        ("visit", "deleted", "S01-001"),
    ]
