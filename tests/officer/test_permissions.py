"""Permission matrix: every protected URL of the workspace and the reports × every role
(administrator, district officer, commune officer of QN-DH-QTAN, district viewer, nobody),
with the status each must get. A commune officer never reaches another commune."""

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

#: GET url → expected status for admin, district officer, commune officer, viewer, nobody.
PAGES: dict[str, tuple[int, int, int, int, int]] = {
    "/officer/": (302, 302, 302, 302, SIGN_IN),
    "/officer/units/QN-DH": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/QN-DH?period=2025-Q4": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/QN": (200, 403, 403, 403, SIGN_IN),
    "/officer/units/QN-DH-QTAN": (200, 200, 200, 200, SIGN_IN),
    "/officer/units/QN-DH-DYEN": (200, 200, 403, 200, SIGN_IN),
    "/officer/units/NOPE": (404, 404, 404, 404, SIGN_IN),
    "/officer/units/QN-DH?period=2026-13": (400, 400, 403, 400, SIGN_IN),
    "/officer/desks/QTAN1": (200, 200, 200, 200, SIGN_IN),
    "/officer/desks/DYEN1": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments": (200, 200, 200, 200, SIGN_IN),
    "/officer/comments?unit=QN-DH-DYEN": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments?desk=DYEN1": (200, 200, 403, 200, SIGN_IN),
    "/officer/comments?page=0": (400, 400, 400, 400, SIGN_IN),
    "/officer/review": (200, 200, 200, 200, SIGN_IN),
    "/officer/review?unit=QN-DH-DYEN": (200, 200, 403, 200, SIGN_IN),
    "/officer/field": (200, 200, 200, 200, SIGN_IN),
    "/officer/field/desks/new": (200, 200, 200, 403, SIGN_IN),
    "/officer/field/desks/QTAN1": (200, 200, 200, 403, SIGN_IN),
    "/officer/field/desks/DYEN1": (200, 200, 403, 403, SIGN_IN),
    "/officer/field/units/new": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/units/QN-DH-QTAN": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/services": (200, 200, 200, 200, SIGN_IN),
    "/officer/field/services/new": (200, 403, 403, 403, SIGN_IN),
    "/officer/field/kiosks": (200, 200, 200, 200, SIGN_IN),
    "/officer/targets": (200, 200, 200, 200, SIGN_IN),
    "/officer/accounts": (200, 403, 403, 403, SIGN_IN),
    "/officer/api-tokens": (200, 403, 403, 403, SIGN_IN),
    "/officer/audit": (200, 403, 403, 403, SIGN_IN),
    "/officer/password": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/units/QN-DH-QTAN.xlsx": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/units/QN-DH-DYEN.xlsx": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-DH-QTAN.pdf": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/units/QN-DH.pdf": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-DH-QTAN/responses.csv": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/units/QN-DH/responses.csv?period=2026": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/units/QN-DH-QTAN/responses.csv?period=abc": (400, 400, 400, 400, SIGN_IN),
    "/officer/reports/posters/QTAN1.pdf": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/posters/DYEN1.pdf?size=A5": (200, 200, 403, 200, SIGN_IN),
    "/officer/reports/posters/QTAN1.pdf?size=A3": (400, 400, 400, 400, SIGN_IN),
    "/officer/reports/posters/units/QN-DH-QTAN.pdf": (200, 200, 200, 200, SIGN_IN),
    "/officer/reports/posters/units/QN-DH.pdf": (200, 200, 403, 200, SIGN_IN),
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
    assert failures == []


def test_every_action_for_every_role(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    commented = response_of_unit(demo, "QN-DH-DYEN", with_comment=True)
    tablet = kiosk_device(demo, "DYEN1")
    flagged = response_of_unit(demo, "QN-DH-DYEN", flagged=True)
    own_flagged = response_of_unit(demo, "QN-DH-QTAN", flagged=True)
    actions: list[tuple[str, dict[str, str], tuple[int, int, int, int, int]]] = [
        (
            "/officer/targets",
            {"unit": "QN-DH-DYEN", "code": "SIPAS", "period": "2026", "value": "86"},
            (302, 302, 403, 403, SIGN_IN),
        ),
        (
            "/officer/targets",
            {"unit": "QN-DH-QTAN", "code": "PA", "period": "", "value": "80"},
            (302, 302, 302, 403, SIGN_IN),
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
            (302, 302, 302, 403, SIGN_IN),
        ),
        (
            "/officer/field/desks/DYEN1",
            {
                "code": "DYEN1",
                "name": "Bộ phận Một cửa xã Dực Yên",
                "unit": "QN-DH-DYEN",
                "questionnaire": "sipas-service",
                "active": "y",
            },
            (302, 302, 403, 403, SIGN_IN),
        ),
        (
            "/officer/field/units/new",
            {
                "code": "QN-DH-MOI",
                "name": "Xã Mới",
                "kind": "commune",
                "parent": "QN-DH",
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
            {"desk": "DYEN1", "label": "Máy tính bảng"},
            (200, 200, 403, 403, SIGN_IN),
        ),
        (
            "/officer/field/kiosks/enrol",
            {"desk": "QTAN1", "label": "Máy tính bảng"},
            (200, 200, 200, 403, SIGN_IN),
        ),
        (f"/officer/field/kiosks/{tablet}/code", {}, (200, 200, 403, 403, SIGN_IN)),
        (f"/officer/field/kiosks/{tablet}/revoke", {}, (302, 302, 403, 403, SIGN_IN)),
        (
            "/officer/accounts",
            {
                "username": "moi",
                "full_name": "Cán bộ mới",
                "role": "viewer",
                "unit": "QN-DH-TLAP",
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
                data = {**data, "code": "QN-DH-MOI"}
            _check(client, "POST", url, expected[k], who, failures, data=data)
    assert failures == []
    with demo.app_context():
        denied = (
            get_session()
            .scalars(select(AuditEvent.target).where(AuditEvent.action == "access_denied"))
            .all()
        )
        assert "QN-DH-DYEN" in denied  # a commune officer's attempt on another commune


def test_a_commune_officer_sees_only_their_commune(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("quangtan")
    home = client.get("/officer/")
    assert home.headers["Location"].endswith("/officer/units/QN-DH-QTAN")
    page = client.get("/officer/units/QN-DH-QTAN").get_data(as_text=True)
    assert "Xã Quảng Tân" in page and "Xã Dực Yên" not in page
    comments = client.get("/officer/comments").get_data(as_text=True)
    assert "Xã Dực Yên" not in comments and "Trung tâm Hành chính" not in comments
    field = client.get("/officer/field").get_data(as_text=True)
    assert "QTAN1" in field and "DYEN1" not in field
    csv_text = client.get("/officer/reports/units/QN-DH-QTAN/responses.csv").get_data(as_text=True)
    unit_codes = {line.split(",")[2] for line in csv_text.splitlines()[1:]}
    assert unit_codes == {"QN-DH-QTAN"}
    # Editing the URL to another commune's report, or the comment of another commune.
    assert client.get("/officer/reports/units/QN-DH-DYEN.xlsx").status_code == 403
    other = response_of_unit(demo, "QN-DH-DYEN", with_comment=True)
    assert client.post(f"/officer/comments/{other}/handle", data={"note": "x"}).status_code == 403
