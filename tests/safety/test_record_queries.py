"""Monitor queries on a participant's records beside the visits: the CAR-T treatment record, CRS
and ICANS episodes, adverse events and medication courses (trialsite.records). Raised on the
record or one of its entry fields, answered by the site (a value is corrected on the record's
page), closed or re-opened like a visit's; site-scoped, audited, deleted with their record."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from medications import services as medication_services
from safety import services as safety_services
from safety.models import CrsEpisode
from tests.factories import UserFactory
from tests.medications.conftest import record_course
from tests.safety.test_adverse_events import record as record_adverse_event
from tests.safety.test_treatment import record_treatment
from tests.safety.test_views import record_crs, record_icans
from trialsite import queries
from trialsite.history import trial_data_sources, versions
from trialsite.models import DataQuery, Participant, QueryMessage, QueryStatus


def record_of(kind: str, participant: Participant):
    """Record one record of a kind for the participant, through its service."""
    if kind == "crs":
        return record_crs(participant)
    if kind == "icans":
        return record_icans(participant)
    if kind == "adverse_event":
        return record_adverse_event(participant)
    if kind == "treatment":
        return record_treatment(participant)
    return record_course(participant).course


#: Each kind: a field of its entry form, that field's label, its stored value as shown, how the
#: lists name the record, and its page.
KINDS = {
    "crs": ("max_temp_c", "highest temperature (°C)", "38.5 °C", "CRS episode from 2026-02-12"),
    "icans": ("tool_score", "encephalopathy score", "CAPD 4", "ICANS episode from 2026-02-12"),
    "adverse_event": (
        "related_cart",
        "related to CAR-T cells",
        "possibly related",
        "adverse event Neutrophil count decreased from 2026-02-12",
    ),
    "treatment": ("weight_kg", "weight (kg)", "40.0", "CAR-T treatment record"),
    "course": ("daily_dose_mg", "daily dose (mg)", "10", "prednisolone course from 2026-01-05"),
}


def page_of(kind: str, record) -> str:
    if kind == "crs":
        return reverse("crs_episode_detail", args=[record.pk])
    if kind == "icans":
        return reverse("icans_episode_detail", args=[record.pk])
    if kind == "adverse_event":
        return reverse("adverse_event_detail", args=[record.pk])
    section = "treatment" if kind == "treatment" else "medications"
    return reverse("participant_detail", args=[record.participant_id]) + f"#{section}"


def raise_on(record, author, field: str = "", text: str = "Source?") -> DataQuery:
    return queries.query_raise_on_record(record=record, field=field, text=text, author=author)


def raise_url(record) -> str:
    return reverse("query_raise_on_record", args=[type(record)._meta.label_lower, record.pk])


@pytest.fixture
def crs_a(participant_a) -> CrsEpisode:
    return record_crs(participant_a)


@pytest.fixture
def crs_b(participant_b) -> CrsEpisode:
    return record_crs(participant_b)


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_monitor_raises_a_query_on_a_field_of_each_kind_of_record(participant_a, monitor, kind):
    record = record_of(kind, participant_a)
    field, label, value, subject = KINDS[kind]

    query = raise_on(record, monitor, field=field, text="Source says otherwise?")

    query = DataQuery.objects.get(pk=query.pk)
    assert (query.participant, query.visit, query.record) == (participant_a, None, record)
    assert (query.status, query.field, str(query.about)) == (QueryStatus.OPEN, field, label)
    assert str(queries.queried_value(query)) == value
    assert (str(query.subject), query.subject_url) == (subject, page_of(kind, record))
    assert [(m.action, m.text) for m in query.messages.all()] == [
        ("raised", "Source says otherwise?")
    ]
    raised = query.history.get()
    assert (raised.history_user, raised.history_change_reason) == (monitor, "Query raised")


def test_a_query_on_the_whole_record_has_no_value(crs_a, monitor):
    query = raise_on(crs_a, monitor)
    assert (str(query.about), queries.queried_value(query)) == ("the whole record", "")


@pytest.mark.parametrize(
    "field",
    [
        "grade",  # computed from the entries: its entries are queried
        "confirmed_by",  # the investigator's step, not an entry
        "participant",
        "pga",  # a visit's field
        "no_such_field",
    ],
)
def test_a_query_names_a_field_of_the_records_entry_form(crs_a, monitor, field):
    with pytest.raises(ValidationError) as refused:
        raise_on(crs_a, monitor, field=field)
    assert refused.value.message_dict == {"field": ["Choose what the query is about."]}
    assert not DataQuery.objects.exists()


@pytest.mark.parametrize(
    ("field", "shown"),
    [("infusion_time", "10:30"), ("bsa_m2", "1.25"), ("dose_reduced", "no")],
)
def test_a_queried_value_shows_as_on_the_page(participant_a, monitor, field, shown):
    query = raise_on(record_treatment(participant_a), monitor, field=field)
    assert str(queries.queried_value(query)) == shown


def test_an_icans_score_not_assessable_shows_why(participant_a, monitor):
    episode = record_icans(participant_a, tool_score=None, unable_to_perform=True)
    query = raise_on(episode, monitor, field="tool_score")
    assert str(queries.queried_value(query)) == "CAPD: unable to perform"


def test_a_record_deleted_meanwhile_cannot_be_queried(crs_a, monitor, data_manager):
    safety_services.episode_delete(episode=crs_a, author=data_manager, reason="Entered twice")
    with pytest.raises(ValidationError, match="deleted"):
        raise_on(crs_a, monitor)  # the page showed it before its deletion
    assert not DataQuery.objects.exists()


def test_only_monitors_and_data_managers_raise_queries(crs_a, coordinator_a):
    with pytest.raises(PermissionDenied):
        raise_on(crs_a, coordinator_a)
    assert not DataQuery.objects.exists()


def test_the_site_answers_and_the_monitor_closes_or_reopens(crs_a, monitor, coordinator_a):
    query = raise_on(crs_a, monitor, field="max_temp_c")
    queries.query_answer(
        query=query, text="Corrected to 38.9 on the episode.", author=coordinator_a
    )
    queries.query_reopen(query=query, text="The source says 39.0.", author=monitor)
    queries.query_answer(query=query, text="Now 39.0.", author=coordinator_a)
    queries.query_close(query=query, text="", author=monitor)

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert list(query.messages.values_list("action", flat=True)) == [
        "raised",
        "answered",
        "reopened",
        "answered",
        "closed",
    ]


def test_an_answer_cannot_carry_a_correction_of_a_record(crs_a, monitor, coordinator_a):
    query = raise_on(crs_a, monitor, field="max_temp_c")

    with pytest.raises(ValidationError) as refused:
        queries.query_answer(
            query=query,
            text="Corrected.",
            author=coordinator_a,
            new_value=Decimal("38.9"),
            change_reason="Transcription error",
        )

    assert refused.value.message_dict == {
        "new_value": [
            "Correct a record's value on the record's page, with the reason for the change, "
            "then answer."
        ]
    }
    query.refresh_from_db()
    assert (query.status, query.messages.count()) == (QueryStatus.OPEN, 1)
    crs_a.refresh_from_db()
    assert crs_a.max_temp_c == Decimal("38.5")


@pytest.mark.parametrize("kind", ["crs", "adverse_event", "treatment", "course"])
def test_deleting_a_record_deletes_its_queries_with_the_reason(
    participant_a, monitor, data_manager, kind
):
    record = record_of(kind, participant_a)
    query = raise_on(record, monitor)
    other = raise_on(record_crs(participant_a, onset=date(2026, 2, 20)), monitor)
    delete = {
        "crs": lambda: safety_services.episode_delete(
            episode=record, author=data_manager, reason="Entered twice"
        ),
        "adverse_event": lambda: safety_services.adverse_event_delete(
            event=record, author=data_manager, reason="Entered twice"
        ),
        "treatment": lambda: safety_services.treatment_record_delete(
            record=record, author=data_manager, reason="Entered twice"
        ),
        "course": lambda: medication_services.medication_course_delete(
            course=record, author=data_manager, reason="Entered twice"
        ),
    }[kind]

    delete()

    assert list(DataQuery.objects.all()) == [other]
    assert list(QueryMessage.objects.values_list("query_id", flat=True)) == [other.pk]
    deleted = DataQuery.history.get(id=query.pk, history_type="-")
    assert (deleted.history_user, deleted.history_change_reason) == (data_manager, "Entered twice")
    assert QueryMessage.history.filter(query_id=query.pk, history_type="-").count() == 1


def test_the_audit_trail_names_the_participant_of_a_record_query(crs_a, monitor, participant_a):
    query = raise_on(crs_a, monitor, field="max_temp_c")
    sources = trial_data_sources(
        Participant.objects.filter(pk=participant_a.pk).values("id"), monitor
    )
    named = {
        str(entry.what): entry
        for source in sources
        for _record, entry in versions(source.history, source.what, source.related_sets)
    }
    assert f"query Q{query.pk} on highest temperature (°C)" in named
    assert f"query Q{query.pk} message" in named


# --------------------------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------------------------


def test_a_record_query_stays_within_its_site(crs_a, crs_b, monitor, coordinator_a):
    mine, theirs = raise_on(crs_a, monitor), raise_on(crs_b, monitor)
    assert list(queries.queries_visible_to(coordinator_a)) == [mine]
    assert set(queries.queries_visible_to(monitor)) == {mine, theirs}


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_sites_record_is_not_found(client, crs_b, coordinator_a, method):
    client.force_login(coordinator_a)
    response = getattr(client, method)(raise_url(crs_b), {"field": "", "text": "?"})
    assert response.status_code == 404
    assert not DataQuery.objects.exists()


@pytest.mark.parametrize("kind", ["trialsite.visit", "auth.user", "safety.nosuchthing"])
def test_only_registered_records_can_be_queried(client, monitor, crs_a, kind):
    client.force_login(monitor)
    assert client.get(reverse("query_raise_on_record", args=[kind, crs_a.pk])).status_code == 404


def test_a_role_without_the_right_to_see_a_kind_of_record_cannot_query_it(client, crs_a, monitor):
    query = raise_on(crs_a, monitor)
    limited = UserFactory(username="limited", role="Monitor")
    limited.groups.get().permissions.remove(Permission.objects.get(codename="view_crsepisode"))
    limited = type(limited).objects.get(pk=limited.pk)  # its rights read afresh
    client.force_login(limited)
    assert client.get(raise_url(crs_a)).status_code == 403
    # To a reader who may not see the record, its queries do not exist.
    assert client.get(query.get_absolute_url()).status_code == 404


def test_the_sites_staff_cannot_open_the_raise_page(client, crs_a, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get(raise_url(crs_a)).status_code == 403
    assert client.post(raise_url(crs_a), {"field": "", "text": "?"}).status_code == 403
    assert not DataQuery.objects.exists()


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("kind", ["crs", "icans", "adverse_event"])
def test_a_monitor_raises_a_query_from_the_records_page(client, participant_a, monitor, kind):
    record = record_of(kind, participant_a)
    field, label, _value, _subject = KINDS[kind]
    client.force_login(monitor)
    page = page_text(client.get(page_of(kind, record)))
    assert "Raise a query" in page
    assert f'action="{raise_url(record)}"' in page
    assert f'<option value="{field}">{label[0].upper()}{label[1:]}</option>' in page or (
        f'<option value="{field}">{label}</option>' in page
    )

    response = client.post(raise_url(record), {"field": field, "text": "Check the source."})

    assert response.url == page_of(kind, record)
    query = DataQuery.objects.get()
    page = page_text(client.get(response.url))
    assert f'href="{query.get_absolute_url()}"' in page
    assert "Check the source." in page
    # The badge beside the queried entry.
    entry = page[page.index(f'<dt class="col-sm-4">{label[0].upper()}{label[1:]}') :]
    assert entry.index("1 open query") < entry.index("</dt>")


def test_the_raise_page_of_a_record_without_a_page_of_its_own(client, participant_a, monitor):
    course = record_course(participant_a).course
    client.force_login(monitor)
    page = page_text(client.get(raise_url(course)))
    assert "S01-001 · Prednisolone course from 2026-01-05" in page
    assert '<option value="daily_dose_mg">' in page

    response = client.post(raise_url(course), {"field": "daily_dose_mg", "text": "10 or 15?"})

    assert response.url == page_of("course", course)
    assert DataQuery.objects.get().record == course


def test_raising_without_a_question_keeps_the_form_with_its_error(client, crs_a, monitor):
    client.force_login(monitor)
    page = page_text(client.post(raise_url(crs_a), {"field": "oxygen", "text": ""}))
    assert "This field is required." in page
    assert not DataQuery.objects.exists()


def test_the_participant_page_offers_queries_on_the_treatment_and_each_course(
    client, participant_a, monitor, coordinator_a
):
    treatment, course = record_treatment(participant_a), record_course(participant_a).course
    url = reverse("participant_detail", args=[participant_a.pk])
    client.force_login(monitor)
    page = page_text(client.get(url))
    assert f'href="{raise_url(treatment)}"' in page
    assert f'href="{raise_url(course)}"' in page
    client.force_login(coordinator_a)
    page = page_text(client.get(url))
    assert raise_url(treatment) not in page
    assert raise_url(course) not in page


def test_the_participant_page_lists_the_queries_on_its_records(
    client, participant_a, crs_a, monitor, coordinator_a
):
    treatment = record_treatment(participant_a)
    on_crs = raise_on(crs_a, monitor, field="oxygen", text="Nasal cannula flow?")
    on_treatment = raise_on(treatment, monitor, field="weight_kg", text="Weight at infusion?")
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse("participant_detail", args=[participant_a.pk])))
    assert "Queries on treatment, safety and medication records" in page
    for query, subject in (
        (on_crs, "CRS episode from 2026-02-12"),
        (on_treatment, "CAR-T treatment record"),
    ):
        assert f'href="{query.get_absolute_url()}"' in page
        assert f'<a href="{query.subject_url}">{subject}</a>' in page
    assert "Nasal cannula flow?" in page


def test_a_participant_without_record_queries_shows_no_such_section(client, crs_a, monitor):
    client.force_login(monitor)
    page = page_text(client.get(reverse("participant_detail", args=[crs_a.participant_id])))
    assert "Queries on treatment, safety and medication records" not in page


def test_the_query_page_of_a_record_links_it_and_sends_corrections_there(
    client, crs_a, monitor, coordinator_a
):
    query = raise_on(crs_a, monitor, field="hypotension", text="One vasopressor or two?")
    client.force_login(coordinator_a)
    page = page_text(client.get(query.get_absolute_url()))
    episode_url = reverse("crs_episode_detail", args=[crs_a.pk])
    assert (
        f'<a href="{episode_url}" id="queried-record">S01-001 · CRS episode from 2026-02-12' in page
    )
    assert f"Query Q{query.pk}: Hypotension" in page
    assert "needing one vasopressor" in page  # the current value
    assert "Corrected value" not in page
    assert "Correct a record&#x27;s value on the record&#x27;s page" in page

    response = client.post(
        reverse("query_answer", args=[query.pk]),
        {"answer-text": "One: noradrenaline only.", "answer-new_value": "38"},
    )

    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    crs_a.refresh_from_db()
    assert crs_a.max_temp_c == Decimal("38.5")  # a stray corrected value is not a field here


@pytest.mark.parametrize("screen", ["query_list", "home"])
def test_the_query_list_and_home_name_the_record(client, crs_a, monitor, coordinator_a, screen):
    query = raise_on(crs_a, monitor, field="oxygen")
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse(screen)))
    episode_url = reverse("crs_episode_detail", args=[crs_a.pk])
    assert (
        f'<a href="{episode_url}"><span class="text-nowrap">S01-001</span> '
        "CRS episode from 2026-02-12</a>"
    ) in page
    assert f'href="{query.get_absolute_url()}"' in page
    assert "Oxygen" in page


# The query list, Home and the participant page read the queries on records in a fixed number
# of database queries, whatever their number (the records come in one query per kind). Home is
# the largest: its recent changes read the heads of each audit history once, then the rows of
# the kinds named by their values (eight kinds at most: sign-offs, queries and their messages,
# episodes, adverse events, medication courses) and the authors (trialsite.selectors).
RECORD_QUERY_PAGES_BUDGET = 54


@pytest.mark.parametrize("screen", ["query_list", "home", "participant_detail"])
def test_the_pages_do_not_grow_with_the_record_queries(
    client, participant_a, monitor, coordinator_a, django_assert_max_num_queries, screen
):
    records = [
        record_treatment(participant_a),
        record_course(participant_a).course,
        record_adverse_event(participant_a),
        record_icans(participant_a),
        *(record_crs(participant_a, onset=date(2026, 2, 10 + day)) for day in range(6)),
    ]
    url = (
        reverse(screen, args=[participant_a.pk])
        if screen == "participant_detail"
        else reverse(screen)
    )
    client.force_login(coordinator_a)
    counts = []
    for size in (5, 9):  # every kind at both sizes (under Home's 10, which adds a count)
        for record in records[len(DataQuery.objects.all()) : size]:
            raise_on(record, monitor)  # open: the coordinator's Home lists each
        with django_assert_max_num_queries(RECORD_QUERY_PAGES_BUDGET) as captured:
            page_text(client.get(url))
        counts.append(len(captured))
    assert counts[1] <= counts[0]


def test_the_episode_page_marks_a_queried_date(client, crs_a, monitor):
    raise_on(crs_a, monitor, field="onset_date")
    client.force_login(monitor)
    page = page_text(client.get(reverse("crs_episode_detail", args=[crs_a.pk])))
    entry = page[page.index('<dt class="col-sm-4">Onset date') :]
    assert entry.index("1 open query") < entry.index("</dt>")
    assert page.count("1 open query") == 1
