"""In Debian's Chromium: an administrator issues a write-scoped token by ticking its scope, the
dashboard shows Decision 766 group 5 in its own section, and a citizen opens an invitation
link that the API made. The app listens on 127.0.0.1:5310 (engineer onestop's port range)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app.db import get_database, get_session
from survey_app.models import Desk, Unit
from survey_app.services import accounts

from ..conftest import make_test_app
from .conftest import LiveServer

PORT = 5310
D = "TEST1"  # the desk
PASSWORD = "mật-khẩu-đủ-dài-2026"


@pytest.fixture
def onestop_server(database_url: str) -> Iterator[tuple[LiveServer, str]]:
    url = f"http://127.0.0.1:{PORT}"
    app = make_test_app(database_url, PUBLIC_BASE_URL=url)
    with app.app_context():
        db = get_session()
        district = Unit(code="T-DISTRICT", name="Huyện Thử", kind="district")
        commune = Unit(code="T-COMMUNE", name="Xã Thử Nghiệm", kind="commune", parent=district)
        db.add_all([district, commune, Desk(code="TEST1", name="Quầy Một", unit=commune)])
        accounts.create_officer(db, username="quantri", password=PASSWORD, role="admin")
        _row, token = accounts.issue_token(
            db, name="một cửa", unit=None, created_by=None, scopes=("dossiers:write",
                                                                    "invitations:write")
        )  # fmt: skip
        db.commit()
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, url), token
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    with app.app_context():
        get_database().dispose()


def _send_month(server: LiveServer, token: str) -> str:
    """The hand-worked month of tests/test_onestop_api.py (8,33 points); an invitation link."""
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def s(days: float) -> str:
        return (start + timedelta(days=days)).isoformat()

    events: list[dict[str, Any]] = [
        {"key": "a1", "type": "received", "dossier": "A", "desk": D, "at": s(0), "due_at": s(5)},
        {"key": "a2", "type": "returned", "dossier": "A", "at": s(4)},
        {"key": "b1", "type": "received", "dossier": "B", "desk": D, "at": s(0), "due_at": s(2)},
        {"key": "b2", "type": "returned", "dossier": "B", "at": s(3)},
        {"key": "c1", "type": "received", "dossier": "C", "desk": D, "at": s(1), "due_at": s(5)},
        {"key": "c2", "type": "returned", "dossier": "C", "at": s(2)},
        {"key": "c3", "type": "rated", "dossier": "C", "rating": "not_satisfied", "at": s(2)},
        {"key": "d1", "type": "received", "dossier": "D", "desk": D, "at": s(1), "due_at": s(5)},
        {"key": "d2", "type": "returned", "dossier": "D", "at": s(3)},
        {"key": "p1", "type": "petition", "petition": "P1", "dossier": "D", "desk": D,
         "at": s(4), "due_at": s(8)},
        {"key": "p2", "type": "petition_handled", "petition": "P1", "at": s(6)},
        {"key": "q1", "type": "petition", "petition": "P2", "desk": D, "at": s(4),
         "due_at": s(6)},
        {"key": "q2", "type": "petition_handled", "petition": "P2", "at": s(9)},
    ]  # fmt: skip
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post("/api/v1/dossiers", json={"events": events}, headers=headers).status_code == 200
    )
    returned = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    made = client.post(
        "/api/v1/invitations",
        json={"dossiers": [{"dossier": "HS-9", "desk": "TEST1", "returned_at": returned}]},
        headers=headers,
    )
    assert made.status_code == 200
    link: str = made.get_json()["invitations"][0]["link"]
    return link


def test_scopes_dashboard_and_invitation_in_chromium(
    browser: Any, onestop_server: tuple[LiveServer, str]
) -> None:
    server, token = onestop_server
    link = _send_month(server, token)
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.url}/officer/sign-in")
        page.fill("input[name=username]", "quantri")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/officer/**")

        # A token for the one-stop system, with one write scope ticked.
        page.goto(f"{server.url}/officer/api-tokens")
        page.fill("input[name=name]", "Hệ thống một cửa tỉnh")
        page.select_option("select[name=unit]", "*")  # every unit, chosen on purpose
        page.check("input[name=scopes][value='dossiers:write']")
        page.click("form[action$='/officer/api-tokens'] button[type=submit]")
        assert page.locator(".secret code").inner_text().startswith("sipas_")
        row = page.locator("tr", has_text="Hệ thống một cửa tỉnh")
        assert "read dossiers:write" in row.inner_text()

        # Group 5 beside SIPAS on the dashboard, in its own section.
        page.goto(f"{server.url}/officer/units/T-DISTRICT?period=2026-03")
        section = page.locator("section.d766")
        assert "Quyết định 766" in section.locator("h2").inner_text()
        text = section.inner_text()
        assert text.count("8,33") == 2 and "Xã Thử Nghiệm" in text

        # The citizen opens the link printed on the receipt: the desk's survey.
        answer = page.goto(link)
        assert answer is not None and answer.status == 200
        assert page.locator("form").count() >= 1 and "Quầy Một" in page.content()
    finally:
        context.close()
    with server.app.app_context():
        names = get_session().scalars(select(Unit.code)).all()
    assert "T-COMMUNE" in names
