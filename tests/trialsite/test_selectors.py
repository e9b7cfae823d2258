"""The read side of data capture (trialsite/selectors.py)."""

from datetime import date
from decimal import Decimal

from tests.factories import record_visit
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
