"""Limits at the door (issue 11): per client address, per desk, per kiosk device; a limited
citizen keeps their answers, a machine client gets the JSON error shape with Retry-After."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.db import get_database, get_session
from survey_app.models import Response
from survey_app.security.limits import limiter

from .conftest import Field, Kiosk, Survey, full_answers, kiosk_response, make_test_app

KEPT = re.compile(r'<input type="hidden" name="([A-Za-z0-9_]+)" value="([^"]*)">')
LIMITS: dict[str, Any] = {
    "RATELIMIT_ENABLED": True,
    "SURVEY_LIMIT_PER_ADDRESS": "2 per minute",
    "SURVEY_LIMIT_PER_DESK": "3 per minute",
    "KIOSK_LIMIT_PER_DEVICE": "2 per minute",
    "TRUSTED_PROXIES": 1,
}


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url, **LIMITS)
    with app.app_context():
        limiter.reset()  # the memory storage is the process's: start every test from zero
    yield app
    with app.app_context():
        get_database().dispose()


def stored(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


def from_address(address: str) -> dict[str, Any]:
    return {"headers": {"X-Forwarded-For": address}}


def test_a_limited_citizen_sees_a_calm_page_that_keeps_the_answers(
    app: Flask, survey: Survey, field: Field
) -> None:
    app.config["SURVEY_LIMIT_PER_DESK"] = "10 per minute"  # read on every request
    for _ in range(2):
        ok = survey.submit(field.desk, full_answers(), **from_address("203.0.113.5"))
        assert ok.status_code == 303
    hidden = survey.open(field.desk)
    answers = full_answers(TC1="2", comment="Cán bộ nhiệt tình")
    limited = survey.submit(field.desk, answers, hidden, **from_address("203.0.113.5"))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    page = limited.get_data(as_text=True)
    assert "Gửi lại" in page and "vẫn được giữ" in page
    kept = dict(KEPT.findall(page))
    assert kept["TC1"] == "2" and kept["comment"] == "Cán bộ nhiệt tình"
    assert kept["form_token"] == hidden["form_token"]  # sent again later, it counts once
    assert stored(app) == 2
    # Another address is not limited by this one's count.
    assert (
        survey.submit(field.desk, full_answers(), **from_address("203.0.113.6")).status_code == 303
    )


def test_the_desk_limit_holds_across_addresses(app: Flask, survey: Survey, field: Field) -> None:
    codes = [
        survey.submit(field.desk, full_answers(), **from_address(f"198.51.100.{i}")).status_code
        for i in range(4)
    ]
    assert codes == [303, 303, 303, 429]
    # Another desk has its own count.
    assert (
        survey.submit(field.other_desk, full_answers(), **from_address("198.51.100.9")).status_code
        == 303
    )
    assert stored(app) == 4


def test_a_json_client_gets_the_one_error_shape(app: Flask, survey: Survey, field: Field) -> None:
    for _ in range(2):
        survey.submit(field.desk, full_answers(), **from_address("203.0.113.7"))
    limited = survey.submit(
        field.desk,
        full_answers(),
        headers={"X-Forwarded-For": "203.0.113.7", "Accept": "application/json"},
    )
    assert limited.status_code == 429
    body = limited.get_json()
    assert body["error"] == "too_many_requests" and body["status"] == 429
    assert int(limited.headers["Retry-After"]) == body["retry_after"] >= 1


def test_a_kiosk_device_is_limited_with_json(app: Flask, kiosk: Kiosk) -> None:
    codes = [kiosk.submit(kiosk_response()).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = kiosk.submit(kiosk_response())
    assert limited.get_json()["error"] == "too_many_requests"
    assert "Retry-After" in limited.headers  # the tablet's queue retries (kiosk/static/queue.js)


def test_limits_are_off_when_the_setting_says_so(database_url: str, field: Field) -> None:
    relaxed = make_test_app(database_url, **{**LIMITS, "RATELIMIT_ENABLED": False})
    client = relaxed.test_client()
    from .conftest import Survey as Driver

    driver = Driver(client)
    codes = {driver.submit(field.desk, full_answers()).status_code for _ in range(4)}
    assert codes == {303}
    with relaxed.app_context():
        get_database().dispose()
