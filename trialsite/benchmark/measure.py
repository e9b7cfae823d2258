"""Timing: samples and their percentiles, a page rendered as a user sees it, a command, a raw
read, a visit saved through its entry form."""

import gc
import io
import math
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialsite.forms import OPENED_VERSION, AssessmentForm
from trialsite.memory import freeze_loaded_objects
from trialsite.models import EntryStatus, Visit
from trialsite.two_factor.devices import confirmed_device
from trialsite.two_factor.policy import second_factor_required


@contextmanager
def served_as_gunicorn_serves() -> Iterator[None]:
    """Render pages as a gunicorn worker does: with the objects already loaded frozen out of the
    garbage collector's generations (trialsite/wsgi.py, trialsite/memory.py)."""
    freeze_loaded_objects()
    try:
        yield
    finally:
        gc.unfreeze()


class BenchmarkError(RuntimeError):
    """The benchmark could not measure what it meant to (a refused import row, a page that did
    not answer 200, a save that was not saved)."""


@dataclass(frozen=True)
class Timing:
    """Seconds taken by repeated runs of one thing."""

    seconds: tuple[float, ...]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        """The 95th percentile by nearest rank: of 20 runs, the 19th fastest."""
        ordered = sorted(self.seconds)
        return ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000


@dataclass(frozen=True)
class PageTiming:
    """A page's renderings and the database queries of one of them."""

    timing: Timing
    queries: int


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def time_runs(run: Callable[[], object], runs: int) -> Timing:
    """Time ``runs`` calls of ``run`` (the caller has warmed it up)."""
    return Timing(tuple(_seconds(run) for _run in range(runs)))


def time_in_turn(
    report: Callable[[], object], read: Callable[[], object], runs: int
) -> tuple[Timing, Timing]:
    """Time a report and its raw read in turn, ``runs`` times each, after one call of each to
    warm up. Both are timed in the same minutes: on a shared machine the speed moves by half
    from one minute to the next, and their ratio would move with it."""
    report()
    read()
    reports, reads = [], []
    for _run in range(runs):
        reports.append(_seconds(report))
        reads.append(_seconds(read))
    return Timing(tuple(reports)), Timing(tuple(reads))


def logged_in_client(user: User) -> Client:
    """Return a test client logged in as the user, past the second factor when the user must
    pass one (as the code page marks a session that passed it)."""
    client = Client()
    client.force_login(user)
    if second_factor_required(user):
        device = confirmed_device(user) or TOTPDevice.objects.create(
            user=user, name="Benchmark", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def _read(response: HttpResponseBase) -> bytes:
    """Read the whole answer, a streamed one included (its queries run as it streams)."""
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)  # type: ignore[arg-type]  # bytes here
    return response.content  # type: ignore[attr-defined]  # a plain HttpResponse


def page_request(client: Client, url: str) -> Callable[[], int]:
    """Return a call that asks for the page and reads the whole answer; it returns the status."""

    def get() -> int:
        response = client.get(url)
        _read(response)
        return response.status_code

    return get


def measure_page(client: Client, url: str, runs: int) -> PageTiming | None:
    """Render the page once to warm up, twice counting queries, then ``runs`` times timed.
    Return None when the user may not open it (403). The fewer of the two counts is the page's:
    a signed-in session is extended at most once a minute (trialsite/idle_sessions.py), a few
    queries more on the request that does it, so one of two requests in a row does not."""

    get = page_request(client, url)
    status = get()
    if status == 403:
        return None
    if status != 200:
        raise BenchmarkError(f"GET {url} answered {status}, not 200.")
    counts = []
    for _count in range(2):
        with CaptureQueriesContext(connection) as captured:
            get()
        counts.append(len(captured))  # now: the next request empties the log it reads
    return PageTiming(timing=time_runs(get, runs), queries=min(counts))


def command_run(name: str, arguments: tuple[str, ...]) -> Callable[[], None]:
    """Return a call that runs a management command writing to memory."""

    def run() -> None:
        call_command(name, *arguments, stdout=io.StringIO())

    return run


#: The reason a benchmark save gives for its change, as a coordinator types one.
SAVE_REASON = "PGA re-read from the source document"
_OPENED_VERSION = re.compile(rf'name="{OPENED_VERSION}" value="([^"]*)"')
_ERROR_TEXT = re.compile(r'class="[^"]*(?:invalid-feedback|alert-danger)[^"]*"[^>]*>(.*?)</', re.S)


def measure_saves(client: Client, visits: list[Visit]) -> Timing:
    """Save each visit through its entry form as the client's user, changing the PGA with a
    reason, and time each save (validation, the save and the rescoring: the POST until its
    redirect). Opening the form, for the version it carries, is not timed."""
    samples = []
    for visit in visits:
        url = reverse("visit_entry", args=[visit.pk])
        page = client.get(url)
        found = _OPENED_VERSION.search(page.content.decode())
        if page.status_code != 200 or found is None:
            raise BenchmarkError(f"GET {url} answered {page.status_code} without a form version.")
        data = entry_form_data(visit, opened_version=found.group(1))
        started = time.perf_counter()
        response = client.post(url, data)
        samples.append(time.perf_counter() - started)
        if response.status_code != 302 or response["Location"] != reverse(
            "visit_detail", args=[visit.pk]
        ):
            page_text = response.content.decode()
            errors = [" ".join(text.split()) for text in _ERROR_TEXT.findall(page_text)]
            raise BenchmarkError(f"POST {url} was not saved ({response.status_code}): {errors}")
    return Timing(tuple(samples))


def entry_form_data(visit: Visit, *, opened_version: str) -> dict[str, str]:
    """Return what a browser posts from the visit's entry form with the stored answers left as
    they are, the PGA changed by 0.10, a reason, and the entry saved as complete."""
    visit = Visit.objects.select_related(
        "participant__study", "sledai", "pga", "bilag", "labs"
    ).get(pk=visit.pk)
    data: dict[str, str] = {}
    for name, value in AssessmentForm.initial_for(visit).items():
        if value is True:
            data[name] = "on"
        elif value is not None and value is not False:
            data[name] = str(value)
    pga = Decimal(data["pga"])
    data["pga"] = str(pga + Decimal("0.10") if pga <= Decimal("2.90") else pga - Decimal("0.10"))
    data[OPENED_VERSION] = opened_version
    data["entry_status"] = EntryStatus.COMPLETE
    data["change_reason"] = SAVE_REASON
    return data
