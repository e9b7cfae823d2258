"""One benchmark run per cohort size, each in a database of its own: the cohort imported, every
result recomputed, the pages rendered as two users, the exports set beside their raw reads, and
visits saved through the entry form."""

import logging
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from responses.selectors import raw_reads
from responses.services import recompute_all_responses
from trialsite import queries, services
from trialsite.benchmark.cohort import SITES, ScheduledVisit, generate_cohort
from trialsite.benchmark.database import settle, throwaway_database
from trialsite.benchmark.measure import (
    BenchmarkError,
    PageTiming,
    Timing,
    command_run,
    logged_in_client,
    measure_page,
    measure_saves,
    page_request,
    served_as_gunicorn_serves,
    time_in_turn,
)
from trialsite.benchmark.raw_reads import read_audit_trail, read_safety
from trialsite.i18n import StrOrPromise
from trialsite.imports import ImportReport, import_participants, import_visits
from trialsite.management.options import choose_study
from trialsite.models import EntryStatus, Participant, Site, SiteMembership, Study, Visit
from trialsite.selectors import visits_visible_to

#: The two users the pages are rendered as: a data manager sees every site, a coordinator one.
DATA_MANAGER = "data manager"
COORDINATOR = "coordinator"
ROLES: dict[str, str] = {DATA_MANAGER: "Data manager", COORDINATOR: "Coordinator"}
#: The coordinator's site, the first of the cohort's.
COORDINATOR_SITE = SITES[0]
#: Every this many participants, the data manager raises a query on the latest visit.
QUERY_EVERY = 25
BENCHMARK_REASON = "benchmark set-up"


@dataclass(frozen=True)
class Page:
    """A page (or CSV download) the benchmark renders: its URL name, whose page it is (a
    participant's, a visit's, or none) and its query parameters; a download has the raw read
    its time is set beside."""

    label: StrOrPromise
    url_name: str
    subject: str = ""
    params: tuple[tuple[str, str], ...] = ()
    raw_read: raw_reads.RawRead | None = None


CSV = ("format", "csv")
PAGES: tuple[Page, ...] = (
    Page(_("Home"), "home"),
    Page(_("Participant list, page 1"), "participant_list"),
    Page(_("Participant page"), "participant_detail", "participant"),
    Page(_("Visit page"), "visit_detail", "visit"),
    Page(_("Visit entry form"), "visit_entry", "visit"),
    Page(_("Query list"), "query_list"),
    Page(_("Cohort summary"), "cohort_summary", raw_read=raw_reads.read_cohort_summary),
    Page(
        _("Cohort summary, filtered"),
        "cohort_summary",
        params=(("site", COORDINATOR_SITE), ("sex", "F"), ("age", "12-17")),
    ),
    Page(_("Response matrix"), "report_matrix", raw_read=raw_reads.read_matrix_page),
    Page(_("Baseline characteristics"), "report_baseline", raw_read=raw_reads.read_baseline),
    Page(_("Plots"), "report_plots"),
    Page(_("Safety report"), "report_safety"),
    Page("cohort.csv", "cohort_summary", params=(CSV,), raw_read=raw_reads.read_cohort_visits),
    Page(
        "cohort.csv (mITT)",
        "cohort_summary",
        params=(CSV, ("table", "mitt")),
        raw_read=raw_reads.read_mitt_cells,
    ),
    Page("not-infused.csv", "cohort_summary", params=(CSV, ("table", "not_infused"))),
    Page("responses.csv", "report_matrix", params=(CSV,), raw_read=raw_reads.read_response_rows),
    Page("baseline.csv", "report_baseline", params=(CSV,), raw_read=raw_reads.read_baseline),
    Page(
        "safety.csv",
        "report_safety",
        params=(CSV, ("table", "safety")),
        raw_read=read_safety,
    ),
    Page(
        "safety_summary.csv",
        "report_safety",
        params=(CSV, ("table", "safety_summary")),
        raw_read=read_safety,
    ),
)


@dataclass(frozen=True)
class Export:
    """An export command with its arguments and the raw read its time is set beside."""

    command: str
    arguments: tuple[str, ...]
    raw_read: raw_reads.RawRead

    @property
    def label(self) -> str:
        return " ".join((self.command, *self.arguments))


EXPORTS: tuple[Export, ...] = (
    Export("export_responses", (), raw_reads.read_response_rows),
    Export("export_cohort", (), raw_reads.read_cohort_visits),
    Export("export_cohort", ("--population", "mitt"), raw_reads.read_mitt_cells),
    Export("export_safety", (), read_safety),
)


@dataclass(frozen=True)
class Step:
    """A step timed once, with the rows it handled."""

    label: StrOrPromise
    rows: int
    seconds: float


@dataclass(frozen=True)
class PageResult:
    page: Page
    #: By role: its renderings, or None when the role may not open the page.
    by_role: dict[str, PageTiming | None]


@dataclass(frozen=True)
class ExportResult:
    """An export (a command, a page's download, the audit-trail export) timed beside its raw
    read."""

    label: str
    timing: Timing
    raw: Timing
    #: The timing is a page's, among the pages in the growth table.
    of_a_page: bool

    @property
    def ratio(self) -> float | None:
        """The export's median over the raw read's (None if the read took no measurable time)."""
        raw = self.raw.p50_ms
        return self.timing.p50_ms / raw if raw > 0 else None


@dataclass(frozen=True)
class SizeResult:
    """Everything measured on one cohort size."""

    participants: int
    visits: int
    database: str
    #: The database's vendor and version, e.g. "PostgreSQL 15.20".
    database_version: str
    steps: tuple[Step, ...]
    pages: tuple[PageResult, ...]
    exports: tuple[ExportResult, ...]
    saves: Timing


Progress = Callable[[str], None]


@contextmanager
def measuring() -> Iterator[None]:
    """Run as the test runner runs tests: debug off (no query log, templates as in production)
    and the test client's host allowed; without the log lines of every login and task."""
    # Not a line for each login of the benchmark's users, nor for each export task.
    quieted = [logging.getLogger(name) for name in ("axes", "django_tasks")]
    levels = [logger.level for logger in quieted]
    for logger in quieted:
        logger.setLevel(logging.WARNING)
    try:
        with (
            override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
            warnings.catch_warnings(),
        ):
            # WhiteNoise looks for collected static files, which the benchmark does not need.
            warnings.filterwarnings("ignore", "No directory at", UserWarning)
            yield
    finally:
        for logger, level in zip(quieted, levels, strict=True):
            logger.setLevel(level)


def run_benchmark(
    sizes: list[int], *, runs: int, saves: int, seed: int, keep_db: bool, progress: Progress
) -> list[SizeResult]:
    """Measure each cohort size in a fresh database of its own."""
    results = []
    with measuring():
        for size in sizes:
            with throwaway_database(str(size), keep=keep_db) as database:
                results.append(run_size(size, runs=runs, saves=saves, seed=seed, progress=progress))
                if keep_db:
                    progress(_("Kept the database %(name)s") % {"name": database})
    return results


def run_size(size: int, *, runs: int, saves: int, seed: int, progress: Progress) -> SizeResult:
    """Measure one cohort size in the current (fresh, migrated) database."""
    caches["default"].clear()  # the plots drawn for another size
    today = timezone.localdate()
    study = choose_study(None)
    data_manager = _user("bench-data-manager", DATA_MANAGER)

    started = time.perf_counter()
    schedule, unscheduled = _schedule(study)
    files = generate_cohort(
        size, schedule=schedule, unscheduled=unscheduled, today=today, seed=seed
    )
    generated = Step(_("generate the files"), files.visit_count, time.perf_counter() - started)
    progress(
        _("%(size)d participants: importing %(visits)d visits")
        % {"size": size, "visits": files.visit_count}
    )
    imported_participants = _import(
        partial(import_participants, create_sites=True),
        files.participants_csv,
        "participants.csv",
        study=study,
        author=data_manager,
    )
    imported_visits = _import(
        import_visits, files.visits_csv, "visits.csv", study=study, author=data_manager
    )
    started = time.perf_counter()
    with transaction.atomic():
        result_count = recompute_all_responses()
    recomputed = Step(_("full recompute"), result_count, time.perf_counter() - started)
    _raise_queries(data_manager)

    coordinator = _user("bench-coordinator", COORDINATOR)
    services.save_with_audit(
        SiteMembership(user=coordinator, site=Site.objects.get(code=COORDINATOR_SITE)),
        author=None,
        reason=BENCHMARK_REASON,
    )
    settle()
    clients = {
        DATA_MANAGER: logged_in_client(data_manager),
        COORDINATOR: logged_in_client(coordinator),
    }
    progress(_("%(size)d participants: rendering the pages") % {"size": size})
    subjects = _page_subjects(study, coordinator)
    with served_as_gunicorn_serves():
        pages = _measure_pages(clients, subjects, runs)
    progress(_("%(size)d participants: exports and raw reads") % {"size": size})
    exports = _measure_exports(clients[DATA_MANAGER], subjects, study=study, as_of=today, runs=runs)
    exports += (_measure_audit_trail(clients[DATA_MANAGER], runs),)
    progress(_("%(size)d participants: saving visits") % {"size": size})
    visits = _visits_to_save(study, coordinator, saves)
    with served_as_gunicorn_serves():
        saved = measure_saves(clients[COORDINATOR], visits)
    return SizeResult(
        participants=size,
        visits=files.visit_count,
        database=connection.settings_dict["NAME"],
        database_version=database_version(),
        steps=(generated, imported_participants, imported_visits, recomputed),
        pages=pages,
        exports=exports,
        saves=saved,
    )


def _measure_pages(
    clients: dict[str, Client], subjects: "_Subjects", runs: int
) -> tuple[PageResult, ...]:
    """Render every page as each role."""
    return tuple(
        PageResult(
            page,
            {
                role: measure_page(client, _url(page, subjects), runs)
                for role, client in clients.items()
            },
        )
        for page in PAGES
    )


def _measure_exports(
    data_manager: Client, subjects: "_Subjects", *, study: Study, as_of: date, runs: int
) -> tuple[ExportResult, ...]:
    """Time each export command, and each page with a raw read as the data manager (served as
    gunicorn serves it, as the pages are), in turn with its raw read."""
    exports = []
    for export in EXPORTS:
        timing, raw = time_in_turn(
            command_run(export.command, export.arguments),
            partial(export.raw_read, study, as_of),
            runs,
        )
        exports.append(ExportResult(export.label, timing, raw, of_a_page=False))
    with served_as_gunicorn_serves():
        for page in PAGES:
            if page.raw_read is not None:
                timing, raw = time_in_turn(
                    page_request(data_manager, _url(page, subjects)),
                    partial(page.raw_read, study, as_of),
                    runs,
                )
                exports.append(ExportResult(str(page.label), timing, raw, of_a_page=True))
    return tuple(exports)


#: The audit trail, written by a worker: timed as if the worker ran inside the request.
AUDIT_TRAIL = "audit-trail.csv"
_TASKS_IN_THE_REQUEST = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _measure_audit_trail(client: Client, runs: int) -> ExportResult:
    """Time the data manager's audit-trail export, asked for on Home, written and downloaded,
    beside the raw read of every history row."""

    def export() -> None:
        asked = client.post(reverse("export_job_create"), {"kind": "audit_trail"})
        if asked.status_code != 302:
            raise BenchmarkError(f"Asking for the audit trail answered {asked.status_code}.")
        job = resolve(asked["Location"]).kwargs["pk"]
        downloaded = client.get(reverse("export_job_download", args=[job]))
        if downloaded.status_code != 200:
            raise BenchmarkError(f"Its download answered {downloaded.status_code}.")

    with override_settings(TASKS=_TASKS_IN_THE_REQUEST):
        timing, raw = time_in_turn(export, read_audit_trail, runs)
    return ExportResult(AUDIT_TRAIL, timing, raw, of_a_page=False)


def _user(username: str, role: str) -> User:
    user = get_user_model().objects.create_user(username)
    user.groups.add(Group.objects.get(name=ROLES[role]))
    return user


def _schedule(study: Study) -> tuple[list[ScheduledVisit], str | None]:
    """Return the study's scheduled visits in order, and the code of its unscheduled visit."""
    scheduled, unscheduled = [], None
    for definition in study.visit_definitions.order_by("order"):
        if definition.repeatable:
            unscheduled = definition.code
        elif definition.target_day is not None:
            low, high = definition.window_low, definition.window_high
            scheduled.append(
                ScheduledVisit(
                    definition.code,
                    definition.target_day,
                    definition.target_day if low is None else low,
                    definition.target_day if high is None else high,
                )
            )
    return scheduled, unscheduled


def _import(
    importer: Callable[..., ImportReport],
    text: str,
    file_name: str,
    *,
    study: Study,
    author: User,
) -> Step:
    """Import a file as the data manager; refuse to go on when any row has a problem."""
    started = time.perf_counter()
    report = importer(text, file_name=file_name, study=study, author=author)
    seconds = time.perf_counter() - started
    if report.problems:
        shown = "; ".join(str(problem) for problem in report.problems[:5])
        raise BenchmarkError(f"{len(report.problems)} problems in {file_name}: {shown}")
    return Step(_("import %(file)s") % {"file": file_name}, len(report.created), seconds)


def _raise_queries(author: User) -> None:
    """Raise a query on the PGA of the latest visit of every QUERY_EVERY-th participant."""
    latest: dict[int, int] = {}
    for visit_pk, participant_pk in Visit.objects.order_by("visit_date").values_list(
        "pk", "participant_id"
    ):
        latest[participant_pk] = visit_pk
    for participant_pk in sorted(latest)[::QUERY_EVERY]:
        queries.query_raise(
            visit=Visit.objects.get(pk=latest[participant_pk]),
            field="pga",
            text="Please check the PGA against the source document.",
            author=author,
        )


@dataclass(frozen=True)
class _Subjects:
    participant: Participant
    visit: Visit


def _follow_up_visits(study: Study, coordinator: User) -> list[Visit]:
    """Return the complete scheduled visits after baseline, with a PGA, that the coordinator
    sees, newest first."""
    baseline_order = study.baseline_visit.order if study.baseline_visit is not None else -1
    return list(
        visits_visible_to(coordinator)
        .filter(
            entry_status=EntryStatus.COMPLETE,
            pga__score__isnull=False,
            visit_definition__repeatable=False,
            visit_definition__order__gt=baseline_order,
        )
        .order_by("-visit_date", "pk")
    )


def _page_subjects(study: Study, coordinator: User) -> _Subjects:
    """Choose the participant and visit whose pages are rendered: the coordinator's participant
    with the most visits, and that participant's latest follow-up visit."""
    visits = _follow_up_visits(study, coordinator)
    if not visits:
        raise BenchmarkError(f"No follow-up visit at {COORDINATOR_SITE}: the cohort is too small.")
    counts: dict[int, int] = {}
    for visit in visits:
        counts[visit.participant_id] = counts.get(visit.participant_id, 0) + 1
    busiest = max(counts, key=lambda pk: (counts[pk], -pk))
    visit = next(visit for visit in visits if visit.participant_id == busiest)
    return _Subjects(participant=visit.participant, visit=visit)


def _visits_to_save(study: Study, coordinator: User, count: int) -> list[Visit]:
    """Choose ``count`` follow-up visits to save, each participant's newest first and one
    participant after another; the same visits again when there are fewer."""
    by_participant: dict[int, list[Visit]] = {}
    for visit in _follow_up_visits(study, coordinator):
        by_participant.setdefault(visit.participant_id, []).append(visit)
    rounds = max(len(visits) for visits in by_participant.values())
    order = [
        visits[index]
        for index in range(rounds)
        for visits in by_participant.values()
        if index < len(visits)
    ]
    return [order[index % len(order)] for index in range(count)]


def _url(page: Page, subjects: _Subjects) -> str:
    args = []
    if page.subject == "participant":
        args = [subjects.participant.pk]
    elif page.subject == "visit":
        args = [subjects.visit.pk]
    url = reverse(page.url_name, args=args)
    return f"{url}?{urlencode(page.params)}" if page.params else url


def database_version() -> str:
    """Name the database's vendor and version."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
        return f"PostgreSQL {str(row[0]).split()[0] if row else '?'}"
    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    return connection.display_name
