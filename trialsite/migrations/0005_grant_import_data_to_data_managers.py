"""Let the Data manager role import CSV files (trialsite.import_data); superusers have every right.

``grant_import_data`` is also called by the reference_data test fixture (live-server tests)
after it recreates the roles of 0002, so it takes whichever app registry it is given.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

IMPORTING_ROLES = ["Data manager"]
IMPORT_PERMISSION = "import_data"


def grant_import_data(apps, schema_editor):
    # Permissions are normally created after all migrations; the role needs this one now.
    app_config = apps.get_app_config("trialsite")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="trialsite", codename=IMPORT_PERMISSION
    )
    for role in IMPORTING_ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(permission)


def revoke_import_data(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="trialsite", codename=IMPORT_PERMISSION
    ).first()
    if permission is not None:
        for group in Group.objects.filter(name__in=IMPORTING_ROLES):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0004_input_rules_and_import_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant_import_data, revoke_import_data)]
