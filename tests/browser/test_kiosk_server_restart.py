"""The server dies while a tablet drains its queue, and comes back: each response is stored
exactly once. The app runs under gunicorn in its own process group on a fixed port, so it can be
killed outright (SIGKILL: no graceful shutdown, requests cut mid-way) and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.models import Response

from ..conftest import TEST_SECRET, Field, enrolment_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUEUED = 300
KILL_AFTER = 40

INJECT = """async ({ n, desk }) => {
  const { KioskStore } = await import('/kiosk/store.js');
  const store = await KioskStore.open();
  const ids = [];
  const first = Date.now() - 6 * 3600 * 1000;
  for (let i = 0; i < n; i += 1) {
    const answered = first + i * 60 * 1000;
    const id = crypto.randomUUID();
    await store.add({
      id, desk, questionnaire: 'sipas-kiosk', version: 1, language: 'vi',
      answers: { HL_TC: 1 + (i % 5), HL_TT: 4, HL_CC: 5, HL_KQ: 3, HL_PA: 0, HL: 4 },
      started_at: new Date(answered - 25000).toISOString(),
      answered_at: new Date(answered).toISOString(),
      state: 'pending', queued_at: answered, rejection: null,
    });
    ids.push(id);
  }
  store.db.close();
  return ids;
}"""


class Gunicorn:
    """The app under gunicorn on one port; start, kill and start again."""

    def __init__(self, database_url: str, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "SIPAS_DATABASE_URL": database_url,
            "SIPAS_SECRET_KEY": TEST_SECRET,
            "SIPAS_PUBLIC_BASE_URL": self.url,
            # Retry within a second once the server is back (the default cap is 5 minutes).
            "SIPAS_KIOSK_RETRY_MAX_SECONDS": "1",
            # 300 queued responses arrive in one burst after the restart: the door's per-device
            # limit and the kiosk rate signals (issue 11, tested on their own) would hold them
            # back, and this test is about the queue surviving a server restart.
            "SIPAS_RATELIMIT_ENABLED": "false",
            "SIPAS_INTEGRITY_SIGNALS": "false",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "survey_app:create_app()"],
            env=self.env,
            cwd=self.workdir,
            start_new_session=True,  # its own process group: the master and its workers
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 30 s")

    def kill(self) -> None:
        """SIGKILL to the group this test started (by its id): no worker finishes a request."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def gunicorn(database_url: str, field: Field, tmp_path: Path) -> Iterator[Gunicorn]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = Gunicorn(database_url, port, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        total = session.scalar(select(func.count()).select_from(Response)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Response.uuid)))) or 0
        return total, distinct


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_server_killed_mid_drain_then_restarted(
    app: Flask, field: Field, gunicorn: Gunicorn, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{gunicorn.url}/kiosk/#enrol={enrolment_code(app, field.desk)}")
        page.wait_for_selector("html[data-screen=start]")
        context.set_offline(True)
        ids = page.evaluate(INJECT, {"n": QUEUED, "desk": field.desk})
        assert len(set(ids)) == QUEUED

        context.set_offline(False)  # the tablet starts draining, one response at a time
        wait_until(lambda: rows(app)[0] >= KILL_AFTER, 60, f"{KILL_AFTER} rows")
        gunicorn.kill()
        stored_at_kill = rows(app)[0]
        assert stored_at_kill < QUEUED, "the queue drained before the server could be killed"
        time.sleep(1.5)  # the tablet meets a dead server and backs off
        gunicorn.start()

        wait_until(lambda: rows(app)[0] >= QUEUED, 120, f"{QUEUED} rows after the restart")
        page.wait_for_selector("#status [data-waiting='0']", timeout=30_000)
        assert rows(app) == (QUEUED, QUEUED)
        with app.app_context():
            stored = {str(u) for u in get_session().scalars(select(Response.uuid))}
        assert stored == set(ids)
    finally:
        context.close()
