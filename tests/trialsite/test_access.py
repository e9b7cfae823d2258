"""Login is required everywhere, and a site's staff see only their own sites' data."""

from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import UserFactory
from trialsite import services
from trialsite.models import Visit

# Every view, by what its URL names. A new view must be added here (test_every_view_is_covered
# fails otherwise) so that its site boundary is tested.
PARTICIPANT_VIEWS = [
    "participant_detail",
    "participant_edit",
    "visit_create",
    "missed_visit_create",
    "participant_changes",
]
VISIT_VIEWS = ["visit_detail", "visit_entry", "visit_edit"]
LIST_VIEWS = {
    "home": lambda: reverse("home"),
    "participant_list": lambda: reverse("participant_list"),
    "participant_create": lambda: reverse("participant_create"),
    "cohort_summary": lambda: reverse("cohort_summary"),
    "report_matrix": lambda: reverse("report_matrix"),
    "report_baseline": lambda: reverse("report_baseline"),
    "report_plots": lambda: reverse("report_plots"),
    "lab_suggestions": lambda: reverse("lab_suggestions"),
    "record_status": lambda: reverse("record_status"),
    "query_list": lambda: reverse("query_list"),
    "report_safety": lambda: reverse("report_safety"),
    "visits_due": lambda: reverse("visits_due"),
    "visits_out_of_window": lambda: reverse("visits_out_of_window"),
    "visits_in_progress": lambda: reverse("visits_in_progress"),
}
#: The sign-off pages of a visit, each with the role that may use it.
SIGN_OFF_VIEWS = {
    "visit_verify": "Monitor",
    "visit_sign": "Investigator",
    "visit_lock": "Data manager",
    "visit_unlock": "Data manager",
}
PUBLIC_URL_NAMES = {"login", "set_language"}
# The user's own second factor and account security: tests/trialsite/test_two_factor.py.
ACCOUNT_VIEWS = {"two_factor_verify", "two_factor_setup", "account_security"}
# A query's pages and raising one on a visit: their site boundary (404) and rights (403) are
# tested in tests/trialsite/test_queries.py; raising one on another record in
# tests/safety/test_record_queries.py.
QUERY_VIEWS = {"query_detail", "query_answer", "query_close", "query_reopen", "query_raise"}
QUERY_VIEWS |= {"query_raise_on_record"}
# A record's sign-off steps: tests/safety/test_record_sign_offs.py.
SIGN_OFF_VIEWS_OF_RECORDS = {"record_sign_off"}
# A CRS or ICANS episode's pages: their site boundary (404) and rights (403) are tested in
# tests/safety/test_views.py; an adverse event's in tests/safety/test_adverse_events.py.
SAFETY_VIEWS = {
    f"{kind}_episode_{page}"
    for kind in ("crs", "icans")
    for page in ("create", "detail", "edit", "confirm")
} | {f"adverse_event_{page}" for page in ("create", "detail", "edit", "acknowledge")}
# The CAR-T treatment record's pages: tests/safety/test_treatment.py.
SAFETY_VIEWS |= {"treatment_record_create", "treatment_record_edit"}
# A medication course's pages and the answers to a proposed treatment failure: their site
# boundary (404) and rights (403) are tested in tests/medications/test_views.py.
MEDICATION_VIEWS = {
    "medication_course_create",
    "medication_course_edit",
    "medication_failure_confirm",
    "medication_failure_dismiss",
}
# The imports from the browser, for data managers only: their rights (403) are tested in
# tests/jobs/test_import_pages.py.
JOB_VIEWS = {
    f"import_job_{page}" for page in ("list", "create", "detail", "progress", "confirm", "result")
}
#: A schedule change's pages, for administrators (tests/jobs/test_schedule_changes.py).
SCHEDULE_CHANGE_VIEWS = {"schedule_change_detail", "schedule_change_progress"}
# An export's pages, for the user who asked for it (tests/jobs/test_export_jobs.py).
EXPORT_VIEWS = {
    f"export_job_{page}" for page in ("list", "create", "detail", "progress", "download")
}
NOT_OURS = {"admin"}


def url_names(patterns) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name not in NOT_OURS:
                names |= url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def url_for(name: str, participant, visit) -> str:
    if name in PARTICIPANT_VIEWS:
        return reverse(name, args=[participant.pk])
    if name in VISIT_VIEWS:
        return reverse(name, args=[visit.pk])
    return LIST_VIEWS[name]()


@pytest.fixture
def visit_a(participant_a) -> Visit:
    return services.visit_create(
        participant=participant_a,
        visit_definition=participant_a.study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )


@pytest.fixture
def visit_b(participant_b) -> Visit:
    return services.visit_create(
        participant=participant_b,
        visit_definition=participant_b.study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )


OBJECT_VIEWS = PARTICIPANT_VIEWS + VISIT_VIEWS


def test_every_view_is_covered():
    names = url_names(get_resolver().url_patterns)
    covered = set(OBJECT_VIEWS) | set(LIST_VIEWS) | PUBLIC_URL_NAMES | ACCOUNT_VIEWS | {"logout"}
    covered |= set(SIGN_OFF_VIEWS) | QUERY_VIEWS | SAFETY_VIEWS | MEDICATION_VIEWS
    covered |= SIGN_OFF_VIEWS_OF_RECORDS
    covered |= JOB_VIEWS | SCHEDULE_CHANGE_VIEWS | EXPORT_VIEWS
    assert names <= covered, f"views without an access test: {sorted(names - covered)}"


@pytest.mark.parametrize("name", sorted(LIST_VIEWS))
def test_list_views_send_anonymous_users_to_login(client, db, name):
    response = client.get(LIST_VIEWS[name]())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", OBJECT_VIEWS)
def test_object_views_send_anonymous_users_to_login(client, participant_a, visit_a, name):
    response = client.get(url_for(name, participant_a, visit_a))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", OBJECT_VIEWS)
def test_coordinator_opens_own_site_objects(
    client, coordinator_a, participant_a, visit_a, participant_b, name
):
    client.force_login(coordinator_a)
    response = client.get(url_for(name, participant_a, visit_a))
    assert response.status_code == 200
    assert participant_b.participant_id not in response.content.decode()


@pytest.mark.parametrize("name", OBJECT_VIEWS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_coordinator_gets_404_for_other_site_objects(
    client, coordinator_a, participant_b, visit_b, name, method
):
    client.force_login(coordinator_a)
    response = getattr(client, method)(url_for(name, participant_b, visit_b))
    assert response.status_code == 404
    assert Visit.objects.filter(participant=participant_b).count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "participant_create",
        "participant_edit",
        "visit_create",
        "missed_visit_create",
        "visit_entry",
        "visit_edit",
    ],
)
def test_monitors_read_but_cannot_write(client, participant_a, visit_a, name):
    client.force_login(UserFactory(role="Monitor"))
    assert client.get(url_for(name, participant_a, visit_a)).status_code == 403
    assert client.post(url_for(name, participant_a, visit_a)).status_code == 403


@pytest.mark.parametrize("name", sorted(SIGN_OFF_VIEWS))
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", ["Coordinator", "Investigator"])
def test_site_staff_get_404_for_other_site_sign_off_pages(
    client, site_a, visit_b, name, method, role
):
    # Whatever their rights, a guessed URL of another site's visit is not found.
    client.force_login(UserFactory(role=role, sites=[site_a]))
    response = getattr(client, method)(reverse(name, args=[visit_b.pk]))
    assert response.status_code == 404
    assert not visit_b.sign_offs.exists()


@pytest.mark.parametrize(("name", "role"), sorted(SIGN_OFF_VIEWS.items()))
def test_sign_off_pages_need_their_right(client, site_a, visit_a, name, role):
    client.force_login(UserFactory(role="Coordinator", sites=[site_a]))
    assert client.get(reverse(name, args=[visit_a.pk])).status_code == 403
    assert client.post(reverse(name, args=[visit_a.pk])).status_code == 403
    client.force_login(UserFactory(role=role, sites=[site_a]))
    assert client.get(reverse(name, args=[visit_a.pk])).status_code == 200


@pytest.mark.parametrize("name", sorted(LIST_VIEWS))
def test_list_views_show_only_own_sites(
    client, coordinator_a, participant_a, participant_b, visit_b, name
):
    client.force_login(coordinator_a)
    page = client.get(LIST_VIEWS[name]()).content.decode()
    assert "S02" not in page
    assert participant_b.participant_id not in page


def test_participant_list_names_own_site_participants(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    assert participant_a.participant_id in client.get(reverse("participant_list")).content.decode()


@pytest.mark.parametrize("role", ["Monitor", "Data manager"])
def test_cross_site_roles_see_every_site(client, participant_a, participant_b, role):
    client.force_login(UserFactory(role=role))
    page = client.get(reverse("participant_list")).content.decode()
    assert participant_a.participant_id in page
    assert participant_b.participant_id in page
    assert client.get(reverse("participant_detail", args=[participant_b.pk])).status_code == 200


def test_investigator_is_bounded_by_site_like_a_coordinator(client, site_b, participant_a):
    client.force_login(UserFactory(role="Investigator", sites=[site_b]))
    assert client.get(reverse("participant_detail", args=[participant_a.pk])).status_code == 404


def test_user_without_site_or_role_sees_no_participant(client, participant_a):
    client.force_login(UserFactory())
    page = client.get(reverse("participant_list")).content.decode()
    assert participant_a.participant_id not in page
    assert client.get(reverse("participant_detail", args=[participant_a.pk])).status_code == 404


def test_site_staff_cannot_open_admin(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response.url


def test_login_page_is_public_and_logs_in(client, coordinator_a, settings):
    settings.AXES_ENABLED = False
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "coord_a", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_repeated_failed_logins_lock_the_account_for_a_while(client, coordinator_a):
    for _attempt in range(5):
        client.post(reverse("login"), {"username": "coord_a", "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": "coord_a", "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("role", "rights"),
    [
        ("Coordinator", {"view", "add", "change"}),
        ("Investigator", {"view", "add", "change"}),
        ("Monitor", {"view"}),
        ("Data manager", {"view", "add", "change"}),
    ],
)
@pytest.mark.parametrize("model", ["missedvisit", "notdoneanswer"])
def test_roles_have_the_clinical_rights_on_the_records_of_missing_data(db, role, rights, model):
    user = UserFactory(username="someone", role=role)
    granted = {
        action
        for action in ("view", "add", "change", "delete")
        if user.has_perm(f"trialsite.{action}_{model}")
    }
    assert granted == rights
