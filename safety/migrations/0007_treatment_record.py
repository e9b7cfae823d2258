"""The CAR-T treatment record (clinical-rules.md section 6): its table, its append-only history
(the trigger function of trialsite's migration 0010) and the roles' rights: coordinators,
investigators and data managers record it, monitors view it.

``grant_treatment_record_rights`` is also called by the reference_data test fixture (live-server
tests), which recreates the roles after each flush, so it takes whichever app registry it is
given.
"""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

import trialsite.validators

HISTORY_TABLE = "safety_historicaltreatmentrecord"

_RECORD = [f"{action}_treatmentrecord" for action in ("view", "add", "change")]
ROLE_RIGHTS = {
    "Coordinator": _RECORD,
    "Investigator": _RECORD,
    "Monitor": ["view_treatmentrecord"],
    "Data manager": _RECORD,
}


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


def grant_treatment_record_rights(
    apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None
) -> None:
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


def revoke_treatment_record_rights(
    apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None
) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLE_RIGHTS):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="safety", codename__in=_RECORD)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0006_constraint_messages"),
        ("trialsite", "0014_b_cells_immunoglobulins_and_aplasia_threshold"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalTreatmentRecord",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "leukapheresis_date",
                    models.DateField(
                        validators=[trialsite.validators.validate_trial_date],
                        verbose_name="leukapheresis date",
                    ),
                ),
                (
                    "lymphodepletion_start_date",
                    models.DateField(
                        validators=[trialsite.validators.validate_trial_date],
                        verbose_name="lymphodepletion start date",
                    ),
                ),
                (
                    "lymphodepletion_days",
                    models.PositiveSmallIntegerField(
                        help_text="1 to 5 days; the protocol gives 3.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(5),
                        ],
                        verbose_name="lymphodepletion days",
                    ),
                ),
                (
                    "fludarabine_mg_m2_per_day",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="The protocol gives 30 mg/m² per day.",
                        max_digits=5,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("100.0")),
                        ],
                        verbose_name="fludarabine (mg/m² per day)",
                    ),
                ),
                (
                    "cyclophosphamide_mg_m2_per_day",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="The protocol gives 300 mg/m² per day.",
                        max_digits=5,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("1000.0")),
                        ],
                        verbose_name="cyclophosphamide (mg/m² per day)",
                    ),
                ),
                (
                    "dose_reduced",
                    models.BooleanField(
                        default=False,
                        help_text="Tick when a dose differs from the protocol; give the reason.",
                        verbose_name="lymphodepletion dose reduced",
                    ),
                ),
                (
                    "dose_reduction_reason",
                    models.CharField(
                        blank=True,
                        max_length=500,
                        validators=[trialsite.validators.validate_single_line_text],
                        verbose_name="reason for the dose reduction",
                    ),
                ),
                (
                    "bsa_m2",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="Used for the lymphodepletion doses.",
                        max_digits=3,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.20")),
                            django.core.validators.MaxValueValidator(Decimal("3.00")),
                        ],
                        verbose_name="body surface area (m²)",
                    ),
                ),
                (
                    "weight_kg",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="Used for the CAR-T dose per kg.",
                        max_digits=4,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("2.0")),
                            django.core.validators.MaxValueValidator(Decimal("150.0")),
                        ],
                        verbose_name="weight (kg)",
                    ),
                ),
                (
                    "infusion_time",
                    models.TimeField(
                        help_text="The date is the participant's infusion date (day 0).",
                        verbose_name="infusion time",
                    ),
                ),
                (
                    "total_car_cells",
                    models.PositiveBigIntegerField(
                        help_text="Within 10% of the dose per kg times the weight.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="total CAR+ cells infused",
                    ),
                ),
                ("history_change_reason", models.TextField(null=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "participant",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="trialsite.participant",
                        verbose_name="participant",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical CAR-T treatment record",
                "verbose_name_plural": "historical CAR-T treatment records",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="TreatmentRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "leukapheresis_date",
                    models.DateField(
                        validators=[trialsite.validators.validate_trial_date],
                        verbose_name="leukapheresis date",
                    ),
                ),
                (
                    "lymphodepletion_start_date",
                    models.DateField(
                        validators=[trialsite.validators.validate_trial_date],
                        verbose_name="lymphodepletion start date",
                    ),
                ),
                (
                    "lymphodepletion_days",
                    models.PositiveSmallIntegerField(
                        help_text="1 to 5 days; the protocol gives 3.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(5),
                        ],
                        verbose_name="lymphodepletion days",
                    ),
                ),
                (
                    "fludarabine_mg_m2_per_day",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="The protocol gives 30 mg/m² per day.",
                        max_digits=5,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("100.0")),
                        ],
                        verbose_name="fludarabine (mg/m² per day)",
                    ),
                ),
                (
                    "cyclophosphamide_mg_m2_per_day",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="The protocol gives 300 mg/m² per day.",
                        max_digits=5,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("1000.0")),
                        ],
                        verbose_name="cyclophosphamide (mg/m² per day)",
                    ),
                ),
                (
                    "dose_reduced",
                    models.BooleanField(
                        default=False,
                        help_text="Tick when a dose differs from the protocol; give the reason.",
                        verbose_name="lymphodepletion dose reduced",
                    ),
                ),
                (
                    "dose_reduction_reason",
                    models.CharField(
                        blank=True,
                        max_length=500,
                        validators=[trialsite.validators.validate_single_line_text],
                        verbose_name="reason for the dose reduction",
                    ),
                ),
                (
                    "bsa_m2",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="Used for the lymphodepletion doses.",
                        max_digits=3,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.20")),
                            django.core.validators.MaxValueValidator(Decimal("3.00")),
                        ],
                        verbose_name="body surface area (m²)",
                    ),
                ),
                (
                    "weight_kg",
                    models.DecimalField(
                        decimal_places=1,
                        help_text="Used for the CAR-T dose per kg.",
                        max_digits=4,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("2.0")),
                            django.core.validators.MaxValueValidator(Decimal("150.0")),
                        ],
                        verbose_name="weight (kg)",
                    ),
                ),
                (
                    "infusion_time",
                    models.TimeField(
                        help_text="The date is the participant's infusion date (day 0).",
                        verbose_name="infusion time",
                    ),
                ),
                (
                    "total_car_cells",
                    models.PositiveBigIntegerField(
                        help_text="Within 10% of the dose per kg times the weight.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="total CAR+ cells infused",
                    ),
                ),
                (
                    "participant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="treatment_record",
                        to="trialsite.participant",
                        verbose_name="participant",
                    ),
                ),
            ],
            options={
                "verbose_name": "CAR-T treatment record",
                "verbose_name_plural": "CAR-T treatment records",
                "ordering": ["participant__participant_id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("lymphodepletion_days__gte", 1), ("lymphodepletion_days__lte", 5)
                        ),
                        name="treatment_lymphodepletion_1_to_5_days",
                        violation_error_message="Lymphodepletion lasts 1 to 5 days.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("fludarabine_mg_m2_per_day__gte", 0),
                            ("fludarabine_mg_m2_per_day__lte", Decimal("100.0")),
                        ),
                        name="treatment_fludarabine_plausible",
                        violation_error_message="Fludarabine is 0 to 100 mg/m² per day.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("cyclophosphamide_mg_m2_per_day__gte", 0),
                            ("cyclophosphamide_mg_m2_per_day__lte", Decimal("1000.0")),
                        ),
                        name="treatment_cyclophosphamide_plausible",
                        violation_error_message="Cyclophosphamide is 0 to 1000 mg/m² per day.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("dose_reduced", True),
                                models.Q(("dose_reduction_reason", ""), _negated=True),
                            ),
                            models.Q(("dose_reduced", False), ("dose_reduction_reason", "")),
                            _connector="OR",
                        ),
                        name="treatment_reduction_has_reason",
                        violation_error_message="Give the reason of a dose reduction (only).",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("bsa_m2__gte", Decimal("0.20")), ("bsa_m2__lte", Decimal("3.00"))
                        ),
                        name="treatment_bsa_plausible",
                        violation_error_message="The body surface area is 0.20 to 3.00 m².",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("weight_kg__gte", Decimal("2.0")), ("weight_kg__lte", Decimal("150.0"))
                        ),
                        name="treatment_weight_plausible",
                        violation_error_message="The weight is 2 to 150 kg.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("total_car_cells__gt", 0)),
                        name="treatment_total_cells_positive",
                        violation_error_message="The total CAR+ cells is a positive number.",
                    ),
                ],
            },
        ),
        migrations.RunPython(protect, unprotect),
        migrations.RunPython(grant_treatment_record_rights, revoke_treatment_record_rights),
    ]
