"""Make the audit history append-only in PostgreSQL: a trigger on every history table refuses
UPDATE and DELETE, so no one with SQL access can rewrite or remove a recorded change.

SQLite (development) has no such protection. A history table added later needs the trigger in
its own migration (tests/trialsite/test_history_protection.py checks every one has it).
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FUNCTION = "trialsite_history_append_only"
TRIGGER = "history_append_only"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def history_tables(apps: StateApps) -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_app_config("trialsite").get_models()
        if model.__name__.startswith("Historical")
    )


def protect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # its % are PL/pgSQL's, not params
    for table in history_tables(apps):
        name = schema_editor.quote_name(table)
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )


def unprotect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in history_tables(apps):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON {schema_editor.quote_name(table)}"
        )
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("trialsite", "0009_roles_on_missed_visits_and_answers_not_done")]

    operations = [migrations.RunPython(protect, unprotect)]
