"""Fuzzing fixtures: the demo district on SQLite behind a WSGI tally that counts every request
and records every answer ≥ 500, and the count printed at the end of the run (CI's log shows it).

``SIPAS_FUZZ_SCALE`` (default 1) scales every fuzzer's number of examples, for a quick local run.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings

from survey_app.db import get_database

from ..conftest import make_test_app

SCALE = float(os.environ.get("SIPAS_FUZZ_SCALE", "1"))
DEMO_RESPONSES = 60


@dataclass
class Tally:
    """Requests answered, per fuzz target, and the ones answered with a server error."""

    requests: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    total = sum(TALLY.requests.values())
    if not total:
        return
    parts = ", ".join(f"{name} {count}" for name, count in sorted(TALLY.requests.items()))
    terminalreporter.write_line(
        f"fuzzing: {total} requests sent ({parts}); {len(TALLY.server_errors)} answered ≥ 500"
    )


class Counting:
    """WSGI middleware: counts each request under the current target and keeps every 5xx."""

    def __init__(self, app: Any) -> None:
        self.app, self.target = app, "setup"

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def counted(status: str, headers: Any, *rest: Any) -> Any:
            TALLY.requests[self.target] += 1
            if int(status.split(" ", 1)[0]) >= 500:
                query = environ.get("QUERY_STRING", "")
                what = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}?{query}"
                TALLY.server_errors.append(f"{status}: {what}")
            return start_response(status, headers, *rest)

        return self.app(environ, counted)


@dataclass
class Fuzzed:
    app: Flask
    counting: Counting

    def target(self, name: str) -> None:
        self.counting.target = name

    def sent(self, name: str) -> int:
        return TALLY.requests[name]


@pytest.fixture(scope="session")
def fuzzed(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """The demo district (officers, desks, responses) on a SQLite file shared by the fuzzers,
    CSRF off so they reach the code behind it; exceptions answer 500 as in production."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)
    loaded = app.test_cli_runner().invoke(
        args=["demo", "load", "--responses", str(DEMO_RESPONSES), "--seed", "11"]
    )
    assert loaded.exit_code == 0, loaded.output
    counting = Counting(app.wsgi_app)
    app.wsgi_app = counting  # type: ignore[method-assign]
    yield Fuzzed(app, counting)
    with app.app_context():
        get_database().dispose()


@pytest.fixture(autouse=True)
def _fresh_errors() -> None:
    """Each fuzzer reports only the server errors it caused."""
    TALLY.server_errors.clear()


def examples(count: int) -> Any:
    """Hypothesis settings for ``count`` examples: reproducible, no deadline (the machine is
    shared), no example database (CI starts clean)."""
    return settings(
        max_examples=max(1, int(count * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def no_server_errors() -> None:
    errors, TALLY.server_errors[:] = list(TALLY.server_errors), []
    assert errors == [], f"{len(errors)} answers ≥ 500, first: {errors[:5]}"
