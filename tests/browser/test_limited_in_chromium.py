"""A citizen stopped by the door's limit (issue 11) in real Chromium: a calm page that keeps
every answer, and "Gửi lại" sends them once the wait is over."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from survey_app.db import get_database, get_session
from survey_app.models import Response
from survey_app.security.limits import limiter

from ..conftest import Field, make_test_app
from .conftest import LiveServer
from .test_survey_in_chromium import REQUIRED, answer, open_optional_step


@pytest.fixture
def limited_server(database_url: str) -> Iterator[LiveServer]:
    app = make_test_app(
        database_url, RATELIMIT_ENABLED=True, SURVEY_LIMIT_PER_ADDRESS="1 per minute"
    )
    with app.app_context():
        limiter.reset()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, url)
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        get_database().dispose()


def stored(live: LiveServer) -> list[Response]:
    with live.app.app_context():
        return list(get_session().scalars(select(Response).order_by(Response.id)))


def test_a_limited_citizen_keeps_the_answers_and_sends_them_again(
    limited_server: LiveServer, field: Field, phone: Any
) -> None:
    live = limited_server
    phone.goto(f"{live.url}/s/{field.desk}")
    for code in REQUIRED:
        answer(phone, code, "4")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.wait_for_url(f"**/s/{field.desk}/cam-on")

    # A second person on the same connection, within the minute: limited.
    phone.goto(f"{live.url}/s/{field.desk}?again=1")
    for code in REQUIRED:
        answer(phone, code, "2" if code == "TT1" else "5")
    open_optional_step(phone)
    phone.fill("textarea[name=comment]", "Phải chờ hơi lâu.")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.get_by_role("button", name="Gửi lại").wait_for()
    assert phone.locator("h1").inner_text() == "Xin Ông/Bà đợi một chút"
    assert "vẫn được giữ trên trang này" in phone.locator("[role=alert]").inner_text()
    assert len(stored(live)) == 1

    # The wait is over (here: the limit raised); "Gửi lại" sends the very same answers once.
    live.app.config["SURVEY_LIMIT_PER_ADDRESS"] = "100 per minute"
    phone.get_by_role("button", name="Gửi lại").tap()
    phone.wait_for_url(f"**/s/{field.desk}/cam-on")
    rows = stored(live)
    assert len(rows) == 2
    with live.app.app_context():
        second = get_session().get(Response, rows[1].id)
        assert second is not None
        answers = {a.item: a.code for a in second.answers}
        assert answers["TT1"] == 2 and answers["HL"] == 5
        assert second.comment is not None and second.comment.text == "Phải chờ hơi lâu."
        total = get_session().scalar(select(func.count()).select_from(Response))
    assert total == 2
