"""Who reads which part of the audit trail and of the queries: every place that shows the trail
(a participant's Changes page, a visit's page, Home's recent changes, the audit-trail export)
shows a kind of record beside the visits only to a reader who may see such records on their own
pages, with the queries on it and its sign-offs, and queries only to a reader who may see
queries; the query pages and panels likewise. The built-in roles hold every such right
(tests/trialsite/test_participant_changes.py); a role an administrator made with fewer rights
sees less. A file written before a right was lost: tests/jobs/test_export_jobs.py."""

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import UserFactory, record_visit
from tests.pages import page_text
from tests.safety.test_record_queries import KINDS as RECORD_KINDS
from tests.safety.test_record_queries import raise_on as raise_on_record
from tests.safety.test_record_queries import record_of
from tests.trialsite.test_queries import raise_on as raise_on_visit
from trialsite import services
from trialsite.audit_export import audit_trail_rows
from trialsite.models import Visit
from trialsite.selectors import recent_changes

VISIT_QUERY_TEXT = "Source says 1.30?"
RECORD_QUERY_TEXT = "Source for the record?"


@dataclass(frozen=True)
class Names:
    """How the audit trail names a record beside the visits, the query on it, the query's
    message and the record's sign-off; and the right to see such records."""

    record: str
    query: str
    message: str
    sign_off: str
    view_codename: str


@dataclass(frozen=True)
class Trail:
    """A participant's baseline visit with a query, and one record of each kind beside the
    visits (tests/safety/test_record_queries.py's KINDS), each queried and source-verified."""

    visit: Visit
    visit_query: str
    visit_query_message: str
    records: dict[str, Names]


@pytest.fixture
def trail(participant_a, coordinator_a, monitor) -> Trail:
    visit = record_visit(participant_a, "BL", date(2026, 1, 20), pga="1.00", user=coordinator_a)
    visit_query = raise_on_visit(visit, monitor, text=VISIT_QUERY_TEXT)
    records = {}
    for kind, (*_entry, name) in RECORD_KINDS.items():
        record = record_of(kind, participant_a)
        query = raise_on_record(record, monitor, text=RECORD_QUERY_TEXT)
        services.record_verify(record=record, author=monitor)
        meta = type(record)._meta
        records[kind] = Names(
            record=name,
            query=f"query Q{query.pk} on the whole record",
            message=f"query Q{query.pk} message",
            sign_off=f"sign-off: source-verified of {meta.verbose_name} {record.pk}",
            view_codename=f"view_{meta.model_name}",
        )
    return Trail(
        visit, f"query Q{visit_query.pk} on PGA", f"query Q{visit_query.pk} message", records
    )


def reader_without(*codenames: str):
    """A user who sees every site with the Monitor role's rights but ``codenames``: a role an
    administrator made."""
    monitor_rights = Group.objects.get(name="Monitor").permissions.exclude(codename__in=codenames)
    role = Group.objects.create(name="Reader")
    role.permissions.set(monitor_rights)
    return UserFactory(username="reader", role="Reader")


def changes_page(client, user, visit: Visit) -> str:
    client.force_login(user)
    page = page_text(client.get(reverse("participant_changes", args=[visit.participant_id])))
    return page.split('id="participant-changes"', 1)[1]


def visit_page(client, user, visit: Visit) -> str:
    client.force_login(user)
    return page_text(client.get(reverse("visit_detail", args=[visit.pk])))


def exported(user) -> str:
    """The record column of every row of the user's audit-trail export, one per line."""
    return "\n".join(row[4] for row in audit_trail_rows(user))


def on_home(user) -> str:
    """The records named by Home's recent changes, one per line."""
    return "\n".join(
        str(name)
        for change in recent_changes(user, limit=50)
        for records in change.records
        for name in records.names
    )


def every_view(client, user, trail: Trail) -> dict[str, str]:
    return {
        "changes page": changes_page(client, user, trail.visit),
        "export": exported(user),
        "home": on_home(user),
    }


def test_a_monitor_reads_every_kind_of_record_with_its_queries_and_sign_offs(
    client, monitor, trail
):
    for view, text in every_view(client, monitor, trail).items():
        assert trail.visit_query in text, view
        assert trail.visit_query_message in text, view
        for kind, names in trail.records.items():
            for name in (names.record, names.query, names.message, names.sign_off):
                assert name in text, (view, kind, name)
    visit_changes = visit_page(client, monitor, trail.visit).split('id="changes"', 1)[1]
    assert trail.visit_query in visit_changes
    assert trail.visit_query_message in visit_changes


@pytest.mark.parametrize("hidden", sorted(RECORD_KINDS))
def test_a_role_without_a_kind_of_record_reads_none_of_it_nor_its_queries_and_sign_offs(
    client, trail, hidden
):
    names = trail.records[hidden]
    reader = reader_without(names.view_codename)

    for view, text in every_view(client, reader, trail).items():
        for name in (names.record, names.query, names.message, names.sign_off):
            assert name not in text, (view, name)
        # What the reader may see stays: the visit's query, the other kinds of record.
        assert trail.visit_query in text, view
        for kind, seen in trail.records.items():
            if kind != hidden:
                for name in (seen.record, seen.query, seen.message, seen.sign_off):
                    assert name in text, (view, kind, name)


def test_a_role_without_queries_reads_none_of_them_nor_their_messages(client, trail):
    reader = reader_without("view_dataquery")

    for view, text in every_view(client, reader, trail).items():
        assert "query Q" not in text, view
        for kind, names in trail.records.items():
            assert names.record in text, (view, kind)
            assert names.sign_off in text, (view, kind)
    page = visit_page(client, reader, trail.visit)
    assert "query Q" not in page.split('id="changes"', 1)[1]
    assert VISIT_QUERY_TEXT not in page
    entry_form = page_text(client.get(reverse("visit_entry", args=[trail.visit.pk])))
    assert VISIT_QUERY_TEXT not in entry_form
    # Nor how many are open, beside a visit's status.
    participant_page = reverse("participant_detail", args=[trail.visit.participant_id])
    for url in (participant_page, reverse("record_status")):
        assert "open queries" not in page_text(client.get(url)), url
    assert "open queries" not in page.split('id="changes"', 1)[0]


def test_a_monitor_sees_how_many_queries_are_open_beside_a_visits_status(client, monitor, trail):
    client.force_login(monitor)
    participant_page = reverse("participant_detail", args=[trail.visit.participant_id])
    for url in (
        participant_page,
        reverse("record_status"),
        reverse("visit_detail", args=[trail.visit.pk]),
    ):
        assert "open queries" in page_text(client.get(url)), url


def test_the_query_list_leaves_out_the_queries_on_records_the_reader_may_not_see(client, trail):
    client.force_login(reader_without("view_crsepisode"))

    listed = page_text(client.get(reverse("query_list")))

    assert VISIT_QUERY_TEXT in listed
    assert RECORD_KINDS["icans"][3] in listed
    assert RECORD_KINDS["crs"][3] not in listed
