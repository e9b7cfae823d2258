"""Create the default study with its visit schedule (interchange.md) and the four roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DEFAULT_STUDY = {
    "protocol_number": "PED-SLE-CD19-CART",
    "name": "Low-dose CD19 CAR-T cells in refractory pediatric SLE",
}

# code, name, target study day, window low, window high; order follows the list.
DEFAULT_SCHEDULE = [
    ("SCR", "Screening", -28, -42, -8),
    ("BL", "Baseline (before lymphodepletion)", -7, -14, -1),
    ("D0", "Infusion", 0, 0, 0),
    ("D7", "Day 7", 7, 5, 9),
    ("D14", "Day 14", 14, 11, 17),
    ("M1", "Month 1", 28, 21, 35),
    ("M2", "Month 2", 56, 49, 63),
    ("M3", "Month 3", 90, 76, 104),
    ("M6", "Month 6", 180, 166, 194),
    ("M9", "Month 9", 270, 249, 291),
    ("M12", "Month 12", 365, 335, 395),
]
UNSCHEDULED = ("UNS", "Unscheduled")

CLINICAL_MODELS = [
    "participant",
    "visit",
    "sledaiassessment",
    "pgaassessment",
    "bilagassessment",
]
REFERENCE_MODELS = ["study", "site", "visitdefinition"]


def _perms(actions, models):
    return [f"{action}_{model}" for action in actions for model in models]


ROLE_PERMISSIONS = {
    # Site staff: enter and correct their own sites' data.
    "Coordinator": _perms(["view", "add", "change"], CLINICAL_MODELS)
    + _perms(["view"], REFERENCE_MODELS),
    "Investigator": _perms(["view", "add", "change"], CLINICAL_MODELS)
    + _perms(["view"], REFERENCE_MODELS),
    # Cross-site roles: monitors read and verify, data managers also correct and move data.
    "Monitor": _perms(["view"], CLINICAL_MODELS + REFERENCE_MODELS) + ["view_all_sites"],
    "Data manager": _perms(["view", "add", "change"], CLINICAL_MODELS)
    + _perms(["view"], REFERENCE_MODELS)
    + ["view_all_sites"],
}


def create_default_study(apps, schema_editor):
    Study = apps.get_model("trialsite", "Study")
    VisitDefinition = apps.get_model("trialsite", "VisitDefinition")
    study = Study.objects.create(sledai_lookback_days=10, **DEFAULT_STUDY)
    definitions = {}
    for order, (code, name, target, low, high) in enumerate(DEFAULT_SCHEDULE, start=1):
        definitions[code] = VisitDefinition.objects.create(
            study=study,
            code=code,
            name=name,
            target_day=target,
            window_low=low,
            window_high=high,
            order=order,
        )
    code, name = UNSCHEDULED
    VisitDefinition.objects.create(
        study=study, code=code, name=name, order=len(DEFAULT_SCHEDULE) + 1, repeatable=True
    )
    study.baseline_visit = definitions["BL"]
    study.primary_visit = definitions["M3"]
    study.save()


def remove_default_study(apps, schema_editor):
    Study = apps.get_model("trialsite", "Study")
    VisitDefinition = apps.get_model("trialsite", "VisitDefinition")
    study = Study.objects.get(protocol_number=DEFAULT_STUDY["protocol_number"])
    Study.objects.filter(pk=study.pk).update(baseline_visit=None, primary_visit=None)
    VisitDefinition.objects.filter(study=study).delete()
    study.delete()


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label="trialsite", codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for {role}: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_default_study, remove_default_study),
        migrations.RunPython(create_roles, remove_roles),
    ]
