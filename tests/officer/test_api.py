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
        ("QN-DAMHA", tokens.everything, 200),
        ("QN-DAMHA", tokens.damha, 200),
        ("QN-DAMHA", tokens.commune, 403),
        ("QN-QUANGTAN", tokens.commune, 200),
        ("QN-DAMHA-CN", tokens.commune, 403),
        ("QN", tokens.damha, 403),
        ("QN-DAMHA", tokens.revoked, 401),
        ("QN-DAMHA", "sipas_not-a-real-token", 401),
        ("QN-DAMHA", None, 401),
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
    # The commune, its branch, and the communes merged into it (its history); nothing else.
    assert [u["code"] for u in units] == [
        "QN-DH-DYEN",
        "QN-DH-QAN",
        "QN-DH-QLAM",
        "QN-DH-QLOI",
        "QN-DH-QTAN",
        "QN-QUANGTAN",
        "QN-QUANGTAN-CN",
    ]
    ended = {u["code"]: u["valid_to"] for u in units}
    assert ended["QN-DH-DYEN"] == "2025-07-01" and ended["QN-QUANGTAN"] is None
    page = _get(
        client, "/api/v1/responses?unit=QN-QUANGTAN&page_size=1000", tokens.commune
    ).get_json()
    assert page["total"] > 0
    stored = {r["unit_code"] for r in page["responses"]}
    assert "QN-QUANGTAN-CN" in stored
    assert stored <= {"QN-QUANGTAN-CN", "QN-DH-QTAN", "QN-DH-QAN", "QN-DH-QLAM", "QN-DH-DYEN"}
    scores = _get(client, "/api/v1/scores?unit=QN-QUANGTAN", tokens.commune).get_json()
    assert {r["unit_code"] for r in scores["scores"]} == {"QN-QUANGTAN", "QN-QUANGTAN-CN"}
    assert scores["view"] == "today" and "QN-DH-DYEN" in scores["includes"]


@pytest.mark.parametrize(
    "query",
    [
        "unit=QN-DAMHA&period=2026-13",
        "unit=QN-DAMHA&period=1999",
        "unit=QN-DAMHA&period=next-year",
        "unit=QN-DAMHA&q=other",
        "unit=QN-DAMHA&page_size=1000000000",
        "unit=QN-DAMHA&page=0",
        "unit=QN-DAMHA&page=-1",
        "unit=QN-DAMHA&page_size=ten",
        "unit=QN-DAMHA&colour=blue",
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
        demo.test_client(), "/api/v1/scores?unit=QN-DAMHA&period=2026", tokens.damha
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
    district = {r["code"]: r for r in rows if r["unit_code"] == "QN-DAMHA"}
    assert district["SIPAS"]["target"] == 85
    if district["SIPAS"]["index"] is not None:
        assert district["SIPAS"]["gap"] == pytest.approx(district["SIPAS"]["index"] - 85)
    targets = _get(
        demo.test_client(), "/api/v1/targets?unit=QN-DAMHA&period=2026", tokens.damha
    ).get_json()["targets"]
    assert {(t["unit_code"], t["code"]) for t in targets} >= {
        ("QN-DAMHA", "SIPAS"),
        ("QN-DAMHA", "PA"),
    }


def test_paging_covers_every_response_once(demo: Flask, tokens: Tokens) -> None:
    client = demo.test_client()
    seen: list[int] = []
    page = 1
    while True:
        body = _get(
            client, f"/api/v1/responses?unit=QN-DAMHA&page={page}&page_size=150", tokens.everything
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
    _get(demo.test_client(), "/api/v1/units", tokens.damha)
    with demo.app_context():
        used = (
            get_session()
            .scalars(select(ApiToken.name).where(ApiToken.last_used_at.is_not(None)))
            .all()
        )
    assert used == ["xã Đầm Hà"]


def test_every_endpoint_conforms_to_the_openapi_document(demo: Flask, tokens: Tokens) -> None:
    """Schemathesis generates requests from /api/v1/openapi.json (valid and invalid) and
    checks every answer: no 5xx, documented status codes, bodies matching the schemas."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo)
    # The WSGI transport does not decompress; the app would answer in brotli or gzip.
    headers = {"Authorization": f"Bearer {tokens.damha}", "Accept-Encoding": "identity"}
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
