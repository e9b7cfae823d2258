"""Store the files of import and export jobs compressed with lz4 on PostgreSQL.

PostgreSQL compresses a large text with pglz by default; lz4 writes the 14 MB audit trail of
2,000 participants in half the time (docs/performance.md) and reads it as fast. Only a server
built with lz4 offers it (its default_toast_compression setting lists it); on another server,
and on SQLite, the columns keep the server's default. Only files written from now on are
compressed so. Undone, the columns follow the server's default again.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FILE_COLUMNS = (("jobs_importjob", "file_text"), ("jobs_exportjob", "file_text"))


def _set_compression(schema_editor: BaseDatabaseSchemaEditor, method: str) -> None:
    for table, column in FILE_COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} "
            f"ALTER COLUMN {schema_editor.quote_name(column)} SET COMPRESSION {method}"
        )


def lz4_offered(connection: BaseDatabaseWrapper) -> bool:
    """Say whether the database is a PostgreSQL server built with lz4."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        )
        offered = cursor.fetchone()
    return offered is not None and bool(offered[0])


def compress_with_lz4(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if lz4_offered(schema_editor.connection):
        _set_compression(schema_editor, "lz4")


def compress_as_the_server_does(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _set_compression(schema_editor, "DEFAULT")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_export_rights"),
    ]

    operations = [
        migrations.RunPython(compress_with_lz4, compress_as_the_server_does),
    ]
