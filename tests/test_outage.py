"""While the database is down: a Vietnamese 503 page that keeps the citizen's answers and sends
them again, JSON 503s for the health check, the kiosk and the API (the tablet retries a 503)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.db import get_database, get_session
from survey_app.models import Response

from .conftest import Field, Kiosk, Survey, full_answers, hidden_fields, make_test_app

#: Nothing listens on this port (inside this project's range): every connection is refused.
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:5199/sipas_down?connect_timeout=2"


@pytest.fixture
def down() -> Iterator[Flask]:
    """The app configured like ``app`` but pointed at a database server that is not running."""
    app = make_test_app(DOWN_URL)
    yield app
    with app.app_context():
        get_database().dispose()


def _count(app: Flask) -> int:
    with app.app_context():
        return int(get_session().scalar(select(func.count()).select_from(Response)) or 0)


def test_a_survey_sent_during_an_outage_keeps_its_answers_and_sends_again(
    app: Flask, client: FlaskClient, survey: Survey, field: Field, down: Flask
) -> None:
    form = survey.open(field.desk)
    sent = {**form, **full_answers(TC1="2", comment="Chờ hơi lâu")}
    outage = down.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    outage.set_cookie("session", cookie.value)
    response = outage.post(f"/s/{field.desk}", data=sent)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    html = response.get_data(as_text=True)
    assert "Hệ thống tạm thời gián đoạn" in html and "Gửi lại" in html
    kept = hidden_fields(html)
    assert kept == {k: v for k, v in sent.items() if k in kept}
    assert {k for k in sent if k.islower()} <= set(kept) | {"comment"}
    assert 'name="TC1" value="2"' in html and 'name="comment" value="Chờ hơi lâu"' in html
    # Once the database is back, "Gửi lại" posts the same fields and the response is stored once.
    again = client.post(f"/s/{field.desk}", data=sent)
    assert again.status_code == 303
    assert _count(app) == 1


def test_the_health_check_answers_json_503(down: Flask) -> None:
    response = down.test_client().get("/healthz")
    assert response.status_code == 503 and response.is_json
    assert response.get_json()["error"] == "unavailable"


def test_the_kiosk_api_answers_503_json_so_the_tablet_retries(down: Flask, kiosk: Kiosk) -> None:
    outage = down.test_client()
    response = outage.post("/kiosk/api/responses", json={"id": "x"}, headers=kiosk.headers())
    assert response.status_code == 503 and response.is_json
    assert response.headers["Retry-After"]
    assert outage.post("/kiosk/api/heartbeat", json={}, headers=kiosk.headers()).status_code == 503


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/s/TEST1"), ("POST", "/officer/sign-in"), ("GET", "/api/v1/units")],
)
def test_pages_answer_503_not_500(down: Flask, method: str, url: str) -> None:
    down.config["WTF_CSRF_ENABLED"] = False
    response = down.test_client().open(
        url,
        method=method,
        data={"username": "admin", "password": "sipas-admin-2026"} if method == "POST" else None,
        headers={"Authorization": "Bearer sipas_x"} if url.startswith("/api/") else {},
    )
    assert response.status_code == 503
    if url.startswith("/api/"):
        assert response.is_json
    else:
        assert "Hệ thống đang bận hoặc bảo trì" in response.get_data(as_text=True)
