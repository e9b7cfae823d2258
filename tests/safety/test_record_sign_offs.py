"""Sign-offs of a participant's records beside the visits (the CAR-T treatment record, CRS and
ICANS episodes, adverse events, medication courses): source verification by a monitor, the
signature of an investigator of the site, the lock of a data manager, and the unlock with a
reason; the rules of a visit's (README "Sign-offs"). A change voids a verification; a signed or
locked record cannot change or be deleted on any write path until it is unlocked."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from medications import services as medication_services
from safety import services as safety_services
from safety.checks import participant_safety_errors, stale_grades
from safety.models import AdverseEvent, CrsEpisode, IcansEpisode, TreatmentRecord
from tests.factories import TEST_PASSWORD, UserFactory
from tests.medications.conftest import record_course
from tests.pages import opened_version
from tests.safety.test_adverse_events import record as record_adverse_event
from tests.safety.test_imports import AS_DATA_MANAGER, crs_file, refuse
from tests.safety.test_record_queries import page_of, raise_on, record_of
from tests.safety.test_treatment import record_treatment
from tests.safety.test_views import CRS_GRADE_3, record_crs
from trialsite import queries, services
from trialsite.admin import DELETE_REASON_FIELD
from trialsite.history import trial_data_sources, versions
from trialsite.models import Participant, RecordSignOff


def in_force(record) -> set[str]:
    return {
        row.kind
        for row in RecordSignOff.objects.filter(record_id=record.pk, voided_at__isnull=True)
        if row.record == record
    }


def signed(record, monitor, investigator):
    """Verify and sign the record (an episode's grade confirmed first)."""
    services.record_verify(record=record, author=monitor)
    if isinstance(record, CrsEpisode | IcansEpisode):
        safety_services.episode_confirm(episode=record, author=investigator)
    services.record_sign(record=record, author=investigator, password=TEST_PASSWORD)
    return record


def step_url(record, step: str) -> str:
    return reverse("record_sign_off", args=[type(record)._meta.label_lower, record.pk, step])


@pytest.fixture
def crs(participant_a) -> CrsEpisode:
    return record_crs(participant_a)


def change(kind: str, record, author, reason: str = "Source says otherwise"):
    """Change one entry of the record through its service, as its form or import would."""
    if kind == "crs":
        record.oxygen = "high_flow"
        return safety_services.crs_episode_save(episode=record, author=author, reason=reason)
    if kind == "icans":
        record.tool_score = 3
        return safety_services.icans_episode_save(episode=record, author=author, reason=reason)
    if kind == "adverse_event":
        record.grade = 4
        return safety_services.adverse_event_save(event=record, author=author, reason=reason)
    if kind == "treatment":
        record.weight_kg = Decimal("40.5")
        return safety_services.treatment_record_save(record=record, author=author, reason=reason)
    record.daily_dose_mg = Decimal("15")
    return medication_services.medication_course_save(course=record, author=author, reason=reason)


def delete(kind: str, record, author, reason: str = "Entered twice"):
    if kind in ("crs", "icans"):
        return safety_services.episode_delete(episode=record, author=author, reason=reason)
    if kind == "adverse_event":
        return safety_services.adverse_event_delete(event=record, author=author, reason=reason)
    if kind == "treatment":
        return safety_services.treatment_record_delete(record=record, author=author, reason=reason)
    return medication_services.medication_course_delete(course=record, author=author, reason=reason)


KINDS = ["crs", "icans", "adverse_event", "treatment", "course"]


# --------------------------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------------------------


def test_verify_sign_lock_and_unlock_a_crs_episode(crs, monitor, investigator_a, data_manager):
    verification = services.record_verify(record=crs, author=monitor)
    safety_services.episode_confirm(episode=crs, author=investigator_a)
    signature = services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    lock = services.record_lock(record=crs, author=data_manager)

    assert in_force(crs) == {"verified", "signed", "locked"}
    assert (verification.participant, verification.record) == (crs.participant, crs)
    assert signature.meaning == "I confirm these assessments are accurate."
    assert [row.history.get().history_change_reason for row in (verification, lock)] == [
        "Source verified",
        "Locked",
    ]

    voided = services.record_unlock(record=crs, author=data_manager, reason="Oxygen was wrong")

    assert {row.kind for row in voided} == {"verified", "signed", "locked"}
    assert in_force(crs) == set()
    assert {row.void_reason for row in RecordSignOff.objects.all()} == {"Oxygen was wrong"}


def test_an_episode_is_signed_once_its_grade_is_confirmed(crs, monitor, investigator_a):
    services.record_verify(record=crs, author=monitor)
    with pytest.raises(ValidationError, match="Confirm the episode's grade before signing it"):
        services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    safety_services.episode_confirm(episode=crs, author=investigator_a)
    services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    assert in_force(crs) == {"verified", "signed"}


def test_the_steps_come_in_order(crs, monitor, investigator_a, data_manager):
    with pytest.raises(ValidationError, match="must be source-verified before it can be signed"):
        services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    with pytest.raises(ValidationError, match="must be signed before it can be locked"):
        services.record_lock(record=crs, author=data_manager)
    services.record_verify(record=crs, author=monitor)
    with pytest.raises(ValidationError, match="is already source-verified"):
        services.record_verify(record=crs, author=monitor)
    with pytest.raises(ValidationError, match="neither signed nor locked"):
        services.record_unlock(record=crs, author=data_manager, reason="Why not")


def test_an_investigator_of_the_site_signs_and_not_the_verifier(
    crs, monitor, investigator_a, site_b
):
    services.record_verify(record=crs, author=monitor)
    other_site = UserFactory(username="inv_b", role="Investigator", sites=[site_b])
    with pytest.raises(ValidationError, match="Only an investigator of site S01 signs"):
        services.record_sign(record=crs, author=other_site, password=TEST_PASSWORD)
    with pytest.raises(ValidationError, match="password was not accepted; the record"):
        services.record_sign(record=crs, author=investigator_a, password="guess")
    with pytest.raises(PermissionDenied):
        services.record_lock(record=crs, author=investigator_a)
    assert in_force(crs) == {"verified"}


def test_open_queries_stop_the_signature(crs, monitor, investigator_a, coordinator_a):
    services.record_verify(record=crs, author=monitor)
    safety_services.episode_confirm(episode=crs, author=investigator_a)
    query = raise_on(crs, monitor, field="oxygen")
    with pytest.raises(ValidationError, match="has open queries"):
        services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    queries.query_answer(query=query, text="Checked.", author=coordinator_a)
    queries.query_close(query=query, text="", author=monitor)
    services.record_sign(record=crs, author=investigator_a, password=TEST_PASSWORD)
    assert in_force(crs) == {"verified", "signed"}


# --------------------------------------------------------------------------------------------
# Every write path respects them
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_voids_the_verification_with_its_reason(
    participant_a, monitor, coordinator_a, kind
):
    record = record_of(kind, participant_a)
    services.record_verify(record=record, author=monitor)

    change(kind, record, coordinator_a, reason="Source says otherwise")

    verification = RecordSignOff.objects.get()
    assert not verification.in_force
    assert verification.voided_by == coordinator_a
    assert verification.void_reason == (
        "The data changed after source verification: Source says otherwise"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_signed_record_cannot_change_until_unlocked(
    participant_a, monitor, investigator_a, coordinator_a, data_manager, kind
):
    record = signed(record_of(kind, participant_a), monitor, investigator_a)
    stored = type(record).objects.get(pk=record.pk)

    with pytest.raises(ValidationError, match="is signed by the investigator: its data cannot"):
        change(kind, type(record).objects.get(pk=record.pk), coordinator_a)
    with pytest.raises(ValidationError, match="is signed by the investigator"):
        delete(kind, type(record).objects.get(pk=record.pk), data_manager)

    assert (
        type(record).objects.get(pk=record.pk).__dict__.items()
        >= {key: value for key, value in stored.__dict__.items() if not key.startswith("_")}.items()
    )
    services.record_unlock(record=record, author=data_manager, reason="Weight was wrong")
    change(kind, type(record).objects.get(pk=record.pk), coordinator_a)


@pytest.mark.parametrize("kind", KINDS)
def test_deleting_a_verified_record_deletes_its_sign_offs_with_the_reason(
    participant_a, monitor, data_manager, kind
):
    record = record_of(kind, participant_a)
    services.record_verify(record=record, author=monitor)

    delete(kind, record, data_manager)

    assert not RecordSignOff.objects.exists()
    deleted = RecordSignOff.history.get(history_type="-")
    assert (deleted.history_user, deleted.history_change_reason) == (data_manager, "Entered twice")


def test_an_import_cannot_change_a_signed_episode(
    importer, participant_a, monitor, investigator_a, tmp_path
):
    episode = signed(
        record_crs(participant_a, onset=date(2026, 2, 10), hypotension="none", oxygen="none"),
        monitor,
        investigator_a,
    )
    path = crs_file(tmp_path, {"oxygen": "low_flow"})
    problems = refuse("import_crs", *AS_DATA_MANAGER, "--update", path)
    assert problems.splitlines() == [
        "row 2: CRS episode from 2026-02-10 is signed by the investigator: its data cannot "
        "change. A data manager can unlock it, with a reason, which voids the signature."
    ]
    episode.refresh_from_db()
    assert episode.oxygen == "none"


@pytest.fixture
def importer(site_a):
    return UserFactory(username="dm", role="Data manager")


def test_a_rules_regrade_leaves_a_signed_episode_to_a_person(
    crs, monitor, investigator_a, data_manager
):
    signed(crs, monitor, investigator_a)
    CrsEpisode.objects.filter(pk=crs.pk).update(grade=1)  # as if the rules had changed

    assert safety_services.episodes_regrade() == []

    assert CrsEpisode.objects.get(pk=crs.pk).grade == 1
    assert len(stale_grades()) == 1
    services.record_unlock(record=crs, author=data_manager, reason="Regrade after rules change")
    assert safety_services.episodes_regrade() == [str(crs)]


def test_review_steps_are_not_changes(participant_a, monitor, investigator_a, data_manager, site_a):
    """An investigator's confirmation of a grade and a monitor's acknowledgement of a serious
    event review the record; they neither void a verification nor wait for an unlock."""
    episode = record_crs(participant_a)
    services.record_verify(record=episode, author=monitor)
    safety_services.episode_confirm(episode=episode, author=investigator_a)
    assert in_force(episode) == {"verified"}
    event = record_adverse_event(participant_a, serious=True, hospitalisation=True)
    signed(event, monitor, investigator_a)
    safety_services.sae_acknowledge(event=AdverseEvent.objects.get(pk=event.pk), author=monitor)
    assert in_force(event) == {"verified", "signed"}


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("kind", ["crs", "adverse_event"])
def test_the_steps_from_the_records_page(
    client, participant_a, monitor, investigator_a, data_manager, kind
):
    record = record_of(kind, participant_a)
    url = page_of(kind, record)
    client.force_login(monitor)
    page = page_text(client.get(url))
    assert f'href="{step_url(record, "verify")}"' in page

    response = client.post(step_url(record, "verify"))

    assert response.url == url
    page = page_text(client.get(url))
    assert "Source verification recorded." in page
    assert "Source-verified</strong>" in page

    if kind == "crs":  # the signature covers the grade: confirmed first
        safety_services.episode_confirm(episode=record, author=investigator_a)
    client.force_login(investigator_a)
    page = page_text(client.get(step_url(record, "sign")))
    assert "I confirm these assessments are accurate." in page
    page = page_text(client.post(step_url(record, "sign"), {"password": "guess"}))
    assert "This password was not accepted; the record was not signed." in page
    client.post(step_url(record, "sign"), {"password": TEST_PASSWORD})
    page = page_text(client.get(url))
    assert "This record&#x27;s data cannot change while it is signed or locked" in page
    assert "Change entries" not in page

    client.force_login(data_manager)
    assert f'href="{step_url(record, "lock")}"' in page_text(client.get(url))
    response = client.post(step_url(record, "unlock"), {"reason": "Grade was wrong"})
    assert response.url == url
    assert in_force(record) == set()


def test_a_frozen_records_edit_page_refuses_the_change(
    client, crs, monitor, investigator_a, coordinator_a
):
    signed(crs, monitor, investigator_a)
    client.force_login(coordinator_a)
    url = reverse("crs_episode_edit", args=[crs.pk])
    data = {
        **CRS_GRADE_3,
        "oxygen": "high_flow",
        "change_reason": "Source says high flow",
        "opened_version": opened_version(client, url),
    }
    response = client.post(url, data)
    assert "is signed by the investigator: its data cannot change" in page_text(response)
    assert CrsEpisode.objects.get(pk=crs.pk).oxygen == "low_flow"


def test_the_participant_page_shows_the_treatment_and_course_sign_offs(
    client, participant_a, monitor, investigator_a, data_manager
):
    treatment = signed(record_treatment(participant_a), monitor, investigator_a)
    course = record_course(participant_a).course
    services.record_verify(record=course, author=monitor)
    client.force_login(data_manager)
    page = page_text(client.get(reverse("participant_detail", args=[participant_a.pk])))
    assert f'href="{step_url(treatment, "lock")}"' in page
    assert f'href="{step_url(treatment, "unlock")}"' in page
    assert reverse("treatment_record_edit", args=[participant_a.pk]) not in page
    assert ">source-verified</span>" in page  # the course's badge
    assert reverse("medication_course_edit", args=[course.pk]) in page  # verified: may change
    assert isinstance(treatment, TreatmentRecord)


@pytest.mark.parametrize("step", ["verify", "sign", "lock", "unlock"])
def test_another_sites_record_is_not_found(client, participant_b, data_manager, step):
    site_a_dm = UserFactory(username="coord", role="Coordinator", sites=[])
    episode = record_crs(participant_b)
    client.force_login(site_a_dm)
    assert client.post(step_url(episode, step), {"reason": "x"}).status_code == 404
    assert not RecordSignOff.objects.exists()


@pytest.mark.parametrize(("step", "status"), [("verify", 403), ("lock", 403), ("nope", 404)])
def test_a_coordinator_takes_no_step(client, crs, coordinator_a, step, status):
    client.force_login(coordinator_a)
    assert client.post(step_url(crs, step)).status_code == status
    assert not RecordSignOff.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_admin_shows_a_signed_record_read_only_and_cannot_delete_it(
    superuser_client, participant_a, monitor, investigator_a, kind
):
    record = signed(record_of(kind, participant_a), monitor, investigator_a)
    meta = type(record)._meta
    change_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
    page = page_text(superuser_client.get(change_url))
    assert 'name="change_reason"' not in page  # no form to save
    delete_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[record.pk])
    response = superuser_client.post(delete_url, {"post": "yes", DELETE_REASON_FIELD: "Twice"})
    assert response.status_code == 403
    assert type(record).objects.filter(pk=record.pk).exists()


def test_the_audit_trail_names_a_records_sign_offs(crs, monitor, participant_a):
    services.record_verify(record=crs, author=monitor)
    sources = trial_data_sources(
        Participant.objects.filter(pk=participant_a.pk).values("id"), monitor
    )
    named = [
        (str(entry.what), entry.who, entry.reason)
        for source in sources
        for _record, entry in versions(source.history, source.what, source.related_sets)
    ]
    assert (f"sign-off: source-verified of CRS episode {crs.pk}", "monitor", "Source verified") in (
        named
    )


# --------------------------------------------------------------------------------------------
# What a signed record depends on
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("infusion_date", date(2026, 2, 10)), ("dose_cells_per_kg", 300_000)],
)
def test_a_signed_treatment_record_keeps_the_participants_infusion_date_and_dose(
    participant_a, monitor, investigator_a, data_manager, field, value
):
    signed(record_treatment(participant_a), monitor, investigator_a)
    proposed = Participant.objects.get(pk=participant_a.pk)
    setattr(proposed, field, value)

    # The forms and admin show it on the field (participant_safety_errors, before saving) ...
    assert "is signed or locked" in " ".join(participant_safety_errors(proposed)[field])
    # ... and the write service refuses it (a dose also by the total cells it no longer fits).
    with pytest.raises(ValidationError):
        services.participant_save(participant=proposed, author=data_manager, reason="typo")
    assert getattr(Participant.objects.get(pk=participant_a.pk), field) == getattr(
        participant_a, field
    )


def test_a_new_infusion_date_voids_the_treatment_records_verification(
    participant_a, monitor, data_manager
):
    treatment = record_treatment(participant_a)
    services.record_verify(record=treatment, author=monitor)
    participant = Participant.objects.get(pk=participant_a.pk)
    participant.infusion_date = date(2026, 2, 10)

    services.participant_save(participant=participant, author=data_manager, reason="Chart: 10th")

    verification = RecordSignOff.objects.get()
    assert not verification.in_force
    assert verification.void_reason.endswith("Chart: 10th")


def test_a_locked_course_keeps_its_treatment_failure_proposal(
    participant_a, monitor, investigator_a, data_manager, coordinator_a
):
    start = date(2026, 3, 2)  # after the infusion: a treatment failure proposed
    course = signed(
        record_course(participant_a, "rituximab", start=start).course, monitor, investigator_a
    )
    services.record_lock(record=course, author=data_manager)
    with pytest.raises(ValidationError, match="is locked"):
        medication_services.treatment_failure_dismiss(
            course=course, proposed=start, author=coordinator_a, reason="entered in error"
        )
    course.refresh_from_db()
    assert course.failure_proposal_dismissed is False
