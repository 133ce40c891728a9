"""Schemathesis over /api/v1/openapi.json: requests made from the document (valid and not),
every answer checked against it, none ≥ 500."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Unit
from survey_app.services import accounts

from .conftest import SCALE, Fuzzed, examples, no_server_errors

PER_OPERATION = 450


def test_fuzz_api_against_its_openapi_document(fuzzed: Fuzzed) -> None:
    import schemathesis

    with fuzzed.app.app_context():
        db = get_session()
        unit = db.scalar(select(Unit).where(Unit.code == "QN-DAMHA"))
        _row, token = accounts.issue_token(db, name="fuzz", unit=unit, created_by=None)
        db.commit()
    fuzzed.target("api (schemathesis)")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed.app)
    # The WSGI transport does not decompress; the app would answer in brotli or gzip.
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @examples(PER_OPERATION)
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers)

        call()
    assert operations >= 4  # units, scores, targets, responses
    assert fuzzed.sent("api (schemathesis)") >= operations * PER_OPERATION * min(1.0, SCALE) * 0.9
    no_server_errors()
