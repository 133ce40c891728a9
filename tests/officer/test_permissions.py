"""Permission matrix: every protected URL of the workspace and the reports × every role
(administrator, officer of Đầm Hà commune, officer of Quảng Tân commune, viewer of Đầm Hà
commune, nobody), with the status each must get. A commune officer never reaches another
commune; an officer of a commune reaches the service points below it (its branch)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import AuditEvent

from .conftest import kiosk_device, response_of_unit

ANON = None
#: Order of the expected statuses in the tables below.
WHO = ("admin", "damha", "quangtan", "xem", ANON)
SIGN_IN = 302  # nobody signed in: sent to the sign-in page

#: GET url → expected status for admin, Đầm Hà officer, Quảng Tân officer, viewer, nobody.
PAGES: dict[str, tuple[int, int, int, int, int]] = {
    "/officer/": (302, 302, 302, 302, SIGN_IN),
    "/officer/units/QN-DAMHA": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/QN-DAMHA?period=2025-Q4": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/QN": (200, 403, 403, 403, SIGN_IN),
    "/officer/units/QN-QUANGTAN": (200, 403, 200, 403, SIGN_IN),
    "/officer/units/QN-DAMHA-CN": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/NOPE": (404, 404, 404, 404, SIGN_IN),
    # The units merged into a commune are its history: its officers reach them, no one else.
    "/officer/units/QN-DH-TTDH?period=2025": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/QN-DH-DYEN?period=2025": (200, 403, 200, 403, SIGN_IN),
    "/officer/units/QN-DH?period=2025": (200, 403, 403, 403, SIGN_IN),
    "/officer/units/QN-DAMHA?period=2026-13": (400, 400, 403, 400, SIGN_IN),
    "/officer/desks/QUANGTAN1": (200, 403, 200, 403, SIGN_IN),
    "/officer/desks/DAMHA1": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments": (200, 200, 200, 200, SIGN_IN),
    "/officer/comments?unit=QN-DAMHA-CN": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments?desk=DAMHA1": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments?page=0": (400, 400, 400, 400, SIGN_IN),
    "/officer/review": (200, 200, 200, 200, SIGN_IN),
    "/officer/review?unit=QN-DAMHA-CN": (200, 200, 403, 200, SIGN_IN),
    "/officer/field": (200, 200, 200, 200, SIGN_IN),
    "/officer/field/desks/new": (200, 200, 200, 403, SIGN_IN),
    "/officer/field/desks/QUANGTAN1": (200, 403, 200, 403, SIGN_IN),
    "/officer/field/desks/DAMHA1": (200, 200, 403, 403, SIGN_IN),
    "/officer/field/units/new": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/units/QN-QUANGTAN": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/services": (200, 200, 200, 200, SIGN_IN),
    "/officer/field/services/new": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/kiosks": (200, 200, 200, 200, SIGN_IN),
    "/officer/targets": (200, 200, 200, 200, SIGN_IN),
    "/officer/accounts": (200, 403, 403, 403, SIGN_IN),
    "/officer/api-tokens": (200, 403, 403, 403, SIGN_IN),
    "/officer/audit": (200, 403, 403, 403, SIGN_IN),
    "/officer/password": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/units/QN-QUANGTAN.xlsx": (200, 403, 200, 403, SIGN_IN),
    "/officer/reports/units/QN-DAMHA-CN.xlsx": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-QUANGTAN.pdf": (200, 403, 200, 403, SIGN_IN),
    "/officer/reports/units/QN-DAMHA.pdf": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-QUANGTAN/responses.csv": (200, 403, 200, 403, SIGN_IN),
    "/officer/reports/units/QN-DAMHA/responses.csv?period=2026": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-QUANGTAN/responses.csv?period=abc": (400, 403, 400, 403, SIGN_IN),
    "/officer/reports/posters/QUANGTAN1.pdf": (200, 403, 200, 403, SIGN_IN),
    "/officer/reports/posters/DAMHA1.pdf?size=A5": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/posters/QUANGTAN1.pdf?size=A3": (400, 403, 400, 403, SIGN_IN),
    "/officer/reports/posters/units/QN-QUANGTAN.pdf": (200, 403, 200, 403, SIGN_IN),
    "/officer/reports/posters/units/QN-DAMHA.pdf": (200, 200, 403, 200, SIGN_IN),
}


def _check(
    client: FlaskClient,
    method: str,
    url: str,
    expected: int,
    who: str | None,
    failures: list[str],
    **kwargs: object,
) -> None:
    response = client.open(url, method=method, **kwargs)  # type: ignore[arg-type]
    response.get_data()  # read a streamed body to its end, as a browser would
    response.close()
    if response.status_code != expected:
        failures.append(
            f"{who or 'anonymous'} {method} {url}: {response.status_code}, expected {expected}"
        )
    if expected == SIGN_IN and who is None:
        assert "/officer/sign-in" in response.headers.get("Location", ""), url


def test_every_page_for_every_role(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    failures: list[str] = []
    for k, who in enumerate(WHO):
        client = signed_in(who)
        for url, expected in PAGES.items():
            _check(client, "GET", url, expected[k], who, failures)
    assert failures == [], "\n".join(failures)


def test_every_action_for_every_role(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    commented = response_of_unit(demo, "QN-DAMHA-CN", with_comment=True)
    tablet = kiosk_device(demo, "DAMHA1")
    flagged = response_of_unit(demo, "QN-DAMHA-CN", flagged=True)
    own_flagged = response_of_unit(demo, "QN-QUANGTAN", flagged=True)
    actions: list[tuple[str, dict[str, str], tuple[int, int, int, int, int]]] = [
        (
            "/officer/targets",
            {"unit": "QN-DAMHA-CN", "code": "SIPAS", "period": "2026", "value": "86"},
            (302, 302, 403, 403, SIGN_IN),
        ),
        (
            "/officer/targets",
            {"unit": "QN-QUANGTAN", "code": "PA", "period": "", "value": "80"},
            (302, 403, 302, 403, SIGN_IN),
        ),
        (
            f"/officer/comments/{commented}/handle",
            {"note": "Đã bố trí thêm ghế chờ."},
            (302, 302, 403, 403, SIGN_IN),
        ),
        (f"/officer/review/{flagged}", {"decision": "keep"}, (302, 302, 403, 403, SIGN_IN)),
        (
            f"/officer/review/{own_flagged}",
            {"decision": "exclude", "note": "thử"},
            (302, 403, 302, 403, SIGN_IN),
        ),
        (
            "/officer/field/desks/DAMHA1",
            {
                "code": "DAMHA1",
                "name": "Bộ phận Một cửa xã Dực Yên",
                "unit": "QN-DAMHA-CN",
                "questionnaire": "sipas-service",
                "active": "y",
            },
            (302, 302, 403, 403, SIGN_IN),
        ),
        (
            "/officer/field/units/new",
            {
                "code": "QN-MOI",
                "name": "Xã Mới",
                "kind": "commune",
                "parent": "QN",
                "active": "y",
            },
            (302, 403, 403, 403, SIGN_IN),
        ),
        (
            "/officer/field/services/new",
            {"code": "9.999", "name": "Thủ tục thử", "active": "y"},
            (302, 403, 403, 403, SIGN_IN),
        ),
        ("/officer/api-tokens", {"name": "hệ thống", "unit": "*"}, (200, 403, 403, 403, SIGN_IN)),
        (
            "/officer/field/kiosks/enrol",
            {"desk": "DAMHA1", "label": "Máy tính bảng"},
            (200, 200, 403, 403, SIGN_IN),
        ),
        (
            "/officer/field/kiosks/enrol",
            {"desk": "QUANGTAN1", "label": "Máy tính bảng"},
            (200, 403, 200, 403, SIGN_IN),
        ),
        (f"/officer/field/kiosks/{tablet}/code", {}, (200, 200, 403, 403, SIGN_IN)),
        (f"/officer/field/kiosks/{tablet}/revoke", {}, (302, 302, 403, 403, SIGN_IN)),
        (
            "/officer/accounts",
            {
                "username": "moi",
                "full_name": "Cán bộ mới",
                "role": "viewer",
                "unit": "QN-HALONG",
                "password": "mat-khau-du-dai",
            },
            (302, 403, 403, 403, SIGN_IN),
        ),
    ]
    failures: list[str] = []
    for k, who in enumerate(WHO):
        client = signed_in(who)
        for url, data, expected in actions:
            if url == "/officer/accounts" and who == "admin":
                data = {**data, "username": "moi-admin"}
            if url == "/officer/field/units/new" and who == "admin":
                data = {**data, "code": "QN-MOI"}
            _check(client, "POST", url, expected[k], who, failures, data=data)
    assert failures == [], "\n".join(failures)
    with demo.app_context():
        denied = (
            get_session()
            .scalars(select(AuditEvent.target).where(AuditEvent.action == "access_denied"))
            .all()
        )
        assert "QN-DAMHA-CN" in denied  # a commune officer's attempt on another commune


def test_a_commune_officer_sees_only_their_commune(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("quangtan")
    home = client.get("/officer/")
    assert home.headers["Location"].endswith("/officer/units/QN-QUANGTAN")
    page = client.get("/officer/units/QN-QUANGTAN").get_data(as_text=True)
    assert "Xã Quảng Tân" in page and "Xã Dực Yên" in page  # a predecessor, listed
    assert "Thị trấn Đầm Hà" not in page and "tại xã Đầm Hà" not in page
    comments = client.get("/officer/comments").get_data(as_text=True)
    assert (
        "tại xã Đầm Hà" not in comments and "Trung tâm Phục vụ hành chính công tỉnh" not in comments
    )
    field = client.get("/officer/field").get_data(as_text=True)
    assert "QUANGTAN1" in field and "DAMHA1" not in field
    csv_text = client.get("/officer/reports/units/QN-QUANGTAN/responses.csv").get_data(as_text=True)
    unit_codes = {line.split(",")[2] for line in csv_text.splitlines()[1:]}
    # Today's Quảng Tân: its branch, and the communes merged into it (each under its own code).
    assert "QN-QUANGTAN-CN" in unit_codes
    assert unit_codes <= {"QN-QUANGTAN-CN", "QN-DH-QTAN", "QN-DH-QAN", "QN-DH-QLAM", "QN-DH-DYEN"}
    # Editing the URL to another commune's report, or the comment of another commune.
    assert client.get("/officer/reports/units/QN-DAMHA-CN.xlsx").status_code == 403
    other = response_of_unit(demo, "QN-DAMHA-CN", with_comment=True)
    assert client.post(f"/officer/comments/{other}/handle", data={"note": "x"}).status_code == 403
