"""Start the app under gunicorn on a fresh database, for benchmarks (loopback only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


@dataclass(frozen=True)
class Server:
    base_url: str
    port: int
    database_url: str
    backend: str
    workers: int
    pid: int  # gunicorn's master process


def free_port() -> int:
    # BENCH_PORT: a port of one's own range on a shared machine (else any free port).
    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sipas(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "sipas"), *args], env=env, check=True, capture_output=True)


@contextmanager
def running_app(
    backend: str,
    *,
    workers: int,
    demo_responses: int = 0,
    settings: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A migrated database with the demo desks, and gunicorn serving the app on it."""
    workdir = Path(tempfile.mkdtemp(prefix="sipas-bench-"))
    database = f"sipas_bench_{os.getpid()}_{int(time.time())}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif backend == "postgresql":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
        url = f"{POSTGRES}/{database}"
    else:
        raise ValueError(f"backend must be sqlite or postgresql, got {backend!r}")
    port = free_port()
    env = {
        **os.environ,
        "SIPAS_DATABASE_URL": url,
        "SIPAS_SECRET_KEY": "benchmark-secret",
        "SIPAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(settings or {}),
    }
    process = None
    try:
        _sipas(env, "db", "upgrade")
        _sipas(env, "questionnaires", "publish")
        _sipas(env, "demo", "load", "--responses", str(demo_responses))
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "survey_app:create_app()",
            ],
            env=env,
            cwd=workdir,
        )
        _wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield Server(f"http://127.0.0.1:{port}", port, url, backend, workers, process.pid)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if backend == "postgresql":
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database],
                check=False,
            )
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the app did not answer {url} within {timeout} s")
