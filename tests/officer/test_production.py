"""Production defaults and small hardenings: HTTPS-only cookies and HSTS behind an https base
URL, security headers on every response, a production start that refuses unsafe settings,
ASCII usernames, ``Allow`` on every 405, integer ranks in the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app import create_app
from survey_app.db import get_database, get_session
from survey_app.security.production import UnsafeConfiguration
from survey_app.services import accounts

from ..conftest import Field, make_test_app
from .conftest import PASSWORDS, Tokens, sign_in

STRONG_KEY = "k" * 64


@pytest.fixture
def https_app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(
        database_url, PUBLIC_BASE_URL="https://sipas.example", WTF_CSRF_ENABLED=False
    )
    result = app.test_cli_runner().invoke(args=["demo", "load", "--responses", "20"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        get_database().dispose()


def _set_cookies(response: object) -> dict[str, str]:
    headers = response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return {header.split("=", 1)[0]: header for header in headers}


def test_behind_https_cookies_are_secure_host_cookies_and_hsts_is_sent(https_app: Flask) -> None:
    client, https = https_app.test_client(), "https://sipas.example"
    response = client.post(
        "/officer/sign-in",
        data={"username": "admin", "password": PASSWORDS["admin"]},
        base_url=https,
    )
    assert response.status_code == 302
    cookies = _set_cookies(response)
    assert set(cookies) == {"__Host-session", "__Host-sipas_device"}
    for header in cookies.values():
        assert "Secure" in header and "Path=/" in header and "Domain" not in header
        assert "HttpOnly" in header
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get("/officer/units/QN-DAMHA", base_url=https).status_code == 200
    assert "Strict-Transport-Security" in client.get("/healthz", base_url=https).headers


def test_over_plain_http_cookies_keep_their_names_and_no_hsts(demo: Flask) -> None:
    response = demo.test_client().post(
        "/officer/sign-in", data={"username": "admin", "password": PASSWORDS["admin"]}
    )
    assert set(_set_cookies(response)) == {"session", "sipas_device"}
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/s/TEST1"),
        ("GET", "/healthz"),
        ("GET", "/no-such-page"),
        ("GET", "/api/v1/units"),
        ("GET", "/kiosk/api/enrol"),
        ("POST", "/s/TEST1"),
        ("GET", "/officer/sign-in"),
        ("GET", "/static/sipas.css"),
        ("GET", "/s/TEST1%00"),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, field: Field, method: str, url: str
) -> None:
    response = client.open(url, method=method)
    response.close()  # a static file is streamed from disk
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({}, "SIPAS_SECRET_KEY is not set"),
        ({"SECRET_KEY": "short"}, "shorter than 32"),
        ({"SECRET_KEY": STRONG_KEY, "DEBUG": True}, "debug mode is on"),
    ],
)
def test_a_production_start_refuses_unsafe_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, settings: dict[str, object], problem: str
) -> None:
    monkeypatch.setenv("SIPAS_ENV", "production")
    monkeypatch.delenv("SIPAS_SECRET_KEY", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **settings}
    with pytest.raises(UnsafeConfiguration, match=problem):
        create_app(config)


def test_a_production_start_with_a_set_key_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("SIPAS_ENV", "production")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": STRONG_KEY})
    assert app.config["ENV"] == "production" and not app.debug


@pytest.mark.parametrize(
    "username", ["\u0430dmin", "quang\u0442an", "nguyễn", "a b", "x" * 65, "", "ad\u200bmin"]
)
def test_usernames_with_look_alike_or_other_letters_are_refused(
    app: Flask, field: Field, username: str
) -> None:
    with app.app_context(), pytest.raises(accounts.AccountError, match="ASCII"):
        accounts.create_officer(
            get_session(), username=username, password="mat-khau-dai-2026", role="admin"
        )


def test_full_width_letters_are_the_same_username(demo: Flask) -> None:
    with demo.app_context():
        db = get_session()
        made = accounts.create_officer(
            db, username="ＴＲＡＮ.ＢＡ", password="mat-khau-dai-2026", role="admin"
        )
        db.commit()
        assert made.username == "tran.ba"
    sign_in(demo.test_client(), "ｔｒａｎ.ｂａ", "mat-khau-dai-2026")


def test_a_look_alike_username_does_not_sign_in_as_the_real_one(demo: Flask) -> None:
    response = demo.test_client().post(
        "/officer/sign-in", data={"username": "\u0430dmin", "password": PASSWORDS["admin"]}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "url", ["/api/v1/units", "/api/v1/scores", "/kiosk/api/responses", "/healthz"]
)
def test_a_405_names_the_allowed_methods(client: FlaskClient, url: str) -> None:
    method = "GET" if url.startswith("/kiosk/") else "DELETE"
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"]
    assert set(response.headers["Allow"].replace(" ", "").split(",")) & {"GET", "POST"}


def test_ranks_and_rank_changes_are_integers_in_the_api(demo: Flask, tokens: Tokens) -> None:
    # The last two completed quarters (both after the 2025 merger, so the same communes rank in
    # each); the small demo gives a commune a few responses a quarter, hence the low minimum.
    demo.config["SCORE_MIN_N"] = 3
    today = date.today()
    quarter = (today.month - 1) // 3  # the current quarter's index, 0-3
    last = (today.year, quarter) if quarter else (today.year - 1, 4)
    before = (last[0], last[1] - 1) if last[1] > 1 else (last[0] - 1, 4)
    rows = []
    for period in (f"{before[0]}-Q{before[1]}", f"{last[0]}-Q{last[1]}"):
        response = demo.test_client().get(
            f"/api/v1/scores?unit=QN-DAMHA&period={period}",
            headers={"Authorization": f"Bearer {tokens.everything}"},
        )
        text = response.get_data(as_text=True)
        assert not re.search(r'"(n|rank|rank_change)":\s*-?\d+\.\d', text), text[:300]
        rows += json.loads(text)["scores"]
    for column in ("n", "rank", "rank_change"):
        values = [r[column] for r in rows]
        assert all(v is None or type(v) is int for v in values), (column, set(values))
    assert any(type(r["rank_change"]) is int for r in rows)
