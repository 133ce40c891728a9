"""Sign-in: hashed passwords, throttled failures, sessions that expire, CSRF, the audit log,
and the `sipas officer` command."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import AuditEvent, Officer
from survey_app.services import accounts

from .conftest import PASSWORDS, sign_in


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_passwords_are_stored_as_argon2id_hashes(demo: Flask) -> None:
    with demo.app_context():
        officer = get_session().scalar(select(Officer).where(Officer.username == "admin"))
        assert officer is not None
        assert officer.password_hash.startswith("$argon2id$")
        assert PASSWORDS["admin"] not in officer.password_hash


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong-password-1"), ("nobody", "sipas-admin-2026"), ("ADMIN ", "x" * 12)],
)
def test_a_wrong_password_is_refused_and_logged(demo: Flask, username: str, password: str) -> None:
    client = demo.test_client()
    response = client.post("/officer/sign-in", data={"username": username, "password": password})
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/officer/units/QN-DAMHA").status_code == 302  # still not signed in
    assert _actions(demo)[-1] == "sign_in_failed"


def test_sign_in_is_throttled_after_repeated_failures(demo: Flask) -> None:
    client = demo.test_client()
    for _ in range(demo.config["SIGN_IN_MAX_FAILURES"]):
        bad = client.post("/officer/sign-in", data={"username": "damha", "password": "nope-nope"})
        assert bad.status_code == 401
    # Even the right password is refused now, with a clear 429 and a time to wait.
    blocked = client.post(
        "/officer/sign-in", data={"username": "damha", "password": PASSWORDS["damha"]}
    )
    assert blocked.status_code == 429 and blocked.headers["Retry-After"]
    assert "Tạm khóa đăng nhập" in blocked.get_data(as_text=True)
    # Another account from elsewhere is not affected.
    sign_in(demo.test_client(), "xem")


def test_an_idle_session_expires(demo: Flask) -> None:
    client = sign_in(demo.test_client(), "damha")
    assert client.get("/officer/units/QN-DAMHA-CN").status_code == 200
    demo.config["OFFICER_IDLE_MINUTES"] = -1  # as if the officer had left the desk for long
    expired = client.get("/officer/units/QN-DAMHA-CN")
    assert expired.status_code == 302 and "/officer/sign-in" in expired.headers["Location"]
    demo.config["OFFICER_IDLE_MINUTES"] = 30
    page = client.get(expired.headers["Location"]).get_data(as_text=True)
    assert "Phiên làm việc đã hết hạn" in page
    assert client.get("/officer/units/QN-DAMHA-CN").status_code == 302


def test_a_password_change_ends_other_sessions(demo: Flask) -> None:
    first = sign_in(demo.test_client(), "quangtan")
    second = sign_in(demo.test_client(), "quangtan")
    changed = second.post(
        "/officer/password", data={"current": PASSWORDS["quangtan"], "new": "mat-khau-moi-2026"}
    )
    assert changed.status_code == 302
    assert first.get("/officer/units/QN-DAMHA-CN").status_code == 302
    sign_in(demo.test_client(), "quangtan", "mat-khau-moi-2026")


def test_sign_out_ends_the_session(demo: Flask) -> None:
    client = sign_in(demo.test_client(), "xem")
    assert client.post("/officer/sign-out").status_code == 302
    assert client.get("/officer/units/QN-DAMHA").status_code == 302
    assert _actions(demo)[-2:] == ["sign_in", "sign_out"]


def test_forms_need_their_csrf_token(app: Flask) -> None:
    app.test_cli_runner().invoke(args=["demo", "load", "--responses", "50"])
    client = app.test_client()
    refused = client.post(
        "/officer/sign-in", data={"username": "admin", "password": PASSWORDS["admin"]}
    )
    assert refused.status_code == 400
    page = client.get("/officer/sign-in").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    token = found[1]
    accepted = client.post(
        "/officer/sign-in",
        data={"username": "admin", "password": PASSWORDS["admin"], "csrf_token": token},
    )
    assert accepted.status_code == 302
    # Signed in, a form posted without the token is still refused.
    assert (
        client.post(
            "/officer/targets", data={"unit": "QN-DAMHA", "code": "SIPAS", "value": "90"}
        ).status_code
        == 400
    )


def test_the_next_address_stays_on_this_site(demo: Flask) -> None:
    client = demo.test_client()
    response = client.post(
        "/officer/sign-in?next=//evil.example/x",
        data={"username": "admin", "password": PASSWORDS["admin"]},
    )
    assert response.headers["Location"] == "/officer/"
    client = demo.test_client()
    response = client.post(
        "/officer/sign-in?next=/officer/comments",
        data={"username": "admin", "password": PASSWORDS["admin"]},
    )
    assert response.headers["Location"] == "/officer/comments"


def test_a_viewer_cannot_change_settings(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("xem")
    response = client.post(
        "/officer/targets", data={"unit": "QN-DAMHA", "code": "SIPAS", "value": "90", "period": ""}
    )
    assert response.status_code == 403
    assert "Không có quyền" in response.get_data(as_text=True)
    assert _actions(demo)[-1] == "access_denied"


def test_the_officer_command_creates_the_first_administrator(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "officer",
            "create",
            "--username",
            "Chief",
            "--name",
            "Nguyễn Văn A",
            "--password",
            "mot-mat-khau-dai",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "officer chief (admin) created" in result.output
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(app.test_client(), "chief", "mot-mat-khau-dai")
    short = runner.invoke(args=["officer", "create", "--username", "b", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    no_unit = runner.invoke(
        args=[
            "officer",
            "create",
            "--username",
            "c",
            "--role",
            "officer",
            "--password",
            "mot-mat-khau-dai",
        ]
    )
    assert no_unit.exit_code != 0 and "needs a unit" in no_unit.output
    taken = runner.invoke(
        args=["officer", "create", "--username", "chief", "--password", "mot-mat-khau-dai"]
    )
    assert taken.exit_code != 0 and "taken" in taken.output
    listed = runner.invoke(args=["officer", "list"])
    assert "chief\tadmin\tall units\tNguyễn Văn A" in listed.output


def test_welcome_prints_the_demo_accounts(demo: Flask) -> None:
    output = demo.test_cli_runner().invoke(args=["welcome"]).output
    assert "/officer/sign-in" in output
    for username, password in PASSWORDS.items():
        assert username in output and password in output
    with demo.app_context():
        db = get_session()
        officer = db.scalar(select(Officer).where(Officer.username == "xem"))
        assert officer is not None
        accounts.set_password(officer, "changed-by-the-viewer")
        db.commit()
    assert PASSWORDS["xem"] not in demo.test_cli_runner().invoke(args=["welcome"]).output


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """A new browser holding a copy of a session cookie taken earlier."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _officer_id(app: Flask, username: str) -> int:
    with app.app_context():
        found = get_session().scalar(select(Officer.id).where(Officer.username == username))
        assert found is not None
        return int(found)


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_saved_before_sign_out_no_longer_works(demo: Flask) -> None:
    client = sign_in(demo.test_client(), "admin")
    saved = _session_cookie(client)
    assert _replay(demo, saved).get("/officer/units/QN-DAMHA").status_code == 200
    assert client.post("/officer/sign-out").status_code == 302
    thief = _replay(demo, saved)
    page = thief.get("/officer/units/QN-DAMHA")
    assert page.status_code == 302 and "/officer/sign-in" in page.headers["Location"]
    target = thief.post(
        "/officer/targets", data={"unit": "QN-DAMHA", "code": "SIPAS", "value": "90", "period": ""}
    )
    assert target.status_code == 302 and "/officer/sign-in" in target.headers["Location"]
    assert "target_set" not in _actions(demo)


def test_an_administrator_signs_another_officer_out_everywhere(demo: Flask) -> None:
    officer = sign_in(demo.test_client(), "damha")
    saved = _session_cookie(officer)
    admin = sign_in(demo.test_client(), "admin")
    damha_id = _officer_id(demo, "damha")
    assert admin.post(f"/officer/accounts/{damha_id}/sign-out").status_code == 302
    assert officer.get("/officer/units/QN-DAMHA").status_code == 302
    assert _replay(demo, saved).get("/officer/units/QN-DAMHA").status_code == 302
    assert admin.get("/officer/units/QN-DAMHA").status_code == 200
    assert "sessions_ended" in _actions(demo)
    sign_in(demo.test_client(), "damha")  # the account itself still works
    # Only administrators may do it.
    assert (
        sign_in(demo.test_client(), "xem")
        .post(f"/officer/accounts/{damha_id}/sign-out")
        .status_code
        == 403
    )


def test_deactivation_ends_the_sessions_of_the_account(demo: Flask) -> None:
    officer = sign_in(demo.test_client(), "quangtan")
    admin = sign_in(demo.test_client(), "admin")
    row_id = _officer_id(demo, "quangtan")
    assert admin.post(f"/officer/accounts/{row_id}/deactivate").status_code == 302
    assert officer.get("/officer/units/QN-QUANGTAN").status_code == 302
