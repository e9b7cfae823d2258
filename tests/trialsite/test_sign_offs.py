"""A visit's lifecycle: complete -> source-verified -> signed -> locked; frozen data; unlocking."""

from datetime import date
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import (
    TEST_PASSWORD,
    ParticipantFactory,
    UserFactory,
    record_visit,
    sledai_answers,
)
from tests.pages import admin_visit_form
from trialsite import services
from trialsite.history import visit_changes
from trialsite.models import (
    SIGNATURE_MEANING,
    DataQuery,
    QueryMessage,
    SignOffKind,
    Visit,
    VisitSignOff,
    VisitStatus,
    visit_status,
)
from trialsite.selectors import record_status_grid

BL_DATE, M3_DATE = date(2026, 2, 2), date(2026, 5, 10)


@pytest.fixture
def baseline(participant_a, coordinator_a) -> Visit:
    # SLEDAI-2K 6 (arthritis 4, rash 2), PGA 1.00, BILAG-2004 all E.
    return record_visit(participant_a, "BL", BL_DATE, sledai={"arthritis", "rash"})


@pytest.fixture
def m3(baseline, participant_a, coordinator_a) -> Visit:
    # SLEDAI-2K 0: down 6 from baseline, PGA unchanged, no new BILAG A or B: an SRI-4 responder.
    return record_visit(participant_a, "M3", M3_DATE, sledai=set(), user=coordinator_a)


def sri4(visit: Visit) -> str:
    return visit.endpoint_results.get(endpoint="sri4").outcome


def in_force(visit: Visit) -> set[str]:
    return set(services.sign_offs_in_force(visit))


def signed(visit: Visit, monitor, investigator_a) -> Visit:
    services.visit_verify(visit=visit, author=monitor)
    services.visit_sign(visit=visit, author=investigator_a, password=TEST_PASSWORD)
    return visit


def correct_m3(visit: Visit, user, *, sledai: set[str], reason: str = "Transcription error"):
    return services.visit_save_assessments(
        visit=visit,
        sledai=sledai_answers(sledai),
        pga=Decimal("1.00"),
        bilag=visit.bilag.grades(),
        author=user,
        reason=reason,
    )


# --------------------------------------------------------------------------------------------
# The status of a visit
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry_complete", "sign_offs", "expected"),
    [
        (False, set(), VisitStatus.IN_PROGRESS),
        (True, set(), VisitStatus.COMPLETE),
        (True, {"verified"}, VisitStatus.VERIFIED),
        (True, {"verified", "signed"}, VisitStatus.SIGNED),
        (True, {"verified", "signed", "locked"}, VisitStatus.LOCKED),
    ],
)
def test_a_visit_stands_at_its_latest_sign_off_in_force(entry_complete, sign_offs, expected):
    assert visit_status(entry_complete=entry_complete, sign_offs_in_force=sign_offs) == expected


# --------------------------------------------------------------------------------------------
# The steps, in their order
# --------------------------------------------------------------------------------------------


def test_only_a_complete_visit_can_be_verified(participant_a, monitor):
    visit = record_visit(participant_a, "BL", BL_DATE, pga=None, complete=False)
    with pytest.raises(ValidationError, match="data entry is complete"):
        services.visit_verify(visit=visit, author=monitor)
    assert not visit.sign_offs.exists()


def test_verification_records_the_monitor_time_and_the_fields_ticked(m3, monitor):
    verification = services.visit_verify(
        visit=m3, author=monitor, verified_fields={"bilag_renal", "pga", "visit_date"}
    )
    assert verification.kind == SignOffKind.VERIFIED
    assert verification.given_by == monitor
    assert verification.given_at is not None
    # In the order of the visit page: date, PGA, ..., BILAG-2004.
    assert verification.verified_fields == ["visit_date", "pga", "bilag_renal"]
    with pytest.raises(ValidationError, match="already source-verified"):
        services.visit_verify(visit=m3, author=monitor)


def test_a_visit_is_signed_only_after_verification(m3, investigator_a):
    with pytest.raises(ValidationError, match="must be source-verified before it can be signed"):
        services.visit_sign(visit=m3, author=investigator_a, password=TEST_PASSWORD)


def test_a_wrong_password_signs_nothing(m3, monitor, investigator_a):
    services.visit_verify(visit=m3, author=monitor)
    with pytest.raises(ValidationError) as refusal:
        services.visit_sign(visit=m3, author=investigator_a, password="not-my-password")
    assert refusal.value.message_dict == {
        "password": [
            "This password was not accepted; the visit was not signed. After several wrong "
            "passwords, signing is blocked for a while."
        ]
    }
    assert in_force(m3) == {SignOffKind.VERIFIED}


def test_the_signature_records_name_time_and_meaning(m3, monitor, investigator_a):
    signature = signed(m3, monitor, investigator_a).sign_offs.get(kind=SignOffKind.SIGNED)
    assert signature.given_by == investigator_a
    assert signature.meaning == "I confirm these assessments are accurate." == SIGNATURE_MEANING
    assert signature.in_force


def test_a_visit_with_an_open_query_cannot_be_signed(m3, monitor, investigator_a):
    services.visit_verify(visit=m3, author=monitor)
    query = DataQuery.objects.create(
        visit=m3,
        participant_id=m3.participant_id,
        field="pga",
        raised_by=monitor,
        raised_at=m3.sign_offs.get().given_at,
    )
    with pytest.raises(ValidationError, match="open queries"):
        services.visit_sign(visit=m3, author=investigator_a, password=TEST_PASSWORD)
    query.status = "closed"
    query.save()
    services.visit_sign(visit=m3, author=investigator_a, password=TEST_PASSWORD)
    assert SignOffKind.SIGNED in in_force(m3)


@pytest.mark.parametrize(
    "signer",
    ["superuser", "other_site_investigator", "monitor_and_investigator", "coordinator"],
)
def test_only_an_investigator_of_the_site_signs(m3, monitor, site_b, signer, coordinator_a):
    services.visit_verify(visit=m3, author=monitor)
    author = {
        "superuser": lambda: UserFactory(is_superuser=True, is_staff=True),
        "other_site_investigator": lambda: UserFactory(role="Investigator", sites=[site_b]),
        "monitor_and_investigator": lambda: UserFactory(role="Monitor"),
        "coordinator": lambda: coordinator_a,
    }[signer]()
    if signer == "monitor_and_investigator":
        author.groups.add(Group.objects.get(name="Investigator"))
    with pytest.raises((ValidationError, PermissionDenied)):
        services.visit_sign(visit=m3, author=author, password=TEST_PASSWORD)
    assert in_force(m3) == {"verified"}


def test_whoever_verified_a_visit_does_not_sign_it(m3, investigator_a):
    # One person holding both roles: the signature is a second check, by another person.
    investigator_a.groups.add(Group.objects.get(name="Monitor"))
    services.visit_verify(visit=m3, author=investigator_a)
    with pytest.raises(ValidationError, match="another person signs it"):
        services.visit_sign(visit=m3, author=investigator_a, password=TEST_PASSWORD)


@pytest.mark.parametrize(
    ("step", "role"), [("verify", "Coordinator"), ("lock", "Monitor"), ("unlock", "Investigator")]
)
def test_each_step_needs_its_right(m3, monitor, investigator_a, step, role, site_a):
    if step != "verify":
        signed(m3, monitor, investigator_a)
    author = UserFactory(role=role, sites=[site_a])
    act = {
        "verify": lambda: services.visit_verify(visit=m3, author=author),
        "lock": lambda: services.visit_lock(visit=m3, author=author),
        "unlock": lambda: services.visit_unlock(visit=m3, author=author, reason="Correction"),
    }[step]
    with pytest.raises(PermissionDenied):
        act()


def test_the_signature_keeps_the_name_the_signer_had(m3, monitor, investigator_a):
    investigator_a.first_name, investigator_a.last_name = "Lin", "Wei"
    investigator_a.save()
    signed(m3, monitor, investigator_a)
    investigator_a.first_name, investigator_a.last_name = "Lin", "Zhang"
    investigator_a.save()
    signature = m3.sign_offs.get(kind=SignOffKind.SIGNED)
    assert signature.given_by_name == "Lin Wei"


def test_the_audit_reasons_the_site_writes_are_english_in_any_language(
    m3, monitor, investigator_a, coordinator_a
):
    with translation.override("zh-hans"):
        services.visit_verify(visit=m3, author=monitor)
        correct_m3(m3, coordinator_a, sledai={"arthritis"}, reason="原始记录有关节炎")
    verification = m3.sign_offs.get()
    assert verification.void_reason == (
        "The data changed after source verification: 原始记录有关节炎"
    )
    assert verification.history.earliest("history_id").history_change_reason == "Source verified"


def test_an_open_query_blocks_the_lock_too(m3, monitor, investigator_a, data_manager):
    signed(m3, monitor, investigator_a)
    DataQuery.objects.create(
        visit=m3,
        participant_id=m3.participant_id,
        field="pga",
        raised_by=monitor,
        raised_at=timezone.now(),
    )
    with pytest.raises(ValidationError, match="open queries"):
        services.visit_lock(visit=m3, author=data_manager)


def test_a_visit_is_locked_only_after_its_signature(m3, monitor, investigator_a, data_manager):
    services.visit_verify(visit=m3, author=monitor)
    with pytest.raises(ValidationError, match="must be signed before it can be locked"):
        services.visit_lock(visit=m3, author=data_manager)
    signed_visit = signed_after_verification(m3, investigator_a)
    services.visit_lock(visit=signed_visit, author=data_manager)
    assert in_force(m3) == {"verified", "signed", "locked"}


def signed_after_verification(visit: Visit, investigator_a) -> Visit:
    services.visit_sign(visit=visit, author=investigator_a, password=TEST_PASSWORD)
    return visit


# --------------------------------------------------------------------------------------------
# Signed or locked data cannot change; a change voids a verification
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lock", [False, True], ids=["signed", "locked"])
def test_signed_or_locked_data_cannot_change_by_any_service(
    m3, monitor, investigator_a, data_manager, coordinator_a, lock
):
    signed(m3, monitor, investigator_a)
    if lock:
        services.visit_lock(visit=m3, author=data_manager)
    word = "locked" if lock else "signed"
    with pytest.raises(ValidationError, match=f"is {word}"):
        correct_m3(m3, coordinator_a, sledai={"arthritis"})
    m3.visit_date = date(2026, 5, 12)
    with pytest.raises(ValidationError, match=f"is {word}"):
        services.visit_save(visit=m3, author=coordinator_a, reason="Wrong date")
    with pytest.raises(ValidationError, match=f"is {word}"):
        services.visit_delete(visit=m3, author=data_manager, reason="Entered in error")
    m3 = Visit.objects.get(pk=m3.pk)
    assert m3.visit_date == M3_DATE
    assert m3.sledai.arthritis is False
    assert sri4(m3) == "responder"


def test_an_unchanged_save_leaves_the_signature_alone(m3, monitor, investigator_a, coordinator_a):
    signed(m3, monitor, investigator_a)
    correct_m3(m3, coordinator_a, sledai=set())  # the values it holds already
    assert in_force(m3) == {"verified", "signed"}


def test_a_change_to_a_verified_visit_voids_the_verification(m3, monitor, coordinator_a):
    services.visit_verify(visit=m3, author=monitor)
    correct_m3(m3, coordinator_a, sledai={"arthritis"}, reason="Source says arthritis")
    verification = m3.sign_offs.get()
    assert not verification.in_force
    assert verification.voided_by == coordinator_a
    assert verification.void_reason == (
        "The data changed after source verification: Source says arthritis"
    )
    assert visit_status(entry_complete=True, sign_offs_in_force=in_force(m3)) == "complete"


# --------------------------------------------------------------------------------------------
# Unlocking
# --------------------------------------------------------------------------------------------


def test_unlocking_needs_a_reason_and_a_signed_or_locked_visit(m3, monitor, data_manager):
    services.visit_verify(visit=m3, author=monitor)
    with pytest.raises(ValidationError, match="neither signed nor locked"):
        services.visit_unlock(visit=m3, author=data_manager, reason="Correction")
    with pytest.raises(ValidationError, match="needs a reason"):
        services.visit_unlock(visit=m3, author=data_manager, reason="  ")


def test_unlocking_voids_every_sign_off_then_the_data_can_change_and_endpoints_follow(
    m3, monitor, investigator_a, data_manager, coordinator_a
):
    signed(m3, monitor, investigator_a)
    services.visit_lock(visit=m3, author=data_manager)
    assert sri4(m3) == "responder"
    services.visit_unlock(visit=m3, author=data_manager, reason="Arthritis missed at M3")
    voided = list(m3.sign_offs.order_by("given_at"))
    assert [(s.kind, s.in_force, s.voided_by, s.void_reason) for s in voided] == [
        (kind, False, data_manager, "Arthritis missed at M3")
        for kind in ("verified", "signed", "locked")
    ]
    # Arthritis (4) and rash (2) present again: SLEDAI-2K 6, no reduction from baseline's 6.
    correct_m3(m3, coordinator_a, sledai={"arthritis", "rash"})
    assert sri4(m3) == "non-responder"
    # The visit can go through the steps again.
    services.visit_verify(visit=m3, author=monitor)
    assert in_force(m3) == {"verified"}


def test_the_trail_shows_each_sign_off_and_its_voiding(m3, monitor, investigator_a, data_manager):
    signed(m3, monitor, investigator_a)
    services.visit_unlock(visit=m3, author=data_manager, reason="Arthritis missed at M3")
    entries = [(e.what, e.who, e.reason) for e in reversed(visit_changes(m3, monitor))]
    assert ("sign-off: signed", "inv_a", "Signed: " + SIGNATURE_MEANING) in entries
    assert ("sign-off: source-verified", "monitor", "Source verified") in entries
    assert ("sign-off: signed", "dm", "Arthritis missed at M3") in entries


def test_deleting_a_verified_queried_visit_removes_its_sign_offs_and_queries_with_audit(
    m3, monitor, data_manager
):
    services.visit_verify(visit=m3, author=monitor)
    query = DataQuery.objects.create(
        visit=m3,
        participant_id=m3.participant_id,
        field="",
        raised_by=monitor,
        raised_at=m3.sign_offs.get().given_at,
    )
    QueryMessage.objects.create(
        query=query, action="raised", author=monitor, written_at=query.raised_at, text="?"
    )
    services.visit_delete(visit=m3, author=data_manager, reason="Entered for the wrong child")
    assert not Visit.objects.filter(pk=m3.pk).exists()
    assert not VisitSignOff.objects.exists()
    assert not DataQuery.objects.exists()
    deletion = VisitSignOff.history.filter(history_type="-").get()
    assert deletion.history_change_reason == "Entered for the wrong child"


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def test_the_visit_page_offers_each_role_its_next_step(
    client, m3, monitor, investigator_a, data_manager, coordinator_a
):
    page = reverse("visit_detail", args=[m3.pk])
    steps = {
        "verify": reverse("visit_verify", args=[m3.pk]),
        "sign": reverse("visit_sign", args=[m3.pk]),
        "lock": reverse("visit_lock", args=[m3.pk]),
        "unlock": reverse("visit_unlock", args=[m3.pk]),
    }

    def offered(user) -> set[str]:
        client.force_login(user)
        html = client.get(page).content.decode()
        return {step for step, url in steps.items() if url in html}

    assert offered(coordinator_a) == set()
    assert offered(monitor) == {"verify"}
    assert offered(investigator_a) == set()
    services.visit_verify(visit=m3, author=monitor)
    assert offered(investigator_a) == {"sign"}
    services.visit_sign(visit=m3, author=investigator_a, password=TEST_PASSWORD)
    assert offered(data_manager) == {"lock", "unlock"}
    assert offered(monitor) == set()


def test_signing_on_the_page_checks_the_password(client, m3, monitor, investigator_a):
    services.visit_verify(visit=m3, author=monitor)
    client.force_login(investigator_a)
    url = reverse("visit_sign", args=[m3.pk])
    form = client.get(url).content.decode()
    assert SIGNATURE_MEANING in form
    refused = client.post(url, {"password": "wrong"})
    assert refused.status_code == 200
    assert "This password was not accepted" in refused.content.decode()
    assert client.post(url, {"password": TEST_PASSWORD}).url == reverse(
        "visit_detail", args=[m3.pk]
    )
    assert SignOffKind.SIGNED in in_force(m3)


def test_the_entry_pages_of_a_signed_visit_send_back_to_the_visit(
    client, m3, monitor, investigator_a, coordinator_a
):
    signed(m3, monitor, investigator_a)
    client.force_login(coordinator_a)
    for name in ("visit_entry", "visit_edit"):
        response = client.post(reverse(name, args=[m3.pk]), follow=True)
        assert response.redirect_chain == [(reverse("visit_detail", args=[m3.pk]), 302)]
        assert "is signed by the investigator" in response.content.decode()
    assert (
        "Enter or correct data"
        not in client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    )


def test_unlocking_on_the_page_needs_a_reason(client, m3, monitor, investigator_a, data_manager):
    signed(m3, monitor, investigator_a)
    client.force_login(data_manager)
    url = reverse("visit_unlock", args=[m3.pk])
    assert client.post(url, {"reason": ""}).status_code == 200
    assert in_force(m3) == {"verified", "signed"}
    client.post(url, {"reason": "Lab value corrected by the site"})
    assert in_force(m3) == set()
    page = client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    assert "voided" in page
    assert "Lab value corrected by the site" in page


def test_wrong_signing_passwords_count_towards_the_login_lockout(
    client, m3, monitor, investigator_a
):
    services.visit_verify(visit=m3, author=monitor)
    client.force_login(investigator_a)
    url = reverse("visit_sign", args=[m3.pk])
    for _attempt in range(5):
        client.post(url, {"password": "guess"})
    assert AccessAttempt.objects.get(username=investigator_a.username).failures_since_start == 5
    # Locked out like a login: even the right password signs nothing for a while.
    assert client.post(url, {"password": TEST_PASSWORD}).status_code == 429
    assert in_force(m3) == {"verified"}


def test_an_admin_inline_change_voids_the_verification(admin_client, m3, monitor):
    services.visit_verify(visit=m3, author=monitor)
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    data = admin_visit_form(
        admin_client,
        m3,
        pga="1.30",
        sledai=m3.sledai.answers(),
        bilag=m3.bilag.grades(),
        reason="Clinic letter says 1.3",
    )
    assert admin_client.post(url, data).status_code == 302
    assert Visit.objects.get(pk=m3.pk).pga.score == Decimal("1.30")
    verification = m3.sign_offs.get()
    assert not verification.in_force
    assert verification.void_reason.endswith("Clinic letter says 1.3")


def test_a_signed_visit_is_read_only_in_admin(admin_client, m3, monitor, investigator_a):
    signed(m3, monitor, investigator_a)
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    assert admin_client.post(url, {}).status_code == 403
    assert (
        admin_client.get(reverse("admin:trialsite_visit_delete", args=[m3.pk])).status_code == 403
    )


# --------------------------------------------------------------------------------------------
# The record status dashboard
# --------------------------------------------------------------------------------------------


def test_the_dashboard_shows_each_scheduled_visit_status(
    client, m3, baseline, monitor, participant_a, participant_b, coordinator_a
):
    services.visit_verify(visit=baseline, author=monitor)
    services.missed_visit_record(
        participant=participant_a,
        visit_definition=participant_a.study.visit_definitions.get(code="M1"),
        reason="other",
        note="Family travelling",
        author=coordinator_a,
        audit_reason="test",
    )
    grid = record_status_grid(monitor)
    row = next(row for row in grid.rows if row.participant == participant_a)
    codes = [d.code for d in grid.definitions]
    statuses = dict(zip(codes, [c.status for c in row.cells], strict=True))
    assert statuses["BL"] == VisitStatus.VERIFIED
    assert statuses["M1"] == VisitStatus.MISSED
    assert statuses["M3"] == VisitStatus.COMPLETE
    assert statuses["M6"] == VisitStatus.NOT_STARTED
    # Filtered by site; site staff see their own sites only.
    assert [r.participant for r in record_status_grid(monitor, site="S02").rows] == [participant_b]
    assert [r.participant for r in record_status_grid(coordinator_a).rows] == [participant_a]
    client.force_login(coordinator_a)
    page = client.get(reverse("record_status")).content.decode()
    assert participant_a.participant_id in page
    assert participant_b.participant_id not in page


# The budget (session, user, rights and second factor included) holds for 2 and for 12
# participants, each with a verified visit: no query per participant or visit.
def test_the_dashboard_query_count_does_not_grow(
    client, study, site_a, monitor, django_assert_max_num_queries
):
    client.force_login(monitor)
    for size in (2, 10):
        for _ in range(size):
            participant = ParticipantFactory(study=study, site=site_a)
            visit = record_visit(participant, "BL", BL_DATE)
            services.visit_verify(visit=visit, author=monitor)
        with django_assert_max_num_queries(18):
            assert client.get(reverse("record_status")).status_code == 200
