"""Fixtures: a fresh app on a fresh database (SQLite always; PostgreSQL when TEST_DATABASE_URL
is set, and required in CI), its client and CLI runner, a small field of units and desks, and an
enrolled kiosk tablet."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, select, text

from survey_app import create_app, migrate
from survey_app.db import get_database, get_session, make_engine
from survey_app.models import Base, Desk, Service, Unit

IN_CI = os.environ.get("CI") == "true"
TEST_SECRET = "test-secret-key"
PUBLIC_BASE_URL = "http://sipas.test"


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine that lacks a service; fail in CI, where it must exist."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "sipas.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, emptied and migrated once per run."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    require(bool(url), "TEST_DATABASE_URL is not set, so the PostgreSQL tests cannot run")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _empty_postgresql(engine: Engine) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "sipas.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    engine: Engine = request.getfixturevalue("postgresql_engine")
    _empty_postgresql(engine)
    yield engine.url.render_as_string(hide_password=False)
    _empty_postgresql(engine)


def make_test_app(database_url: str, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SURVEY_MIN_SECONDS": 0,
        # Tests of other features send many like answers fast from one address: the door's
        # limits and the desk-level signals are switched on by their own tests
        # (tests/test_integrity_*.py).
        "RATELIMIT_ENABLED": False,
        "INTEGRITY_SIGNALS": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url)
    yield app
    with app.app_context():
        get_database().dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass(frozen=True)
class Field:
    """Codes of the small field every database test starts with."""

    desk: str = "TEST1"
    other_desk: str = "OTHER1"
    inactive_desk: str = "OLD1"
    commune: str = "T-COMMUNE"
    service: str = "SV1"


@pytest.fixture
def field(app: Flask) -> Field:
    """Province → district → commune with two active desks and an inactive one."""
    with app.app_context():
        session = get_session()
        province = Unit(code="T-PROVINCE", name="Tỉnh Thử", kind="province")
        district = Unit(code="T-DISTRICT", name="Huyện Thử", kind="district", parent=province)
        commune = Unit(code="T-COMMUNE", name="Xã Thử Nghiệm", kind="commune", parent=district)
        session.add_all(
            [
                province,
                district,
                commune,
                Desk(code="TEST1", name="Bộ phận Một cửa xã Thử Nghiệm", unit=commune),
                Desk(code="OTHER1", name="Quầy khác", unit=district),
                Desk(code="OLD1", name="Quầy đã đóng", unit=commune, active=False),
                Service(code="SV1", name="Đăng ký khai sinh"),
            ]
        )
        session.commit()
    return Field()


HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a rendered survey form (CSRF, form token, invitation)."""
    return dict(HIDDEN.findall(html))


#: The 16 criteria of sipas-service (the overall question HL is not among them).
CRITERIA = (
    "TC1", "TC2", "TC3", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3",
    "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3",
)  # fmt: skip


def full_answers(**overrides: str) -> dict[str, str]:
    """A complete, valid sipas-service answer set: every criterion 4, overall question HL 5."""
    answers = dict.fromkeys(CRITERIA, "4")
    answers["HL"] = "5"
    answers.update(overrides)
    return answers


class Survey:
    """Drives the citizen form through the test client, as a browser would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def open(self, desk: str, **query: str) -> dict[str, str]:
        """A fresh form's hidden fields (``again=1``: a new form even right after a response)."""
        response = self.client.get(f"/s/{desk}", query_string={"again": "1", **query})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return hidden_fields(response.get_data(as_text=True))

    def submit(
        self,
        desk: str,
        answers: dict[str, Any],
        hidden: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        data = dict(hidden if hidden is not None else self.open(desk))
        data.update(answers)
        return self.client.post(f"/s/{desk}", data=data, **kwargs)


@pytest.fixture
def survey(client: FlaskClient) -> Survey:
    return Survey(client)


# -- kiosk tablets ---------------------------------------------------------------------------

#: The items of sipas-kiosk v1 that need an answer.
KIOSK_ITEMS = ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA", "HL")


def kiosk_response(desk: str = "TEST1", **overrides: Any) -> dict[str, Any]:
    """A valid sipas-kiosk submission as the tablet sends it: answered 20 s after it started."""
    answered = datetime.now(UTC) - timedelta(minutes=5)
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "desk": desk,
        "questionnaire": "sipas-kiosk",
        "version": 1,
        "answers": {**dict.fromkeys(KIOSK_ITEMS, 4), "HL": 5},
        "language": "vi",
        "started_at": (answered - timedelta(seconds=20)).isoformat().replace("+00:00", "Z"),
        "answered_at": answered.isoformat().replace("+00:00", "Z"),
    }
    payload.update(overrides)
    return payload


@dataclass
class Kiosk:
    """An enrolled tablet of the field's desk, talking to the app through the test client."""

    client: FlaskClient
    token: str
    device_id: int
    desk: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    def submit(self, payload: Any, token: str | None = None) -> Any:
        return self.client.post("/kiosk/api/responses", json=payload, headers=self.headers(token))

    def heartbeat(self, report: Any, token: str | None = None) -> Any:
        return self.client.post("/kiosk/api/heartbeat", json=report, headers=self.headers(token))


def enrolment_code(app: Flask, desk: str, label: str = "Máy tính bảng 1") -> str:
    """A fresh one-time code for a new device at ``desk`` (what `sipas kiosk enrol` prints)."""
    from survey_app.services import kiosk_devices as devices

    with app.app_context():
        session = get_session()
        desk_row = session.scalar(select(Desk).where(Desk.code == desk))
        assert desk_row is not None
        issued = devices.enrol_device(session, desk_row, label, hours=24)
        session.commit()
        return issued.code


@pytest.fixture
def kiosk(app: Flask, client: FlaskClient, field: Field) -> Kiosk:
    code = enrolment_code(app, field.desk)
    answer = client.post("/kiosk/api/enrol", json={"code": code})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    return Kiosk(client, body["token"], body["config"]["device"]["id"], field.desk)
