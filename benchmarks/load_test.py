"""Load-test visit entry and the reports under gunicorn and PostgreSQL, on loopback only.

    .venv/bin/python benchmarks/load_test.py [--duration 60] [--coordinators 20] [--readers 5]
        [--workers 3] [--think-time 0] [--database-name trialsite_load] [--keep-db]

Creates a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres, trust authentication),
migrates it, loads the demo cohort and adds the load users: coordinators who belong to every site
and report readers (role Monitor). Serves the site with gunicorn in production mode
(DJANGO_DEBUG=0, collected static files) on a free port of 127.0.0.1, logs every simulated user
in, then for --duration seconds each coordinator opens one visit's entry form, changes the PGA and
saves the visit as complete, again and again, while the readers cycle through the report pages.
Several coordinators work on the same participant at once, never on the same visit. By default
no simulated user waits between requests; --think-time gives each a random pause of that mean
before each request, as people reading a page or filling in a form take. Prints, per kind of
request, the count, the server errors, the refused saves and the median and 95th-percentile
latency, summarises the exceptions in gunicorn's log, then runs ``manage.py recompute_responses
--check`` on the load database. Stops gunicorn and drops the database at the end (unless
--keep-db).

Exit status: 0 when every request was answered without a server error and every stored result
equals a fresh computation; 1 otherwise; 2 when the test could not be set up.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    import psycopg

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # every request of this script goes to the loopback address, nowhere else
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
DATABASE_NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
VISITS_PER_PARTICIPANT = 4
REQUEST_TIMEOUT_SECONDS = 60.0
READY_TIMEOUT_SECONDS = 60.0
SUBPROCESS_TIMEOUT_SECONDS = 600.0
STOP_TIMEOUT_SECONDS = 30.0
USER_REASON = "Load test users (benchmarks/load_test.py)"
CHANGE_REASON = "Load test: PGA changed (benchmarks/load_test.py)"
PLAN_MARKER = "LOAD_TEST_PLAN="
PASSWORD_VARIABLE = "LOAD_TEST_PASSWORD"
REPORT_URL_NAMES = ["cohort_summary", "report_matrix", "report_baseline", "report_plots"]
SAVE, OPEN_FORM, REPORT = "save", "open form", "report page"
KINDS = [SAVE, OPEN_FORM, REPORT]
SAMPLES_KEPT = 5
LOG_LINES_SHOWN = 40


# --- Plan of the run (written by the child process that creates the users) ---------------------


@dataclass(frozen=True)
class CoordinatorTask:
    username: str
    participant_id: str
    visit_code: str
    entry_path: str
    detail_path: str


@dataclass(frozen=True)
class Plan:
    login_path: str
    coordinators: list[CoordinatorTask]
    readers: list[str]
    report_paths: list[str]


def prepare_users(coordinators: int, readers: int) -> None:
    """Create the load users in the database of DATABASE_URL and print the plan as JSON.

    Runs in a child process (``--prepare-users``) with DJANGO_DEBUG=1, after the demo cohort is
    loaded. Chooses the visits: the last follow-up visits of the participants with the most of
    them, each complete and valid to save as complete again (every answer given, no BILAG-2004
    grade E after involvement).
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.urls import reverse

    from trialsite import services
    from trialsite.models import EntryStatus, Participant, Site, SiteMembership, Study

    password = os.environ[PASSWORD_VARIABLE]
    study = Study.objects.select_related("baseline_visit").get()
    candidates: list[tuple[int, str, list]] = []
    participants = Participant.objects.order_by("participant_id").prefetch_related(
        "visits__visit_definition", "visits__sledai", "visits__pga", "visits__bilag"
    )
    for participant in participants:
        visits = sorted(participant.visits.all(), key=lambda visit: visit.visit_date)
        baseline = next((v for v in visits if v.visit_definition == study.baseline_visit), None)
        if baseline is None:
            continue
        followups = [
            visit
            for visit in visits
            if visit.visit_date > baseline.visit_date
            and visit.entry_status == EntryStatus.COMPLETE
            and all(hasattr(visit, name) for name in ("sledai", "pga", "bilag"))
            and not services.missing_answers(
                visit.sledai.answers(), visit.pga.score, visit.bilag.grades()
            )
            and not services.bilag_history_errors(
                participant, proposed_visit=visit, proposed_grades=visit.bilag.grades()
            )
        ]
        if len(followups) >= VISITS_PER_PARTICIPANT:
            candidates.append(
                (len(followups), participant.participant_id, followups[-VISITS_PER_PARTICIPANT:])
            )
    # The participants furthest in follow-up first (those who reached the primary timepoint).
    candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))
    visits = [(pid, visit) for _count, pid, followups in candidates for visit in followups]
    if len(visits) < coordinators:
        raise SystemExit(
            f"Only {len(visits)} visits fit ({len(candidates)} participants with "
            f"{VISITS_PER_PARTICIPANT} complete follow-up visits); ask for fewer coordinators."
        )

    User = get_user_model()
    sites = list(Site.objects.all())
    tasks = []
    reader_names = []
    with transaction.atomic():
        for number, (participant_id, visit) in enumerate(visits[:coordinators], start=1):
            user = User.objects.create_user(f"load-coordinator-{number:02d}", password=password)
            user.groups.add(Group.objects.get(name="Coordinator"))
            for site in sites:
                services.save_with_audit(
                    SiteMembership(user=user, site=site), author=None, reason=USER_REASON
                )
            tasks.append(
                {
                    "username": user.username,
                    "participant_id": participant_id,
                    "visit_code": visit.visit_definition.code,
                    "entry_path": reverse("visit_entry", args=[visit.pk]),
                    "detail_path": reverse("visit_detail", args=[visit.pk]),
                }
            )
        for number in range(1, readers + 1):
            user = User.objects.create_user(f"load-reader-{number:02d}", password=password)
            user.groups.add(Group.objects.get(name="Monitor"))
            reader_names.append(user.username)
    plan = {
        "login_path": reverse("login"),
        "coordinators": tasks,
        "readers": reader_names,
        "report_paths": [reverse(name) for name in REPORT_URL_NAMES],
    }
    print(PLAN_MARKER + json.dumps(plan))


def read_plan(output: str) -> Plan:
    """Find the plan line in the child's output."""
    line = next(line for line in output.splitlines() if line.startswith(PLAN_MARKER))
    data = json.loads(line.removeprefix(PLAN_MARKER))
    return Plan(
        login_path=data["login_path"],
        coordinators=[CoordinatorTask(**task) for task in data["coordinators"]],
        readers=data["readers"],
        report_paths=data["report_paths"],
    )


# --- Database, Django commands and the server ---------------------------------------------------


class SetupError(Exception):
    """The test could not be set up (database, migrations, server)."""


def database_url(name: str) -> str:
    """Return the DATABASE_URL of a database on the local PostgreSQL server."""
    return f"postgres://{POSTGRES_USER}@{HOST}:{POSTGRES_PORT}/{name}"


def _admin_connection() -> "psycopg.Connection":
    """Connect to the server's maintenance database, outside any transaction."""
    import psycopg

    return psycopg.connect(
        host=HOST, port=POSTGRES_PORT, user=POSTGRES_USER, dbname="postgres", autocommit=True
    )


def create_database(name: str) -> None:
    """Create the load database; refuse to reuse one that exists."""
    from psycopg import sql

    with _admin_connection() as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            raise SetupError(
                f"Database {name} exists already (left by --keep-db?); drop it or pass another "
                "--database-name. The load test only uses a database it created itself."
            )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    """Drop the load database, closing any connection left to it."""
    from psycopg import sql

    with _admin_connection() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def run_command(
    arguments: list[str], environment: dict[str, str], description: str
) -> subprocess.CompletedProcess:
    """Run a command from the repository root; raise SetupError with its output if it fails."""
    started = time.monotonic()
    completed = subprocess.run(
        arguments,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise SetupError(
            f"{description} failed (exit status {completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    print(f"  {description}: {time.monotonic() - started:.1f} s")
    return completed


def manage(arguments: list[str]) -> list[str]:
    """Return the command line of a manage.py command run with this Python."""
    return [sys.executable, "manage.py", *arguments]


def static_root_environment(environment: dict[str, str], work_dir: Path) -> dict[str, str]:
    """Point collectstatic and the server at a temporary STATIC_ROOT.

    The settings read DJANGO_STATIC_ROOT; a tree whose settings do not yet do so gets a settings
    module of its own in the work directory that imports trialsite.settings and sets STATIC_ROOT,
    so the production settings (DEBUG off, the manifest storage) stay in force either way.
    """
    static_root = work_dir / "static"
    environment = {**environment, "DJANGO_STATIC_ROOT": str(static_root)}
    probe_environment = {"DJANGO_SETTINGS_MODULE": "trialsite.settings", **environment}
    completed = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.STATIC_ROOT)"],
        cwd=ROOT,
        env=probe_environment,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode == 0 and Path(completed.stdout.strip()) == static_root:
        return environment
    print("  note: the settings do not read DJANGO_STATIC_ROOT; using a settings overlay")
    overlay = work_dir / "load_test_settings.py"
    overlay.write_text(
        f"from trialsite.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
    )
    python_path = os.pathsep.join(
        filter(None, [str(work_dir), str(ROOT), environment.get("PYTHONPATH")])
    )
    return {
        **environment,
        "DJANGO_SETTINGS_MODULE": "load_test_settings",
        "PYTHONPATH": python_path,
    }


def free_port() -> int:
    """Return a TCP port of the loopback address that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def gunicorn_executable() -> str:
    """Return the gunicorn next to this Python (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / "gunicorn"
    if candidate.exists():
        return str(candidate)
    raise SetupError(f"{candidate} is missing: .venv/bin/pip install gunicorn")


def start_server(
    environment: dict[str, str], port: int, workers: int, log_path: Path
) -> subprocess.Popen:
    """Start gunicorn on the loopback address, its output going to the log file."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                gunicorn_executable(),
                "trialsite.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"{HOST}:{port}",
                # No control socket in the home directory, shared with other gunicorns (25.1+).
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_ready(server: subprocess.Popen, port: int, path: str, log_path: Path) -> None:
    """Poll the login page until it answers 200, for at most READY_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"gunicorn exited with status {server.returncode}:\n{tail(log_path)}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            finally:
                connection.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.25)
    raise SetupError(f"gunicorn did not answer within {READY_TIMEOUT_SECONDS:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn (its master stops the workers); kill its process group if it hangs."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT_SECONDS)


def tail(path: Path, lines: int = LOG_LINES_SHOWN) -> str:
    """Return the last lines of a log file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- HTML: forms and error messages -------------------------------------------------------------

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
UNSENT_INPUT_TYPES = {"submit", "button", "image", "reset", "file"}
ERROR_CLASSES = {"invalid-feedback", "text-danger", "alert-danger", "errorlist"}


@dataclass
class ParsedForm:
    form_id: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        """Return the first value of a control (None when the form lacks it)."""
        return next((value for key, value in self.fields if key == name), None)

    def set(self, name: str, value: str) -> None:
        """Replace every value of a control by one value (add the control if missing)."""
        self.fields = [(key, v) for key, v in self.fields if key != name]
        self.fields.append((name, value))


class FormParser(HTMLParser):
    """Collect each form's controls with the values a browser would submit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[ParsedForm] = []
        self._form: ParsedForm | None = None
        self._select: tuple[str, bool] | None = None  # name, multiple
        self._options: list[tuple[str, bool]] = []  # value, selected
        self._option: dict[str, str | None] | None = None
        self._option_text: list[str] = []
        self._textarea: str | None = None
        self._textarea_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._form = ParsedForm(form_id=attributes.get("id") or "")
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attributes.get("name")
        disabled = "disabled" in attributes
        if tag == "input" and name and not disabled:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self._form.fields.append((name, attributes.get("value") or "on"))
            elif kind not in UNSENT_INPUT_TYPES:
                self._form.fields.append((name, attributes.get("value") or ""))
        elif tag == "select" and name and not disabled:
            self._select = (name, "multiple" in attributes)
            self._options = []
        elif tag == "option" and self._select is not None:
            self._end_option()
            self._option = attributes
            self._option_text = []
        elif tag == "textarea" and name and not disabled:
            self._textarea = name
            self._textarea_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None and self._form is not None:
            self._end_option()
            name, multiple = self._select
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]  # a browser submits the first option
            self._form.fields.extend((name, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._textarea_text)
            self._form.fields.append((self._textarea, text.removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text.append(data)
        if self._textarea is not None:
            self._textarea_text.append(data)

    def _end_option(self) -> None:
        if self._option is None:
            return
        value = self._option.get("value")
        if value is None:
            value = "".join(self._option_text).strip()
        self._options.append((value, "selected" in self._option))
        self._option = None


def find_form(html: str, *, form_id: str | None = None, control: str | None = None) -> ParsedForm:
    """Return the form with this id, or the first holding this control; raise LookupError."""
    parser = FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        if form_id is not None and form.form_id == form_id:
            return form
        if control is not None and form.value(control) is not None:
            return form
    raise LookupError(f"no form {form_id or control!r} on the page")


class ErrorTextParser(HTMLParser):
    """Collect the text of the elements that show form errors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[str] = []
        self._depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        if self._depth:
            self._depth += 1
            return
        classes = set((dict(attrs).get("class") or "").split())
        if classes & ERROR_CLASSES:
            self._depth = 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS or not self._depth:
            return
        self._depth -= 1
        if not self._depth:
            message = " ".join("".join(self._text).split())
            if message:
                self.messages.append(message)

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def error_messages(html: str) -> list[str]:
    """Return the error messages a re-rendered form shows."""
    parser = ErrorTextParser()
    parser.feed(html)
    parser.close()
    return parser.messages


# --- Simulated users ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    location: str
    body: str
    seconds: float


class SimulatedUser:
    """One browser with its own cookies.

    In production the site marks its cookies Secure, which http.cookiejar would never send over
    plain HTTP; the test server speaks plain HTTP on loopback, so the cookies are kept by hand.
    """

    def __init__(self, username: str, password: str, port: int) -> None:
        self.username = username
        self.password = password
        self.port = port
        self.cookies: dict[str, str] = {}

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on the test server."""
        return f"http://{HOST}:{self.port}{path}"

    def request(
        self, method: str, path: str, fields: Iterable[tuple[str, str]] | None = None
    ) -> Response:
        """Send one request on a new connection; raise OSError or HTTPException on failure."""
        headers = {"Accept-Language": "en", "User-Agent": "trialsite-load-test"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(list(fields)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self.url(path)
            headers["Origin"] = self.url("")
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            self._store_cookie(header)
        return Response(
            status=response.status,
            location=urlsplit(response.headers.get("Location", "")).path,
            body=content.decode("utf-8", errors="replace"),
            seconds=seconds,
        )

    def _store_cookie(self, header: str) -> None:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(header)
        except CookieError:
            return
        for name, morsel in cookie.items():
            if morsel.value == "" or morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def log_in(self, login_path: str) -> None:
        """Log in through the login form; raise SetupError unless the site redirects."""
        page = self.request("GET", login_path)
        form = find_form(page.body, control="csrfmiddlewaretoken")
        token = form.value("csrfmiddlewaretoken") or ""
        answer = self.request(
            "POST",
            login_path,
            [
                ("csrfmiddlewaretoken", token),
                ("username", self.username),
                ("password", self.password),
            ],
        )
        if answer.status != 302:
            raise SetupError(f"{self.username} could not log in (HTTP {answer.status})")


# --- Measurements -------------------------------------------------------------------------------


@dataclass
class KindStats:
    requests: int = 0
    server_errors: int = 0
    refused: int = 0
    other: int = 0
    latencies: list[float] = field(default_factory=list)
    error_samples: Counter = field(default_factory=Counter)
    refusal_samples: Counter = field(default_factory=Counter)
    other_samples: Counter = field(default_factory=Counter)

    def merge(self, other: "KindStats") -> None:
        """Add another thread's figures to these."""
        self.requests += other.requests
        self.server_errors += other.server_errors
        self.refused += other.refused
        self.other += other.other
        self.latencies.extend(other.latencies)
        self.error_samples.update(other.error_samples)
        self.refusal_samples.update(other.refusal_samples)
        self.other_samples.update(other.other_samples)


@dataclass
class ThreadStats:
    kinds: dict[str, KindStats] = field(default_factory=lambda: {k: KindStats() for k in KINDS})
    sent: int = 0

    def send(
        self,
        user: SimulatedUser,
        kind: str,
        method: str,
        path: str,
        fields: Iterable[tuple[str, str]] | None = None,
    ) -> Response | None:
        """Send a request and count it; return None after a connection failure or server error."""
        stats = self.kinds[kind]
        stats.requests += 1
        self.sent += 1
        try:
            response = user.request(method, path, fields)
        except (OSError, http.client.HTTPException) as error:
            stats.server_errors += 1
            stats.error_samples[f"connection failure: {type(error).__name__}"] += 1
            time.sleep(0.1)  # the server may be restarting a worker: do not spin
            return None
        stats.latencies.append(response.seconds)
        if response.status >= 500:
            stats.server_errors += 1
            stats.error_samples[f"HTTP {response.status}"] += 1
            return None
        return response


def percentile(values: list[float], percent: float) -> float:
    """Return the nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def think(rng: random.Random, mean_seconds: float, deadline: float) -> bool:
    """Pause as a user reading or typing does: a random time of the given mean (exponentially
    distributed; no pause when the mean is 0). Say whether there is time left for the next
    request: a pause cut short by the deadline sends none, or every user would send one at once
    when time is up."""
    if mean_seconds > 0:
        time.sleep(max(0.0, min(rng.expovariate(1 / mean_seconds), deadline - time.monotonic())))
    return time.monotonic() < deadline


def coordinator_loop(
    user: SimulatedUser,
    task: CoordinatorTask,
    stats: ThreadStats,
    deadline: float,
    max_requests: int,
    seed: int,
    think_time: float = 0.0,
) -> None:
    """Open the visit's entry form, change the PGA and save as complete, until time is up."""
    rng = random.Random(seed)
    while time.monotonic() < deadline and stats.sent + 2 <= max_requests:
        if not think(rng, think_time, deadline):
            break
        page = stats.send(user, OPEN_FORM, "GET", task.entry_path)
        if page is None:
            continue
        if page.status != 200:
            stats.kinds[OPEN_FORM].other += 1
            stats.kinds[OPEN_FORM].other_samples[f"HTTP {page.status} {page.location}"] += 1
            continue
        try:
            form = find_form(page.body, form_id="visit-entry")
        except LookupError as error:
            stats.kinds[OPEN_FORM].other += 1
            stats.kinds[OPEN_FORM].other_samples[str(error)] += 1
            continue
        current = form.value("pga") or ""
        new_pga = current
        while new_pga == current:
            new_pga = f"{rng.randint(0, 300) / 100:.2f}"
        form.set("pga", new_pga)
        form.set("change_reason", CHANGE_REASON)
        form.set("entry_status", "complete")
        if not think(rng, think_time, deadline):
            break
        answer = stats.send(user, SAVE, "POST", task.entry_path, form.fields)
        if answer is None:
            continue
        saves = stats.kinds[SAVE]
        if answer.status == 302 and answer.location == task.detail_path:
            continue
        if answer.status == 200:
            saves.refused += 1
            messages = error_messages(answer.body) or ["(no error text on the page)"]
            saves.refusal_samples[" | ".join(messages)] += 1
        else:
            saves.other += 1
            saves.other_samples[f"HTTP {answer.status} {answer.location}"] += 1


def reader_loop(
    user: SimulatedUser,
    paths: list[str],
    offset: int,
    stats: ThreadStats,
    deadline: float,
    max_requests: int,
    think_time: float = 0.0,
) -> None:
    """Read the report pages in turn, until time is up."""
    index = offset
    rng = random.Random(-1 - offset)
    while time.monotonic() < deadline and stats.sent < max_requests:
        if not think(rng, think_time, deadline):
            break
        path = paths[index % len(paths)]
        index += 1
        page = stats.send(user, REPORT, "GET", path)
        if page is not None and page.status != 200:
            stats.kinds[REPORT].other += 1
            stats.kinds[REPORT].other_samples[f"HTTP {page.status} {path}"] += 1


def run_threads(targets: list[Callable[[], None]], timeout: float) -> None:
    """Run each target in its own thread and wait for all of them (at most ``timeout``)."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except Exception as error:  # reported below, after every thread has stopped
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    finish = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, finish - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise SetupError(f"threads still running after {timeout:.0f} s")
    if errors:
        raise errors[0]


# --- Reporting ----------------------------------------------------------------------------------


def print_table(kinds: dict[str, KindStats], seconds: float) -> KindStats:
    """Print the figures per kind of request, the totals and samples of what went wrong."""
    header = (
        f"{'kind':<12} {'requests':>8}  {'per s':>6}  {'server errors':>13}  {'refused':>7}  "
        f"{'other':>5}  {'p50 ms':>7}  {'p95 ms':>7}"
    )
    lines = [header, "-" * len(header)]
    total = KindStats()
    for kind in [*KINDS, "total"]:
        stats = kinds[kind] if kind != "total" else total
        if kind != "total":
            total.merge(stats)
        else:
            lines.append("-" * len(header))
        lines.append(
            f"{kind:<12} {stats.requests:>8}  {stats.requests / seconds:>6.1f}  "
            f"{stats.server_errors:>13}  {stats.refused:>7}  {stats.other:>5}  "
            f"{percentile(stats.latencies, 50) * 1000:>7.0f}  "
            f"{percentile(stats.latencies, 95) * 1000:>7.0f}"
        )
    print("\n".join(lines))
    for kind in KINDS:
        stats = kinds[kind]
        for label, samples in [
            ("server errors", stats.error_samples),
            ("refused", stats.refusal_samples),
            ("other answers", stats.other_samples),
        ]:
            for text, count in samples.most_common(SAMPLES_KEPT):
                print(f"  {kind}, {label} x{count}: {text[:300]}")
    return total


EXCEPTION_LINE = re.compile(r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Detected|Violation))\b")


def summarise_log(log_path: Path) -> None:
    """Count the exceptions in gunicorn's log: the one raised, with its root cause."""
    exceptions: Counter = Counter()
    messages: dict[str, str] = {}
    block: list[str] = []
    worker_timeouts = 0

    def close_block() -> None:
        if block:
            last = EXCEPTION_LINE.match(block[-1])["name"]
            first = EXCEPTION_LINE.match(block[0])["name"]
            key = last if first == last else f"{last} (from {first})"
            exceptions[key] += 1
            messages.setdefault(key, block[0])
            block.clear()

    for line in log_path.read_text(errors="replace").splitlines():
        if "WORKER TIMEOUT" in line:
            worker_timeouts += 1
        if line.startswith(("Internal Server Error", "[")):
            close_block()
        if EXCEPTION_LINE.match(line):
            block.append(line)
    close_block()
    print(f"\ngunicorn log: {log_path}")
    if worker_timeouts:
        print(f"  worker timeouts: {worker_timeouts}")
    if not exceptions:
        print("  no exception logged")
    for key, count in exceptions.most_common():
        print(f"  {count:>5} x {key}")
        print(f"          e.g. {messages[key][:200]}")


def describe_tree() -> str:
    """Return the commit and whether the working tree has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"{commit} (working tree with uncommitted changes)" if dirty else commit


# --- The run ------------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    """Read and check the command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument(
        "--coordinators",
        type=int,
        default=20,
        help=f"coordinator threads saving visits, {VISITS_PER_PARTICIPANT} per participant, "
        "each on a visit of its own (default 20)",
    )
    parser.add_argument(
        "--readers", type=int, default=5, help="threads reading the report pages (default 5)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--database-name",
        default="trialsite_load",
        help="PostgreSQL database to create on 127.0.0.1:5432; it must not exist "
        "(default trialsite_load)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database afterwards (default: drop it)"
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=10_000,
        help="at most this many requests per thread, whatever the duration (default 10000)",
    )
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        help="mean seconds each simulated user pauses before each request, as a person reading "
        "a page or filling in a form does (exponentially distributed; default 0: no pause)",
    )
    parser.add_argument("--prepare-users", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if not DATABASE_NAME_PATTERN.fullmatch(arguments.database_name):
        parser.error("--database-name: lower-case letters, digits and underscores only")
    if arguments.duration <= 0 or arguments.max_requests < 2 or arguments.workers < 1:
        parser.error("--duration, --max-requests and --workers must be positive")
    if arguments.think_time < 0:
        parser.error("--think-time cannot be negative")
    if arguments.coordinators < 0 or arguments.readers < 0:
        parser.error("--coordinators and --readers cannot be negative")
    return arguments


def prepare(arguments: argparse.Namespace, environment: dict[str, str], password: str) -> Plan:
    """Migrate the new database, load the demo cohort and create the load users."""
    debug = {**environment, "DJANGO_DEBUG": "1"}
    run_command(manage(["migrate", "--noinput", "--verbosity", "0"]), debug, "migrate")
    run_command(manage(["load_demo"]), debug, "load_demo")
    completed = run_command(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--prepare-users",
            "--coordinators",
            str(arguments.coordinators),
            "--readers",
            str(arguments.readers),
        ],
        {**debug, PASSWORD_VARIABLE: password},
        "load users",
    )
    return read_plan(completed.stdout)


def run_load(
    arguments: argparse.Namespace, plan: Plan, port: int, password: str
) -> tuple[dict[str, KindStats], float]:
    """Log every simulated user in, then run the coordinators and readers for the duration."""
    coordinators = [SimulatedUser(t.username, password, port) for t in plan.coordinators]
    readers = [SimulatedUser(name, password, port) for name in plan.readers]
    started = time.monotonic()
    run_threads(
        [lambda user=user: user.log_in(plan.login_path) for user in coordinators + readers],
        timeout=REQUEST_TIMEOUT_SECONDS * 2,
    )
    print(
        f"  {len(coordinators) + len(readers)} users logged in: {time.monotonic() - started:.1f} s"
    )

    stats = [ThreadStats() for _ in coordinators + readers]
    deadline = time.monotonic() + arguments.duration
    targets: list[Callable[[], None]] = [
        lambda user=user, task=task, s=s, n=n: coordinator_loop(
            user, task, s, deadline, arguments.max_requests, seed=n, think_time=arguments.think_time
        )
        for n, (user, task, s) in enumerate(
            zip(coordinators, plan.coordinators, stats[: len(coordinators)], strict=True)
        )
    ]
    targets += [
        lambda user=user, s=s, n=n: reader_loop(
            user, plan.report_paths, n, s, deadline, arguments.max_requests, arguments.think_time
        )
        for n, (user, s) in enumerate(zip(readers, stats[len(coordinators) :], strict=True))
    ]
    started = time.monotonic()
    print(
        f"load: {len(coordinators)} coordinators, {len(readers)} readers, "
        f"{arguments.duration:.0f} s, "
        + (
            f"{arguments.think_time:g} s of thinking before each request on average ..."
            if arguments.think_time
            else "no pause between requests ..."
        ),
        flush=True,
    )
    run_threads(targets, timeout=arguments.duration + REQUEST_TIMEOUT_SECONDS + 30)
    elapsed = time.monotonic() - started
    kinds = {kind: KindStats() for kind in KINDS}
    for thread_stats in stats:
        for kind in KINDS:
            kinds[kind].merge(thread_stats.kinds[kind])
    return kinds, elapsed


def check_results(environment: dict[str, str]) -> bool:
    """Run recompute_responses --check on the load database; return whether nothing is stale."""
    completed = subprocess.run(
        manage(["recompute_responses", "--check"]),
        cwd=ROOT,
        env={**environment, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    print(f"\nmanage.py recompute_responses --check: exit status {completed.returncode}")
    shown = lines if len(lines) <= 2 * SAMPLES_KEPT else [*lines[:SAMPLES_KEPT], "...", *lines[-2:]]
    for line in shown:
        print(f"  {line[:300]}")
    return completed.returncode == 0


def describe_plan(plan: Plan) -> str:
    """Name the visits saved, grouped by participant."""
    visits: dict[str, list[str]] = {}
    for task in plan.coordinators:
        visits.setdefault(task.participant_id, []).append(task.visit_code)
    return "; ".join(f"{pid} {' '.join(codes)}" for pid, codes in visits.items())


def main() -> int:
    """Run the load test and return the exit status."""
    arguments = parse_arguments()
    if arguments.prepare_users:
        prepare_users(arguments.coordinators, arguments.readers)
        return 0

    print(
        f"load test of {describe_tree()} on {datetime.now().astimezone():%Y-%m-%d %H:%M %z}, "
        f"{os.cpu_count()} CPUs"
    )
    work_dir = Path(tempfile.mkdtemp(prefix="trialsite-load-"))
    log_path = work_dir / "gunicorn.log"
    password = secrets.token_urlsafe(24)
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(arguments.database_name),
        "DJANGO_LOG_LEVEL": "INFO",
    }
    server: subprocess.Popen | None = None
    created = False
    try:
        print(f"setup (database {arguments.database_name}, work directory {work_dir}):")
        create_database(arguments.database_name)
        created = True
        plan = prepare(arguments, environment, password)
        print(f"  visits saved: {describe_plan(plan)}")
        production = static_root_environment(
            {
                **environment,
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": HOST,
                "DJANGO_SECURE_SSL_REDIRECT": "0",
            },
            work_dir,
        )
        run_command(
            manage(["collectstatic", "--noinput", "--verbosity", "0"]), production, "collectstatic"
        )
        port = free_port()
        server = start_server(production, port, arguments.workers, log_path)
        wait_until_ready(server, port, plan.login_path, log_path)
        print(f"  gunicorn: {arguments.workers} workers on http://{HOST}:{port}")
        kinds, elapsed = run_load(arguments, plan, port, password)
        stop_server(server)
        print(f"\n{elapsed:.1f} s of load\n")
        total = print_table(kinds, elapsed)
        summarise_log(log_path)
        fresh = check_results(environment)
    except Exception as error:  # any failure of the harness itself is exit status 2, not 1
        if not isinstance(error, SetupError | subprocess.TimeoutExpired):
            traceback.print_exc()
        print(f"\nload test not run: {error}", file=sys.stderr)
        if log_path.exists():
            print(f"gunicorn log: {log_path}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(work_dir / "static", ignore_errors=True)
        if created and not arguments.keep_db:
            drop_database(arguments.database_name)
        elif created:
            print(f"database kept: {database_url(arguments.database_name)}")
    failed = total.server_errors > 0 or not fresh
    print(
        f"\nresult: {total.server_errors} server errors, "
        f"{'no stale results' if fresh else 'stale results'}: {'FAIL' if failed else 'PASS'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
