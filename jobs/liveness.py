"""Whether a background job's worker is still at work on it.

A worker stopped by force (SIGKILL, a second SIGTERM, a crash, its machine going down) leaves
its task "running" in the task table and its job in the state the task last wrote: "importing",
"applying and rescoring". PostgreSQL rolled the job's transaction back when the worker's
connection dropped, so nothing was written; but the job's page would wait for ever, and a
schedule change would keep its study from taking any other change.

So while a task works on a job, it holds a PostgreSQL advisory lock named after the job
(``working_on``), which PostgreSQL releases when the worker's connection ends, however it ends.
A job whose task a worker has taken (its task result says "running") and whose lock nobody holds
was abandoned (``abandoned``); jobs.services marks it failed, saying that nothing was written.

On SQLite the jobs run inside the request that starts them (the immediate backend): no job is
ever left behind there.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
from django_tasks.exceptions import TaskResultDoesNotExist

#: The first key of the advisory locks of each kind of job (the second is the job's key).
IMPORT_JOB_LOCKS = 7301
SCHEDULE_CHANGE_LOCKS = 7302
#: How long a worker may take, once it has taken a task, to take its job's lock.
STARTING = timedelta(seconds=10)

_HELD = """
    SELECT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = %s AND objid = %s AND objsubid = 2
    )
"""


@contextmanager
def working_on(kind: int, job_id: int) -> Iterator[None]:
    """Hold the job's lock while the task works on it."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [kind, job_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [kind, job_id])


def abandoned(kind: int, job_id: int, task_result_id: str) -> bool:
    """Say whether a worker took the job's task and stopped without finishing it."""
    if connection.vendor != "postgresql" or not task_result_id:
        return False
    try:
        result = task_backends[DEFAULT_TASK_BACKEND_ALIAS].get_result(task_result_id)
    except (NotImplementedError, TaskResultDoesNotExist):
        return False  # the immediate backend keeps no results: its jobs end with the request
    if result.status != TaskResultStatus.RUNNING or result.started_at is None:
        return False
    if timezone.now() - result.started_at < STARTING:
        return False  # taken a moment ago: the worker may not have taken the job's lock yet
    with connection.cursor() as cursor:
        cursor.execute(_HELD, [kind, job_id])
        (held,) = cursor.fetchone()
    return not held
