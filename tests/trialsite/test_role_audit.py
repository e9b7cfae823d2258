"""Who may do what is audited: a user's roles and flags, and a role's permissions."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from tests.factories import UserFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def user_change_data(user: User, *, groups: list[Group], is_active: bool) -> dict[str, object]:
    """What the admin's user change page posts: the user's fields and no site membership."""
    data: dict[str, object] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "groups": [group.pk for group in groups],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "site_memberships-TOTAL_FORMS": 0,
        "site_memberships-INITIAL_FORMS": 0,
        "site_memberships-MIN_NUM_FORMS": 0,
        "site_memberships-MAX_NUM_FORMS": 1000,
    }
    if is_active:
        data["is_active"] = "on"
    return data


def roles_of(version: object) -> list[str]:
    """The roles a version of a user's history records (its snapshot of the groups)."""
    return sorted(row.group.name for row in version.groups.all())


def test_a_change_of_roles_in_admin_is_recorded_with_its_author(admin_client) -> None:
    user = UserFactory(username="coord", role="Coordinator")
    monitor = Group.objects.get(name="Monitor")

    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        user_change_data(user, groups=[monitor], is_active=True),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    versions = list(User.history.filter(id=user.pk).order_by("history_id"))
    # Each step is a version (the admin replaces the roles: the old ones go, the new come).
    assert roles_of(versions[-1]) == ["Monitor"]
    assert versions[-1].history_user.username == "root"
    assert ["Coordinator"] in [roles_of(version) for version in versions[:-1]]
    history_page = admin_client.get(reverse("admin:auth_user_history", args=[user.pk]))
    assert history_page.status_code == 200
    assert "root" in history_page.content.decode()


def test_the_history_keeps_no_password_hash_and_a_login_adds_nothing(client, db) -> None:
    user = UserFactory(username="coord", role="Coordinator")
    before = User.history.filter(id=user.pk).count()

    client.force_login(user)
    client.get("/")
    user.refresh_from_db()

    history_fields = {field.name for field in User.history.model._meta.get_fields()}
    assert "password" not in history_fields
    assert "last_login" not in history_fields
    assert User.history.filter(id=user.pk).count() == before
    assert user.last_login is not None  # still recorded on the user


def test_a_change_of_a_roles_permissions_is_recorded(admin_client) -> None:
    monitor = Group.objects.get(name="Monitor")
    added = Permission.objects.get(codename="add_visit")
    before = Group.history.filter(id=monitor.pk).count()

    monitor.permissions.add(added)

    assert Group.history.filter(id=monitor.pk).count() == before + 1
