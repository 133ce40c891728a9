"""After sign-in and after the review and comment forms, the browser goes only to a path of
this site: every open-redirect form of ``next`` is refused by parsing, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.security.redirects import safe_next

from .conftest import PASSWORDS, response_of_unit

HOSTILE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/officer\nSet-Cookie: x=1",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_anything_but_a_local_path(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target", ["/officer/units/QN-DAMHA", "/officer/comments?page=2&q=x", "/officer/review#r1"]
)
def test_safe_next_keeps_a_local_path(target: str) -> None:
    assert safe_next(target) == target


def _is_local(location: str) -> bool:
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/")


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "/\n/evil.example", "//evil.example", "https://evil.example/"]
)
def test_sign_in_never_redirects_off_site(demo: Flask, target: str) -> None:
    response = demo.test_client().post(
        "/officer/sign-in",
        query_string={"next": target},
        data={"username": "damha", "password": PASSWORDS["damha"]},
    )
    assert response.status_code == 302
    assert _is_local(response.headers["Location"]), response.headers["Location"]
    assert response.headers["Location"] == "/officer/"


def test_sign_in_still_returns_to_a_local_page(demo: Flask) -> None:
    response = demo.test_client().post(
        "/officer/sign-in?next=/officer/units/QN-DAMHA%3Fperiod%3D2026",
        data={"username": "damha", "password": PASSWORDS["damha"]},
    )
    assert response.headers["Location"] == "/officer/units/QN-DAMHA?period=2026"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "//evil.example"])
def test_the_review_and_comment_forms_never_redirect_off_site(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], target: str
) -> None:
    client = signed_in("damha")
    flagged = response_of_unit(demo, "QN-DAMHA-CN", flagged=True, with_comment=True)
    review = client.post(
        f"/officer/review/{flagged}", data={"decision": "keep", "note": "ok", "next": target}
    )
    handle = client.post(
        f"/officer/comments/{flagged}/handle", data={"note": "Đã gọi lại", "next": target}
    )
    for response in (review, handle):
        assert response.status_code == 302
        assert _is_local(response.headers["Location"]), response.headers["Location"]
