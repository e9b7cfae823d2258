"""A throwaway database for one benchmark run, made as the test runner makes its own: the
configured database is never touched."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection


@contextmanager
def throwaway_database(label: str, *, keep: bool = False) -> Iterator[str]:
    """Create a fresh, migrated database beside the configured one and use it; drop it after.

    On PostgreSQL it is ``trialsite_bench_<process id>_<label>`` on the configured server; on
    SQLite a file in a temporary directory (a file, not memory, so that every connection sees
    it). With ``keep`` it is left behind, and its name is what this yields.
    """
    settings_dict = connection.settings_dict
    old_name = settings_dict["NAME"]
    old_test_name = settings_dict["TEST"].get("NAME")
    directory: Path | None = None
    if connection.vendor == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="trialsite-bench-"))
        settings_dict["TEST"]["NAME"] = str(directory / f"bench_{label}.sqlite3")
    else:
        settings_dict["TEST"]["NAME"] = f"trialsite_bench_{os.getpid()}_{label}"
    try:
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield name
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)
    finally:
        settings_dict["TEST"]["NAME"] = old_test_name
        if directory is not None and not keep:
            shutil.rmtree(directory, ignore_errors=True)


def settle() -> None:
    """Leave the database as PostgreSQL's autovacuum leaves it soon after a bulk write: its
    dead rows cleared, its pages marked all-visible (which lets a read answered by an index skip
    the table) and its statistics fresh. Production keeps autovacuum on, PostgreSQL's default;
    a server set up for tests often has it off (the CI machines' server here does), so the
    benchmark does that work itself before it measures."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
