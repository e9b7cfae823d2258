"""Who reads which part of the audit trail: every place that shows it (a participant's Changes
page, a visit's page, Home's recent changes, the audit-trail export) shows a kind of record only
to a reader who may see such records on their own pages, and a query on or a sign-off of a
record beside the visits only with the record. The built-in roles see everything of their
sites (tests/trialsite/test_participant_changes.py); a role an administrator made with fewer
rights sees less."""

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import UserFactory, record_visit
from tests.medications.conftest import record_course
from tests.pages import page_text
from tests.safety.test_adverse_events import record as record_adverse_event
from tests.safety.test_record_queries import raise_on as raise_on_record
from tests.safety.test_views import record_crs
from tests.trialsite.test_queries import raise_on as raise_on_visit
from trialsite import services
from trialsite.audit_export import audit_trail_rows
from trialsite.models import Visit
from trialsite.selectors import recent_changes

#: How the trail names the records of the ``trail`` fixture (its queries: Trail).
CRS = "CRS episode from 2026-02-12"
CRS_SIGN_OFF = "sign-off: source-verified of CRS episode"
ADVERSE_EVENT = "adverse event Neutrophil count decreased from 2026-02-12"
COURSE = "prednisolone course from 2026-01-05"


@dataclass(frozen=True)
class Trail:
    visit: Visit
    #: How the trail names the query on the visit's PGA and the one on the CRS episode.
    visit_query: str
    crs_query: str


@pytest.fixture
def trail(participant_a, coordinator_a, monitor) -> Trail:
    """S01-001 with a baseline visit queried by the monitor, a CRS episode queried and
    source-verified, an adverse event and a medication course."""
    visit = record_visit(participant_a, "BL", date(2026, 1, 20), pga="1.00", user=coordinator_a)
    visit_query = raise_on_visit(visit, monitor)
    crs = record_crs(participant_a)
    crs_query = raise_on_record(crs, monitor)
    services.record_verify(record=crs, author=monitor)
    record_adverse_event(participant_a)
    record_course(participant_a)
    return Trail(
        visit, f"query Q{visit_query.pk} on PGA", f"query Q{crs_query.pk} on the whole record"
    )


def reader_without(*codenames: str):
    """A user who sees every site with the Monitor role's rights but ``codenames``: a role an
    administrator made."""
    monitor_rights = Group.objects.get(name="Monitor").permissions.exclude(codename__in=codenames)
    role = Group.objects.create(name="Reader")
    role.permissions.set(monitor_rights)
    return UserFactory(username="reader", role="Reader")


def changes_page(client, user, participant) -> str:
    client.force_login(user)
    page = page_text(client.get(reverse("participant_changes", args=[participant.pk])))
    return page.split('id="participant-changes"', 1)[1]


def visit_changes_section(client, user, visit) -> str:
    client.force_login(user)
    page = page_text(client.get(reverse("visit_detail", args=[visit.pk])))
    return page.split('id="changes"', 1)[1]


def exported_records(user) -> set[str]:
    return {row[4] for row in audit_trail_rows(user)}


def home_records(user) -> set[str]:
    return {
        str(name)
        for change in recent_changes(user, limit=50)
        for records in change.records
        for name in records.names
    }


def test_a_monitor_reads_every_kind_of_record(client, monitor, trail):
    page = changes_page(client, monitor, trail.visit.participant)
    for name in (trail.visit_query, CRS, trail.crs_query, CRS_SIGN_OFF):
        assert name in page
    assert {trail.visit_query, CRS, trail.crs_query, ADVERSE_EVENT, COURSE} <= exported_records(
        monitor
    )
    assert {trail.visit_query, CRS, trail.crs_query, ADVERSE_EVENT, COURSE} <= home_records(monitor)
    assert trail.visit_query in visit_changes_section(client, monitor, trail.visit)


def test_a_role_without_safety_records_reads_none_of_them_nor_their_queries_and_sign_offs(
    client, trail
):
    reader = reader_without("view_crsepisode", "view_adverseevent")

    page = changes_page(client, reader, trail.visit.participant)
    exported = exported_records(reader)
    home = home_records(reader)

    for shown in (page, exported, home):
        assert trail.visit_query in shown
        assert COURSE in shown
        assert CRS not in shown
        assert trail.crs_query not in shown
        assert ADVERSE_EVENT not in shown
    assert "PGA" in exported
    assert CRS_SIGN_OFF not in page
    assert not any(CRS_SIGN_OFF in record for record in exported | home)


def test_a_role_without_queries_reads_none_of_them_nor_their_messages(client, trail):
    reader = reader_without("view_dataquery")

    page = changes_page(client, reader, trail.visit.participant)
    exported = exported_records(reader)

    assert "query Q" not in page
    assert not any(record.startswith("query Q") for record in exported | home_records(reader))
    assert "query Q" not in visit_changes_section(client, reader, trail.visit)
    assert {"PGA", CRS, ADVERSE_EVENT, COURSE} <= exported
    assert CRS_SIGN_OFF in page
