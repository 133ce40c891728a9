"""Inputs outside what the app can store are refused with a 4xx and a message a person can
read, never a 500: long digit strings, deep JSON, integers beyond 32 bits, NUL characters, dates
and periods at the edges of the calendar (issue 12, finding 7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.security import bounded_json

from ..conftest import Field, Kiosk, Survey, full_answers, kiosk_response
from .conftest import Tokens

NUL_MESSAGE = "ký tự NUL"


def test_a_five_thousand_digit_answer_is_an_invalid_answer(survey: Survey, field: Field) -> None:
    response = survey.submit(field.desk, full_answers(HL="5" * 5000))
    assert response.status_code == 422
    assert "Vui lòng xem lại 1 câu" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 30_000, "nested more than"),
        ('{"code": ' + "[" * 40 + "]" * 40 + "}", "nested more than"),
        ('{"code": ' + "9" * 5000 + "}", "whole number"),
        ('{"code": NaN}', "NaN"),
        ('{"code": "A\\u0000B"}', "NUL"),
    ],
)
def test_kiosk_enrolment_refuses_unbounded_json(
    client: FlaskClient, field: Field, body: str, message: str
) -> None:
    response = client.post("/kiosk/api/enrol", data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.get_json()["message"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version": 2**31}, "whole number"),
        ({"version": 10**40}, "whole number"),
        ({"desk": "TEST1\x00"}, "NUL"),
        ({"questionnaire": "sipas-kiosk\x00"}, "NUL"),
        ({"id": "a\x00b"}, "NUL"),
    ],
)
def test_kiosk_submissions_refuse_out_of_range_values(
    kiosk: Kiosk, overrides: dict[str, object], message: str
) -> None:
    response = kiosk.submit(kiosk_response(**overrides))
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_a_kiosk_heartbeat_with_a_nul_is_refused(kiosk: Kiosk) -> None:
    response = kiosk.heartbeat({"queue_length": 0, "rejected": 0, "client_version": "1\x00"})
    assert response.status_code == 400 and "NUL" in response.get_json()["message"]


def test_bounded_json_reads_ordinary_bodies_as_json_does() -> None:
    body = '{"a": [1, -2, 2147483647, 1.5, "x\\"[y"], "b": {"c": null}}'
    assert bounded_json.loads(body) == {
        "a": [1, -2, 2147483647, 1.5, 'x"[y'],
        "b": {"c": None},
    }


@pytest.mark.parametrize(
    "url",
    [
        "/officer/audit?action=a%00b",
        "/officer/comments?q=a%00b",
        "/officer/desks/DAMHA2%00",
        "/officer/field?q=%00",
        "/officer/reports/posters/DAMHA2.pdf?size=A4%00",
        "/officer/review?desk=%00",
        "/s/TEST1%00",
        "/officer/sign-in?next=%00",
    ],
)
def test_nul_characters_in_paths_and_queries_are_refused(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], url: str
) -> None:
    response = signed_in("admin").get(url)
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_is_refused(survey: Survey, field: Field) -> None:
    response = survey.submit(field.desk, full_answers(**{"comment": "Tốt\x00"}))
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)


def test_a_nul_character_in_an_api_query_is_refused_as_json(demo: Flask, tokens: Tokens) -> None:
    response = demo.test_client().get(
        "/api/v1/units?unit=%00", headers={"Authorization": f"Bearer {tokens.everything}"}
    )
    assert response.status_code == 400 and "NUL" in response.get_json()["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/officer/units/QN-DAMHA?period=2000",
        "/officer/units/QN-DAMHA?period=2000-Q1",
        "/officer/units/QN-DAMHA?period=2000-01",
        "/officer/reports/units/QN-DAMHA.xlsx?period=2000",
        "/officer/reports/units/QN-DAMHA.pdf?period=2000",
    ],
)
def test_the_first_reportable_year_has_reports(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], url: str
) -> None:
    assert signed_in("admin").get(url).status_code == 200


def test_the_api_scores_the_first_reportable_year(demo: Flask, tokens: Tokens) -> None:
    response = demo.test_client().get(
        "/api/v1/scores?unit=QN-DAMHA&period=2000",
        headers={"Authorization": f"Bearer {tokens.everything}"},
    )
    assert response.status_code in (200, 422), response.get_json()
    assert response.status_code == 200 or response.get_json()["error"] == "cannot_score"


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/officer/comments?from=0001-01-01", 400, "Ngày phải trong các năm"),
        ("/officer/comments?to=9999-12-31", 400, "Ngày phải trong các năm"),
        ("/officer/comments?page=" + "9" * 5000, 400, ""),
        ("/officer/review/" + "9" * 5000, 404, ""),
        ("/officer/review/2147483648", 404, ""),
    ],
)
def test_edges_of_dates_and_numbers_are_refused(
    demo: Flask,
    signed_in: Callable[[str | None], FlaskClient],
    url: str,
    status: int,
    message: str,
) -> None:
    client = signed_in("admin")
    response = client.post(url) if url.startswith("/officer/review/") else client.get(url)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_an_officer_id_beyond_32_bits_is_not_found(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    response = signed_in("admin").post("/officer/accounts/99999999999/deactivate")
    assert response.status_code == 404


def test_an_api_page_size_of_many_digits_is_refused(demo: Flask, tokens: Tokens) -> None:
    response = demo.test_client().get(
        "/api/v1/responses?unit=QN-DAMHA&limit=" + "9" * 5000,
        headers={"Authorization": f"Bearer {tokens.everything}"},
    )
    assert response.status_code == 400 and response.get_json()["error"] == "bad_parameter"
