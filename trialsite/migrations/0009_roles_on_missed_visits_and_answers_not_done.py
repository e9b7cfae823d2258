"""Give the roles of 0002 their rights on the two records of missing data added since: missed
visits and answers not done are clinical records like the visits (Monitor: view; the others:
view, add and change).

``grant_missing_data_rights`` is also called by the reference_data test fixture (live-server
tests), which recreates the roles after each flush, so it takes whichever app registry it is
given.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["missedvisit", "notdoneanswer"]
ROLE_ACTIONS = {
    "Coordinator": ["view", "add", "change"],
    "Investigator": ["view", "add", "change"],
    "Monitor": ["view"],
    "Data manager": ["view", "add", "change"],
}


def _codenames(actions: list[str]) -> list[str]:
    return [f"{action}_{model}" for action in actions for model in MODELS]


def grant_missing_data_rights(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need these now.
    app_config = apps.get_app_config("trialsite")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, actions in ROLE_ACTIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="trialsite", codename__in=_codenames(actions)
            )
        )


def revoke_missing_data_rights(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="trialsite", codename__in=_codenames(["view", "add", "change"])
    )
    for group in Group.objects.filter(name__in=ROLE_ACTIONS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0008_analysis_sets_not_infused_reason"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant_missing_data_rights, revoke_missing_data_rights)]
