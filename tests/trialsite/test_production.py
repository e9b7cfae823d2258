"""The production setup serves: collected static files with a manifest, gunicorn, no demo data.

Each test runs the site as production does, in subprocesses with debug off and a clean
environment, on a temporary SQLite database and static root.
"""

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django_otp.oath import totp

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 300
SERVER_START_TIMEOUT = 60
REQUEST_TIMEOUT = 30
SOURCE_MAP_URL = re.compile(r"sourceMappingURL=([^\s*]+)")
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SECRET_KEY = re.compile(r'id="secret-key">([A-Z2-7 ]+)<')
STYLESHEET_LINK = re.compile(r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css)"')


@dataclass(frozen=True)
class Deployment:
    """A migrated database and collected static files, with the environment that uses them."""

    env: dict[str, str]
    database: Path
    static_root: Path


def production_env(directory: Path) -> dict[str, str]:
    """Return a clean production environment: nothing but PATH and HOME from this process."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(directory)),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(directory / "static"),
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
    }


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    directory = tmp_path_factory.mktemp("production")
    env = production_env(directory)
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        result = manage(*command, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    return Deployment(env=env, database=directory / "db.sqlite3", static_root=directory / "static")


def row_counts(database: Path, tables: tuple[str, ...]) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in tables
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    """GET path; by default as the HTTPS proxy in front of gunicorn passes a request on."""
    if headers is None:
        headers = {"X-Forwarded-Proto": "https"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookies: dict[str, str],
    form: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, str]:
    """Send a request as the HTTPS proxy passes it on, keeping the cookies the server sets."""
    headers = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{port}"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
    return response, text


def log_in(port: int, username: str, password: str, cookies: dict[str, str]) -> int:
    """Post the login form on the server at port; return the answer's status."""
    _, page = request(port, "GET", "/accounts/login/", cookies=cookies)
    # The login form's token (the language form before it carries one too: any of them does).
    token = CSRF_TOKEN.findall(page)[-1]
    form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
    response, _ = request(port, "POST", "/accounts/login/", cookies=cookies, form=form)
    return response.status


def create_superuser(deployment: Deployment, username: str) -> str:
    """Create a user in the deployment's database; return the password."""
    password = secrets.token_urlsafe(20)
    env = {**deployment.env, "DJANGO_SUPERUSER_PASSWORD": password}
    email = f"{username}@example.org"
    result = manage(
        "createsuperuser", "--noinput", "--username", username, "--email", email, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return password


@contextmanager
def running_gunicorn(env: dict[str, str], log_path: Path) -> Iterator[int]:
    """Run gunicorn with two workers on a free port until the block ends, however it ends."""
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "trialsite.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to stop the workers with it
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not listen within {SERVER_START_TIMEOUT} s")
                time.sleep(0.2)
        yield port
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


@pytest.fixture(scope="module")
def app_servers(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """Two app servers on the same database, as behind a load balancer: their two ports."""
    logs = tmp_path_factory.mktemp("gunicorn")
    with (
        running_gunicorn(deployment.env, logs / "first.log") as first,
        running_gunicorn(deployment.env, logs / "second.log") as second,
    ):
        yield first, second


@pytest.fixture(scope="module")
def gunicorn_port(app_servers: tuple[int, int]) -> int:
    return app_servers[0]


def test_every_source_map_that_a_static_file_names_is_shipped():
    static_files = [
        path
        for static_dir in ROOT.glob("*/static")
        for path in static_dir.rglob("*")
        if path.suffix in {".css", ".js"}
    ]
    assert any(path.name == "bootstrap.min.css" for path in static_files)
    for path in static_files:
        for name in SOURCE_MAP_URL.findall(path.read_text(encoding="utf-8")):
            assert (path.parent / name).is_file(), f"{path} names {name}, which is not shipped"


def test_collectstatic_writes_a_manifest_naming_the_hashed_bootstrap_files(deployment):
    manifest = json.loads((deployment.static_root / "staticfiles.json").read_text())
    stylesheet = manifest["paths"]["vendor/bootstrap/bootstrap.min.css"]
    assert re.fullmatch(r"vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css", stylesheet)
    collected = (deployment.static_root / stylesheet).read_text(encoding="utf-8")
    # The reference to the source map was rewritten to the map's own hashed name, which exists.
    (map_name,) = SOURCE_MAP_URL.findall(collected)
    assert map_name != "bootstrap.min.css.map"
    assert (deployment.static_root / "vendor/bootstrap" / map_name).is_file()
    assert "vendor/bootstrap/bootstrap.bundle.min.js" in manifest["paths"]


def test_gunicorn_serves_the_login_page_and_its_hashed_stylesheet(deployment, gunicorn_port):
    page, body = fetch(gunicorn_port, "/accounts/login/")
    assert page.status == 200
    (stylesheet_url,) = STYLESHEET_LINK.findall(body.decode())
    manifest = json.loads((deployment.static_root / "staticfiles.json").read_text())
    assert stylesheet_url == "/static/" + manifest["paths"]["vendor/bootstrap/bootstrap.min.css"]

    stylesheet, css = fetch(gunicorn_port, stylesheet_url)
    assert stylesheet.status == 200
    assert stylesheet.headers["Content-Type"].startswith("text/css")
    assert "immutable" in stylesheet.headers["Cache-Control"]
    assert css.startswith(b'@charset "UTF-8";/*!\n * Bootstrap  v5.3.9')


def test_gunicorn_redirects_a_plain_http_request_to_https(gunicorn_port):
    response, _ = fetch(gunicorn_port, "/accounts/login/", headers={})
    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{gunicorn_port}/accounts/login/"


def test_a_session_begun_on_one_app_server_is_valid_on_another(deployment, app_servers):
    first, second = app_servers
    password = create_superuser(deployment, "night-shift")
    cookies: dict[str, str] = {}
    assert log_in(first, "night-shift", password, cookies) == 302
    assert "sessionid" in cookies

    # A superuser sets up a second factor first; each step goes to either server.
    response, _ = request(second, "GET", "/", cookies=cookies)
    assert response.status == 302
    assert response.headers["Location"] == "/accounts/two-factor/setup/?next=/"
    _, page = request(first, "GET", "/accounts/two-factor/setup/", cookies=cookies)
    key = base64.b32decode(SECRET_KEY.findall(page)[0].replace(" ", ""))
    form = {"csrfmiddlewaretoken": CSRF_TOKEN.findall(page)[0], "code": f"{totp(key):06d}"}
    response, _ = request(second, "POST", "/accounts/two-factor/setup/", cookies=cookies, form=form)
    assert response.status == 302

    response, _ = request(first, "GET", "/", cookies=cookies)
    assert response.status == 200


def test_failed_logins_count_across_app_servers_and_lock_the_user_out_of_both(
    deployment, app_servers
):
    first, second = app_servers
    password = create_superuser(deployment, "guessed")
    cookies: dict[str, str] = {}
    for attempt in range(4):
        assert log_in(app_servers[attempt % 2], "guessed", "not-the-password", cookies) == 200

    assert log_in(first, "guessed", "not-the-password", cookies) == 429  # the fifth locks
    assert log_in(second, "guessed", password, cookies) == 429


def test_load_demo_refuses_with_debug_off_and_writes_nothing(deployment):
    tables = ("auth_user", "trialsite_site", "trialsite_participant", "trialsite_visit")
    before = row_counts(deployment.database, tables)

    result = manage("load_demo", env=deployment.env)

    assert result.returncode == 1
    assert "for development only" in result.stderr
    assert "Traceback" not in result.stderr
    assert row_counts(deployment.database, tables) == before
    assert before["trialsite_participant"] == 0


@pytest.mark.skipif(
    shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "python").exists(),
    reason="make serve needs make and the project's .venv",
)
def test_make_serve_forces_debug_off_and_stops_plainly_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    env["DJANGO_DEBUG"] = "1"  # make serve turns debug off whatever the environment says
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "Error: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # stopped before migrating
