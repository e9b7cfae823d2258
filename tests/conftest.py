from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.utils import translation

from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.two_factor import SecondFactorClient
from trialsite.models import Study


@pytest.fixture
def client():
    """Django's test client, whose force_login passes the second factor for the users who must
    have one (staff, data managers): see tests/two_factor.py."""
    return SecondFactorClient()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's superuser "admin", logged in with the second factor passed."""
    client = SecondFactorClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def study(db) -> Study:
    """The default study that the migrations create."""
    return Study.objects.select_related("baseline_visit", "primary_visit").get()


@pytest.fixture
def site_a(db):
    return SiteFactory(code="S01", name="Site one")


@pytest.fixture
def site_b(db):
    return SiteFactory(code="S02", name="Site two")


@pytest.fixture
def coordinator_a(site_a):
    return UserFactory(username="coord_a", role="Coordinator", sites=[site_a])


@pytest.fixture
def superuser_client(client, db):
    """A client logged in as the superuser "root" (tests/trialsite/test_admin.py has its own)."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def investigator_a(site_a):
    return UserFactory(username="inv_a", role="Investigator", sites=[site_a])


@pytest.fixture
def monitor(db):
    """A monitor: every site, read-only; verifies visits and raises queries."""
    return UserFactory(username="monitor", role="Monitor")


@pytest.fixture
def data_manager(db):
    """A data manager: every site; corrects, imports, exports, locks and unlocks."""
    return UserFactory(username="dm", role="Data manager")


@pytest.fixture
def participant_a(study, site_a):
    return ParticipantFactory(study=study, site=site_a, participant_id="S01-001")


@pytest.fixture
def participant_b(study, site_b):
    return ParticipantFactory(study=study, site=site_b, participant_id="S02-001")


@pytest.fixture
def reference_data(transactional_db):
    """Recreate what the migrations create (default study, roles and their rights): live-server
    tests commit their data and flush the whole database after each test."""
    if not Study.objects.exists():
        migration = import_module("trialsite.migrations.0002_default_study_and_roles")
        migration.create_default_study(django_apps, None)
        dose_levels = import_module("trialsite.migrations.0015_study_dose_levels")
        dose_levels.create_default_dose_levels(django_apps, None)
        names = import_module("trialsite.migrations.0018_site_and_visit_names_in_chinese")
        names.name_default_schedule_in_chinese(django_apps, None)
        migration.create_roles(django_apps, None)
        rights = import_module("trialsite.migrations.0005_grant_import_data_to_data_managers")
        rights.grant_import_data(django_apps, None)
        missing_data = import_module(
            "trialsite.migrations.0009_roles_on_missed_visits_and_answers_not_done"
        )
        missing_data.grant_missing_data_rights(django_apps, None)
        audit = import_module("trialsite.migrations.0011_export_audit_trail_permission")
        audit.grant_export_audit_trail(django_apps, None)
        sign_offs = import_module("trialsite.migrations.0013_sign_offs_and_queries")
        sign_offs.grant_sign_off_and_query_rights(django_apps, None)
        safety = import_module("safety.migrations.0002_history_append_only_and_roles")
        safety.grant_safety_rights(django_apps, None)
        medications = import_module("medications.migrations.0002_history_append_only_and_roles")
        medications.grant_medication_rights(django_apps, None)
        adverse_events = import_module("safety.migrations.0004_adverse_event_history_and_roles")
        adverse_events.grant_adverse_event_rights(django_apps, None)
        treatment = import_module("safety.migrations.0007_treatment_record")
        treatment.grant_treatment_record_rights(django_apps, None)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords cheaply; production keeps Django's default hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in English: a request through LocaleMiddleware leaves its language on."""
    yield
    translation.deactivate()


#: The task backend that runs a background job at once, inside the request that starts it.
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Run background jobs (jobs/) at once on either database; a test of the worker sets the
    database backend itself (tests/jobs/test_worker.py)."""
    settings.TASKS = IMMEDIATE_TASKS
