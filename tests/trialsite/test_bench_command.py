"""manage.py bench, run as a developer runs it (a subprocess, on the test run's database server:
SQLite or PostgreSQL) at a tiny size, so that the scale benchmark keeps working; and refused,
with nothing created, when debug is off."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from trialsite.benchmark.run import AUDIT_TRAIL, EXPORTS, PAGES

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def bench(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "bench", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_bench_imports_a_tiny_cohort_and_prints_every_figure():
    # The test run's DATABASE_URL, if any: the benchmark makes its own database beside it.
    result = bench(
        "--participants",
        "3",
        "--runs",
        "1",
        "--saves",
        "1",
        env={**os.environ, "DJANGO_DEBUG": "1"},
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Machine: ")
    assert "Scale benchmark: 3 participants" in out
    for step in ("import participants.csv", "import visits.csv", "full recompute"):
        assert step in out
    for page in PAGES:
        assert f"\n{page.label} " in out
    for export in EXPORTS:
        assert f"\n{export.label} " in out
    assert f"\n{AUDIT_TRAIL} " in out  # written as a background export, then downloaded
    assert "visit entry form, PGA changed" in out
    assert "Growth" not in out  # one size: nothing to compare


def test_bench_refuses_with_debug_off_and_creates_nothing(tmp_path):
    configured = tmp_path / "configured.sqlite3"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": f"sqlite:///{configured}",
        "TMPDIR": str(temporary),  # where a throwaway SQLite database would go
    }

    result = bench("--participants", "3", env=env)

    assert result.returncode == 1
    assert "The benchmark is for development only; nothing was created." in result.stderr
    assert not configured.exists()
    assert list(temporary.iterdir()) == []
