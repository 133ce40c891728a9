"""The index-plan feed: token scopes, bad parameters as clear 4xx, tidy scores equal to the
dashboard's, and every endpoint checked against its OpenAPI document with schemathesis."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import ApiToken

from .conftest import Tokens

ENDPOINTS = (
    "/api/v1/units",
    "/api/v1/scores?unit={u}",
    "/api/v1/targets?unit={u}",
    "/api/v1/responses?unit={u}",
)


def _get(client: FlaskClient, url: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, headers=headers)


def test_every_endpoint_for_every_token(demo: Flask, tokens: Tokens) -> None:
    client = demo.test_client()
    # (unit, token) → expected status of every endpoint but /units.
    cases = [
        ("QN-DH", tokens.everything, 200),
        ("QN-DH", tokens.district, 200),
        ("QN-DH", tokens.commune, 403),
        ("QN-DH-QTAN", tokens.commune, 200),
        ("QN-DH-DYEN", tokens.commune, 403),
        ("QN", tokens.district, 403),
        ("QN-DH", tokens.revoked, 401),
        ("QN-DH", "sipas_not-a-real-token", 401),
        ("QN-DH", None, 401),
        ("NOPE", tokens.everything, 404),
    ]
    failures = []
    for unit, token, expected in cases:
        for template in ENDPOINTS[1:]:
            url = template.format(u=unit)
            response = _get(client, url, token)
            if response.status_code != expected:
                failures.append(f"{url} → {response.status_code}, expected {expected}")
            assert response.mimetype == "application/json"
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert failures == []
    assert _get(client, "/api/v1/units", None).status_code == 401
    assert _get(client, "/api/v1/openapi.json", None).status_code == 200


def test_a_commune_token_sees_only_its_commune(demo: Flask, tokens: Tokens) -> None:
    client = demo.test_client()
    units = _get(client, "/api/v1/units", tokens.commune).get_json()["units"]
    assert [u["code"] for u in units] == ["QN-DH-QTAN"]
    page = _get(
        client, "/api/v1/responses?unit=QN-DH-QTAN&page_size=1000", tokens.commune
    ).get_json()
    assert page["total"] > 0
    assert {r["unit_code"] for r in page["responses"]} == {"QN-DH-QTAN"}
    scores = _get(client, "/api/v1/scores?unit=QN-DH-QTAN", tokens.commune).get_json()
    assert {r["unit_code"] for r in scores["scores"]} == {"QN-DH-QTAN"}


@pytest.mark.parametrize(
    "query",
    [
        "unit=QN-DH&period=2026-13",
        "unit=QN-DH&period=1999",
        "unit=QN-DH&period=next-year",
        "unit=QN-DH&q=other",
        "unit=QN-DH&page_size=1000000000",
        "unit=QN-DH&page=0",
        "unit=QN-DH&page=-1",
        "unit=QN-DH&page_size=ten",
        "unit=QN-DH&colour=blue",
        "",
    ],
)
def test_bad_parameters_are_a_clear_400(demo: Flask, tokens: Tokens, query: str) -> None:
    path = "/api/v1/responses" if "page" in query or query == "" else "/api/v1/scores"
    response = _get(demo.test_client(), f"{path}?{query}", tokens.everything)
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == 400 and body["error"] == "bad_parameter" and body["message"]


def test_scores_are_the_tidy_table_with_targets_and_ranks(demo: Flask, tokens: Tokens) -> None:
    body = _get(
        demo.test_client(), "/api/v1/scores?unit=QN-DH&period=2026", tokens.district
    ).get_json()
    rows = body["scores"]
    assert set(rows[0]) == {
        "unit_code",
        "period",
        "level",
        "code",
        "label_vi",
        "n",
        "index",
        "ci_low",
        "ci_high",
        "min_n_flag",
        "target",
        "gap",
        "rank",
        "rank_change",
        "p_change",
    }
    district = {r["code"]: r for r in rows if r["unit_code"] == "QN-DH"}
    assert district["SIPAS"]["target"] == 85
    if district["SIPAS"]["index"] is not None:
        assert district["SIPAS"]["gap"] == pytest.approx(district["SIPAS"]["index"] - 85)
    targets = _get(
        demo.test_client(), "/api/v1/targets?unit=QN-DH&period=2026", tokens.district
    ).get_json()["targets"]
    assert {(t["unit_code"], t["code"]) for t in targets} >= {
        ("QN-DH", "SIPAS"),
        ("QN-DH-QTAN", "PA"),
    }


def test_paging_covers_every_response_once(demo: Flask, tokens: Tokens) -> None:
    client = demo.test_client()
    seen: list[int] = []
    page = 1
    while True:
        body = _get(
            client, f"/api/v1/responses?unit=QN-DH&page={page}&page_size=150", tokens.everything
        ).get_json()
        seen += [r["response_id"] for r in body["responses"]]
        if len(body["responses"]) < 150:
            break
        page += 1
    assert len(seen) == len(set(seen)) == body["total"]
    sample = body["responses"][0] if body["responses"] else None
    if sample:
        assert set(sample) >= {"answers", "comment", "valid", "flags"}
        assert "dossier" not in str(sample) and "uuid" not in sample


def test_token_use_is_recorded(demo: Flask, tokens: Tokens) -> None:
    _get(demo.test_client(), "/api/v1/units", tokens.district)
    with demo.app_context():
        used = (
            get_session()
            .scalars(select(ApiToken.name).where(ApiToken.last_used_at.is_not(None)))
            .all()
        )
    assert used == ["huyện"]


def test_every_endpoint_conforms_to_the_openapi_document(demo: Flask, tokens: Tokens) -> None:
    """Schemathesis generates requests from /api/v1/openapi.json (valid and invalid) and
    checks every answer: no 5xx, documented status codes, bodies matching the schemas."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo)
    # The WSGI transport does not decompress; the app would answer in brotli or gzip.
    headers = {"Authorization": f"Bearer {tokens.district}", "Accept-Encoding": "identity"}
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers)

        call()
        checked += 1
    assert checked >= 4  # units, scores, targets, responses (and the document itself)
