"""Whether a background job's worker is still at work on it.

A worker stopped by force (SIGKILL, a second SIGTERM, a crash, its machine going down) leaves
its task "running" in the task table and its job in the state the task last wrote: "importing",
"applying and rescoring". PostgreSQL rolled the job's transaction back when the worker's
connection dropped, so nothing was written; but the job's page would wait for ever, and a
schedule change would keep its study from taking any other change.

So while a task works on a job, it holds a PostgreSQL advisory lock named after the job
(``working_on``), which PostgreSQL releases when the worker's connection ends, however it ends
(a session lock: a connection pooler in front of PostgreSQL must pool sessions, not
transactions). A job still waiting or at work whose task a worker took (its task result says
"running") while nobody holds its lock, or whose task ended without writing its outcome, was
abandoned (``abandoned``); jobs.services marks it failed, saying that nothing was written (a
task writes its outcome in the same transaction as the work itself).

On SQLite the jobs run inside the request that starts them (the immediate backend): no job is
ever left behind there.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
from django_tasks.exceptions import TaskResultDoesNotExist

#: The kinds of job, each with locks of its own (the key's high bits; the job's key below).
IMPORT_JOB_LOCKS = 7301
SCHEDULE_CHANGE_LOCKS = 7302
EXPORT_JOB_LOCKS = 7303
#: How long a worker may take, once it has taken a task, to take its job's lock.
STARTING_SECONDS = 10

_FINISHED = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
# pg_locks shows a bigint key as its high and low 32 bits (classid, objid) with objsubid 1.
_HELD = """
    SELECT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = %s AND objid = %s
    )
"""


def lock_key(kind: int, job_id: int) -> int:
    """Return the key of a job's advisory lock."""
    return (kind << 40) | job_id


def held(kind: int, job_id: int) -> bool:
    """Say whether some session holds the job's lock (PostgreSQL only)."""
    key = lock_key(kind, job_id)
    with connection.cursor() as cursor:
        cursor.execute(_HELD, [key >> 32, key & 0xFFFFFFFF])
        (found,) = cursor.fetchone()
    return bool(found)


@contextmanager
def working_on(kind: int, job_id: int) -> Iterator[None]:
    """Hold the job's lock while the task works on it (a session lock, taken and released
    outside any transaction). A task run inside a request's transaction (the immediate backend)
    ends with the request: it takes none."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    key = lock_key(kind, job_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def abandoned(kind: int, job_id: int, task_result_id: str) -> bool:
    """Say whether the task of a job still waiting or at work was left unfinished: it ended
    without writing the job's outcome (a worker stopped by a second signal), or a worker took
    it and no longer holds the job's lock."""
    if connection.vendor != "postgresql" or not task_result_id:
        return False
    try:
        result = task_backends[DEFAULT_TASK_BACKEND_ALIAS].get_result(task_result_id)
    except (NotImplementedError, TaskResultDoesNotExist):
        return False  # the immediate backend keeps no results: its jobs end with the request
    if result.status in _FINISHED:
        return True  # a task writes its job's outcome before it ends
    if result.status != TaskResultStatus.RUNNING or result.started_at is None:
        return False
    with connection.cursor() as cursor:
        # Times compared by the database, whatever the clocks of the workers' machines.
        cursor.execute(
            "SELECT %s < now() - make_interval(secs => %s)", [result.started_at, STARTING_SECONDS]
        )
        (starting_over,) = cursor.fetchone()
    return bool(starting_over) and not held(kind, job_id)
