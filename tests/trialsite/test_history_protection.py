"""The audit history is append-only in PostgreSQL (migration 0010): UPDATE and DELETE refused."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from trialsite.models import Participant

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the history triggers are PostgreSQL's"
)


def history_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    )


@pytest.mark.django_db
def test_every_history_table_refuses_update_and_delete() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'history_append_only'"
        )
        protected = sorted(name for (name,) in cursor.fetchall())
    assert history_tables() != []
    assert protected == history_tables()


@pytest.mark.django_db
def test_a_recorded_change_cannot_be_rewritten_or_removed(participant_a) -> None:
    participant_a.sex = "M"
    participant_a.save()  # a new history row: inserts are what the history is made of
    history = Participant.history.model._meta.db_table
    assert Participant.history.filter(id=participant_a.pk).count() == 2
    for statement in (
        f"UPDATE {history} SET history_change_reason = 'rewritten'",
        f"DELETE FROM {history}",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert Participant.history.filter(id=participant_a.pk).count() == 2
