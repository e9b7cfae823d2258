"""Let the Data manager role export the audit trail as CSV (trialsite.export_audit_trail);
superusers have every right.

``grant_export_audit_trail`` is also called by the reference_data test fixture (live-server
tests) after it recreates the roles of 0002, so it takes whichever app registry it is given.
"""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

EXPORTING_ROLES = ["Data manager"]
EXPORT_PERMISSION = "export_audit_trail"


def grant_export_audit_trail(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    # Permissions are normally created after all migrations; the role needs this one now.
    app_config = apps.get_app_config("trialsite")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="trialsite", codename=EXPORT_PERMISSION
    )
    for role in EXPORTING_ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(permission)


def revoke_export_audit_trail(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="trialsite", codename=EXPORT_PERMISSION
    ).first()
    if permission is not None:
        for group in Group.objects.filter(name__in=EXPORTING_ROLES):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0010_history_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="study",
            options={
                "ordering": ["protocol_number"],
                "permissions": [
                    ("import_data", "Can import CSV data"),
                    ("export_audit_trail", "Can export the audit trail"),
                ],
                "verbose_name": "study",
                "verbose_name_plural": "studies",
            },
        ),
        migrations.RunPython(grant_export_audit_trail, revoke_export_audit_trail),
    ]
