"""The audit trail as CSV (an export written in the background, jobs.tasks): who may download
it, what it holds for whom, its exact rows for a hand-made history, UTC times, formula
neutralising and its query budget. The export's own pages: tests/jobs/test_export_jobs.py."""

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from jobs.models import ExportJob
from tests.factories import (
    ALL_E,
    NONE_PRESENT,
    TEST_PASSWORD,
    ParticipantRow,
    SiteFactory,
    UserFactory,
    VisitRow,
    build_cohort,
    enrol,
    record_visit,
)
from tests.trialsite.test_role_audit import user_change_data
from trialsite import services
from trialsite.audit_export import AUDIT_TRAIL_COLUMNS, _UtcSeconds, audit_trail_rows
from trialsite.history import administration_sources, trial_data_sources
from trialsite.models import DataQuery, Participant, QueryMessage, Site, SiteMembership, Study


def write_audit_trail(client):
    """Ask for the audit trail as the Home page's button does (the immediate backend writes it
    within the request); return the answer, not followed."""
    return client.post(reverse("export_job_create"), {"kind": "audit_trail"})


@contextmanager
def at(when: str) -> Iterator[None]:
    """Let every save in the block happen at ``when`` (UTC, ISO 8601): the audit history
    stamps each version with django.utils.timezone.now()."""
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def download(client, user) -> list[dict[str, str]]:
    """Download the audit trail as ``user``; return its rows keyed by column, header checked."""
    client.force_login(user)
    job = client.get(write_audit_trail(client).url)
    assert job.status_code == 200
    response = client.get(reverse("export_job_download", args=[job.context["job"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="audit-trail_{today}.csv"'
    text = response.content.decode("utf-8")
    header, *rows = csv.reader(StringIO(text))
    assert header == list(AUDIT_TRAIL_COLUMNS)
    return [dict(zip(header, row, strict=True)) for row in rows]


def enrol_s01_001(study: Study, user, participant_id: str = "S01-001") -> Participant:
    """A girl of 12 at S01, enrolled 2026-01-05 and infused 2026-01-25."""
    row = ParticipantRow(
        "S01", "F", 12, 100_000, enrolled=date(2026, 1, 5), infused=date(2026, 1, 25)
    )
    return enrol(study, participant_id, row, user=user, reason="Consent signed")


def test_the_data_manager_role_may_export_and_the_other_roles_may_not(db):
    holders = Group.objects.filter(permissions__codename="export_audit_trail")
    assert list(holders.values_list("name", flat=True)) == ["Data manager"]
    permission = Permission.objects.get(codename="export_audit_trail")
    assert permission.name == "Can export the audit trail"


@pytest.mark.parametrize("role", ["Coordinator", "Investigator", "Monitor"])
def test_roles_without_the_permission_get_403(client, site_a, role):
    client.force_login(UserFactory(username="someone", role=role, sites=[site_a]))
    assert write_audit_trail(client).status_code == 403
    assert not ExportJob.objects.exists()


def test_home_links_the_export_only_for_users_who_may_export(client, coordinator_a, data_manager):
    client.force_login(data_manager)
    assert "Export audit trail (CSV)" in client.get(reverse("home")).content.decode()
    home = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("export_job_create")}"' in home
    assert 'name="kind" value="audit_trail"' in home
    client.force_login(coordinator_a)
    assert "Export audit trail (CSV)" not in client.get(reverse("home")).content.decode()


def test_superuser_downloads_without_a_role(client, db):
    rows = download(client, UserFactory(username="root", is_superuser=True))
    assert [(row["record"], row["action"]) for row in rows] == [("user root", "created")]


def test_exact_rows_of_an_enrolment_a_visit_and_a_pga_correction(client, study):
    # Times in UTC; the site's own time zone is Asia/Shanghai (UTC+8), so a local time would
    # show 09:30, 10:00 and 17:15.
    with at("2026-01-31T18:00:00"):
        site = SiteFactory(code="S01", name="Site one")
        coordinator = UserFactory(username="coord_a", role="Coordinator", sites=[site])
        data_manager = UserFactory(username="dm", role="Data manager")
    with at("2026-02-01T01:30:00"):
        participant = enrol_s01_001(study, coordinator)
    with at("2026-02-02T02:00:00"):
        visit = record_visit(
            participant, "BL", date(2026, 1, 20), pga="1.00", user=coordinator, reason="Entered"
        )
    with at("2026-02-03T09:15:00"):
        services.visit_save_assessments(
            visit=visit,
            sledai=NONE_PRESENT,
            pga=Decimal("1.50"),
            bilag=ALL_E,
            author=coordinator,
            reason="Transcription error",
        )

    rows = [list(row.values()) for row in download(client, data_manager)]

    visit_columns = ["coord_a", "S01-001", "BL 2026-01-20"]
    assert rows == [
        ["2026-01-31T18:00:00Z", "", "", "", "site S01", "created", "", "", "", ""],
        [
            "2026-01-31T18:00:00Z",
            "",
            "",
            "",
            "site membership: coord_a @ S01",
            "created",
            "",
            "",
            "",
            "",
        ],
        ["2026-01-31T18:00:00Z", "", "", "", "user coord_a", "created", "", "", "", ""],
        [
            "2026-01-31T18:00:00Z",
            "",
            "",
            "",
            "user coord_a",
            "changed",
            "roles",
            "none",
            "Coordinator",
            "",
        ],
        ["2026-01-31T18:00:00Z", "", "", "", "user dm", "created", "", "", "", ""],
        [
            "2026-01-31T18:00:00Z",
            "",
            "",
            "",
            "user dm",
            "changed",
            "roles",
            "none",
            "Data manager",
            "",
        ],
        [
            "2026-02-01T01:30:00Z",
            "coord_a",
            "S01-001",
            "",
            "participant",
            "created",
            "",
            "",
            "",
            "Consent signed",
        ],
        ["2026-02-02T02:00:00Z", *visit_columns, "visit", "created", "", "", "", "Entered"],
        [
            "2026-02-02T02:00:00Z",
            *visit_columns,
            "visit",
            "changed",
            "data entry",
            "in progress",
            "complete",
            "Entered",
        ],
        ["2026-02-02T02:00:00Z", *visit_columns, "PGA", "created", "", "", "", "Entered"],
        ["2026-02-02T02:00:00Z", *visit_columns, "SLEDAI-2K", "created", "", "", "", "Entered"],
        ["2026-02-02T02:00:00Z", *visit_columns, "BILAG-2004", "created", "", "", "", "Entered"],
        [
            "2026-02-03T09:15:00Z",
            *visit_columns,
            "PGA",
            "changed",
            "PGA",
            "1.00",
            "1.50",
            "Transcription error",
        ],
    ]


def test_times_are_utc_whatever_the_display_time_zone(client, settings, participant_a):
    settings.TIME_ZONE = "America/New_York"
    with at("2026-03-03T04:15:00"):
        participant_a.withdrawal_date = date(2026, 3, 2)
        participant_a.withdrawal_reason = "Moved abroad"
        services.participant_save(participant=participant_a, author=None, reason="Withdrew")

    rows = download(client, UserFactory(username="dm", role="Data manager"))

    withdrawal = [row for row in rows if row["field"] == "withdrawal date"]
    assert [(row["when_utc"], row["old"], row["new"]) for row in withdrawal] == [
        ("2026-03-03T04:15:00Z", "not recorded", "2026-03-02")
    ]
    assert withdrawal[0]["who"] == ""  # the system


def test_each_time_is_cut_to_its_own_second(client, participant_a, data_manager):
    """A time is written once per second (the trail runs in time order): the last microsecond
    of a second is still that second, the first of the next is the next."""
    reasons_by_time = [
        ("2026-03-03T04:15:00.999999", "Moved abroad"),
        ("2026-03-03T04:15:01.000000", "Moved abroad, again"),
        ("2026-03-03T04:15:01.999999", "Moved abroad, last"),
        ("2026-03-03T04:16:01.000001", "Moved back"),
    ]
    for when, reason in reasons_by_time:
        with at(when):
            participant_a.withdrawal_reason = reason
            services.participant_save(participant=participant_a, author=None, reason="Withdrew")

    rows = download(client, data_manager)

    assert [
        (row["when_utc"], row["new"]) for row in rows if row["field"] == "withdrawal reason"
    ] == [
        ("2026-03-03T04:15:00Z", "Moved abroad"),
        ("2026-03-03T04:15:01Z", "Moved abroad, again"),
        ("2026-03-03T04:15:01Z", "Moved abroad, last"),
        ("2026-03-03T04:16:01Z", "Moved back"),
    ]


def test_a_time_is_written_in_its_utc_second_in_any_order_and_any_time_zone():
    paris = ZoneInfo("Europe/Paris")
    times = [
        # Paris leaves summer time on 2026-10-25: 02:30 comes twice, an hour apart.
        (datetime(2026, 10, 25, 2, 30, 0, 200_000, tzinfo=paris), "2026-10-25T00:30:00Z"),
        (datetime(2026, 10, 25, 2, 30, 0, 700_000, tzinfo=paris, fold=1), "2026-10-25T01:30:00Z"),
        (datetime(2026, 10, 25, 0, 30, 0, 900_000, tzinfo=UTC), "2026-10-25T00:30:00Z"),
        (
            datetime(2026, 10, 25, 8, 30, 0, 100_000, tzinfo=ZoneInfo("Asia/Shanghai")),
            "2026-10-25T00:30:00Z",
        ),
        # An offset of half a second moves the time into the second before.
        (
            datetime(2026, 10, 25, 0, 30, 0, 300_000, tzinfo=dt_timezone(timedelta(seconds=0.5))),
            "2026-10-25T00:29:59Z",
        ),
        (datetime.min.replace(tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime.max.replace(tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ]
    utc_time = _UtcSeconds()

    assert [utc_time(when) for when, _written in times] == [written for _when, written in times]


def test_cells_are_english_whatever_the_users_language(client, participant_a, data_manager):
    with at("2026-02-02T02:00:00"):
        record_visit(participant_a, "BL", date(2026, 1, 20), user=data_manager)
    client.cookies["django_language"] = "zh-hans"
    client.force_login(data_manager)
    assert "导出" in client.get(reverse("home")).content.decode()  # the page is in Chinese

    rows = download(client, data_manager)

    assert {row["record"] for row in rows if row["participant_id"]} == {
        "participant",
        "visit",
        "PGA",
        "SLEDAI-2K",
        "BILAG-2004",
    }
    assert {row["action"] for row in rows} == {"created", "changed"}
    assert ("data entry", "in progress", "complete") in {
        (row["field"], row["old"], row["new"]) for row in rows
    }


def test_a_site_limited_user_with_the_permission_gets_only_their_sites(
    client, study, coordinator_a, participant_b
):
    coordinator_a.user_permissions.add(Permission.objects.get(codename="export_audit_trail"))
    mine = enrol_s01_001(study, coordinator_a)
    record_visit(mine, "BL", date(2026, 1, 20), user=coordinator_a)
    record_visit(participant_b, "BL", date(2026, 1, 20))

    rows = download(client, coordinator_a)

    assert {row["participant_id"] for row in rows} == {"S01-001"}
    assert {row["visit"] for row in rows} == {"", "BL 2026-01-20"}
    # The study, schedule, site and membership rows are for users who see every site.
    assert not [row for row in rows if row["record"].startswith(("site", "study"))]

    everything = download(client, UserFactory(username="dm", role="Data manager"))
    assert {row["participant_id"] for row in everything} == {"", "S01-001", "S02-001"}
    assert {"site S01", "site S02", "site membership: coord_a @ S01"} <= {
        row["record"] for row in everything
    }


def test_a_membership_of_a_user_deleted_since_names_the_user_by_id(client, site_a, data_manager):
    leaver = UserFactory(username="leaver", sites=[site_a])
    leaver_id = leaver.pk
    leaver.delete()

    rows = download(client, data_manager)

    membership = f"site membership: {leaver_id} @ S01"
    assert [row["action"] for row in rows if row["record"] == membership] == [
        "created",
        "deleted",
    ]


def test_deleted_visits_missed_visits_and_answers_not_done_are_in_the_trail(
    client, participant_a, data_manager
):
    visit = record_visit(
        participant_a, "BL", date(2026, 1, 20), pga=None, not_done={"pga": "physician away"}
    )
    services.visit_delete(visit=visit, author=data_manager, reason="Wrong participant")
    participant_a.refresh_from_db()
    services.missed_visit_record(
        participant=participant_a,
        visit_definition=participant_a.study.visit_definitions.get(code="D7"),
        reason="unreachable",
        note="",
        author=data_manager,
        audit_reason="Phone off",
    )

    rows = download(client, data_manager)

    deleted = {
        (row["record"], row["visit"], row["reason"]) for row in rows if row["action"] == "deleted"
    }
    assert deleted == {
        (record, "BL 2026-01-20", "Wrong participant")
        for record in ("visit", "PGA", "SLEDAI-2K", "BILAG-2004", "PGA not done (physician away)")
    }
    missed = [row for row in rows if row["record"] == "missed visit"]
    assert [(row["participant_id"], row["visit"], row["action"]) for row in missed] == [
        ("S01-001", "D7", "created")
    ]


def test_sign_offs_their_voiding_and_query_messages_are_in_the_trail(
    client, participant_a, data_manager
):
    visit = record_visit(participant_a, "BL", date(2026, 1, 20))
    monitor = UserFactory(username="mon", role="Monitor")
    services.visit_verify(visit=visit, author=monitor)
    investigator = UserFactory(username="inv", role="Investigator", sites=[participant_a.site])
    services.visit_sign(visit=visit, author=investigator, password=TEST_PASSWORD)
    with at("2026-03-01T08:00:00"):
        services.visit_unlock(visit=visit, author=data_manager, reason="Rash was missed")
    query = DataQuery.objects.create(
        visit=visit,
        participant_id=visit.participant_id,
        field="pga",
        raised_by=monitor,
        raised_at=timezone.now(),
    )
    QueryMessage.objects.create(
        query=query, action="raised", author=monitor, written_at=query.raised_at, text="Source?"
    )

    rows = download(client, data_manager)

    trail = [
        (row["who"], row["record"], row["action"], row["field"], row["new"], row["reason"])
        for row in rows
        if row["record"].startswith(("sign-off", "query"))
    ]
    assert ("mon", "sign-off: source-verified", "created", "", "", "Source verified") in trail
    signed = "Signed: I confirm these assessments are accurate."
    assert ("inv", "sign-off: signed", "created", "", "", signed) in trail
    # The voiding changed three fields, listed by field name: a text, a time the server
    # stamped (in UTC) and a user, each "not recorded" before.
    voiding = [
        (row["field"], row["old"], row["new"], row["reason"])
        for row in rows
        if row["record"] == "sign-off: signed" and row["action"] == "changed"
    ]
    assert voiding == [
        ("reason voided", "not recorded", "Rash was missed", "Rash was missed"),
        ("voided at", "not recorded", "2026-03-01 08:00:00 UTC", "Rash was missed"),
        ("voided by", "not recorded", "dm", "Rash was missed"),
    ]
    assert {row["visit"] for row in rows if row["record"].startswith("query")} == {"BL 2026-01-20"}


def test_a_descriptor_shows_present_or_absent_and_a_deleted_user_is_named_by_id(
    client, participant_a, data_manager, site_a
):
    visit = record_visit(participant_a, "BL", date(2026, 1, 20), user=data_manager)
    services.visit_save_assessments(
        visit=visit,
        sledai={**NONE_PRESENT, "arthritis": True},
        pga=Decimal("1.00"),
        bilag=ALL_E,
        author=data_manager,
        reason="Arthritis was missed",
    )
    leaver, successor = UserFactory(username="leaver"), UserFactory(username="successor")
    membership = SiteMembership(user=leaver, site=site_a)
    services.save_with_audit(membership, author=data_manager, reason="Joins S01")
    membership.user = successor
    services.save_with_audit(membership, author=data_manager, reason="Handed over")
    leaver_id = leaver.pk
    leaver.delete()

    rows = download(client, data_manager)

    changes = {(row["field"], row["old"], row["new"]) for row in rows if row["action"] == "changed"}
    assert ("Arthritis", "absent", "present") in changes
    assert ("user", f"deleted user (id {leaver_id})", "successor") in changes


def test_a_change_whose_previous_version_was_never_recorded_is_kept_without_details(
    client, data_manager
):
    # As a data migration leaves a row: changed, with no version before it in the history.
    Site.history.model.objects.create(
        id=99, code="S99", name="Ninety-nine", history_type="~", history_date=timezone.now()
    )

    rows = download(client, data_manager)

    assert [(row["action"], row["field"]) for row in rows if row["record"] == "site S99"] == [
        ("changed", "")
    ]


def test_formulas_in_participant_ids_and_reasons_are_neutralised(client, study, data_manager):
    SiteFactory(code="S01")
    participant = enrol_s01_001(study, data_manager, participant_id="=1+1")
    participant.withdrawal_date = date(2026, 2, 2)
    services.participant_save(
        participant=participant, author=data_manager, reason='@HYPERLINK("http://x")'
    )

    rows = download(client, data_manager)

    assert {row["participant_id"] for row in rows} == {"", "'=1+1"}
    assert '\'@HYPERLINK("http://x")' in {row["reason"] for row in rows}


def test_every_audited_model_is_exported(db):
    # A model given a history later is exported too, or this test fails; the users and roles
    # (django.contrib.auth) included.
    root = UserFactory(username="root", is_superuser=True)
    audited = {
        model
        for model in apps.get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    }
    assert {User, Group} <= audited
    exported = {
        source.history.model.instance_type
        for source in [
            *trial_data_sources(Participant.objects.none(), root),
            *administration_sources(),
        ]
    }
    assert exported == audited


def test_a_background_export_is_told_each_version_read_of_every_history_row(
    participant_a, data_manager
):
    record_visit(participant_a, "BL", date(2026, 1, 20), pga="1.00", user=data_manager)
    history_rows = sum(
        get_history_manager_for_model(model).count()
        for model in apps.get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    )
    told: list[tuple[int, int]] = []

    rows = list(audit_trail_rows(data_manager, lambda done, total: told.append((done, total))))

    # Ten history rows: the site, the participant, the visit (entered, then its entry status),
    # its SLEDAI-2K, PGA and BILAG-2004, and the data manager's account, created and then given
    # its role in two steps (two rows of its history, one change of its roles in the trail).
    # Each version is told as it is read, of all the rows: nine of ten.
    assert history_rows == 10
    assert told == [(done, history_rows) for done in range(1, 10)]
    assert len(rows) == 9


def test_a_change_of_roles_in_admin_is_one_row_with_its_author(client, data_manager):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    coordinator = UserFactory(username="coord", role="Coordinator")
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_change", args=[coordinator.pk]),
        user_change_data(coordinator, groups=[Group.objects.get(name="Monitor")], is_active=True),
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    rows = download(client, data_manager)

    roles = [row for row in rows if row["record"] == "user coord" and row["field"] == "roles"]
    # The admin replaces the roles in steps (the old go, the new come): one row in the trail.
    assert [(row["who"], row["action"], row["old"], row["new"]) for row in roles[-1:]] == [
        ("root", "changed", "Coordinator", "Monitor")
    ]
    assert not [row for row in rows if row["who"] == "root" and row["new"] == "none"]


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_histories_read_in_small_chunks_give_the_same_file(
    client, participant_a, data_manager, monkeypatch, chunk
):
    record_visit(participant_a, "BL", date(2026, 1, 20), user=data_manager)
    record_visit(participant_a, "D0", date(2026, 2, 9), pga="1.50", user=data_manager)
    whole = download(client, data_manager)
    # Every history is then read a few rows at a time, the dozen of them interleaved by the
    # merge: a version's previous version in an earlier chunk, or in its own, a chunk ending
    # on a history's last version.
    monkeypatch.setattr("trialsite.history.HISTORY_CHUNK", chunk)
    assert download(client, data_manager) == whole
    assert len(whole) > 10


#: The budget of the request that writes the file (the session, the user and their rights
#: included) holds for 2 and for 12 participants with their visits, and as many users with
#: roles: no query per history row, nor per snapshot of a user's roles or a role's permissions.
#: One query reads the device with which the data manager passed the second factor; one reads
#: each kind of safety episode, one the adverse events, one the medication courses, one the
#: CAR-T treatment records, one the sign-offs of these records, one the study's dose levels.
#: Seven keep the exports (the files kept too long deleted, the new export's row written,
#: taken by its task, read, saved with the file, its task named, read back) and two read the
#: author's rights again, as the worker's own. Two read the previous versions of the visits'
#: and the users' versions that have one (one per history and chunk holding such versions).
QUERY_BUDGET = 49


def test_query_count_does_not_grow_with_the_audit_trail(
    client, study, site_a, data_manager, django_assert_max_num_queries
):
    visits = {
        "BL": VisitRow(date(2026, 2, 2), {"arthritis", "rash"}, "1.00"),
        "M3": VisitRow(date(2026, 5, 10), set(), "1.00"),
    }
    row = ParticipantRow(
        "S01", "F", 12, 100_000, enrolled=date(2026, 1, 5), infused=date(2026, 2, 9), visits=visits
    )
    client.force_login(data_manager)
    Group.objects.get(name="Monitor").permissions.add(Permission.objects.get(codename="add_visit"))
    lengths = []
    for size in (2, 10):
        start = Participant.objects.count()
        build_cohort(study, {f"S01-{start + n:03d}": row for n in range(1, size + 1)})
        UserFactory.create_batch(size, role="Monitor")
        with django_assert_max_num_queries(QUERY_BUDGET):
            job = write_audit_trail(client)
        download = client.get(reverse("export_job_download", args=[job.url.split("/")[-2]]))
        lengths.append(len(download.content.splitlines()))
    assert lengths[1] > lengths[0] * 4
