"""Make the adverse events' history append-only (the trigger function of trialsite's migration
0010) and give the roles their rights on adverse events: coordinators, investigators and data
managers record them, monitors view them, and monitors and data managers acknowledge a serious
one.

``grant_adverse_event_rights`` is also called by the reference_data test fixture (live-server
tests), which recreates the roles after each flush, so it takes whichever app registry it is
given.
"""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

HISTORY_TABLE = "safety_historicaladverseevent"

_RECORD = [f"{action}_adverseevent" for action in ("view", "add", "change")]
ROLE_RIGHTS = {
    "Coordinator": _RECORD,
    "Investigator": _RECORD,
    "Monitor": ["view_adverseevent", "acknowledge_sae"],
    "Data manager": [*_RECORD, "acknowledge_sae"],
}
_ALL_CODENAMES = sorted({codename for codenames in ROLE_RIGHTS.values() for codename in codenames})


def protect(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON "
        f"{schema_editor.quote_name(HISTORY_TABLE)} "
        "FOR EACH ROW EXECUTE FUNCTION trialsite_history_append_only()"
    )


def unprotect(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"DROP TRIGGER IF EXISTS history_append_only ON {schema_editor.quote_name(HISTORY_TABLE)}"
    )


def grant_adverse_event_rights(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    # Permissions are normally created after all migrations; the roles need these now.
    app_config = apps.get_app_config("safety")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_RIGHTS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label="safety", codename__in=codenames
        )
        if permissions.count() != len(codenames):
            raise RuntimeError(f"Permissions not found for {role}: {codenames}")
        group.permissions.add(*permissions)


def revoke_adverse_event_rights(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLE_RIGHTS):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="safety", codename__in=_ALL_CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0003_adverse_events"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(protect, unprotect),
        migrations.RunPython(grant_adverse_event_rights, revoke_adverse_event_rights),
    ]
