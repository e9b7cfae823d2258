"""Concurrent saves on PostgreSQL: no server error, no broken rule, no stale result.

Each thread has its own database connection, as each app server worker does. SQLite allows one
writer at a time and ignores row locks, so these tests run on PostgreSQL only (`make test` with
DATABASE_URL set, as .ci/run does).

A race needs two saves to overlap between reading and committing. The fixtures widen that
window with a short pause (after the rescore computes, after the BILAG-2004 check), so that
without the participant lock each test fails every time rather than now and then.
"""

import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from responses import services as responses_services
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import recompute_all_responses, stale_results
from tests.factories import (
    ALL_E,
    NONE_PRESENT,
    TEST_PASSWORD,
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    record_visit,
)
from tests.pages import opened_version
from tests.two_factor import SecondFactorClient
from trialsite import services
from trialsite.locks import lock_participants
from trialsite.models import BilagAssessment, EntryStatus, Participant, Visit, VisitDefinition
from trialsite.schedule_changes import Operation, apply_schedule_change

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
    ),
]

#: Visits of the default schedule recorded for the participant, with their dates.
VISITS = {
    "BL": date(2026, 2, 2),
    "D0": date(2026, 2, 9),
    "D7": date(2026, 2, 16),
    "D14": date(2026, 2, 23),
    "M1": date(2026, 3, 11),
    "M2": date(2026, 4, 10),
    "M3": date(2026, 5, 10),
    "M6": date(2026, 8, 9),
}
THREAD_TIMEOUT_SECONDS = 120
PAUSE_SECONDS = 0.05


def run_together(work: list[Callable[[], None]]) -> list[BaseException]:
    """Run each function in its own thread, all released at once; return what they raised."""
    start = threading.Barrier(len(work))
    raised: list[BaseException] = []

    def run(function: Callable[[], None]) -> None:
        try:
            start.wait(timeout=THREAD_TIMEOUT_SECONDS)
            function()
        except BaseException as error:
            raised.append(error)
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=run, args=(function,)) for function in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)
        assert not thread.is_alive(), "a save never finished (a lock wait that does not end?)"
    return raised


@pytest.fixture
def participant(reference_data) -> Participant:
    site = SiteFactory(code="S01")
    participant = ParticipantFactory(site=site, participant_id="S01-001")
    for code, visit_date in VISITS.items():
        record_visit(
            participant,
            code,
            visit_date,
            pga="2.00" if code == "BL" else "1.00",
            sledai={**NONE_PRESENT, "arthritis": code == "BL"},
        )
    return participant


@pytest.fixture
def slow_rescore(monkeypatch) -> None:
    """Pause between computing a participant's results and storing them."""
    compute = responses_services.compute_participant

    def compute_then_pause(**kwargs):
        fresh = compute(**kwargs)
        time.sleep(PAUSE_SECONDS)
        return fresh

    monkeypatch.setattr(responses_services, "compute_participant", compute_then_pause)


@pytest.fixture
def slow_recompute_all(monkeypatch) -> None:
    """Pause between computing every participant's results and storing them."""
    fresh_by_participant = responses_services._fresh_by_participant

    def compute_all_then_pause(participant_ids=None):
        fresh = list(fresh_by_participant(participant_ids))
        time.sleep(4 * PAUSE_SECONDS)
        yield from fresh

    monkeypatch.setattr(responses_services, "_fresh_by_participant", compute_all_then_pause)


@pytest.fixture
def slow_bilag_check(monkeypatch) -> None:
    """Pause between checking the BILAG-2004 history and committing."""
    check = services.participant_check_bilag_history

    def check_then_pause(**kwargs) -> None:
        check(**kwargs)
        time.sleep(4 * PAUSE_SECONDS)

    monkeypatch.setattr(services, "participant_check_bilag_history", check_then_pause)


def saving(visit: Visit, pga: Decimal) -> Callable[[], None]:
    """A user's save of the visit's assessments with this PGA, for run_together."""
    return lambda: services.visit_save_assessments(
        visit=Visit.objects.get(pk=visit.pk),
        sledai=NONE_PRESENT,
        pga=pga,
        bilag=ALL_E,
        author=None,
        reason="concurrent save",
    )


def entry_form(version: str, pga: str) -> dict[str, str]:
    data = {
        "opened_version": version,
        "pga": pga,
        "lookback_days": "10",
        "entry_status": EntryStatus.COMPLETE,
        "change_reason": "Concurrent save",
    }
    data.update({f"sledai_{field}": "0" for field in SLEDAI_FIELDS})
    data.update({f"bilag_{system}": "E" for system in BILAG_SYSTEMS})
    return data


def test_eight_users_saving_eight_visits_of_one_participant_at_once(participant, slow_rescore):
    """The tester's case: 8 users, 8 visits of one participant, 6 rounds, through the form."""
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_date"))
    users = [
        UserFactory(username=f"coord{n}", role="Coordinator", sites=[participant.site])
        for n in range(len(visits))
    ]
    statuses: list[int] = []

    def save(user, visit: Visit, round_number: int) -> Callable[[], None]:
        def post() -> None:
            client = Client()
            client.force_login(user)
            url = reverse("visit_entry", args=[visit.pk])
            pga = f"{(round_number * 7 + visit.pk) % 300 / 100:.2f}"
            statuses.append(
                client.post(url, entry_form(opened_version(client, url), pga)).status_code
            )

        return post

    for round_number in range(6):
        raised = run_together(
            [save(user, visit, round_number) for user, visit in zip(users, visits, strict=True)]
        )
        assert raised == []
    assert statuses == [302] * 48
    assert stale_results() == []
    # The check command, in a transaction of its own, reads one snapshot.
    call_command("recompute_responses", "--check", stdout=StringIO())


def test_concurrent_grades_never_commit_an_e_after_involvement(participant, slow_bilag_check):
    """Each save alone is valid; together they would put renal E after renal C."""
    bl = Visit.objects.get(participant=participant, visit_definition__code="BL")
    m1 = Visit.objects.get(participant=participant, visit_definition__code="M1")

    def grade(visit: Visit, renal: str) -> Callable[[], None]:
        return lambda: services.visit_save_assessments(
            visit=Visit.objects.get(pk=visit.pk),
            sledai={**NONE_PRESENT, "arthritis": visit.pk == bl.pk},
            pga=Decimal("1.00"),
            bilag={**ALL_E, "renal": renal},
            author=None,
            reason="concurrent grade",
        )

    for _round in range(10):
        # Renal not assessed anywhere: C at BL alone is valid, and so is E at M1 alone.
        BilagAssessment.objects.filter(visit__participant=participant).update(renal="")
        raised = run_together([grade(bl, "C"), grade(m1, "E")])
        # Exactly one of the two is refused, by the rule, never by a database error.
        assert len(raised) == 1
        assert isinstance(raised[0], ValidationError), repr(raised[0])
        grades = {
            row.visit_id: row.renal for row in BilagAssessment.objects.filter(visit__in=[bl, m1])
        }
        assert (grades[bl.pk], grades[m1.pk]) in {("C", ""), ("", "E")}
    assert stale_results() == []


def test_recomputing_everything_while_users_save_neither_deadlocks_nor_goes_stale(
    participant, slow_recompute_all
):
    """A schedule change rescoring every participant locks them all, in the one lock order."""
    other = ParticipantFactory(site=participant.site, participant_id="S01-002")
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_date"))[1:5]

    def enrol_and_edit() -> None:
        other.age_at_enrollment = 13
        services.participant_save(participant=other, author=None, reason="concurrent edit")

    for round_number in range(5):
        pga = Decimal(round_number + 1) / 10
        raised = run_together(
            [recompute_all_responses, enrol_and_edit, *(saving(visit, pga) for visit in visits)]
        )
        assert raised == []
    assert stale_results() == []


def test_a_schedule_change_in_admin_while_a_visit_is_recorded_does_not_deadlock(participant):
    """Renaming a visit of the schedule rescores everyone; a coordinator records that visit."""
    m3 = VisitDefinition.objects.get(code="M3")
    services.visit_delete(
        visit=Visit.objects.get(participant=participant, visit_definition=m3),
        author=None,
        reason="test",
    )
    client = SecondFactorClient()  # the superuser passes the second factor too
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:trialsite_visitdefinition_change", args=[m3.pk])
    data = {
        "opened_version": opened_version(client, url),
        "study": m3.study_id,
        "code": "M3X",
        "name_en": m3.name_en,
        "target_day": m3.target_day,
        "window_low": m3.window_low,
        "window_high": m3.window_high,
        "order": m3.order,
        "change_reason": "Renamed",
    }
    statuses: list[int] = []
    # The admin posts once the visit's writer holds the participant's lock (on a busy machine
    # the admin could otherwise rename M3 before the writer starts, and the writer would not
    # find "M3": a race of the test, not of the site).
    writer_holds_the_lock = threading.Event()

    def rename_in_admin() -> None:
        assert writer_holds_the_lock.wait(timeout=THREAD_TIMEOUT_SECONDS)
        statuses.append(client.post(url, data).status_code)

    def record_m3() -> None:
        with transaction.atomic():
            lock_participants([participant.pk])
            writer_holds_the_lock.set()
            # Meanwhile the admin saves: without locking every participant first, it would
            # hold the renamed schedule row that this visit's foreign key must wait for.
            time.sleep(20 * PAUSE_SECONDS)
            record_visit(participant, "M3", VISITS["M3"])

    assert run_together([rename_in_admin, record_m3]) == []
    assert statuses == [302]
    assert Visit.objects.filter(participant=participant, visit_definition=m3).exists()
    assert stale_results() == []


def test_a_schedule_change_applied_by_the_worker_while_users_save_and_enrol(
    participant, slow_recompute_all
):
    """The worker moves the study's baseline to M1 and back (each change rescoring the study's
    participants) while coordinators save visits and enrol: the one lock order, no stale
    result."""
    study = participant.study
    definitions = VisitDefinition.objects.filter(study=study, code__in=["BL", "M1"])
    baseline = dict(definitions.values_list("code", "pk"))
    author = UserFactory(username="root", is_staff=True, is_superuser=True)
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_date"))[1:5]

    def change_baseline(code: str) -> Callable[[], None]:
        fields = {"baseline_visit": baseline[code]}
        operations = [Operation(model="trialsite.study", pk=study.pk, fields=fields)]
        return lambda: apply_schedule_change(
            study_id=study.pk, operations=operations, author=author, reason="amendment"
        )

    def enrol(number: int) -> Callable[[], None]:
        return lambda: record_visit(
            ParticipantFactory(site=participant.site, participant_id=f"S01-1{number:02d}"),
            "BL",
            VISITS["BL"],
        )

    for round_number, code in enumerate(["M1", "BL", "M1", "BL"]):
        pga = Decimal(round_number + 1) / 10
        raised = run_together(
            [change_baseline(code), enrol(round_number), *(saving(v, pga) for v in visits)]
        )
        assert raised == []
        assert Participant.objects.get(pk=participant.pk).study.baseline_visit_id == baseline[code]
    assert stale_results() == []


def test_a_participant_enrolled_while_everyone_is_rescored_keeps_fresh_results(
    participant, monkeypatch
):
    fresh_by_participant = responses_services._fresh_by_participant
    computed = threading.Event()

    def compute_all_then_pause(participant_ids=None):
        fresh = list(fresh_by_participant(participant_ids))
        computed.set()
        time.sleep(10 * PAUSE_SECONDS)
        yield from fresh

    monkeypatch.setattr(responses_services, "_fresh_by_participant", compute_all_then_pause)

    def enrol_and_record_baseline() -> None:
        computed.wait(THREAD_TIMEOUT_SECONDS)
        newcomer = ParticipantFactory(site=participant.site, participant_id="S01-002")
        record_visit(newcomer, "BL", VISITS["BL"], pga="2.00")

    assert run_together([recompute_all_responses, enrol_and_record_baseline]) == []
    assert stale_results() == []


@pytest.fixture
def slow_sign_off_check(monkeypatch) -> None:
    """Pause between reading a visit's sign-offs in force and acting on them."""
    read = services.sign_offs_in_force

    def read_then_pause(visit: Visit):
        in_force = read(visit)
        time.sleep(PAUSE_SECONDS)
        return in_force

    monkeypatch.setattr(services, "sign_offs_in_force", read_then_pause)


def test_a_correction_and_a_signature_at_once_never_sign_changed_data(
    participant, slow_rescore, slow_sign_off_check
):
    # The correction voids the verification the signature needs; whichever runs first, the
    # other is refused, and a signature in force always signs the data as they are.
    m1 = participant.visits.get(visit_definition__code="M1")
    services.visit_verify(visit=m1, author=UserFactory(role="Monitor"))
    investigator = UserFactory(role="Investigator", sites=[participant.site])
    data_manager = UserFactory(role="Data manager")

    def correct() -> None:
        services.visit_save_assessments(
            visit=Visit.objects.get(pk=m1.pk),
            sledai=NONE_PRESENT,
            pga=Decimal("1.50"),
            bilag=ALL_E,
            author=investigator,
            reason="Source says 1.5",
        )

    def sign() -> None:
        services.visit_sign(
            visit=Visit.objects.get(pk=m1.pk), author=investigator, password=TEST_PASSWORD
        )

    for _attempt in range(3):
        raised = run_together([correct, sign])
        assert all(isinstance(error, ValidationError) for error in raised), raised
        in_force = services.sign_offs_in_force(m1)
        pga = Visit.objects.get(pk=m1.pk).pga.score
        if "signed" in in_force:
            assert pga == Decimal("1.00")
            assert "verified" in in_force
        else:
            assert pga == Decimal("1.50")
        # Back to the start: unlock if signed, restore the PGA and verify again.
        if "signed" in in_force:
            services.visit_unlock(visit=m1, author=data_manager, reason="test")
        services.visit_save_assessments(
            visit=m1,
            sledai=NONE_PRESENT,
            pga=Decimal("1.00"),
            bilag=ALL_E,
            author=investigator,
            reason="test",
        )
        services.visit_verify(visit=m1, author=UserFactory(role="Monitor"))
