"""The read side of data capture (trialsite/selectors.py)."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import ALL_E, ParticipantFactory, UserFactory, record_visit
from tests.trialsite.test_imports import VISITS_HEADER, visit_line
from trialsite import selectors, services
from trialsite.history import trial_data_sources
from trialsite.imports import import_visits
from trialsite.models import (
    BilagAssessment,
    MissedVisit,
    Participant,
    PgaAssessment,
    SledaiAssessment,
    Visit,
)
from trialsite.selectors import RecentChange, recent_changes


def _described(change: RecentChange) -> list[tuple[str, list[str]]]:
    """A change's records as (kind, sorted names), kinds sorted."""
    return sorted((str(part.kind), sorted(map(str, part.names))) for part in change.records)


def test_one_save_of_a_visit_entry_is_one_change_naming_every_record(
    participant_a, coordinator_a, study
) -> None:
    # The home page's recent changes read the same audited records as a visit's audit trail:
    # the visit, its SLEDAI-2K, PGA, BILAG-2004, labs and answers marked not done. The entry's
    # save writes one history row for each, in one transaction: one change.
    visit = services.visit_create(
        participant=participant_a,
        visit_definition=study.visit_definitions.get(code="BL"),
        visit_date=date(2026, 2, 2),
        author=coordinator_a,
        reason="Booked at the clinic",
    )
    services.visit_save_assessments(
        visit=visit,
        sledai={field: False for field in SLEDAI_FIELDS},
        pga=None,
        not_done={"pga": "physician away"},
        bilag=dict(ALL_E),
        labs={"platelets": Decimal("210")},
        complete=True,
        author=coordinator_a,
        reason="Entered from the source notes",
    )

    changes = recent_changes(coordinator_a, limit=20)

    saved, created = changes[0], changes[1]
    assert _described(saved) == [
        ("changed", ["visit"]),  # its entry status set to complete
        ("created", ["BILAG-2004", "PGA", "PGA not done (physician away)", "SLEDAI-2K", "labs"]),
    ]
    assert (saved.who, saved.reason, saved.visit) == (
        "coord_a",
        "Entered from the source notes",
        visit,
    )
    assert (saved.participant_id, saved.participant_pk) == ("S01-001", participant_a.pk)
    assert _described(created) == [("created", ["visit"])]
    assert created.reason == "Booked at the clinic"
    assert [_described(change) for change in changes[2:]] == [[("created", ["participant"])]]


def test_saves_of_two_visits_in_the_same_moment_are_two_changes(
    participant_a, coordinator_a
) -> None:
    record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a, reason="Same")
    record_visit(participant_a, "SCR", date(2026, 1, 20), user=coordinator_a, reason="Same")

    changes = recent_changes(coordinator_a, limit=2)

    # Same user, participant and reason within a second, but two visits: two saves.
    assert [change.visit.visit_definition.code for change in changes if change.visit] == [
        "SCR",
        "BL",
    ]


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
    assert _described(latest) == [("changed", ["SLEDAI-2K"])]
    assert latest.reason == "Arthritis seen in the clinic notes"
    assert PgaAssessment.history.filter(visit_id=visit.pk).count() == 1  # only its creation
    assert BilagAssessment.history.filter(visit_id=visit.pk).count() == 1
    assert SledaiAssessment.history.filter(visit_id=visit.pk).count() == 2


def _record_m1_missed(participant, author) -> None:
    services.missed_visit_record(
        participant=participant,
        visit_definition=participant.study.visit_definitions.get(code="M1"),
        reason="unreachable",
        author=author,
        audit_reason="Family cancelled",
    )


def test_recent_changes_include_missed_and_deleted_visits_with_their_participant(
    participant_a, coordinator_a
) -> None:
    visit = record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a)
    services.visit_delete(visit=visit, author=coordinator_a, reason="Entered for the wrong child")
    _record_m1_missed(participant_a, coordinator_a)

    missed, deleted = recent_changes(coordinator_a, limit=2)

    assert (_described(missed), missed.participant_id) == (
        [("created", ["missed visit"])],
        "S01-001",
    )
    # The visit and its records went in one save; the visit is gone, its participant is named.
    assert (deleted.participant_id, deleted.participant_pk, deleted.visit) == (
        "S01-001",
        participant_a.pk,
        None,
    )
    assert _described(deleted) == [
        ("deleted", ["BILAG-2004", "PGA", "SLEDAI-2K", "visit"]),
    ]


def test_home_links_a_change_to_its_participant_and_visit(
    client, participant_a, coordinator_a
) -> None:
    visit = record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a)
    client.force_login(coordinator_a)

    page = client.get(reverse("home")).content.decode()

    changes = page[page.index('id="recent-changes"') :]
    row = changes[: changes.index("</tr>", changes.index("<tbody>"))]
    assert f'<a href="{reverse("participant_detail", args=[participant_a.pk])}">S01-001</a>' in row
    assert f'<a href="{reverse("visit_detail", args=[visit.pk])}">BL</a>' in row


def _import_visits_of(participants: int, study, author) -> None:
    """Import BL, M1 and M3 of ``participants`` new participants in one file, as one author."""
    lines = [VISITS_HEADER]
    for number in range(1, participants + 1):
        ParticipantFactory(participant_id=f"I-{number:03d}", infusion_date=date(2026, 2, 9))
        lines += [
            visit_line(f"I-{number:03d}", "BL", "2026-02-02", "2.00"),
            visit_line(f"I-{number:03d}", "M1", "2026-03-11"),
            visit_line(f"I-{number:03d}", "M3", "2026-05-10"),
        ]
    report = import_visits("\n".join(lines), file_name="visits.csv", study=study, author=author)
    assert report.problems == []


def _counting(read_heads, rows_read: list[int]):
    """Wrap selectors._heads, noting how many rows each call read."""

    def counted(*args, **kwargs):
        heads = read_heads(*args, **kwargs)
        rows_read.append(len(heads))
        return heads

    return counted


@pytest.mark.parametrize("participants", [4, 40])
def test_after_a_big_import_recent_changes_reads_the_newest_save_and_no_deeper(
    study, participants
) -> None:
    # The newest save only (limit 1: 10 rows of each kind read first). 40 participants: 120
    # visits, more history rows of each kind than the first read takes, all by one author with
    # one reason within moments. Only the rows of the newest save's visit are read beyond
    # that, once per history read to its bound (reading every history deeper, at 24,000
    # imported visits, took seconds); a history read whole the first time (fewer rows than
    # asked for) is not read again.
    author = UserFactory(role="Data manager")
    _import_visits_of(participants, study, author)
    sources = trial_data_sources(Participant.objects.values("pk"), author)
    read_to_their_bound = [source for source in sources if source.history.count() >= 10]
    assert 0 < len(read_to_their_bound) < len(sources)

    loads = mock.patch.object(QuerySet, "in_bulk", autospec=True, side_effect=QuerySet.in_bulk)
    rows_read: list[int] = []
    with (
        CaptureQueriesContext(connection) as captured,
        loads as in_bulk,
        mock.patch.object(selectors, "_heads", side_effect=_counting(selectors._heads, rows_read)),
    ):
        changes = recent_changes(author, limit=1)

    assert [change.reason for change in changes] == ["imported from visits.csv"]
    assert changes[0].visit is not None
    assert _described(changes[0]) == [("created", ["BILAG-2004", "PGA", "SLEDAI-2K", "visit"])]
    # Only the visit shown is read whole, not every visit the rows read name.
    assert [
        set(call.args[1]) for call in in_bulk.call_args_list if call.args[0].model is Visit
    ] == [{changes[0].visit.pk}]
    # At most 10 rows of each history, then the newest save's own rows (a row in each history
    # read to its bound): no history deeper.
    assert sum(rows_read) <= 10 * len(sources) + len(read_to_their_bound)
    # Each history once, those read to their bound once more, then the participants of the
    # rows' visits, and the users, the visits and the participants named.
    assert len(captured) <= len(sources) + len(read_to_their_bound) + 4


def test_a_burst_of_saves_still_shows_the_latest_saves_whole(study, site_a, coordinator_a) -> None:
    # 105 enrolments in about a second (as an import writes them): more history rows of one
    # kind than the first read takes (10 per change shown). The list still shows the latest
    # ten saves, one per participant, not an empty list.
    for number in range(1, 106):
        services.participant_create(
            study=study,
            site=site_a,
            participant_id=f"S01-{number:03d}",
            sex="F",
            age_at_enrollment=12,
            enrollment_date=date(2026, 1, 5),
            author=coordinator_a,
            reason="Imported from participants.csv",
        )

    changes = recent_changes(coordinator_a, limit=10)

    assert [change.participant_id for change in changes] == [
        f"S01-{number:03d}" for number in range(105, 95, -1)
    ]
    assert all(_described(change) == [("created", ["participant"])] for change in changes)


def _history_row(model, when, reason: str, author, **record) -> None:
    """Write a change of the record (``record``: a filter of the model's history naming it)
    into its history at ``when``, as a save would."""
    row = get_history_manager_for_model(model).filter(**record).latest("history_id")
    row.history_id = None
    row.history_type = "~"
    row.history_date, row.history_change_reason, row.history_user = when, reason, author
    row.save()


@pytest.fixture
def two_visits(participant_a, coordinator_a):
    """Participant A's BL and M1, and a moment after every history row they wrote."""
    visit = record_visit(participant_a, "BL", date(2026, 2, 2), user=coordinator_a)
    other = record_visit(participant_a, "M1", date(2026, 3, 11), user=coordinator_a)
    return visit, other, timezone.now() + timedelta(hours=1)


def test_the_newest_save_is_shown_whole_though_its_rows_lie_deeper_than_any_read(
    two_visits, coordinator_a
) -> None:
    # The newest save changed a visit's PGA, then, 0.2 s later, its SLEDAI-2K. In between,
    # 150 changes of another visit's PGA were written: the save's PGA lies deeper than the
    # first read of the PGA history (10 rows, limit 1) and ten times deeper. It is read by
    # the save's visit.
    visit, other, start = two_visits
    _history_row(
        PgaAssessment, start, "Re-read from the source notes", coordinator_a, visit_id=visit.pk
    )
    for number in range(1, 151):
        moment = start + timedelta(milliseconds=number)
        _history_row(
            PgaAssessment, moment, "Corrected in a batch", coordinator_a, visit_id=other.pk
        )
    moment = start + timedelta(milliseconds=200)
    _history_row(
        SledaiAssessment, moment, "Re-read from the source notes", coordinator_a, visit_id=visit.pk
    )

    (newest,) = recent_changes(coordinator_a, limit=1)

    assert (newest.reason, newest.visit) == ("Re-read from the source notes", visit)
    assert _described(newest) == [("changed", ["PGA", "SLEDAI-2K"])]


def test_saves_of_many_rows_are_read_deeper_to_find_the_save_before_them(
    two_visits, coordinator_a
) -> None:
    # The newest save wrote 30 rows of PGA history (more than the first read of 20, limit 2):
    # only one save starts after the oldest row read, so the PGA history is read deeper and
    # the save before it, another visit's PGA changed a second earlier, is found.
    visit, other, start = two_visits
    _history_row(PgaAssessment, start, "Typing error", coordinator_a, visit_id=other.pk)
    for number in range(30):
        moment = start + timedelta(seconds=1, milliseconds=number)
        _history_row(
            PgaAssessment, moment, "Corrected in a batch", coordinator_a, visit_id=visit.pk
        )

    newest, before = recent_changes(coordinator_a, limit=2)

    assert (newest.reason, newest.visit, _described(newest)) == (
        "Corrected in a batch",
        visit,
        [("changed", ["PGA"])],
    )
    assert (before.reason, before.visit, _described(before)) == (
        "Typing error",
        other,
        [("changed", ["PGA"])],
    )


def test_a_participants_own_save_is_shown_whole_behind_a_burst_of_rows(
    study, site_a, participant_a, coordinator_a
) -> None:
    # As above, for a save of a participant's own records (no visit): the participant changed,
    # then, 0.2 s later, a missed visit recorded; in between, 150 changes of another
    # participant. The save's participant row is read by its participant.
    other = services.participant_create(
        study=study,
        site=site_a,
        participant_id="S01-002",
        sex="F",
        age_at_enrollment=12,
        enrollment_date=date(2026, 1, 5),
        author=coordinator_a,
        reason="Enrolled",
    )
    _record_m1_missed(participant_a, coordinator_a)
    start = timezone.now() + timedelta(hours=1)  # after every row written above
    _history_row(Participant, start, "Consent re-read", coordinator_a, id=participant_a.pk)
    for number in range(1, 151):
        moment = start + timedelta(milliseconds=number)
        _history_row(Participant, moment, "Corrected in a batch", coordinator_a, id=other.pk)
    moment = start + timedelta(milliseconds=200)
    _history_row(
        MissedVisit, moment, "Consent re-read", coordinator_a, participant_id=participant_a.pk
    )

    (newest,) = recent_changes(coordinator_a, limit=1)

    assert (newest.reason, newest.participant_id, newest.visit) == (
        "Consent re-read",
        participant_a.participant_id,
        None,
    )
    assert _described(newest) == [("changed", ["missed visit", "participant"])]
