"""deploy/ as an IT team installs it: nginx from Debian with deploy/nginx-sipas.conf in front of
two gunicorn instances started as deploy/sipas@.service starts them, on PostgreSQL. Citizens
send a few hundred surveys (some twice) over HTTPS while one instance is killed (SIGKILL):
every submission is stored, none twice."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.citizen.form_token import FormToken
from survey_app.db import get_session
from survey_app.models import Response

from ..conftest import CRITERIA, TEST_SECRET, Field, hidden_fields, require

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SUBMISSIONS = 300
SENT_TWICE = 30
KILL_AFTER = 100  # answered submissions before one instance is killed
CONCURRENCY = 8
RETRIES = 5


def free_ports(count: int) -> list[int]:
    """Free loopback ports: from SIPAS_TEST_PORTS ("5200-5299") when set, else any."""
    span = os.environ.get("SIPAS_TEST_PORTS")
    candidates = range(*(int(p) + i for i, p in enumerate(span.split("-")))) if span else [0] * 50
    ports: list[int] = []
    for candidate in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port = int(probe.getsockname()[1])
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports")


def render(text: str, replacements: dict[str, str]) -> str:
    """Substitute each placeholder of a deploy/ file, failing if the file no longer has it."""
    for old, new in replacements.items():
        assert old in text, f"deploy file no longer contains {old!r}: update this test"
        text = text.replace(old, new)
    return text


def gunicorn_command(port: int) -> list[str]:
    """The unit's ExecStart, with this virtualenv's gunicorn and the instance's port."""
    unit = (DEPLOY / "sipas@.service").read_text()
    match = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert match is not None
    command = shlex.split(match.group(1).replace("%i", str(port)))
    assert command[0] == "/opt/sipas/venv/bin/gunicorn"
    return [str(Path(sys.executable).parent / "gunicorn"), *command[1:]]


@dataclass
class Stack:
    url: str
    http_port: int
    app_ports: list[int]
    groups: dict[int, subprocess.Popen[bytes]]
    logs: Path

    def kill(self, port: int) -> None:
        """SIGKILL to the process group of one instance this test started (master and workers)."""
        process = self.groups.pop(port)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_for(url_port: int, path: str, tls: bool, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _headers, _body = request(url_port, "GET", path, tls=tls)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered {path} on port {url_port} within {timeout} s")


TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    tls: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=TLS)
        if tls
        else http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        data = answer.read()
        headers = {k.lower(): v for k, v in answer.getheaders()}
        # Every cookie set, as a browser would send them back.
        cookies = [value.split(";", 1)[0] for value in answer.msg.get_all("Set-Cookie") or []]
        headers["cookies"] = "; ".join(cookies)
        return answer.status, headers, data
    finally:
        connection.close()


@pytest.fixture
def stack(app: Flask, database_url: str, field: Field, tmp_path: Path) -> Iterator[Stack]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    require(nginx is not None, "nginx is not installed (apt-get install -y nginx)")
    assert nginx is not None
    https_port, http_port, *app_ports = free_ports(4)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "acme").mkdir()
    proxy = tmp_path / "sipas-proxy.conf"
    proxy.write_text((DEPLOY / "nginx-sipas-proxy.conf").read_text())
    site = render(
        (DEPLOY / "nginx-sipas.conf").read_text(),
        {
            "127.0.0.1:8001": f"127.0.0.1:{app_ports[0]}",
            "127.0.0.1:8002": f"127.0.0.1:{app_ports[1]}",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "/etc/letsencrypt/live/hailong.example.gov.vn/fullchain.pem": str(
                tmp_path / "cert.pem"
            ),
            "/etc/letsencrypt/live/hailong.example.gov.vn/privkey.pem": str(tmp_path / "key.pem"),
            "/var/www/letsencrypt": str(tmp_path / "acme"),
            "/var/log/nginx/": f"{tmp_path}/",
            "/opt/sipas/static/": f"{ROOT / 'survey_app' / 'static'}/",
            "/etc/nginx/sipas-proxy.conf": str(proxy),
        },
    )
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as root (CI), nginx would hand its workers to "nobody", who cannot read the checkout.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/nginx-error.log warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n{temp_paths}\n"
        f"    include {tmp_path}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr

    env = {
        **os.environ,
        "SIPAS_DATABASE_URL": database_url,
        "SIPAS_SECRET_KEY": TEST_SECRET,
        "SIPAS_PUBLIC_BASE_URL": f"https://127.0.0.1:{https_port}",
        "SIPAS_TRUSTED_PROXIES": "1",
        "SIPAS_SURVEY_MIN_SECONDS": "0",
        # One client sends every submission here: the per-address limits (issue 11) would
        # refuse most of them, and this test is about losing nothing when a server dies.
        "SIPAS_RATELIMIT_ENABLED": "false",
        "GUNICORN_CMD_ARGS": "--workers 2 --log-level warning",
    }
    groups: dict[int, subprocess.Popen[bytes]] = {}
    server = None
    try:
        for port in app_ports:
            groups[port] = subprocess.Popen(
                gunicorn_command(port), env=env, cwd=tmp_path, start_new_session=True
            )
        server = subprocess.Popen(
            [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
            start_new_session=True,
        )
        for port in app_ports:
            _wait_for(port, "/healthz", tls=False)
        _wait_for(https_port, "/healthz", tls=True)
        yield Stack(f"https://127.0.0.1:{https_port}", http_port, app_ports, groups, tmp_path)
    finally:
        for process in [*groups.values(), *([server] if server else [])]:
            os.killpg(process.pid, signal.SIGTERM)
        for process in [*groups.values(), *([server] if server else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@dataclass
class Citizen:
    """One phone: its session cookie and its filled-in form."""

    cookie: str
    body: str
    submission_id: uuid.UUID


@dataclass
class Outcome:
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    stored: set[uuid.UUID] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def open_form(app: Flask, port: int, number: int) -> Citizen:
    status, headers, body = request(port, "GET", "/s/TEST1")
    assert status == 200, body[:300]
    cookie = headers["cookies"]
    fields = hidden_fields(body.decode())
    with app.test_request_context():
        token = FormToken.read(fields["form_token"])
    assert token is not None
    answers = {code: str(1 + (number + i) % 5) for i, code in enumerate(CRITERIA)}
    answers["HL"] = str(1 + number % 5)
    return Citizen(cookie, urlencode({**fields, **answers}), token.submission_id)


def send(port: int, citizen: Citizen, outcome: Outcome) -> None:
    """POST the form; on a failure, send it again (as a person taps "send" again)."""
    headers = {
        "Cookie": citizen.cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        # What a browser sends from the form's page (Referrer-Policy: same-origin): over HTTPS
        # the CSRF check wants it. nginx passes Host without the port, as on port 443.
        "Referer": "https://127.0.0.1/s/TEST1",
    }
    for attempt in range(RETRIES):
        try:
            status, answer, _body = request(
                port, "POST", "/s/TEST1", body=citizen.body, headers=headers
            )
        # A reply cut off mid-body (IncompleteRead) is a failure the citizen sees too: like a
        # refused connection, they send the same form (same submission id) again.
        except (OSError, http.client.HTTPException) as error:
            failure = f"{type(error).__name__}"
        else:
            if status == 303 and "/cam-on" in answer.get("location", ""):
                with outcome.lock:
                    outcome.answered += 1
                    outcome.stored.add(citizen.submission_id)
                return
            failure = f"HTTP {status}"
        with outcome.lock:
            outcome.failures.append(failure)
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError(f"submission {citizen.submission_id} failed {RETRIES} times: {failure}")


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)
def test_one_app_server_killed_under_load_loses_and_doubles_nothing(
    app: Flask, stack: Stack
) -> None:
    port = int(stack.url.rsplit(":", 1)[1])
    # Static files come from nginx itself, cached for good.
    status, headers, body = request(port, "GET", "/static/sipas.css?v=1")
    assert status == 200 and "immutable" in headers["cache-control"]
    assert body == (ROOT / "survey_app" / "static" / "sipas.css").read_bytes()
    # Plain HTTP is sent to HTTPS.
    status, headers, _ = request(stack.http_port, "GET", "/s/TEST1", tls=False)
    assert status == 301 and headers["location"].startswith("https://")

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        citizens = list(pool.map(lambda n: open_form(app, port, n), range(SUBMISSIONS)))
    assert len({c.submission_id for c in citizens}) == SUBMISSIONS
    # A tenth are sent a second time, a little later (a double tap, back then send).
    sends = citizens + citizens[:: SUBMISSIONS // SENT_TWICE]
    outcome = Outcome()
    victim = stack.app_ports[0]
    killed_at = None
    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = [pool.submit(send, port, citizen, outcome) for citizen in sends]
        while killed_at is None and time.monotonic() - started < 120:
            if outcome.answered >= KILL_AFTER:
                stack.kill(victim)
                killed_at = outcome.answered
            time.sleep(0.005)
        for future in futures:
            future.result(timeout=120)
    assert killed_at is not None and killed_at < len(sends), "the load ended before the kill"

    with app.app_context():
        session = get_session()
        rows = session.scalar(select(func.count()).select_from(Response))
        stored = set(session.scalars(select(Response.uuid)))
    expected = {c.submission_id for c in citizens}
    assert outcome.stored == expected  # every submission was thanked (after retries)
    assert stored == expected, f"lost: {len(expected - stored)}, extra: {len(stored - expected)}"
    assert rows == len(stored) == SUBMISSIONS  # 0 doubled
    # nginx met the dead instance (a request cut mid-way or refused) and went on without it.
    errors = (stack.logs / "sipas.error.log").read_text()
    assert f'upstream: "http://127.0.0.1:{victim}/s/TEST1"' in errors
    # Both instances served before the kill.
    log = (stack.logs / "sipas.access.log").read_text()
    served = re.findall(r'"POST /s/TEST1 HTTP/1.1" (\d+) \d+ [\d.]+ (\S+)', log)
    assert {addr for _status, addr in served} >= {f"127.0.0.1:{p}" for p in stack.app_ports}
    print(
        f"nginx + 2 gunicorn: {len(sends)} sends, instance killed after {killed_at} answers, "
        f"{len(outcome.failures)} failures seen and retried ({set(outcome.failures)}), "
        f"{rows} rows for {SUBMISSIONS} submissions"
    )
