"""Monitor queries: raising, answering (with a correction through the write services), closing
and re-opening; who may take each step; the pages, their site boundary and query budgets."""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from responses.models import EndpointResult
from responses.services import stale_results
from tests.factories import (
    ALL_E,
    NONE_PRESENT,
    TEST_PASSWORD,
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    build_cohort,
    grades,
    record_visit,
    with_bl_and_m3,
)
from tests.trialsite.test_concurrency import run_together
from trialsite import queries, selectors, services
from trialsite.history import visit_changes
from trialsite.models import (
    DataQuery,
    EntryStatus,
    LabResult,
    NotDoneAnswer,
    QueryAction,
    QueryMessage,
    QueryStatus,
    Visit,
)


@pytest.fixture
def other_monitor(db):
    return UserFactory(username="monitor2", role="Monitor")


@pytest.fixture
def cohort(study, site_a, site_b):
    return build_cohort(study, {"S01-001": with_bl_and_m3("S01"), "S02-001": with_bl_and_m3("S02")})


@pytest.fixture
def m3_a(cohort) -> Visit:
    return cohort["S01-001"].visits.get(visit_definition__code="M3")


@pytest.fixture
def m3_b(cohort) -> Visit:
    return cohort["S02-001"].visits.get(visit_definition__code="M3")


def raise_on(visit: Visit, author, field: str = "pga", text: str = "Source says 1.30?"):
    return queries.query_raise(visit=visit, field=field, text=text, author=author)


def answered(query: DataQuery, author, text: str = "Checked the source.") -> DataQuery:
    return queries.query_answer(query=query, text=text, author=author)


def sri4(visit: Visit) -> EndpointResult:
    return visit.endpoint_results.get(endpoint="sri4")


def actions_of(query: DataQuery) -> list[str]:
    return list(query.messages.order_by("written_at", "pk").values_list("action", flat=True))


# --------------------------------------------------------------------------------------------
# Raising
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Monitor", "Data manager"])
def test_monitors_and_data_managers_raise_an_open_query_with_its_question(m3_a, role):
    raiser = UserFactory(role=role)
    query = raise_on(m3_a, raiser, text="Is the PGA 1.30 in the source?")

    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert query.field == "pga"
    assert query.raised_by == raiser
    message = query.messages.get()
    assert (message.action, message.author, message.text) == (
        QueryAction.RAISED,
        raiser,
        "Is the PGA 1.30 in the source?",
    )
    for record in (query.history.get(), message.history.get()):
        assert (record.history_user, record.history_change_reason) == (raiser, "Query raised")


@pytest.mark.parametrize("text", ["", "   \n"], ids=["empty", "blank"])
def test_a_query_without_a_question_is_refused_on_the_text(m3_a, monitor, text):
    with pytest.raises(ValidationError) as refused:
        raise_on(m3_a, monitor, text=text)
    assert "text" in refused.value.message_dict
    assert not DataQuery.objects.exists()


def test_a_query_on_an_unknown_field_is_refused_on_the_field(m3_a, monitor):
    with pytest.raises(ValidationError) as refused:
        raise_on(m3_a, monitor, field="sledai_unknown")
    assert "field" in refused.value.message_dict
    assert not DataQuery.objects.exists()


@pytest.mark.parametrize("field", ["", "visit_date", "pga", "sledai_fever", "bilag_renal", "c3"])
def test_a_query_may_be_about_the_visit_or_any_of_its_fields(m3_a, monitor, field):
    assert raise_on(m3_a, monitor, field=field).field == field


@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_the_sites_staff_cannot_raise_a_query(m3_a, site_a, role):
    with pytest.raises(PermissionDenied):
        raise_on(m3_a, UserFactory(role=role, sites=[site_a]))
    assert not DataQuery.objects.exists()


# --------------------------------------------------------------------------------------------
# Answering, closing, re-opening
# --------------------------------------------------------------------------------------------


def test_the_site_answers_an_open_query_which_then_awaits_review(m3_a, monitor, coordinator_a):
    query = answered(raise_on(m3_a, monitor), coordinator_a, text="The source says 1.00.")

    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert actions_of(query) == [QueryAction.RAISED, QueryAction.ANSWERED]
    assert query.messages.last().text == "The source says 1.00."
    latest = query.history.latest("history_id")
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        QueryStatus.ANSWERED,
        coordinator_a,
        "Query answered",
    )


def test_a_monitor_cannot_answer(m3_a, monitor, other_monitor):
    query = raise_on(m3_a, monitor)
    with pytest.raises(PermissionDenied):
        answered(query, other_monitor)
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN


def test_an_answer_needs_text(m3_a, monitor, coordinator_a):
    query = raise_on(m3_a, monitor)
    with pytest.raises(ValidationError) as refused:
        answered(query, coordinator_a, text=" ")
    assert "text" in refused.value.message_dict


def close(query, author, text=""):
    return queries.query_close(query=query, text=text, author=author)


def reopen(query, author, text="Please attach the lab report."):
    return queries.query_reopen(query=query, text=text, author=author)


@pytest.mark.parametrize("closer", ["monitor", "other_monitor", "data_manager"])
def test_any_monitor_or_data_manager_closes_an_answered_query(
    request, m3_a, monitor, coordinator_a, closer
):
    query = answered(raise_on(m3_a, monitor), coordinator_a)
    close(query, request.getfixturevalue(closer))

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert not query.is_open
    assert query.messages.last().text == "Answer accepted."  # no message typed


def test_an_answered_query_reopens_with_a_message_and_awaits_the_site_again(
    m3_a, monitor, coordinator_a
):
    query = answered(raise_on(m3_a, monitor), coordinator_a)
    reopen(query, monitor, text="The lab report says otherwise.")
    answered(query, coordinator_a, text="Corrected the lab report reading.")
    close(query, monitor, text="Thank you.")

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert actions_of(query) == [
        QueryAction.RAISED,
        QueryAction.ANSWERED,
        QueryAction.REOPENED,
        QueryAction.ANSWERED,
        QueryAction.CLOSED,
    ]
    reasons = list(
        query.history.order_by("history_id").values_list("history_change_reason", "status")
    )
    assert reasons == [
        ("Query raised", "open"),
        ("Query answered", "answered"),
        ("Query re-opened", "open"),
        ("Query answered", "answered"),
        ("Query closed", "closed"),
    ]


def test_the_raiser_withdraws_an_open_query_with_a_message(m3_a, monitor):
    query = raise_on(m3_a, monitor)
    close(query, monitor, text="Raised on the wrong visit.")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert query.messages.last().text == "Raised on the wrong visit."


def test_withdrawing_an_open_query_needs_a_message(m3_a, monitor):
    query = raise_on(m3_a, monitor)
    with pytest.raises(ValidationError) as refused:
        close(query, monitor, text="")
    assert "text" in refused.value.message_dict
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN


def test_only_the_raiser_closes_a_query_the_site_has_not_answered(m3_a, monitor, other_monitor):
    query = raise_on(m3_a, monitor)
    with pytest.raises(ValidationError, match="Only the person who raised this query"):
        close(query, other_monitor, text="Not needed.")
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN


#: Each step refused from a status: (the steps that lead there, the step refused).
REFUSED_STEPS = {
    "answer-answered": (["answer"], "answer"),
    "answer-closed": (["answer", "close"], "answer"),
    "close-closed": (["answer", "close"], "close"),
    "reopen-open": ([], "reopen"),
    "reopen-closed": (["answer", "close"], "reopen"),
}


@pytest.mark.parametrize("case", REFUSED_STEPS)
def test_a_step_the_querys_status_does_not_allow_is_refused_and_changes_nothing(
    m3_a, monitor, coordinator_a, case
):
    before, refused_step = REFUSED_STEPS[case]
    steps = {
        "answer": lambda q: answered(q, coordinator_a),
        "close": lambda q: close(q, monitor, text="Done."),
        "reopen": lambda q: reopen(q, monitor),
    }
    query = raise_on(m3_a, monitor)
    for step in before:
        steps[step](query)
    status, messages = query.status, query.messages.count()

    with pytest.raises(ValidationError):
        steps[refused_step](query)

    query.refresh_from_db()
    assert (query.status, query.messages.count()) == (status, messages)


@pytest.mark.parametrize("step", ["close", "reopen"])
def test_the_sites_staff_cannot_close_or_reopen(m3_a, monitor, coordinator_a, step):
    query = answered(raise_on(m3_a, monitor), coordinator_a)
    with pytest.raises(PermissionDenied):
        getattr(queries, f"query_{step}")(query=query, text="Done.", author=coordinator_a)


def test_a_step_reads_the_status_again_so_a_stale_copy_cannot_answer_twice(
    m3_a, monitor, coordinator_a, investigator_a
):
    query = raise_on(m3_a, monitor)
    stale = DataQuery.objects.get(pk=query.pk)  # opened by a second person, still open
    answered(query, coordinator_a)

    with pytest.raises(ValidationError, match="only an open query can be answered"):
        answered(stale, investigator_a)
    assert actions_of(query) == [QueryAction.RAISED, QueryAction.ANSWERED]


@pytest.mark.parametrize(
    ("status", "user", "expected"),
    [
        ("open", "coordinator_a", {"answer"}),
        ("open", "monitor", {"close"}),  # the raiser may withdraw it
        ("open", "other_monitor", set()),
        ("answered", "coordinator_a", set()),
        ("answered", "other_monitor", {"close", "reopen"}),
        ("closed", "monitor", set()),
        ("closed", "coordinator_a", set()),
    ],
)
def test_query_actions_name_the_steps_the_user_may_take(
    request, m3_a, monitor, coordinator_a, status, user, expected
):
    query = raise_on(m3_a, monitor)
    if status != "open":
        answered(query, coordinator_a)
    if status == "closed":
        close(query, monitor)
    assert queries.query_actions(request.getfixturevalue(user), query) == expected


# --------------------------------------------------------------------------------------------
# Corrections
# --------------------------------------------------------------------------------------------


def correct(query, author, value, reason="Transcription error", text="Corrected from source."):
    return queries.query_answer(
        query=query, text=text, author=author, new_value=value, change_reason=reason
    )


def test_a_pga_correction_rescores_the_visit_and_the_trail_shows_it_with_its_reason(
    m3_a, monitor, coordinator_a
):
    assert sri4(m3_a).outcome == "responder"
    query = raise_on(m3_a, monitor)

    correct(query, coordinator_a, Decimal("1.30"), reason="PGA misread from the chart")

    m3_a.pga.refresh_from_db()
    assert m3_a.pga.score == Decimal("1.30")
    # PGA 1.00 -> 1.30 is a rise of 0.30: a worsening, so no longer a responder.
    result = sri4(m3_a)
    assert (result.outcome, result.pga_change) == ("non-responder", Decimal("0.30"))
    assert stale_results() == []
    entry = next(entry for entry in visit_changes(m3_a, monitor) if entry.what == "PGA")
    assert entry.who == coordinator_a.username
    assert entry.reason == f"PGA misread from the chart (query {query.pk})"
    assert [(c.old, c.new) for c in entry.changes] == [("1.00", "1.30")]
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    # The answer tells the reviewer what changed.
    assert query.messages.last().text == (
        "Corrected from source.\n\nCorrected PGA: 1.00 → 1.30. Reason: PGA misread from the chart"
    )


def test_a_correction_changes_only_the_queried_answer(study, site_a, monitor, coordinator_a):
    participant = build_cohort(study, {"S01-002": with_bl_and_m3("S01")})["S01-002"]
    visit = record_visit(
        participant,
        "M6",
        date(2026, 8, 9),
        sledai={**NONE_PRESENT, "fever": None},
        bilag=grades(renal="C"),
        labs={"platelets": Decimal("150"), "c3": Decimal("0.8"), "c3_lower_limit": Decimal("0.9")},
        not_done={"sledai_fever": "thermometer broken"},
        complete=False,
    )
    query = raise_on(visit, monitor, field="bilag_renal", text="Renal B in the notes?")

    correct(query, coordinator_a, "B")

    visit = Visit.objects.get(pk=visit.pk)
    assert visit.entry_status == EntryStatus.IN_PROGRESS
    assert visit.bilag.renal == "B"
    assert visit.bilag.grades() == {**grades(renal="B")}
    assert visit.pga.score == Decimal("1.00")
    assert visit.sledai.answers() == {**NONE_PRESENT, "fever": None}
    assert dict(visit.not_done_answers.values_list("answer", "reason")) == {
        "sledai_fever": "thermometer broken"
    }
    labs = LabResult.objects.get(visit=visit)
    assert (labs.platelets, labs.c3, labs.wbc) == (Decimal("150.00"), Decimal("0.80"), None)
    assert stale_results() == []


def test_a_value_given_for_an_answer_marked_not_done_replaces_the_mark(
    study, site_a, monitor, coordinator_a
):
    participant = build_cohort(study, {"S01-003": with_bl_and_m3("S01")})["S01-003"]
    visit = record_visit(
        participant, "M6", date(2026, 8, 9), pga=None, not_done={"pga": "physician absent"}
    )
    assert visit.entry_status == EntryStatus.COMPLETE
    query = raise_on(visit, monitor, text="The PGA is in the clinic letter.")

    correct(query, coordinator_a, Decimal("0.50"))

    visit = Visit.objects.get(pk=visit.pk)
    assert visit.pga.score == Decimal("0.50")
    assert not NotDoneAnswer.objects.filter(visit=visit).exists()
    assert visit.entry_status == EntryStatus.COMPLETE


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("sledai_alopecia", True, lambda v: v.sledai.alopecia),
        ("c4", Decimal("0.12"), lambda v: LabResult.objects.get(visit=v).c4),
        ("visit_date", date(2026, 5, 12), lambda v: v.visit_date),
    ],
    ids=["sledai", "lab-without-labs", "visit-date"],
)
def test_each_kind_of_field_is_corrected_through_the_write_services(
    m3_a, monitor, coordinator_a, field, value, stored
):
    query = raise_on(m3_a, monitor, field=field)
    correct(query, coordinator_a, value)
    m3_a.refresh_from_db()
    assert stored(Visit.objects.get(pk=m3_a.pk)) == value
    assert stale_results() == []
    assert any(
        f"Transcription error (query {query.pk})" == e.reason for e in visit_changes(m3_a, monitor)
    )


def test_a_lab_correction_keeps_the_other_lab_values(study, site_a, monitor, coordinator_a):
    participant = build_cohort(study, {"S01-004": with_bl_and_m3("S01")})["S01-004"]
    visit = record_visit(
        participant,
        "M6",
        date(2026, 8, 9),
        labs={"upcr": Decimal("62.4"), "upcr_unit": "mg/mmol", "urinary_casts": False},
    )
    query = raise_on(visit, monitor, field="upcr", text="UPCR 26.4?")
    correct(query, coordinator_a, Decimal("26.4"))
    labs = LabResult.objects.get(visit=visit)
    assert (labs.upcr, labs.upcr_unit, labs.urinary_casts) == (Decimal("26.40"), "mg/mmol", False)


def stored_pga(visit: Visit) -> Decimal:
    return Visit.objects.select_related("pga").get(pk=visit.pk).pga.score


def assert_nothing_changed(query: DataQuery, visit: Visit, pga: str = "1.00") -> None:
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert actions_of(query) == [QueryAction.RAISED]
    assert stored_pga(visit) == Decimal(pga)


def test_answering_without_the_right_to_correct_data_takes_no_correction(
    client, m3_a, site_a, monitor
):
    answerer = UserFactory(username="answers_only", sites=[site_a])
    answerer.user_permissions.add(
        *Permission.objects.filter(codename__in=["answer_query", "view_dataquery"])
    )
    query = raise_on(m3_a, monitor)
    with pytest.raises(PermissionDenied):
        correct(query, answerer, Decimal("1.30"))
    assert_nothing_changed(query, m3_a)

    client.force_login(answerer)
    assert "Corrected value" not in client.get(query.get_absolute_url()).content.decode()
    client.post(reverse("query_answer", args=[query.pk]), answer_form("Checked: 1.00."))
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED


def test_a_correction_of_a_signed_visit_is_refused_with_neither_answer_nor_change(
    m3_a, monitor, investigator_a
):
    services.visit_verify(visit=m3_a, author=monitor)
    services.visit_sign(visit=m3_a, author=investigator_a, password=TEST_PASSWORD)
    query = raise_on(m3_a, monitor)  # a signed visit may still be queried

    with pytest.raises(ValidationError, match="signed"):
        correct(query, investigator_a, Decimal("1.30"))

    assert_nothing_changed(query, m3_a)
    assert sri4(m3_a).outcome == "responder"


def test_a_correction_that_breaks_the_bilag_history_is_refused_on_the_value(
    cohort, monitor, coordinator_a
):
    bl = cohort["S01-001"].visits.get(visit_definition__code="BL")
    query = raise_on(bl, monitor, field="bilag_renal")
    # Month 3 is graded renal E: an E after a baseline renal B is refused.
    with pytest.raises(ValidationError) as refused:
        correct(query, coordinator_a, "B")
    assert "cannot be E" in " ".join(refused.value.message_dict["new_value"])
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert bl.bilag.renal == "E"


@pytest.mark.parametrize(
    ("field", "value", "reason", "refused_on"),
    [
        ("pga", Decimal("1.00"), "Typo", "new_value"),  # the stored value already
        ("pga", Decimal("3.50"), "Typo", "new_value"),
        ("pga", Decimal("1.30"), "  ", "change_reason"),
        ("", Decimal("1.30"), "Typo", "new_value"),  # the whole visit has no single value
        ("sledai_fever", "yes", "Typo", "new_value"),
    ],
    ids=["unchanged", "out-of-range", "no-reason", "whole-visit", "wrong-kind"],
)
def test_a_bad_correction_is_refused_on_its_field_with_neither_answer_nor_change(
    m3_a, monitor, coordinator_a, field, value, reason, refused_on
):
    query = raise_on(m3_a, monitor, field=field)
    with pytest.raises(ValidationError) as refused:
        correct(query, coordinator_a, value, reason=reason)
    assert refused_on in refused.value.message_dict
    assert_nothing_changed(query, m3_a)


# --------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------


def test_the_timeline_and_dashboard_count_the_queries_not_closed_per_visit(
    cohort, m3_a, m3_b, monitor, coordinator_a
):
    bl_a = cohort["S01-001"].visits.get(visit_definition__code="BL")
    raise_on(m3_a, monitor)
    answered(raise_on(m3_a, monitor, field="c3"), coordinator_a)
    close(raise_on(m3_b, monitor), monitor, text="Wrong visit.")
    visits = selectors.with_record_status(Visit.objects.filter(pk__in=[m3_a.pk, m3_b.pk, bl_a.pk]))
    counts = {visit.pk: visit.open_query_count for visit in visits}
    assert counts == {m3_a.pk: 2, m3_b.pk: 0, bl_a.pk: 0}


def test_queries_await_the_site_when_open_and_the_monitors_when_answered(
    m3_a, m3_b, monitor, coordinator_a
):
    to_answer = raise_on(m3_a, monitor)
    to_review = answered(raise_on(m3_a, monitor, field="c3"), coordinator_a)
    other_site = raise_on(m3_b, monitor)
    assert list(queries.queries_awaiting(coordinator_a)) == [to_answer]
    assert set(queries.queries_awaiting(monitor)) == {to_review}
    assert other_site not in queries.queries_visible_to(coordinator_a)


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def test_a_monitor_raises_a_query_from_the_visit_page(client, m3_a, monitor):
    client.force_login(monitor)
    page = client.get(reverse("visit_detail", args=[m3_a.pk])).content.decode()
    assert "Raise a query" in page
    assert reverse("query_raise", args=[m3_a.pk]) in page

    response = client.post(
        reverse("query_raise", args=[m3_a.pk]), {"field": "pga", "text": "PGA 1.30 in source?"}
    )

    assert response.url == reverse("visit_detail", args=[m3_a.pk]) + "#queries"
    query = DataQuery.objects.get()
    page = client.get(response.url).content.decode()
    assert f'href="{query.get_absolute_url()}"' in page
    assert "PGA 1.30 in source?" in page
    assert "1 open query" in page  # the badge on the PGA row


def test_raising_without_a_question_shows_the_error_on_the_form(client, m3_a, monitor):
    client.force_login(monitor)
    response = client.post(reverse("query_raise", args=[m3_a.pk]), {"field": "pga", "text": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not DataQuery.objects.exists()


def test_the_sites_staff_see_queries_but_no_raise_form(client, m3_a, monitor, coordinator_a):
    raise_on(m3_a, monitor)
    client.force_login(coordinator_a)
    page = client.get(reverse("visit_detail", args=[m3_a.pk])).content.decode()
    assert "Source says 1.30?" in page
    assert "Raise a query" not in page
    assert client.get(reverse("query_raise", args=[m3_a.pk])).status_code == 403
    assert (
        client.post(
            reverse("query_raise", args=[m3_a.pk]), {"field": "pga", "text": "?"}
        ).status_code
        == 403
    )
    assert DataQuery.objects.count() == 1


def answer_form(text="Checked.", new_value="", reason=""):
    return {"answer-text": text, "answer-new_value": new_value, "answer-change_reason": reason}


def test_the_coordinator_answers_and_corrects_on_the_query_page(
    client, m3_a, monitor, coordinator_a
):
    query = raise_on(m3_a, monitor)
    client.force_login(coordinator_a)
    page = client.get(query.get_absolute_url()).content.decode()
    assert "Source says 1.30?" in page
    assert "Corrected value" in page
    assert "Close the query" not in page

    response = client.post(
        reverse("query_answer", args=[query.pk]),
        answer_form("The chart says 1.30.", "1.30", "Transcription error"),
    )

    assert response.url == query.get_absolute_url()
    assert stored_pga(m3_a) == Decimal("1.30")
    page = client.get(query.get_absolute_url()).content.decode()
    assert "Answer sent" in page
    assert "The chart says 1.30." in page
    assert "answered: awaiting review" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (answer_form("Fixed.", "1.30", ""), "Give the reason for the change."),
        (answer_form("Fixed.", "", "Typo"), "Give the corrected value"),
        (answer_form("Fixed.", "3.5", "Typo"), "PGA is between 0.00 and 3.00."),
        (answer_form("Fixed.", "1.00", "Typo"), "is already the stored value"),
        (answer_form("", "", ""), "This field is required."),
    ],
    ids=["no-reason", "reason-only", "out-of-range", "unchanged", "no-answer"],
)
def test_a_bad_answer_is_shown_on_the_form_and_changes_nothing(
    client, m3_a, monitor, coordinator_a, form, message
):
    query = raise_on(m3_a, monitor)
    client.force_login(coordinator_a)
    response = client.post(reverse("query_answer", args=[query.pk]), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert_nothing_changed(query, m3_a)


def test_a_refused_correction_of_a_signed_visit_is_shown_on_the_form(
    client, m3_a, monitor, investigator_a
):
    services.visit_verify(visit=m3_a, author=monitor)
    services.visit_sign(visit=m3_a, author=investigator_a, password=TEST_PASSWORD)
    query = raise_on(m3_a, monitor)
    client.force_login(investigator_a)

    response = client.post(
        reverse("query_answer", args=[query.pk]), answer_form("Fixed.", "1.30", "Typo")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "is signed by the investigator: its data cannot change" in page
    assert "Fixed." in page  # the answer typed stays on the form
    assert_nothing_changed(query, m3_a)


def test_a_monitor_closes_and_reopens_from_the_query_page(
    client, m3_a, monitor, other_monitor, coordinator_a
):
    query = answered(raise_on(m3_a, monitor), coordinator_a)
    client.force_login(other_monitor)
    page = client.get(query.get_absolute_url()).content.decode()
    assert "Close the query" in page
    assert "Re-open the query" in page
    assert "Corrected value" not in page

    response = client.post(reverse("query_reopen", args=[query.pk]), {"reopen-text": ""})
    assert response.status_code == 200  # a re-opening needs a message
    response = client.post(
        reverse("query_reopen", args=[query.pk]), {"reopen-text": "Which chart?"}
    )
    assert response.url == query.get_absolute_url()
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN

    answered(query, coordinator_a, text="The March chart.")
    response = client.post(reverse("query_close", args=[query.pk]), {"close-text": ""})
    assert response.url == query.get_absolute_url()
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    page = client.get(query.get_absolute_url()).content.decode()
    assert "Close the query" not in page
    assert "Re-open the query" not in page


def test_a_data_manager_raises_and_closes_from_the_pages(client, m3_a, data_manager, coordinator_a):
    client.force_login(data_manager)
    client.post(reverse("query_raise", args=[m3_a.pk]), {"field": "c3", "text": "C3 unit?"})
    query = answered(DataQuery.objects.get(), coordinator_a, text="mg/dL, as the lab reports.")
    response = client.post(reverse("query_close", args=[query.pk]), {"close-text": ""})
    assert response.url == query.get_absolute_url()
    query.refresh_from_db()
    assert (query.raised_by, query.status) == (data_manager, QueryStatus.CLOSED)


def test_closing_a_query_already_closed_elsewhere_is_shown_on_the_form(
    client, m3_a, monitor, other_monitor, coordinator_a
):
    query = answered(raise_on(m3_a, monitor), coordinator_a)
    close(query, monitor)
    client.force_login(other_monitor)
    response = client.post(reverse("query_close", args=[query.pk]), {"close-text": ""})
    assert response.status_code == 200
    assert "This query is already closed." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "user"),
    [
        ("query_answer", "monitor"),
        ("query_close", "coordinator_a"),
        ("query_reopen", "coordinator_a"),
    ],
)
def test_a_step_without_the_right_gets_the_403_page(request, client, m3_a, monitor, name, user):
    query = raise_on(m3_a, monitor)
    client.force_login(request.getfixturevalue(user))
    response = client.post(reverse(name, args=[query.pk]), {"answer-text": "x", "close-text": "x"})
    assert response.status_code == 403
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN


QUERY_URLS = ["query_detail", "query_answer", "query_close", "query_reopen"]


@pytest.mark.parametrize("name", [*QUERY_URLS, "query_raise"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_sites_query_is_not_found(client, m3_b, monitor, coordinator_a, name, method):
    query = raise_on(m3_b, monitor)
    client.force_login(coordinator_a)
    target = m3_b.pk if name == "query_raise" else query.pk
    data = {"text": "x", "answer-text": "x", "close-text": "x", "reopen-text": "x"}
    response = getattr(client, method)(reverse(name, args=[target]), data)
    assert response.status_code == 404
    query.refresh_from_db()
    assert (query.status, query.messages.count(), DataQuery.objects.count()) == ("open", 1, 1)


def test_the_query_list_shows_only_the_users_sites(client, m3_a, m3_b, monitor, coordinator_a):
    mine, theirs = raise_on(m3_a, monitor), raise_on(m3_b, monitor)
    client.force_login(coordinator_a)
    page = client.get(reverse("query_list")).content.decode()
    assert f'href="{mine.get_absolute_url()}"' in page
    assert f'href="{theirs.get_absolute_url()}"' not in page
    assert "S02" not in page


@pytest.fixture
def three_ages(m3_a, m3_b, monitor, coordinator_a):
    """Queries raised 3 (S01, open), 10 (S01, answered) and 20 days ago (S02, closed)."""
    now = timezone.now()
    raised = {}
    for days, visit, field in ((3, m3_a, "pga"), (10, m3_a, "c3"), (20, m3_b, "pga")):
        query = raise_on(visit, monitor, field=field)
        # The service stamps the time of raising; these queries are backdated.
        DataQuery.objects.filter(pk=query.pk).update(raised_at=now - timedelta(days=days))
        raised[days] = query
    answered(raised[10], coordinator_a)
    close(raised[20], monitor, text="Not needed.")
    return raised


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({}, [10, 3]),  # not closed, oldest first
        ({"status": "open"}, [3]),
        ({"status": "answered"}, [10]),
        ({"status": "closed"}, [20]),
        ({"status": "all"}, [20, 10, 3]),
        ({"status": "all", "sort": "age"}, [3, 10, 20]),
        ({"status": "all", "site": "S02"}, [20]),
        ({"status": "all", "age": "7"}, [20, 10]),
        ({"status": "all", "age": "14"}, [20]),
        ({"status": "all", "age": "30"}, []),
        ({"status": "nonsense", "age": "5"}, [10, 3]),  # unknown filters are ignored
    ],
    ids=lambda value: str(value),
)
def test_the_query_list_filters_by_status_site_and_age(client, monitor, three_ages, params, shown):
    client.force_login(monitor)
    response = client.get(reverse("query_list"), params)
    order = [row.query for row in response.context["rows"]]
    assert order == [three_ages[days] for days in shown]


def test_the_query_list_counts_each_status(client, monitor, three_ages):
    client.force_login(monitor)
    response = client.get(reverse("query_list"), {"site": "S01"})
    counts = {key: count for key, _label, count, _url in response.context["status_tabs"]}
    assert counts == {"active": 2, "open": 1, "answered": 1, "closed": 0, "all": 2}
    assert "10 days" in response.content.decode()


def test_home_and_navbar_show_the_queries_awaiting_each_user(
    client, m3_a, m3_b, monitor, coordinator_a
):
    to_answer = raise_on(m3_a, monitor, text="Is the PGA right?")
    to_review = answered(raise_on(m3_a, monitor, field="c3"), coordinator_a, text="C3 is 0.80.")
    raise_on(m3_b, monitor, text="Other site's question")

    client.force_login(coordinator_a)
    response = client.get(reverse("home"))
    page = response.content.decode()
    assert [row.query for row in response.context["queries"].rows] == [to_answer]
    assert "Is the PGA right?" in page
    assert "Other site's question" not in page
    assert f'href="{reverse("query_list")}?status=open"' in page
    assert 'title="awaiting you">1</span>' in page  # the navbar

    client.force_login(monitor)
    response = client.get(reverse("home"))
    assert [row.query for row in response.context["queries"].rows] == [to_review]
    assert "C3 is 0.80." in response.content.decode()


def test_the_entry_form_shows_the_open_question_beside_its_field(
    client, m3_a, monitor, coordinator_a
):
    pga = raise_on(m3_a, monitor, text="PGA 1.30 in the chart?")
    renal = raise_on(m3_a, monitor, field="bilag_renal", text="Renal B?")
    lab = raise_on(m3_a, monitor, field="c3", text="C3 missing?")
    closed = raise_on(m3_a, monitor, field="sledai_fever", text="Fever?")
    close(closed, monitor, text="Wrong field.")
    client.force_login(coordinator_a)

    response = client.get(reverse("visit_entry", args=[m3_a.pk]))

    notes = response.context["field_queries"]
    assert [row.query for row in notes["pga"]] == [pga]
    assert [row.query for row in notes["bilag_renal"]] == [renal]
    assert [row.query for row in notes["lab_c3"]] == [lab]
    assert "sledai_fever" not in notes
    page = response.content.decode()
    for text in ("PGA 1.30 in the chart?", "Renal B?", "C3 missing?"):
        assert text in page
    assert "Fever?" not in page
    # Each question follows its own field on the form.
    assert page.index('name="pga"') < page.index("PGA 1.30 in the chart?")
    assert page.index('name="bilag_renal"') < page.index("Renal B?")
    assert page.index('name="lab_c3"') < page.index("C3 missing?")


def test_the_visit_page_badges_the_rows_of_queried_fields(client, m3_a, monitor):
    raise_on(m3_a, monitor, field="sledai_fever")
    raise_on(m3_a, monitor, field="sledai_rash")
    raise_on(m3_a, monitor, field="bilag_renal")
    client.force_login(monitor)
    response = client.get(reverse("visit_detail", args=[m3_a.pk]))
    panel = response.context["query_panel"]
    assert panel.row_counts == {"pga": 0, "sledai": 2, "bilag": 1}
    assert "2 open queries" in response.content.decode()


# Each query page's budget holds for 2 and for 10 queries: no query per query.
QUERY_BUDGET = 40
BUDGET_FIELDS = [
    "pga",
    "c3",
    "bilag_renal",
    "sledai_rash",
    "visit_date",
    "",
    "c4",
    "wbc",
    "upcr",
    "sledai_cva",
]


@pytest.mark.parametrize("screen", ["query_list", "home", "visit_detail", "visit_entry"])
def test_the_query_pages_do_not_grow_with_the_queries(
    client, m3_a, monitor, coordinator_a, django_assert_max_num_queries, screen
):
    client.force_login(coordinator_a)
    url = reverse(screen, args=[m3_a.pk]) if screen.startswith("visit") else reverse(screen)
    fields = iter(BUDGET_FIELDS)
    counts = []
    for size in (2, 10):
        while DataQuery.objects.count() < size:
            query = raise_on(m3_a, monitor, field=next(fields))
            if DataQuery.objects.count() % 2:
                answered(query, coordinator_a)
        with django_assert_max_num_queries(QUERY_BUDGET) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    assert counts[1] <= counts[0]  # (Home's recent changes may name fewer records)


# --------------------------------------------------------------------------------------------
# Two people at once (PostgreSQL: SQLite ignores row locks)
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
)
def test_two_people_answering_at_once_give_one_answer(reference_data, monkeypatch):
    site = SiteFactory(code="S01")
    participant = ParticipantFactory(site=site, participant_id="S01-001")
    visit = record_visit(participant, "BL", date(2026, 2, 2), sledai=NONE_PRESENT, bilag=ALL_E)
    monitor = UserFactory(username="monitor", role="Monitor")
    staff = [UserFactory(username=f"staff{n}", role="Coordinator", sites=[site]) for n in range(2)]
    query = raise_on(visit, monitor)
    lock = queries._lock

    def lock_then_pause(query_):
        lock(query_)
        time.sleep(0.2)  # both would have read "open" by now without the lock

    monkeypatch.setattr(queries, "_lock", lock_then_pause)

    def answer(author):
        return lambda: answered(DataQuery.objects.get(pk=query.pk), author)

    raised = run_together([answer(author) for author in staff])

    assert len(raised) == 1
    assert isinstance(raised[0], ValidationError)
    assert QueryMessage.objects.filter(query=query, action=QueryAction.ANSWERED).count() == 1
