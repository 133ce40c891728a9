"""Sign-in throttling: atomic under parallel requests, keyed on the real client address behind
the configured proxies, and never locking the real owner out of a browser they used before."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.db import get_database, get_session
from survey_app.models import AuditEvent

from ..conftest import make_test_app
from .conftest import PASSWORDS, sign_in

WRONG = {"password": "not-the-password"}


def _try(client: FlaskClient, username: str, password: str, **headers: str) -> int:
    response = client.post(
        "/officer/sign-in",
        data={"username": username, "password": password},
        headers=headers,
    )
    return response.status_code


def _failures(app: Flask) -> int:
    with app.app_context():
        query = select(func.count()).where(AuditEvent.action == "sign_in_failed")
        return int(get_session().scalar(query) or 0)


def test_the_owner_signs_in_from_a_known_browser_while_the_username_is_locked(
    demo: Flask,
) -> None:
    owner = sign_in(demo.test_client(), "damha")
    owner.post("/officer/sign-out")
    attacker = demo.test_client()
    limit = demo.config["SIGN_IN_MAX_FAILURES"]
    assert [_try(attacker, "damha", "wrong-guess") for _ in range(limit)] == [401] * limit
    assert _try(attacker, "damha", PASSWORDS["damha"]) == 429  # locked for strangers
    assert _try(demo.test_client(), "damha", PASSWORDS["damha"]) == 429
    # The browser damha used before still gets in with the right password …
    assert _try(owner, "damha", PASSWORDS["damha"]) == 302
    # … and it is throttled on its own counter if someone guesses from it.
    owner.post("/officer/sign-out")
    statuses = [_try(owner, "damha", "wrong-guess") for _ in range(limit + 1)]
    assert statuses == [401] * limit + [429]


def test_a_forged_device_cookie_does_not_pass_the_lock(demo: Flask) -> None:
    attacker = demo.test_client()
    attacker.set_cookie("sipas_device", "eyJkYW1oYSI6IngifQ.forged")
    limit = demo.config["SIGN_IN_MAX_FAILURES"]
    for _ in range(limit):
        _try(attacker, "damha", "wrong-guess")
    assert _try(attacker, "damha", PASSWORDS["damha"]) == 429


@pytest.fixture
def proxied(database_url: str) -> Iterator[Flask]:
    """The demo behind one trusted reverse proxy (SIPAS_TRUSTED_PROXIES=1)."""
    app = make_test_app(database_url, TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=False)
    result = app.test_cli_runner().invoke(args=["demo", "load", "--responses", "20"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        get_database().dispose()


def test_behind_a_proxy_one_address_is_locked_not_every_officer(proxied: Flask) -> None:
    limit = 4 * proxied.config["SIGN_IN_MAX_FAILURES"]
    noisy = proxied.test_client()
    for k in range(limit):
        _try(noisy, f"nobody{k}", "wrong-guess", **{"X-Forwarded-For": "203.0.113.5"})
    assert _try(noisy, "xem", PASSWORDS["xem"], **{"X-Forwarded-For": "203.0.113.5"}) == 429
    colleague = proxied.test_client()
    assert _try(colleague, "xem", PASSWORDS["xem"], **{"X-Forwarded-For": "198.51.100.7"}) == 302
    with proxied.app_context():
        addresses = set(get_session().scalars(select(AuditEvent.remote_addr)))
    assert {"203.0.113.5", "198.51.100.7"} <= addresses


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(demo: Flask) -> None:
    limit = 4 * demo.config["SIGN_IN_MAX_FAILURES"]
    client = demo.test_client()
    for k in range(limit):  # a new forged address each time does not reset the count
        _try(client, f"nobody{k}", "wrong-guess", **{"X-Forwarded-For": f"192.0.2.{k}"})
    assert _try(client, "xem", PASSWORDS["xem"], **{"X-Forwarded-For": "192.0.2.200"}) == 429


def test_parallel_wrong_passwords_are_checked_at_most_limit_times(demo: Flask) -> None:
    attempts, limit = 30, demo.config["SIGN_IN_MAX_FAILURES"]
    start = threading.Barrier(attempts)

    def attempt(_k: int) -> int:
        client = demo.test_client()
        start.wait(timeout=30)
        return _try(client, "quangtan", "wrong-guess")

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = Counter(pool.map(attempt, range(attempts)))
    assert statuses[401] + statuses[429] == attempts, statuses
    assert statuses[401] <= limit, statuses
    assert _failures(demo) == statuses[401]


def test_counters_of_ended_windows_are_removed(demo: Flask) -> None:
    from survey_app.models import SignInAttempts

    client = demo.test_client()
    _try(client, "made-up-name", "wrong-guess")
    demo.config["SIGN_IN_WINDOW_SECONDS"] = 1
    time.sleep(1.1)
    assert _try(client, "xem", PASSWORDS["xem"]) == 302
    with demo.app_context():
        keys = set(get_session().scalars(select(SignInAttempts.key)))
    assert "user:made-up-name" not in keys and "user:xem" not in keys
