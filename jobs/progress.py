"""How a running import, the rescoring of a schedule change, or an export being written, tells
the browser how far it has got.

An import applies every row inside one transaction (trialsite.imports.run_import), so whatever
it writes on its own database connection stays invisible to other connections until it
commits, at the very end. The rows done are therefore written through a second connection to the
same database, the alias ``progress`` (settings.DATABASES, defined on PostgreSQL), which is in
autocommit: each write is visible at once to the page that polls the job
(jobs.views.import_job_progress). Only the job's progress columns are written there; the job
row itself is never written by the import's own transaction meanwhile, so the second connection
never waits for the first. An export reads from one read-only snapshot of the database
(jobs.tasks): its progress goes the same way.

On SQLite there is no such alias (SQLite lets one connection write at a time), and there, as
whenever the tasks run immediately (the immediate backend of development and the tests), the
job finishes within the request that started it: nobody can watch it, so nothing is written
until the end.
"""

import time

from django.conf import settings
from django.db.models import Model
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from trialsite.imports import Progress

#: The database alias of the second connection.
PROGRESS_DATABASE = "progress"
#: The least time between two writes of the progress: a file of 10,000 rows writes it about
#: once a second, not 10,000 times.
WRITE_INTERVAL_SECONDS = 0.5


def progress_writer(
    model: type[Model], job_id: int, *, done: str = "rows_done", total: str = "rows_total"
) -> Progress | None:
    """Return the callback that records a running job's progress in its columns ``done`` and
    ``total`` as it goes, or None where nobody can see it before the job ends."""
    if PROGRESS_DATABASE not in settings.DATABASES:
        return None
    if isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], ImmediateBackend):
        return None
    last_write = -WRITE_INTERVAL_SECONDS

    def write(rows_done: int, rows_total: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if rows_done < rows_total and now - last_write < WRITE_INTERVAL_SECONDS:
            return
        last_write = now
        model._default_manager.using(PROGRESS_DATABASE).filter(pk=job_id).update(
            **{done: rows_done, total: rows_total}
        )

    return write
