"""Enrolling, revoking and listing kiosk tablets (CLI, API); their configuration and heartbeat."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import inspect, select, text

from survey_app import migrate
from survey_app.db import get_engine, get_session
from survey_app.models import Desk, Enrolment, KioskDevice
from survey_app.services import kiosk_devices as devices

from .conftest import Field, Kiosk, enrolment_code, kiosk_response

URL = re.compile(r"^http://sipas\.test/kiosk/#enrol=([A-Z2-9]{16})$", re.M)


def enrol_by_cli(app: Flask, *args: str) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(args=["kiosk", "enrol", *args])
    assert result.exit_code == 0, result.output
    match = URL.search(result.output)
    assert match, result.output
    return match[1], result.output


def test_cli_enrolment_prints_a_one_time_link_and_its_qr(
    app: Flask, client: FlaskClient, field: Field, tmp_path: Path
) -> None:
    qr = tmp_path / "enrol.png"
    code, output = enrol_by_cli(app, "--desk", "test1", "--label", "Quầy 1", "--qr", str(qr))
    assert "device 1 (Quầy 1) for desk TEST1" in output
    assert f"enrolment code {devices.format_code(code)}, one use, valid until" in output
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.read_bytes())))
    assert decoded.text == f"http://sipas.test/kiosk/#enrol={code}"

    answer = client.post("/kiosk/api/enrol", json={"code": devices.format_code(code).lower()})
    assert answer.status_code == 201
    body = answer.get_json()
    assert len(body["token"]) >= 40
    assert body["config"]["desk"] == {
        "code": "TEST1",
        "name": "Bộ phận Một cửa xã Thử Nghiệm",
        "unit": "Xã Thử Nghiệm",
    }
    assert body["config"]["device"] == {"id": 1, "label": "Quầy 1"}
    # The token works at once; the code never again.
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/kiosk/api/config", headers=headers).status_code == 200
    again = client.post("/kiosk/api/enrol", json={"code": code})
    assert again.status_code == 410 and again.get_json()["error"] == "code_used"

    with app.app_context():
        device = get_session().get(KioskDevice, 1)
        assert device is not None and device.state == "enrolled" and device.enrolled_at
        # Only digests are kept: neither the token nor the code is in the database.
        assert device.token_hash == devices.digest(body["token"])
        dump = " ".join(
            str(row)
            for table in ("kiosk_devices", "kiosk_enrolments")
            for row in get_session().execute(text(f"SELECT * FROM {table}"))
        )
        assert body["token"] not in dump and code not in dump


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --desk CODE"),
        (["--desk", "TEST1", "--device", "1"], "give either --desk CODE"),
        (["--desk", "NOPE"], "no active desk"),
        (["--desk", "OLD1"], "no active desk"),
        (["--device", "99"], "no kiosk device with id 99"),
        (["--desk", "TEST1", "--qr", "x.gif"], "must end in .png or .svg"),
    ],
)
def test_cli_enrolment_errors(app: Flask, field: Field, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=["kiosk", "enrol", *args])
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (
            "AAAA-BBBB-CCCC-DDDD",
            403,
            "unknown_code",
        ),
        ("", 400, "malformed"),
        (12345, 400, "malformed"),
    ],
)
def test_bad_enrolment_codes(
    client: FlaskClient, field: Field, code: object, status: int, error: str
) -> None:
    answer = client.post("/kiosk/api/enrol", json={"code": code})
    assert answer.status_code == status and answer.get_json()["error"] == error


def test_an_expired_code_is_refused(app: Flask, client: FlaskClient, field: Field) -> None:
    code = enrolment_code(app, field.desk)
    with app.app_context():
        session = get_session()
        enrolment = session.scalar(select(Enrolment))
        assert enrolment is not None
        enrolment.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.commit()
    answer = client.post("/kiosk/api/enrol", json={"code": code})
    assert answer.status_code == 410 and answer.get_json()["error"] == "code_expired"


def test_a_code_for_a_closed_desk_is_refused(app: Flask, client: FlaskClient, field: Field) -> None:
    code = enrolment_code(app, field.desk)
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == field.desk))
        assert desk is not None
        desk.active = False
        session.commit()
    answer = client.post("/kiosk/api/enrol", json={"code": code})
    assert answer.status_code == 403 and answer.get_json()["error"] == "desk_inactive"


def test_enrolment_needs_no_csrf_token_but_json(client: FlaskClient, field: Field) -> None:
    answer = client.post("/kiosk/api/enrol", data={"code": "X"})
    assert answer.status_code == 415 and answer.get_json()["error"] == "not_json"


def test_revocation_and_re_enrolment(app: Flask, kiosk: Kiosk) -> None:
    runner = app.test_cli_runner()
    assert kiosk.submit(kiosk_response()).status_code == 200
    # An unused code for the same device dies with the revocation.
    spare, _ = enrol_by_cli(app, "--device", str(kiosk.device_id))
    result = runner.invoke(args=["kiosk", "revoke", str(kiosk.device_id)])
    assert result.exit_code == 0 and "revoked" in result.output
    for answer in (
        kiosk.submit(kiosk_response()),
        kiosk.heartbeat({"queue_length": 1}),
        kiosk.client.get("/kiosk/api/config", headers=kiosk.headers()),
    ):
        assert answer.status_code == 403 and answer.get_json()["error"] == "device_revoked"
    assert kiosk.client.post("/kiosk/api/enrol", json={"code": spare}).status_code == 410
    listing = runner.invoke(args=["kiosk", "list"]).output
    assert re.search(rf"^{kiosk.device_id}\s+TEST1\s+revoked", listing, re.M)

    # A new code for the same device lifts the revocation; the old token stays dead.
    code, _ = enrol_by_cli(app, "--device", str(kiosk.device_id), "--label", "Máy mới")
    answer = kiosk.client.post("/kiosk/api/enrol", json={"code": code})
    assert answer.status_code == 201
    token = answer.get_json()["token"]
    assert kiosk.submit(kiosk_response()).status_code == 401
    assert kiosk.submit(kiosk_response(), token=token).status_code == 200
    listing = runner.invoke(args=["kiosk", "list", "--desk", "TEST1"]).output
    assert re.search(rf"^{kiosk.device_id}\s+TEST1\s+enrolled .* Máy mới$", listing, re.M)
    assert runner.invoke(args=["kiosk", "revoke", "99"]).exit_code == 2


def test_list_with_no_devices(app: Flask, field: Field) -> None:
    assert app.test_cli_runner().invoke(args=["kiosk", "list"]).output == "no kiosk devices\n"


# -- configuration and heartbeat ---------------------------------------------------------------


def test_configuration_of_a_desk(kiosk: Kiosk) -> None:
    config = kiosk.client.get("/kiosk/api/config", headers=kiosk.headers()).get_json()
    form = config["questionnaire"]
    assert (form["id"], form["version"]) == ("sipas-kiosk", 1)
    assert [s["code"] for s in form["screens"]] == ["TC", "TT", "CC", "KQ", "PA", "HL", "YK"]
    first = form["screens"][0]["items"][0]
    assert first["faces"] is True and first["required"] is True
    assert [o["label"]["vi"] for o in first["options"]][::4] == [
        "Rất không hài lòng",
        "Rất hài lòng",
    ]
    assert first["not_applicable"] == {"vi": "Không đánh giá", "en": "Cannot judge"}
    comment = form["screens"][-1]["items"][0]
    assert comment["type"] == "text" and comment["max_length"] == 1000
    assert config["settings"] == {
        "idle_seconds": 60,
        "thanks_seconds": 5,
        "heartbeat_seconds": 60,
        "retry_max_seconds": 300,
        "opening_hours": None,
        "time_zone": "Asia/Ho_Chi_Minh",
    }
    assert re.fullmatch(r"[0-9a-f]{16}", config["config_version"])
    assert config["server_time"].endswith("Z")


def test_heartbeat_records_contact_and_queue(app: Flask, kiosk: Kiosk) -> None:
    answer = kiosk.heartbeat({"queue_length": 7, "rejected": 2, "client_version": "abc123"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"server_time", "shell_version", "config_version"}
    with app.app_context():
        device = get_session().get(KioskDevice, kiosk.device_id)
        assert device is not None
        assert (device.last_queue_length, device.last_rejected_count) == (7, 2)
        assert device.client_version == "abc123"
        assert device.last_seen_at and datetime.now(UTC) - device.last_seen_at < timedelta(
            minutes=1
        )
    listing = app.test_cli_runner().invoke(args=["kiosk", "list"]).output
    assert re.search(r"\s7\s+2\s+abc123", listing)


@pytest.mark.parametrize(
    "report",
    [{"queue_length": -1}, {"queue_length": "3"}, {"rejected": True}, {"client_version": 3}, [1]],
)
def test_heartbeat_refuses_nonsense(app: Flask, kiosk: Kiosk, report: object) -> None:
    assert kiosk.heartbeat(report).status_code == 400


def test_settings_reach_the_tablet_at_its_next_heartbeat(app: Flask, kiosk: Kiosk) -> None:
    before = kiosk.heartbeat({"queue_length": 0}).get_json()["config_version"]
    runner = app.test_cli_runner()
    desk = runner.invoke(
        args=[
            "kiosk", "desk", "TEST1", "--questionnaire", "sipas-service",
            "--hours", "mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30",
        ]
    )  # fmt: skip
    assert desk.exit_code == 0, desk.output
    assert "mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30" in desk.output
    device = runner.invoke(
        args=[
            "kiosk",
            "device",
            str(kiosk.device_id),
            "--idle-seconds",
            "45",
            "--max-per-hour",
            "9",
        ]
    )
    assert device.exit_code == 0 and "45 (this device)" in device.output, device.output
    after = kiosk.heartbeat({"queue_length": 0}).get_json()["config_version"]
    assert after != before
    config = kiosk.client.get("/kiosk/api/config", headers=kiosk.headers()).get_json()
    assert config["config_version"] == after
    assert config["questionnaire"]["id"] == "sipas-service"
    assert config["settings"]["idle_seconds"] == 45
    assert config["settings"]["opening_hours"]["sat"] == ["07:30-11:30"]
    assert "sun" not in config["settings"]["opening_hours"]
    # Back to the defaults.
    cleared = runner.invoke(
        args=["kiosk", "device", str(kiosk.device_id), "--idle-seconds", "default"]
    )
    assert "60 (default)" in cleared.output
    assert "always open" in runner.invoke(args=["kiosk", "desk", "TEST1", "--always-open"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kiosk", "desk", "TEST1", "--questionnaire", "nope"], "use one of"),
        (["kiosk", "desk", "TEST1", "--hours", "mon-fri 17:00-07:30"], "ends before it starts"),
        (["kiosk", "desk", "TEST1", "--hours", "monday 07:00-11:00"], "weekdays are"),
        (["kiosk", "desk", "TEST1", "--hours", "mon 7-11"], "is not HH:MM-HH:MM"),
        (["kiosk", "desk", "TEST1", "--hours", "mon 07:00-11:00", "--always-open"], "not both"),
        (["kiosk", "device", "1", "--idle-seconds", "3"], "at least 10 seconds"),
        (["kiosk", "device", "1", "--min-seconds", "soon"], "a whole number or 'default'"),
    ],
)
def test_settings_errors(app: Flask, kiosk: Kiosk, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_migration_gives_existing_desks_the_kiosk_questionnaire(app: Flask, field: Field) -> None:
    with app.app_context():
        engine = get_engine()
        migrate.downgrade(engine, "0001")
        assert "kiosk_devices" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM desks")) == 3
        migrate.upgrade(engine)
        session = get_session()
        session.expire_all()
        assert set(session.scalars(select(Desk.kiosk_questionnaire))) == {"sipas-kiosk"}
        assert set(session.scalars(select(Desk.opening_hours))) == {None}
