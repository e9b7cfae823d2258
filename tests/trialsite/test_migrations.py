"""Data migrations run against data recorded before them, on SQLite and on PostgreSQL (where
the audit history is append-only: tests/trialsite/test_history_protection.py)."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import ParticipantFactory, SiteFactory, UserFactory, record_visit

BEFORE_RECORD_QUERIES = [("trialsite", "0015_study_dose_levels")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_queries_recorded_before_0016_name_their_participant(reference_data):
    """0016 gives every query, and every version of its history, its visit's participant; the
    history of a query whose visit was deleted since finds it in the visit's history."""
    participant = ParticipantFactory(site=SiteFactory(code="S01"), participant_id="S01-001")
    visit = record_visit(participant, "BL", date(2026, 2, 2))
    monitor = UserFactory(username="monitor", role="Monitor")
    now = timezone.now()
    try:
        old = migrate(BEFORE_RECORD_QUERIES).loader.project_state(BEFORE_RECORD_QUERIES).apps
        query = old.get_model("trialsite", "DataQuery").objects.create(
            visit_id=visit.pk, field="pga", status="open", raised_by_id=monitor.pk, raised_at=now
        )
        history = old.get_model("trialsite", "HistoricalDataQuery")
        common = {"field": "", "status": "open", "raised_by_id": monitor.pk, "raised_at": now}
        history.objects.create(id=query.pk, visit_id=visit.pk, history_date=now, **common)
        # A query deleted with its visit (entered in error): both only in their histories.
        old.get_model("trialsite", "HistoricalVisit").objects.create(
            id=999,
            participant_id=participant.pk,
            visit_definition_id=visit.visit_definition_id,
            visit_date=date(2026, 2, 3),
            occurrence=1,
            entry_status="complete",
            history_date=now,
            history_type="-",
        )
        history.objects.create(id=998, visit_id=999, history_date=now, history_type="-", **common)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    from trialsite.models import DataQuery

    assert list(DataQuery.objects.values_list("pk", "participant_id")) == [
        (query.pk, participant.pk)
    ]
    assert sorted(DataQuery.history.values_list("id", "participant_id")) == [
        (query.pk, participant.pk),
        (998, participant.pk),
    ]
