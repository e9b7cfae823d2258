"""A change of a study or its schedule, once the study has participants, is written by a worker
together with the rescoring of the study's participants; admin shows its progress page.

The case used throughout: a participant with a screening visit (SCR) and no baseline visit.
SCR comes before BL in the default schedule, so it has no SRI result. Moved after BL (order 50),
it becomes a follow-up visit without a baseline: its SRI-4 is "not evaluable", reason "no
baseline visit" (clinical-rules.md section 4).
"""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import tasks
from jobs.liveness import SCHEDULE_CHANGE_LOCKS, held, lock_key
from jobs.models import ChangeState, ScheduleChange
from jobs.progress import PROGRESS_DATABASE
from responses.models import EndpointResult
from responses.services import stale_results
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.jobs.conftest import DATABASES, run_worker
from tests.pages import opened_version, page_forms_data
from trialsite import services
from trialsite.models import Study, StudyDoseLevel, Visit, VisitDefinition

REASON = "Protocol amendment 4: screening after baseline"


@pytest.fixture
def root_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def record_screening(study, site) -> Visit:
    participant = ParticipantFactory(study=study, site=site, participant_id="S01-001")
    return services.visit_create(
        participant=participant,
        visit_definition=VisitDefinition.objects.get(study=study, code="SCR"),
        visit_date=date(2026, 1, 12),
        author=None,
        reason="r",
    )


def move_screening_after_baseline(client, study):
    """Post the admin page of SCR with order 50; return the response (not followed)."""
    definition = VisitDefinition.objects.get(study=study, code="SCR")
    url = reverse("admin:trialsite_visitdefinition_change", args=[definition.pk])
    return client.post(
        url,
        {
            "opened_version": opened_version(client, url),
            "code": "SCR",
            "name_en": "Screening",
            "name_zh_hans": definition.name_zh_hans,
            "target_day": -28,
            "window_low": -42,
            "window_high": -8,
            "order": 50,
            "change_reason": REASON,
        },
    )


def sri4_reasons(visit: Visit) -> list[str]:
    return list(EndpointResult.objects.filter(visit=visit, endpoint="sri4").values_list("reason"))


def scr_order(study) -> int:
    return VisitDefinition.objects.get(study=study, code="SCR").order


def test_the_change_is_written_with_the_rescoring_and_its_page_says_so(root_client, study, site_a):
    scr = record_screening(study, site_a)
    assert sri4_reasons(scr) == []

    response = move_screening_after_baseline(root_client, study)

    change = ScheduleChange.objects.get()
    assert response.status_code == 302
    assert response.url == change.get_absolute_url()
    # The tests run tasks at once (tests/conftest.py): the change is applied already.
    assert change.state == ChangeState.DONE
    assert (change.participants_done, change.participants_total) == (1, 1)
    assert change.record == "SCR Screening"
    assert scr_order(study) == 50
    assert sri4_reasons(scr) == [("no baseline visit",)]
    assert stale_results() == []
    # The audit trail names the admin and the reason, as for a change written at once.
    record = VisitDefinition.objects.get(code="SCR").history.latest("history_id")
    assert (record.history_user.username, record.history_change_reason) == ("root", REASON)

    page = root_client.get(response.url)
    text = page.content.decode()
    assert "The change of SCR Screening is saved." in text
    assert "Applied on" in text
    assert "1 participant rescored." in text
    assert "Changed Order and Reason for this change." in text
    assert REASON in text


def test_a_study_without_participants_is_changed_at_once(root_client, study):
    response = move_screening_after_baseline(root_client, study)

    assert response.status_code == 302
    assert response.url == reverse("admin:trialsite_visitdefinition_changelist")
    assert not ScheduleChange.objects.exists()
    assert scr_order(study) == 50


def test_the_study_takes_no_other_change_while_one_waits(root_client, study, site_a):
    record_screening(study, site_a)
    ScheduleChange.objects.create(
        created_by=UserFactory(username="other_admin", is_staff=True, is_superuser=True),
        study=study,
        record="M3 - Month 3",
        reason="r",
        operations=[],
        language="en",
    )

    response = move_screening_after_baseline(root_client, study)

    assert response.status_code == 200
    assert "A change of this study, asked by other_admin at" in response.content.decode()
    assert scr_order(study) == 1
    assert ScheduleChange.objects.count() == 1


def test_inline_rows_are_written_and_deleted_with_the_study(root_client, study, site_a):
    """The study's page: a dose level deleted, a visit renamed, each with the reason."""
    record_screening(study, site_a)
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(root_client, url)
    removed = next(i for i in range(3) if data[f"dose_levels-{i}-cells_per_kg"] == 300_000)
    renamed = next(
        i
        for i in range(data["visit_definitions-TOTAL_FORMS"])
        if data[f"visit_definitions-{i}-code"] == "M3"
    )
    data.update(
        {
            f"dose_levels-{removed}-DELETE": "on",
            f"visit_definitions-{renamed}-name_en": "Month three",
            "change_reason": REASON,
        }
    )

    response = root_client.post(url, data)

    assert response.status_code == 302, response.content.decode()
    change = ScheduleChange.objects.get()
    assert change.state == ChangeState.DONE
    assert [(op["model"], op.get("delete", False)) for op in change.operations] == [
        ("trialsite.study", False),
        ("trialsite.visitdefinition", False),
        ("trialsite.studydoselevel", True),
    ]
    assert not StudyDoseLevel.objects.filter(cells_per_kg=300_000).exists()
    m3 = VisitDefinition.objects.get(code="M3")
    assert m3.name_en == "Month three"
    assert m3.history.latest("history_id").history_change_reason == REASON
    deleted = StudyDoseLevel.history.get(cells_per_kg=300_000, history_type="-")
    assert (deleted.history_user.username, deleted.history_change_reason) == ("root", REASON)
    page = root_client.get(response.url).content.decode()
    assert "Changed Name (English) for visit definition" in page
    assert "Deleted dose level" in page


@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param(None, 302, id="anonymous-to-login"),
        pytest.param("Coordinator", 403, id="coordinator"),
        pytest.param("Data manager", 403, id="data-manager"),
        pytest.param("superuser", 200, id="administrator"),
    ],
)
def test_only_administrators_follow_a_schedule_change(client, study, role, status):
    author = UserFactory(username="root", is_staff=True, is_superuser=True)
    change = ScheduleChange.objects.create(
        created_by=author, study=study, record="r", reason="r", operations=[], language="en"
    )
    if role == "superuser":
        client.force_login(author)
    elif role is not None:
        client.force_login(UserFactory(username="someone", role=role))
    for url in (change.get_absolute_url(), reverse("schedule_change_progress", args=[change.pk])):
        response = client.get(url)
        assert response.status_code == status
        if status == 302:
            assert response.url.startswith(reverse("login"))


# --------------------------------------------------------------------------------------------
# On the database backend (production): the change waits for a worker
# --------------------------------------------------------------------------------------------


@pytest.fixture
def queued(reference_data, client, database_backend):
    """SCR recorded, and its move after BL saved in admin, waiting for the worker."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    study = Study.objects.get()
    scr = record_screening(study, SiteFactory(code="S01"))
    response = move_screening_after_baseline(client, study)
    assert response.status_code == 302
    return client, study, scr, ScheduleChange.objects.get()


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_until_the_worker_runs_the_schedule_and_results_stay_as_they_were(queued):
    client, study, scr, change = queued
    assert change.state == ChangeState.QUEUED
    assert scr_order(study) == 1
    assert sri4_reasons(scr) == []
    assert stale_results() == []
    progress = client.get(reverse("schedule_change_progress", args=[change.pk])).json()
    assert (progress["active"], progress["state"]) == (True, "queued")
    page = client.get(change.get_absolute_url()).content.decode()
    assert "Waiting to be applied" in page
    assert 'id="job-progress"' in page
    # The study's admin pages say that a change is on its way, and link to its page.
    scr_definition = VisitDefinition.objects.get(study=study, code="SCR")
    for url in (
        reverse("admin:trialsite_study_change", args=[study.pk]),
        reverse("admin:trialsite_visitdefinition_change", args=[scr_definition.pk]),
    ):
        admin_page = client.get(url).content.decode()
        assert "A change of this study is being applied" in admin_page
        assert f'<a href="{change.get_absolute_url()}">Follow it</a>' in admin_page

    # Admin's history tells of the change once it is made, not before.
    assert not LogEntry.objects.filter(object_id=str(scr_definition.pk)).exists()

    run_worker()

    change.refresh_from_db()
    assert change.state == ChangeState.DONE
    assert scr_order(study) == 50
    assert sri4_reasons(scr) == [("no baseline visit",)]
    call_command("recompute_responses", "--check", stdout=StringIO())
    assert not client.get(reverse("schedule_change_progress", args=[change.pk])).json()["active"]
    # The worker writes with the admin's name and reason (no request tells it who).
    record = VisitDefinition.objects.get(pk=scr_definition.pk).history.latest("history_id")
    assert (record.history_user.username, record.history_change_reason) == ("root", REASON)
    entry = LogEntry.objects.get(object_id=str(scr_definition.pk))
    assert (entry.user.username, entry.action_flag) == ("root", CHANGE)
    assert entry.get_change_message() == "Changed Order and Reason for this change."
    # A task run again leaves an applied change alone, whatever came after it.
    VisitDefinition.objects.filter(pk=scr_definition.pk).update(order=60)
    tasks.apply_schedule_change.call(change.pk)
    assert scr_order(study) == 60


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_the_worker_writes_only_the_fields_the_page_changed(queued):
    """A field the page did not change, changed after it was saved (outside admin here), keeps
    its new value."""
    _client, study, _scr, _change = queued
    VisitDefinition.objects.filter(study=study, code="SCR").update(window_low=-40)

    run_worker()

    screening = VisitDefinition.objects.get(study=study, code="SCR")
    assert (screening.order, screening.window_low) == (50, -40)


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_study_s_baseline_visit_and_threshold_are_applied_by_the_worker(
    reference_data, client, database_backend
):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    study = Study.objects.get()
    record_screening(study, SiteFactory(code="S01"))
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(client, url)
    m1 = VisitDefinition.objects.get(study=study, code="M1")
    data.update(
        {
            "baseline_visit": m1.pk,
            "b_cell_aplasia_threshold_per_ul": "2.50",
            "change_reason": REASON,
        }
    )
    assert client.post(url, data).status_code == 302
    assert Study.objects.get().baseline_visit.code == "BL"

    run_worker()

    study = Study.objects.get()
    assert (study.baseline_visit_id, study.b_cell_aplasia_threshold_per_ul) == (
        m1.pk,
        Decimal("2.50"),
    )
    assert ScheduleChange.objects.get().operations[0]["fields"] == {
        "baseline_visit": m1.pk,
        "b_cell_aplasia_threshold_per_ul": "2.50",
    }


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_change_that_no_longer_holds_is_not_applied(queued):
    """Another visit took order 50 before the worker ran (written outside admin here)."""
    client, study, scr, change = queued
    VisitDefinition.objects.filter(study=study, code="M1").update(order=50)

    run_worker()

    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    assert "nothing was written" in change.failure
    assert "already has a visit in this position" in change.failure
    assert scr_order(study) == 1
    assert sri4_reasons(scr) == []
    page = client.get(change.get_absolute_url()).content.decode()
    assert "Not applied" in page
    assert "already has a visit in this position" in page


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_visit_deleted_from_the_schedule_after_a_visit_was_recorded_there_is_refused(
    reference_data, client, database_backend
):
    """The study's page deletes M12 (no visit yet); a coordinator records M12 before the
    worker runs: the deletion no longer holds."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    study = Study.objects.get()
    scr = record_screening(study, SiteFactory(code="S01"))
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(client, url)
    m12 = next(
        i
        for i in range(data["visit_definitions-TOTAL_FORMS"])
        if data[f"visit_definitions-{i}-code"] == "M12"
    )
    data.update({f"visit_definitions-{m12}-DELETE": "on", "change_reason": REASON})
    assert client.post(url, data).status_code == 302
    services.visit_create(
        participant=scr.participant,
        visit_definition=VisitDefinition.objects.get(study=study, code="M12"),
        visit_date=date(2026, 11, 2),
        author=None,
        reason="r",
    )

    run_worker()

    change = ScheduleChange.objects.get()
    assert change.state == ChangeState.FAILED
    assert "M12 Month 12 cannot be deleted: recorded data refer to it." in change.failure
    assert VisitDefinition.objects.filter(study=study, code="M12").exists()


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_visit_of_the_schedule_is_not_deleted_while_a_change_waits(queued):
    client, study, _scr, _change = queued
    m12 = VisitDefinition.objects.get(study=study, code="M12")
    url = reverse("admin:trialsite_visitdefinition_delete", args=[m12.pk])

    response = client.post(url, {"post": "yes", "delete_reason": "Not in the protocol"})

    assert response.status_code == 302
    assert response.url == url
    assert VisitDefinition.objects.filter(pk=m12.pk).exists()
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("is being applied" in message for message in messages)


def test_a_visit_added_from_the_chinese_admin_page_keeps_both_names(root_client, study, site_a):
    record_screening(study, site_a)
    root_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = root_client.post(
        reverse("admin:trialsite_visitdefinition_add"),
        {
            "study": study.pk,
            "code": "M18",
            "name_en": "Month 18",
            "name_zh_hans": "第18个月",
            "target_day": 540,
            "window_low": 526,
            "window_high": 554,
            "order": 99,
            "change_reason": REASON,
        },
    )

    assert response.status_code == 302, response.content.decode()
    added = VisitDefinition.objects.get(study=study, code="M18")
    assert (added.name_en, added.name_zh_hans) == ("Month 18", "第18个月")
    assert added.history.get().history_change_reason == REASON
    entry = LogEntry.objects.get(object_id=str(added.pk))
    assert entry.action_flag == ADDITION
    assert ScheduleChange.objects.get().state == ChangeState.DONE


def test_a_participant_stays_in_its_study(root_client, participant_a):
    page = root_client.get(reverse("admin:trialsite_participant_change", args=[participant_a.pk]))
    assert page.status_code == 200
    assert 'name="study"' not in page.content.decode()
    assert (
        'name="study"'
        in root_client.get(reverse("admin:trialsite_participant_add")).content.decode()
    )


# --------------------------------------------------------------------------------------------
# A worker stopped by force (PostgreSQL: the advisory lock of jobs.liveness)
# --------------------------------------------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the worker's lock is PostgreSQL's"
)


def taken_by_a_worker(change: ScheduleChange) -> None:
    """Leave the change as a worker leaves it when it is killed while applying it."""
    DBTaskResult.objects.filter(id=change.task_result_id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=1)
    )
    ScheduleChange.objects.filter(pk=change.pk).update(state=ChangeState.RUNNING)


@postgresql_only
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_change_whose_worker_stopped_is_not_applied_and_frees_the_study(queued):
    client, study, scr, change = queued
    taken_by_a_worker(change)

    page = client.get(change.get_absolute_url()).content.decode()

    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    assert "The background worker stopped before finishing" in change.failure
    assert "Not applied" in page
    assert "The background worker stopped before finishing" in page
    assert scr_order(study) == 1
    # The study takes a new change, which the next worker applies.
    response = move_screening_after_baseline(client, study)
    assert response.status_code == 302
    run_worker()
    assert scr_order(study) == 50
    assert sri4_reasons(scr) == [("no baseline visit",)]


@postgresql_only
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_change_whose_worker_is_at_work_stays_pending(queued):
    client, study, _scr, change = queued
    taken_by_a_worker(change)
    # The worker's connection holds the change's lock (another session than the page's).
    key = lock_key(SCHEDULE_CHANGE_LOCKS, change.pk)
    with connections[PROGRESS_DATABASE].cursor() as worker:
        worker.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            progress = client.get(reverse("schedule_change_progress", args=[change.pk])).json()
            refused = move_screening_after_baseline(client, study)
        finally:
            worker.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert (progress["active"], progress["state"]) == (True, "running")
    assert refused.status_code == 200
    assert "is being applied" in refused.content.decode()
    change.refresh_from_db()
    assert change.state == ChangeState.RUNNING


@postgresql_only
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_change_a_worker_has_just_taken_stays_pending(queued):
    """A worker takes its job's lock a moment after it takes the task: no page reads that
    moment as a worker gone."""
    client, _study, _scr, change = queued
    DBTaskResult.objects.filter(id=change.task_result_id).update(
        status="RUNNING", started_at=timezone.now()
    )
    progress = client.get(reverse("schedule_change_progress", args=[change.pk])).json()
    assert progress["active"]
    change.refresh_from_db()
    assert change.state == ChangeState.QUEUED


@postgresql_only
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_a_change_whose_task_ended_without_its_outcome_is_not_applied(queued):
    """A second SIGTERM stops the worker inside the task: the task is marked failed, the change
    is left as it was."""
    client, _study, _scr, change = queued
    taken_by_a_worker(change)
    DBTaskResult.objects.filter(id=change.task_result_id).update(status="FAILED")

    assert not client.get(reverse("schedule_change_progress", args=[change.pk])).json()["active"]

    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    assert "The background worker stopped before finishing" in change.failure


@postgresql_only
@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_the_worker_holds_the_change_s_lock_while_it_applies_it(queued, monkeypatch):
    _client, _study, _scr, change = queued
    seen = []

    def apply_and_look(**kwargs):
        seen.append(held(SCHEDULE_CHANGE_LOCKS, change.pk))
        return apply_change(**kwargs)

    apply_change = tasks.apply_change
    monkeypatch.setattr(tasks, "apply_change", apply_and_look)

    run_worker()

    assert seen == [True]
    assert not held(SCHEDULE_CHANGE_LOCKS, change.pk)
    change.refresh_from_db()
    assert change.state == ChangeState.DONE
