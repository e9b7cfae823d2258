"""Store the files of import and export jobs compressed with lz4 on PostgreSQL.

PostgreSQL compresses a large text with pglz by default; lz4 writes the 14 MB audit trail of
2,000 participants in half the time (docs/performance.md) and reads it as fast. Only a server
built with lz4 offers it (its default_toast_compression setting lists it); on another server,
and on SQLite, the files stay as they are. Only files written from now on are compressed so.
"""

from django.db import migrations

FILE_COLUMNS = (("jobs_importjob", "file_text"), ("jobs_exportjob", "file_text"))


def _set_compression(schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'",
            [method],
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return
    for table, column in FILE_COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} "
            f"ALTER COLUMN {schema_editor.quote_name(column)} SET COMPRESSION {method}"
        )


def compress_with_lz4(apps, schema_editor) -> None:
    _set_compression(schema_editor, "lz4")


def compress_with_pglz(apps, schema_editor) -> None:
    _set_compression(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_export_rights"),
    ]

    operations = [
        migrations.RunPython(compress_with_lz4, compress_with_pglz),
    ]
