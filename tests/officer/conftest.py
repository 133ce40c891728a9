"""Fixtures of the officer workspace tests: the demo province (Quảng Ninh in 2026: today's units
with their branches, the former Đầm Hà district's units merged on 1/7/2025, desks, responses,
one officer per role, targets), signed-in clients per role, and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import SERVICE_POINT_KINDS, Response, Unit
from survey_app.services import accounts
from survey_app.services.demo import DEMO_OFFICERS

#: username → password of the demo officers (administrator, officer of Đầm Hà commune
#: QN-DAMHA, officer of Quảng Tân commune QN-QUANGTAN, viewer of Đầm Hà commune).
PASSWORDS = {username: password for username, password, *_rest in DEMO_OFFICERS}
ROLES = ("admin", "damha", "quangtan", "xem")
DEMO_RESPONSES = 400


def load_demo(app: Flask, responses: int = DEMO_RESPONSES) -> Flask:
    """Load the demo province into ``app`` (seed 7) and switch CSRF off."""
    result = app.test_cli_runner().invoke(
        args=["demo", "load", "--responses", str(responses), "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    app.config["WTF_CSRF_ENABLED"] = False  # forms are driven directly; CSRF has its own test
    return app


@pytest.fixture
def demo(app: Flask) -> Flask:
    """The app with the demo province loaded (a small history of responses)."""
    return load_demo(app)


def sign_in(client: FlaskClient, username: str, password: str | None = None) -> FlaskClient:
    response = client.post(
        "/officer/sign-in",
        data={"username": username, "password": password or PASSWORDS[username]},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return client


@pytest.fixture
def signed_in(demo: Flask) -> Callable[[str], FlaskClient]:
    """A fresh client signed in as one of the demo officers (or anonymous for None)."""

    def make(username: str | None) -> FlaskClient:
        client = demo.test_client()
        return sign_in(client, username) if username else client

    return make


@dataclass(frozen=True)
class Tokens:
    everything: str
    damha: str
    commune: str
    revoked: str


@pytest.fixture
def tokens(demo: Flask) -> Tokens:
    with demo.app_context():
        db = get_session()
        units = {u.code: u for u in db.scalars(select(Unit))}
        _row, everything = accounts.issue_token(db, name="tỉnh", unit=None, created_by=None)
        _row, damha = accounts.issue_token(
            db, name="xã Đầm Hà", unit=units["QN-DAMHA"], created_by=None
        )
        _row, commune = accounts.issue_token(
            db, name="xã", unit=units["QN-QUANGTAN"], created_by=None
        )
        row, revoked = accounts.issue_token(db, name="cũ", unit=None, created_by=None)
        from survey_app.models import utcnow

        row.revoked_at = utcnow()
        db.commit()
    return Tokens(everything, damha, commune, revoked)


def response_of_unit(
    app: Flask, unit_code: str, *, flagged: bool = False, with_comment: bool = False
) -> int:
    """The id of the newest response of a unit (or of the service points right below it: a
    commune's branch), made flagged or commented when asked.

    The newest, not the first: the demo's history spans a year, so only the newest response is
    sure to fall in every current period (month, quarter, year) the tests ask for."""
    from survey_app.models import Comment

    with app.app_context():
        db = get_session()
        unit = db.scalar(select(Unit).where(Unit.code == unit_code))
        assert unit is not None, unit_code
        ids = [unit.id, *(u.id for u in unit.children if u.kind in SERVICE_POINT_KINDS)]
        response = db.scalar(
            select(Response)
            .where(Response.unit_id.in_(ids))
            .order_by(Response.submitted_at.desc(), Response.id.desc())
        )
        assert response is not None, f"the demo has no response in {unit_code}"
        if flagged and not response.flags:
            response.flags = "too_fast"
        if with_comment and db.get(Comment, response.id) is None:
            db.add(Comment(response_id=response.id, text="Phải chờ quá lâu."))
        db.commit()
        return response.id


def kiosk_device(app: Flask, desk_code: str, label: str = "Máy tính bảng 1") -> int:
    """A kiosk tablet registered for ``desk_code`` (its code not yet used); returns its id."""
    from survey_app.models import Desk
    from survey_app.services import kiosk_devices as devices

    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == desk_code))
        assert desk is not None
        issued = devices.enrol_device(session, desk, label, hours=24)
        session.commit()
        return int(issued.device.id)
