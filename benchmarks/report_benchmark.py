"""Time the cohort report pages on 2,000 participants (never run by pytest).

    DJANGO_DEBUG=1 .venv/bin/python benchmarks/report_benchmark.py [--participants 2000]

Builds the cohort in bulk in a throwaway SQLite database, then rebuilds every stored score and
SRI result with responses.services.recompute_all_responses() so the reports read real results.
Each report page (and each CSV download) is rendered with Django's test client as a data manager;
the script prints the median and worst of several renderings and the number of queries.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATABASE = Path(tempfile.mkdtemp(prefix="report-benchmark-")) / "benchmark.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

import django  # noqa: E402 (the database must be chosen before Django starts)

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from responses.scoring.bilag import BILAG_SYSTEMS  # noqa: E402
from responses.scoring.sledai import SLEDAI_FIELDS  # noqa: E402
from responses.services import recompute_all_responses  # noqa: E402
from tests.two_factor import SecondFactorClient  # noqa: E402
from trialsite.models import (  # noqa: E402
    BilagAssessment,
    EntryStatus,
    Participant,
    PgaAssessment,
    Site,
    SledaiAssessment,
    Study,
    Visit,
)

SITES = ["S01", "S02", "S03", "S04", "S05"]
DOSES = [30_000, 100_000, 300_000]
REQUESTS = [
    ("cohort_summary", {}),
    ("cohort_summary", {"site": "S01", "sex": "F", "age": "12-17"}),
    ("report_matrix", {}),
    ("report_baseline", {}),
    ("report_plots", {}),
    ("cohort_summary", {"format": "csv"}),
    ("cohort_summary", {"format": "csv", "table": "mitt"}),
    ("report_matrix", {"format": "csv"}),
    ("report_baseline", {"format": "csv"}),
]


def build_cohort(size: int, seed: int = 5) -> int:
    """Create ``size`` infused participants with their visits and assessments, in bulk."""
    rng = random.Random(seed)
    today = timezone.localdate()
    study = Study.objects.select_related("baseline_visit").get()
    schedule = list(study.visit_definitions.filter(repeatable=False).order_by("order"))
    sites = Site.objects.bulk_create(
        [Site(code=code, name_en=f"Hospital {code}") for code in SITES]
    )
    participants = []
    for number in range(size):
        infusion = today - timedelta(days=rng.randint(20, 420))
        withdrawn = rng.random() < 0.03
        failed = rng.random() < 0.04
        participants.append(
            Participant(
                study=study,
                site=sites[number % len(sites)],
                participant_id=f"B-{number:05d}",
                sex=rng.choice("FFFM"),
                age_at_enrollment=rng.randint(4, 21),
                enrollment_date=infusion - timedelta(days=40),
                infusion_date=infusion,
                dose_cells_per_kg=rng.choice(DOSES),
                withdrawal_date=(
                    infusion + timedelta(days=rng.randint(30, 200)) if withdrawn else None
                ),
                treatment_failure_date=(
                    infusion + timedelta(days=rng.randint(20, 150)) if failed else None
                ),
            )
        )
    participants = Participant.objects.bulk_create(participants, batch_size=500)
    visits, plans = [], []
    for participant in participants:
        baseline_present = set(rng.sample(SLEDAI_FIELDS, rng.randint(2, 6)))
        involved = set(rng.sample(BILAG_SYSTEMS, rng.randint(1, 4)))
        baseline_pga = Decimal(rng.randint(100, 280)) / 100
        for definition in schedule:
            visit_date = participant.infusion_date + timedelta(
                days=definition.target_day + rng.randint(-2, 2)
            )
            if visit_date > today or (definition.target_day > 0 and rng.random() < 0.05):
                continue
            visits.append(
                Visit(
                    participant=participant,
                    visit_definition=definition,
                    visit_date=visit_date,
                    entry_status=EntryStatus.COMPLETE,
                )
            )
            plans.append((definition.target_day, baseline_present, involved, baseline_pga))
    visits = Visit.objects.bulk_create(visits, batch_size=1000)
    sledai, pga, bilag = [], [], []
    for visit, (target_day, present, involved, baseline_pga) in zip(visits, plans, strict=True):
        improving = target_day > 14
        kept = {field for field in present if not improving or rng.random() < 0.45}
        sledai.append(
            SledaiAssessment(visit=visit, **{field: field in kept for field in SLEDAI_FIELDS})
        )
        change = Decimal(rng.randint(20, 150)) / 100 if improving else Decimal(0)
        pga.append(PgaAssessment(visit=visit, score=max(Decimal("0.00"), baseline_pga - change)))
        grades = {
            system: (rng.choice("AB") if not improving else rng.choice("CD"))
            if system in involved
            else "E"
            for system in BILAG_SYSTEMS
        }
        bilag.append(BilagAssessment(visit=visit, **grades))
    SledaiAssessment.objects.bulk_create(sledai, batch_size=1000)
    PgaAssessment.objects.bulk_create(pga, batch_size=1000)
    BilagAssessment.objects.bulk_create(bilag, batch_size=1000)
    return len(visits)


def time_request(client: Client, name: str, params: dict, runs: int) -> tuple[list[float], int]:
    client.get(reverse(name), params)  # warm caches (templates, matplotlib fonts)
    timings = []
    queries = 0
    for _run in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(reverse(name), params)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (name, response.status_code)
        queries = len(captured)
    return timings, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()

    setup_test_environment()
    print(f"database: {DATABASE}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    visit_count = build_cohort(arguments.participants)
    built = time.perf_counter()
    results = recompute_all_responses()
    recomputed = time.perf_counter()
    print(
        f"built {arguments.participants} participants, {visit_count} visits in "
        f"{built - started:.1f} s; recompute_all_responses wrote {results} results in "
        f"{recomputed - built:.1f} s"
    )
    user = get_user_model().objects.create_user("benchmark-dm")
    user.groups.add(Group.objects.get(name="Data manager"))
    client = SecondFactorClient()  # a data manager passes the second factor
    client.force_login(user)
    print(f"{'page':<50} {'median ms':>10} {'worst ms':>10} {'queries':>8}")
    for name, params in REQUESTS:
        timings, queries = time_request(client, name, params, arguments.runs)
        label = name + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        print(
            f"{label:<50} {statistics.median(timings) * 1000:>10.0f} "
            f"{max(timings) * 1000:>10.0f} {queries:>8}"
        )
    DATABASE.unlink()


if __name__ == "__main__":
    main()
