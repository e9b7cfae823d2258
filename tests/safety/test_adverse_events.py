"""Adverse events: the CTCAE term list, every rule the service and the database hold, the audit,
the acknowledgement of a serious event and its withdrawal, the pages (site boundary 404, rights
403, errors on their fields, the term's list), Home's panel, the safety report's table by term
and grade, admin, and the query budgets."""

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from safety import ctcae, services
from safety.ctcae import (
    CTCAE_SOC_OF_TERM,
    CTCAE_TERMS_BY_SOC,
    OTHER_SPECIFY_SUFFIX,
    astct_syndrome,
    listed_spelling,
)
from safety.models import AdverseEvent
from safety.selectors import adverse_event_table, safety_summary
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.pages import opened_version
from tests.safety.test_report_views import SAFETY_QUERY_BUDGET
from tests.safety.test_views import PARTICIPANT_PAGE_BUDGET
from tests.trialsite.test_views import QUERY_BUDGET as HOME_BUDGET
from trialsite import services as trialsite_services
from trialsite.models import Participant

REASON = "Entered from the ward chart"
#: participant_a: enrolled 2026-01-05, infused 2026-02-09 (tests/factories.py).
ENROLLED = date(2026, 1, 5)
INFUSED = date(2026, 2, 9)

#: A grade 3 neutropenia from day 3 to day 10 of participant_a, not serious.
NEUTROPENIA = {
    "term": "Neutrophil count decreased",
    "grade": 3,
    "start_date": date(2026, 2, 12),
    "end_date": date(2026, 2, 19),
    "related_cart": "possible",
    "related_ld": "probable",
    "action": "none",
    "outcome": "recovered",
}
#: A grade 3 lung infection, serious (hospitalisation), ongoing.
LUNG_INFECTION = {
    "term": "Lung infection",
    "grade": 3,
    "start_date": date(2026, 3, 20),
    "end_date": None,
    "serious": True,
    "hospitalisation": True,
    "related_cart": "possible",
    "related_ld": "not",
    "action": "hospitalisation",
    "outcome": "recovering",
}


def event(participant, **entries) -> AdverseEvent:
    return AdverseEvent(participant=participant, **{**NEUTROPENIA, **entries})


def record(participant, *, author=None, **entries) -> AdverseEvent:
    return services.adverse_event_save(
        event=event(participant, **entries), author=author, reason=REASON
    )


def record_sae(participant, *, author=None, **entries) -> AdverseEvent:
    return record(participant, author=author, **{**LUNG_INFECTION, **entries})


@pytest.fixture
def author(site_a):
    return UserFactory(username="author", role="Coordinator", sites=[site_a])


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --------------------------------------------------------------------------------------------
# The CTCAE term list
# --------------------------------------------------------------------------------------------


def test_every_soc_of_the_list_has_its_other_specify_term_and_no_term_is_listed_twice():
    terms = [term for terms in CTCAE_TERMS_BY_SOC.values() for term in terms]
    assert len(terms) == len(set(terms)) == len(CTCAE_SOC_OF_TERM)
    for soc, soc_terms in CTCAE_TERMS_BY_SOC.items():
        assert f"{soc}{OTHER_SPECIFY_SUFFIX}" in soc_terms


def test_the_term_list_imports_no_django():
    tree = ast.parse(Path(ctcae.__file__).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }
    assert not {name for name in imported if name.split(".")[0] == "django"}


def test_crs_and_icans_are_not_in_the_list():
    assert "Cytokine release syndrome" not in CTCAE_SOC_OF_TERM
    assert [term for term in CTCAE_SOC_OF_TERM if astct_syndrome(term)] == []
    assert "Encephalopathy" not in CTCAE_SOC_OF_TERM


@pytest.mark.parametrize(
    ("text", "syndrome"),
    [
        ("Cytokine release syndrome", "CRS"),
        ("cytokine-release syndrome, grade 2", "CRS"),
        ("CRS", "CRS"),
        ("ICANS", "ICANS"),
        ("Immune effector cell-associated neurotoxicity syndrome", "ICANS"),
        ("Scratch on the arm", None),
        ("Crusted rash", None),  # "crs" inside a word is not CRS
    ],
)
def test_crs_and_icans_are_recognised_in_a_term_or_a_description(text, syndrome):
    assert astct_syndrome(text) == syndrome


def test_a_term_is_found_whatever_its_letter_case_and_spacing():
    assert listed_spelling("  neutrophil   COUNT decreased ") == "Neutrophil count decreased"
    assert listed_spelling("Neutropenia") is None


# --------------------------------------------------------------------------------------------
# The service: saved with its audit entry, every rule refused on its field
# --------------------------------------------------------------------------------------------


def test_an_adverse_event_is_saved_with_its_audit_entry(participant_a, author):
    saved = record(participant_a, author=author)

    stored = AdverseEvent.objects.get(pk=saved.pk)
    assert (stored.term, stored.grade, stored.serious, stored.acknowledged_at) == (
        "Neutrophil count decreased",
        3,
        False,
        None,
    )
    version = stored.history.get()
    assert (version.history_user, version.history_change_reason) == (author, REASON)


#: Each rule of an adverse event: the entries that break it, the field the refusal is on and
#: (part of) what it says.
REFUSALS = [
    pytest.param({"term": "Neutropenia"}, "term", "Not a CTCAE v5.0 term", id="unknown-term"),
    pytest.param(
        {"term": "Cytokine release syndrome"},
        "term",
        "recorded as a CRS episode",
        id="crs-term",
    ),
    pytest.param({"term": "ICANS"}, "term", "recorded as an ICANS episode", id="icans-term"),
    pytest.param(
        {"term": "neutrophil count decreased"},
        "term",
        'Write the term as CTCAE spells it: "Neutrophil count decreased".',
        id="term-spelt-otherwise",
    ),
    pytest.param(
        {"term": "Investigations - Other, specify"},
        "term_specify",
        "Describe the event",
        id="other-specify-without-description",
    ),
    pytest.param(
        {"term_specify": "left arm"},
        "term_specify",
        "Leave the description empty",
        id="description-of-a-listed-term",
    ),
    pytest.param(
        {
            "term": "Immune system disorders - Other, specify",
            "term_specify": "cytokine release syndrome",
        },
        "term_specify",
        "recorded as a CRS episode",
        id="crs-described-as-other",
    ),
    pytest.param({"grade": 0}, "grade", "not a valid choice", id="grade-0"),
    pytest.param({"grade": 6}, "grade", "not a valid choice", id="grade-6"),
    pytest.param(
        {"grade": 5, "serious": True, "results_in_death": True},
        "outcome",
        "A grade 5 event is fatal",
        id="grade-5-not-fatal",
    ),
    pytest.param({"outcome": "fatal"}, "grade", "A fatal event is grade 5", id="fatal-not-grade-5"),
    pytest.param(
        {"grade": 5, "outcome": "fatal"},
        "serious",
        "An event that results in death is serious",
        id="death-not-serious",
    ),
    pytest.param(
        {"serious": True, "results_in_death": True},
        "results_in_death",
        "criterion of a grade 5",
        id="death-criterion-below-grade-5",
    ),
    pytest.param(
        {"life_threatening": True},
        "serious",
        "Tick serious, or clear the seriousness criteria.",
        id="criterion-of-an-event-not-serious",
    ),
    pytest.param(
        {"action": "hospitalisation"},
        "serious",
        "led to hospitalisation",
        id="hospitalised-not-serious",
    ),
    pytest.param(
        {"end_date": date(2026, 2, 11)},
        "end_date",
        "The end date cannot be before the start date.",
        id="end-before-start",
    ),
    pytest.param({"end_date": None}, "end_date", "has ended", id="recovered-without-end-date"),
    pytest.param(
        {"outcome": "recovering"},
        "end_date",
        "still going on",
        id="recovering-with-end-date",
    ),
    pytest.param(
        {"start_date": date(2026, 1, 4), "related_cart": "not"},
        "start_date",
        "The start date cannot be before enrolment (2026-01-05).",
        id="start-before-enrolment",
    ),
    pytest.param(
        {"start_date": date(2026, 2, 8)},
        "related_cart",
        "started before the CAR-T infusion (2026-02-09)",
        id="cart-related-before-infusion",
    ),
    pytest.param(
        {"start_date": timezone.localdate() + timedelta(days=1), "end_date": None},
        "start_date",
        "This date is in the future.",
        id="start-in-the-future",
    ),
    pytest.param(
        {"related_ld": "maybe"}, "related_ld", "not a valid choice", id="unknown-relatedness"
    ),
    pytest.param({"action": "dose_reduced"}, "action", "not a valid choice", id="unknown-action"),
    pytest.param({"outcome": "resolved"}, "outcome", "not a valid choice", id="unknown-outcome"),
]


@pytest.mark.parametrize(("entries", "field", "message"), REFUSALS)
def test_the_service_refuses_each_rule_on_its_field(participant_a, entries, field, message):
    with pytest.raises(ValidationError) as refused:
        record(participant_a, **entries)

    errors = refused.value.message_dict
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors
    assert not AdverseEvent.objects.exists()


def test_an_event_related_to_cart_cannot_belong_to_a_participant_not_infused(study, site_a):
    waiting = ParticipantFactory(study=study, site=site_a, infusion_date=None)
    with pytest.raises(ValidationError) as refused:
        record(waiting)
    assert "has no infusion date" in refused.value.message_dict["related_cart"][0]
    assert record(waiting, related_cart="not").pk is not None  # after leukapheresis, say


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param({"start_date": ENROLLED, "related_cart": "not"}, id="start-on-enrolment"),
        pytest.param({"start_date": INFUSED, "related_cart": "definite"}, id="on-infusion-day"),
        pytest.param({"end_date": NEUTROPENIA["start_date"]}, id="one-day-event"),
        pytest.param({"outcome": "unknown", "end_date": None}, id="unknown-outcome-ongoing"),
        pytest.param({"outcome": "unknown"}, id="unknown-outcome-ended"),
        pytest.param(
            {
                "grade": 5,
                "outcome": "fatal",
                "serious": True,
                "results_in_death": True,
                "end_date": date(2026, 2, 20),
            },
            id="fatal-grade-5",
        ),
        pytest.param(
            {"term": "Investigations - Other, specify", "term_specify": "IgG decreased"},
            id="other-specify-described",
        ),
    ],
)
def test_the_boundaries_of_each_rule_are_accepted(participant_a, entries):
    assert record(participant_a, **entries).pk is not None


def test_a_serious_event_may_be_saved_without_criteria_by_the_service(participant_a):
    # The import cannot carry criteria (adverse_events.csv has no column for them).
    saved = record_sae(participant_a, hospitalisation=False)
    assert (saved.serious, saved.criteria) == (True, [])


def test_two_events_of_different_terms_may_start_the_same_day_but_not_one_term_twice(
    participant_a,
):
    record(participant_a)
    record(participant_a, term="Lymphocyte count decreased", grade=4, related_cart="not")
    described = {"term": "Investigations - Other, specify", "end_date": None, "outcome": "unknown"}
    record(participant_a, **described, term_specify="IgG decreased")
    record(participant_a, **described, term_specify="IgA decreased")

    with pytest.raises(ValidationError) as refused:
        record(participant_a, grade=4)
    assert refused.value.message_dict == {
        "start_date": [
            f'{participant_a} already has an adverse event "Neutrophil count decreased" '
            "starting on this date; open it to change it."
        ]
    }
    assert AdverseEvent.objects.count() == 4


#: Each invariant the database holds, broken by a row written without the service.
DATABASE_REFUSALS = [
    pytest.param({"grade": 6}, id="grade-above-5"),
    pytest.param({"grade": 0}, id="grade-0"),
    pytest.param({"grade": 5, "serious": True}, id="grade-5-not-fatal"),
    pytest.param({"outcome": "fatal"}, id="fatal-not-grade-5"),
    pytest.param({"grade": 5, "outcome": "fatal"}, id="death-not-serious"),
    pytest.param({"serious": True, "results_in_death": True}, id="death-criterion-grade-3"),
    pytest.param({"disability": True}, id="criterion-not-serious"),
    pytest.param({"action": "hospitalisation"}, id="hospitalised-not-serious"),
    pytest.param({"term": "Investigations - Other, specify"}, id="other-not-described"),
    pytest.param({"term_specify": "left arm"}, id="listed-term-described"),
    pytest.param({"end_date": date(2026, 2, 1)}, id="end-before-start"),
    pytest.param({"end_date": None}, id="recovered-ongoing"),
    pytest.param({"outcome": "not_recovered"}, id="not-recovered-ended"),
    pytest.param({"acknowledged_at": timezone.now()}, id="acknowledged-without-author"),
    pytest.param({"related_cart": "maybe"}, id="unknown-relatedness-cart"),
    pytest.param({"related_ld": "maybe"}, id="unknown-relatedness-ld"),
    pytest.param({"action": "dose_reduced"}, id="unknown-action"),
    pytest.param({"outcome": "resolved"}, id="unknown-outcome"),
]


@pytest.mark.parametrize("entries", DATABASE_REFUSALS)
def test_the_database_refuses_what_the_service_refuses(participant_a, entries):
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(participant=participant_a, **{**NEUTROPENIA, **entries})


def test_the_database_refuses_an_acknowledgement_of_an_event_not_serious(participant_a, monitor):
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(
            participant=participant_a,
            **NEUTROPENIA,
            acknowledged_by=monitor,
            acknowledged_at=timezone.now(),
        )


def test_the_database_refuses_the_same_event_twice(participant_a):
    AdverseEvent.objects.create(participant=participant_a, **NEUTROPENIA)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(participant=participant_a, **NEUTROPENIA)


def test_a_participants_dates_cannot_move_past_a_recorded_adverse_event(participant_a, author):
    record(participant_a, start_date=date(2026, 1, 20), related_cart="not")
    record(participant_a, start_date=INFUSED, related_cart="possible")

    participant_a.enrollment_date = date(2026, 1, 21)
    participant_a.infusion_date = date(2026, 2, 10)
    with pytest.raises(ValidationError) as refused:
        trialsite_services.participant_save(
            participant=participant_a, author=author, reason="Dates corrected"
        )

    errors = refused.value.message_dict
    assert "An adverse event starts on 2026-01-20" in errors["enrollment_date"][0]
    assert "related to the CAR-T cells" in errors["infusion_date"][-1]
    participant_a.refresh_from_db()
    assert participant_a.enrollment_date == ENROLLED


# --------------------------------------------------------------------------------------------
# Acknowledgement of a serious adverse event
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Monitor", "Data manager"])
def test_a_monitor_or_data_manager_acknowledges_a_serious_event(participant_a, role):
    user = UserFactory(role=role)
    sae = record_sae(participant_a)

    services.sae_acknowledge(event=sae, author=user)

    sae.refresh_from_db()
    assert sae.acknowledged_by == user
    assert sae.acknowledged_at is not None
    version = sae.history.latest()
    assert (version.history_user, version.history_change_reason) == (
        user,
        "serious adverse event acknowledged",
    )


@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_site_staff_do_not_acknowledge(participant_a, site_a, role):
    sae = record_sae(participant_a)
    with pytest.raises(PermissionDenied):
        services.sae_acknowledge(event=sae, author=UserFactory(role=role, sites=[site_a]))
    sae.refresh_from_db()
    assert sae.acknowledged_at is None


def test_only_a_serious_event_is_acknowledged_and_only_once(participant_a, monitor):
    with pytest.raises(ValidationError, match="Only a serious adverse event"):
        services.sae_acknowledge(event=record(participant_a), author=monitor)
    sae = record_sae(participant_a)
    services.sae_acknowledge(event=sae, author=monitor)
    with pytest.raises(ValidationError, match="already acknowledged"):
        services.sae_acknowledge(event=sae, author=monitor)


@pytest.mark.parametrize(
    ("change", "withdrawn"),
    [
        pytest.param({"grade": 4}, True, id="grade"),
        pytest.param({"term": "Sepsis"}, True, id="term"),
        pytest.param({"life_threatening": True}, True, id="criterion-added"),
        pytest.param(
            {
                "serious": False,
                "hospitalisation": False,
                "action": "treatment_given",
            },
            True,
            id="no-longer-serious",
        ),
        pytest.param(
            {"end_date": date(2026, 3, 30), "outcome": "recovered"}, False, id="end-and-outcome"
        ),
        pytest.param({"related_ld": "unlikely"}, True, id="relatedness-to-lymphodepletion"),
        pytest.param({"related_cart": "definite"}, True, id="relatedness-to-car-t"),
        pytest.param({"start_date": date(2026, 3, 15)}, True, id="start-date"),
    ],
)
def test_a_change_of_what_was_acknowledged_withdraws_the_acknowledgement(
    participant_a, monitor, author, change, withdrawn
):
    sae = record_sae(participant_a)
    services.sae_acknowledge(event=sae, author=monitor)
    sae.refresh_from_db()
    for field, value in change.items():
        setattr(sae, field, value)

    services.adverse_event_save(event=sae, author=author, reason="Chart re-read")

    sae.refresh_from_db()
    assert (sae.acknowledged_at is None) is withdrawn
    assert (sae.acknowledged_by is None) is withdrawn


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------

#: A serious lung infection as the form posts it.
FORM_SAE = {
    "term": "Lung infection",
    "grade": "3",
    "start_date": "2026-03-20",
    "end_date": "",
    "serious": "on",
    "hospitalisation": "on",
    "related_cart": "possible",
    "related_ld": "not",
    "action": "hospitalisation",
    "outcome": "recovering",
}


def test_coordinator_records_a_serious_event_and_sees_it(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    data = {**FORM_SAE, "term": "  lung INFECTION "}  # taken in CTCAE's spelling
    response = client.post(reverse("adverse_event_create", args=[participant_a.pk]), data)

    sae = AdverseEvent.objects.get(participant=participant_a)
    assert response.status_code == 302
    assert response.url == reverse("adverse_event_detail", args=[sae.pk])
    assert (sae.term, sae.grade, sae.serious, sae.criteria) == (
        "Lung infection",
        3,
        True,
        ["hospitalisation"],
    )
    created = sae.history.get()
    assert (created.history_user, created.history_change_reason) == (coordinator_a, "Initial entry")
    page = page_text(client.get(response.url))
    assert "Adverse event saved." in page
    assert "Adverse event: Lung infection from 2026-03-20" in page
    assert "Infections and infestations" in page
    assert "Seriousness criteria: requires hospitalisation or prolongs it" in page
    assert "Awaiting acknowledgement by a monitor or data manager." in page
    assert "Acknowledge this serious adverse event" not in page  # a coordinator does not

    listing = page_text(client.get(reverse("participant_detail", args=[participant_a.pk])))
    assert "Lung infection" in listing
    assert "awaiting acknowledgement" in listing
    assert "CAR-T: possibly related; lymphodepletion: not related" in listing


def test_the_form_offers_the_ctcae_terms_and_sends_crs_and_icans_to_their_episodes(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    page = page_text(client.get(reverse("adverse_event_create", args=[participant_a.pk])))
    assert 'list="ctcae-terms"' in page
    assert '<datalist id="ctcae-terms">' in page
    assert '<option value="Neutrophil count decreased">Investigations</option>' in page
    datalist = page.split('<datalist id="ctcae-terms">')[1].split("</datalist>")[0]
    assert datalist.count("<option value=") == len(CTCAE_SOC_OF_TERM)
    assert "Cytokine release syndrome (CRS) and ICANS are not recorded here" in page
    assert reverse("crs_episode_create", args=[participant_a.pk]) in page
    assert "checked" not in page  # no level is chosen for the user
    assert "<script>" not in page  # strict CSP: scripts come from static files only


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"hospitalisation": ""},
            "serious",
            "A serious event needs at least one seriousness criterion",
            id="serious-without-criterion",
        ),
        pytest.param(
            {"term": "Cytokine release syndrome"},
            "term",
            "recorded as a CRS episode",
            id="crs",
        ),
        pytest.param({"term": "Neutropenia"}, "term", "Not a CTCAE v5.0 term", id="unknown-term"),
        pytest.param({"grade": "5"}, "outcome", "A grade 5 event is fatal", id="grade-5-not-fatal"),
        pytest.param(
            {"start_date": "2026-02-08"},
            "related_cart",
            "started before the CAR-T infusion",
            id="cart-before-infusion",
        ),
        pytest.param(
            {"end_date": "2026-03-25"}, "end_date", "still going on", id="recovering-ended"
        ),
        pytest.param({"grade": ""}, "grade", "This field is required.", id="grade-unanswered"),
    ],
)
def test_the_form_shows_each_refusal_on_its_field(
    client, coordinator_a, participant_a, change, field, message
):
    client.force_login(coordinator_a)
    data = {key: value for key, value in {**FORM_SAE, **change}.items() if value != ""}
    response = client.post(reverse("adverse_event_create", args=[participant_a.pk]), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in text for text in errors[field]), errors
    assert "needs attention" in response.content.decode()
    assert not AdverseEvent.objects.exists()


def test_a_serious_imported_event_shows_its_criteria_not_recorded(client, monitor, participant_a):
    sae = record_sae(participant_a, hospitalisation=False)
    client.force_login(monitor)
    page = page_text(client.get(reverse("adverse_event_detail", args=[sae.pk])))
    assert "Seriousness criteria: criteria not recorded" in page
    assert "Acknowledge this serious adverse event" in page


def test_a_change_needs_a_reason_and_withdraws_the_acknowledgement(
    client, coordinator_a, monitor, participant_a
):
    sae = record_sae(participant_a)
    services.sae_acknowledge(event=sae, author=monitor)
    client.force_login(coordinator_a)
    url = reverse("adverse_event_edit", args=[sae.pk])
    page = page_text(client.get(url))
    assert (
        "Changing the term, the grade, the start date, the seriousness or the relatedness "
        "withdraws the acknowledgement" in page
    )
    data = {**FORM_SAE, "grade": "4", "opened_version": opened_version(client, url)}
    assert "This field is required." in page_text(client.post(url, data))

    response = client.post(url, {**data, "change_reason": "Grade 4 in the discharge letter"})

    assert response.status_code == 302
    sae.refresh_from_db()
    assert (sae.grade, sae.acknowledged_at) == (4, None)
    assert sae.history.latest().history_change_reason == "Grade 4 in the discharge letter"
    page = page_text(client.get(response.url))
    assert "the acknowledgement was withdrawn" in page


def test_a_form_opened_before_another_change_is_refused(client, coordinator_a, participant_a):
    sae = record_sae(participant_a)
    client.force_login(coordinator_a)
    url = reverse("adverse_event_edit", args=[sae.pk])
    opened = opened_version(client, url)
    sae.end_date = date(2026, 3, 27)
    sae.outcome = "recovered"
    services.adverse_event_save(event=sae, author=None, reason="Discharged")

    response = client.post(
        url, {**FORM_SAE, "opened_version": opened, "change_reason": "Grade corrected"}
    )

    assert "another user changed this record after you opened it" in page_text(response)
    sae.refresh_from_db()
    assert sae.end_date == date(2026, 3, 27)


@pytest.mark.parametrize("name", ["create", "detail", "edit", "acknowledge"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_sites_adverse_events_are_not_found(
    client, coordinator_a, participant_b, name, method
):
    sae = record_sae(participant_b)
    target = participant_b.pk if name == "create" else sae.pk
    client.force_login(coordinator_a)
    response = getattr(client, method)(reverse(f"adverse_event_{name}", args=[target]), FORM_SAE)
    assert response.status_code == 404
    assert AdverseEvent.objects.get().grade == 3


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("Monitor", "create"),
        ("Monitor", "edit"),
        ("Coordinator", "acknowledge"),
        ("Investigator", "acknowledge"),
    ],
)
def test_pages_need_their_right(client, site_a, participant_a, role, name):
    sae = record_sae(participant_a)
    target = participant_a.pk if name == "create" else sae.pk
    client.force_login(UserFactory(role=role, sites=[site_a]))
    url = reverse(f"adverse_event_{name}", args=[target])
    assert client.get(url).status_code == 403
    assert client.post(url, FORM_SAE).status_code == 403
    sae.refresh_from_db()
    assert sae.acknowledged_at is None
    assert AdverseEvent.objects.count() == 1


def test_a_user_without_a_role_sees_no_adverse_event(client, site_a, participant_a):
    sae = record_sae(participant_a)
    client.force_login(UserFactory(username="no_role", sites=[site_a]))
    assert client.get(reverse("adverse_event_detail", args=[sae.pk])).status_code == 403
    assert "Safety: adverse events" not in page_text(
        client.get(reverse("participant_detail", args=[participant_a.pk]))
    )


def test_monitor_acknowledges_on_the_event_page(client, monitor, participant_a):
    sae = record_sae(participant_a)
    client.force_login(monitor)
    url = reverse("adverse_event_detail", args=[sae.pk])
    response = client.post(
        reverse("adverse_event_acknowledge", args=[sae.pk]),
        {"opened_version": opened_version(client, url)},
    )
    assert response.url == url
    page = page_text(client.get(url))
    assert "Serious adverse event acknowledged: S01-001, Lung infection." in page
    assert f"Acknowledged by {monitor.username} on" in page
    assert "Acknowledge this serious adverse event" not in page


def test_an_acknowledgement_of_a_changed_event_is_refused(client, monitor, participant_a):
    sae = record_sae(participant_a)
    client.force_login(monitor)
    url = reverse("adverse_event_detail", args=[sae.pk])
    opened = opened_version(client, url)
    sae.grade = 4
    services.adverse_event_save(event=sae, author=None, reason="Grade 4")

    client.post(reverse("adverse_event_acknowledge", args=[sae.pk]), {"opened_version": opened})

    sae.refresh_from_db()
    assert sae.acknowledged_at is None
    assert "Not acknowledged: the event changed after you opened the page." in page_text(
        client.get(url)
    )


def test_the_participant_page_reads_the_adverse_events_in_a_fixed_number_of_queries(
    client, coordinator_a, monitor, participant_a, django_assert_max_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("participant_detail", args=[participant_a.pk])
    counts = []
    for count in (1, 6):
        AdverseEvent.objects.all().delete()
        for day in range(count):
            sae = record_sae(participant_a, start_date=date(2026, 3, 1) + timedelta(days=day))
            services.sae_acknowledge(event=sae, author=monitor)
        with django_assert_max_num_queries(PARTICIPANT_PAGE_BUDGET) as captured:
            page = page_text(client.get(url))
        assert page.count(">acknowledged</span>") == count
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------------
# Home: serious adverse events awaiting acknowledgement
# --------------------------------------------------------------------------------------------


def sae_panel(page: str) -> str:
    """Return Home's panel of serious adverse events ("" when Home shows none)."""
    if 'id="unacknowledged-saes"' not in page:
        return ""
    return page.split('id="unacknowledged-saes"')[1].split("</section>")[0]


def test_home_lists_a_sites_unacknowledged_serious_events_to_its_staff_only(
    client, coordinator_a, participant_a, participant_b
):
    record_sae(participant_a)
    record_sae(participant_b, term="Sepsis")
    record(participant_a, start_date=date(2026, 3, 1), end_date=date(2026, 3, 5))  # not serious
    client.force_login(coordinator_a)

    page = page_text(client.get(reverse("home")))

    panel = sae_panel(page)
    assert "Unacknowledged serious adverse events" in panel
    assert "Lung infection" in panel
    assert "Sepsis" not in page  # another site's
    assert "Neutrophil count decreased" not in panel  # not serious
    assert "Awaiting acknowledgement by a monitor or data manager." in panel
    assert "/acknowledge/" not in page  # a coordinator has no button


def test_a_monitor_acknowledges_from_home_and_the_event_leaves_it(
    client, monitor, participant_a, participant_b
):
    sae = record_sae(participant_a)
    record_sae(participant_b, term="Sepsis")
    client.force_login(monitor)
    panel = sae_panel(page_text(client.get(reverse("home"))))
    assert "Lung infection" in panel
    assert "Sepsis" in panel
    version = str(sae.history.latest().history_id)
    assert f'name="opened_version" value="{version}"' in panel

    response = client.post(
        reverse("adverse_event_acknowledge", args=[sae.pk]),
        {"opened_version": version, "return_to": "home"},
    )

    assert response.url == reverse("home")
    page = page_text(client.get(response.url))
    assert "Serious adverse event acknowledged: S01-001, Lung infection." in page
    assert "Sepsis" in sae_panel(page)
    assert "Lung infection" not in sae_panel(page)
    sae.refresh_from_db()
    assert sae.acknowledged_by == monitor


def test_home_shows_no_panel_when_nothing_awaits(client, monitor, participant_a):
    services.sae_acknowledge(event=record_sae(participant_a), author=monitor)
    client.force_login(monitor)
    assert sae_panel(page_text(client.get(reverse("home")))) == ""


def test_home_lists_the_gravest_then_newest_and_says_how_many_await(
    client, data_manager, participant_a
):
    for day in range(12):
        record_sae(participant_a, start_date=date(2026, 3, 1) + timedelta(days=day))
    # The oldest event is the gravest: it comes first, before the newer grade 3 events.
    oldest = AdverseEvent.objects.get(start_date=date(2026, 3, 1))
    oldest.grade = 4
    services.adverse_event_save(event=oldest, author=data_manager, reason="Grade re-read")
    client.force_login(data_manager)
    panel = sae_panel(page_text(client.get(reverse("home"))))
    assert "The 10 gravest and newest of 12" in panel
    assert panel.index("2026-03-01") < panel.index("2026-03-12") < panel.index("2026-03-04")
    assert "2026-03-03" not in panel
    assert "2026-03-02" not in panel


def test_homes_panel_reads_a_fixed_number_of_queries(
    client, monitor, study, site_a, django_assert_max_num_queries
):
    client.force_login(monitor)
    counts = []
    for size in (2, 12):
        AdverseEvent.objects.all().delete()
        for n in range(size):
            participant = ParticipantFactory(study=study, site=site_a)
            record_sae(participant, start_date=date(2026, 3, 1) + timedelta(days=n % 20))
        with django_assert_max_num_queries(HOME_BUDGET + 1) as captured:
            page = page_text(client.get(reverse("home")))
        assert page.count('name="return_to" value="home"') == min(size, 10)
        counts.append(len(captured))
    # Twelve await: one more query counts them all (Home's budget holds with it, plus the one).
    assert counts[1] == counts[0] + 1


# --------------------------------------------------------------------------------------------
# Safety report: adverse events by term and worst grade
# --------------------------------------------------------------------------------------------


@pytest.fixture
def infused_four(study, site_a, site_b) -> list[Participant]:
    """Four participants infused 2026-02-09 (three at S01, one at S02) and one not infused."""
    people = [
        ParticipantFactory(study=study, site=site, participant_id=pid)
        for pid, site in (
            ("S01-101", site_a),
            ("S01-102", site_a),
            ("S01-103", site_a),
            ("S02-101", site_b),
        )
    ]
    ParticipantFactory(study=study, site=site_a, participant_id="S01-199", infusion_date=None)
    return people


def table_as_of(as_of: date, participants=None):
    participants = participants if participants is not None else Participant.objects.all()
    summary = safety_summary(participants=participants, as_of=as_of)
    return adverse_event_table(participants=participants, summary=summary)


def cells(row) -> list[int]:
    return [cell.participants for cell in row.by_worst_grade]


def test_the_table_counts_each_participant_once_per_term_at_the_worst_grade(infused_four):
    first, second, third, other_site = infused_four
    # First: neutropenia grade 2 then grade 4 (counts once, at 4); second: grade 3.
    record(first, grade=2, start_date=date(2026, 2, 11), end_date=date(2026, 2, 12))
    record(first, grade=4)
    record(second)
    # Third: a serious lung infection; other site: a later lymphopenia.
    record_sae(third)
    record(other_site, term="Lymphocyte count decreased", grade=4, related_cart="not")

    table = table_as_of(date(2026, 6, 30))

    assert table.infused == 4  # S01-199 is not infused
    assert cells(table.any_event) == [0, 0, 2, 2, 0]
    assert (table.any_event.any_grade.participants, table.any_event.serious.participants) == (4, 1)
    rows = {row.term: row for row in table.terms}
    neutropenia = rows["Neutrophil count decreased"]
    assert cells(neutropenia) == [0, 0, 1, 1, 0]
    assert neutropenia.any_grade.participants == 2
    assert str(neutropenia.any_grade.percent) == "50.0"
    assert neutropenia.soc == "Investigations"
    assert (rows["Lung infection"].serious.participants, rows["Lung infection"].soc) == (
        1,
        "Infections and infestations",
    )
    # By SOC in CTCAE's order (infections before investigations), then the most frequent.
    assert [row.term for row in table.terms] == [
        "Lung infection",
        "Neutrophil count decreased",
        "Lymphocyte count decreased",
    ]
    assert [soc for soc, _rows in table.socs] == ["Infections and infestations", "Investigations"]


def test_the_table_counts_only_events_starting_by_the_data_cut(infused_four):
    first = infused_four[0]
    record(first, grade=2, start_date=date(2026, 2, 11), end_date=date(2026, 2, 12))
    record(first, grade=4)  # starts 2026-02-12

    assert cells(table_as_of(date(2026, 2, 11)).terms[0]) == [0, 1, 0, 0, 0]
    assert table_as_of(date(2026, 2, 10)).terms == ()
    assert table_as_of(date(2026, 2, 10)).any_event.any_grade.participants == 0


def test_an_other_specify_term_is_its_own_row_with_its_description(infused_four):
    described = {"term": "Investigations - Other, specify", "end_date": None, "outcome": "unknown"}
    record(infused_four[0], **described, term_specify="IgG decreased")
    record(infused_four[1], **described, term_specify="IgA decreased")
    terms = [row.term for row in table_as_of(date(2026, 6, 30)).terms]
    assert terms == [
        "Investigations - Other, specify: IgA decreased",
        "Investigations - Other, specify: IgG decreased",
    ]


REPORT_URL = reverse("report_safety")


def test_the_report_shows_the_table_of_the_users_sites(client, coordinator_a, infused_four):
    record(infused_four[0])
    record(infused_four[3], term="Sepsis", end_date=None, outcome="recovering")
    client.force_login(coordinator_a)
    page = page_text(client.get(REPORT_URL, {"as_of": "2026-06-30"}))
    assert "Adverse events by term and grade" in page
    assert 'data-term="Neutrophil count decreased"' in page
    assert "1 (33.3%)" in page  # 1 of S01's 3 infused
    assert "Sepsis" not in page  # S02's


def test_the_reports_table_reads_a_fixed_number_of_queries(
    client, data_manager, study, django_assert_max_num_queries
):
    client.force_login(data_manager)
    counts = []
    for size in (2, 12):
        site = SiteFactory()
        for n in range(size):
            participant = ParticipantFactory(study=study, site=site)
            record(participant, grade=1 + n % 4)
            record_sae(participant)
        with django_assert_max_num_queries(SAFETY_QUERY_BUDGET) as captured:
            page_text(client.get(REPORT_URL, {"as_of": "2026-06-30"}))
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------------
# Admin
# --------------------------------------------------------------------------------------------


def test_admin_records_an_event_through_the_service(superuser_client, participant_a):
    data = {
        **{key: value for key, value in FORM_SAE.items()},
        "participant": participant_a.pk,
        "change_reason": "Entered from the SAE form",
    }
    response = superuser_client.post(reverse("admin:safety_adverseevent_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    sae = AdverseEvent.objects.get()
    assert sae.history.get().history_change_reason == "Entered from the SAE form"


def test_admin_shows_a_refusal_on_its_field(superuser_client, participant_a):
    data = {
        **FORM_SAE,
        "start_date": "2026-02-08",
        "participant": participant_a.pk,
        "change_reason": "Entered",
    }
    response = superuser_client.post(reverse("admin:safety_adverseevent_add"), data)
    assert response.status_code == 200
    assert "started before the CAR-T infusion" in str(
        response.context["adminform"].form.errors["related_cart"]
    )
    assert not AdverseEvent.objects.exists()


def test_admin_deletes_an_event_with_a_reason_and_keeps_its_history(
    superuser_client, participant_a
):
    sae = record_sae(participant_a)
    response = superuser_client.post(
        reverse("admin:safety_adverseevent_delete", args=[sae.pk]),
        {"post": "yes", "delete_reason": "Entered for the wrong participant"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not AdverseEvent.objects.exists()
    deleted = AdverseEvent.history.latest()
    assert (deleted.history_type, deleted.history_change_reason) == (
        "-",
        "Entered for the wrong participant",
    )
