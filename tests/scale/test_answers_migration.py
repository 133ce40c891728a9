"""Migration 0005_scale moves the answers into the response's row and back, without loss."""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import inspect, select, text

from survey_app import migrate
from survey_app.db import get_engine, get_session
from survey_app.models import Response

from ..conftest import Field, Survey, full_answers


def _answers_table(engine: object) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    with engine.begin() as connection:  # type: ignore[attr-defined]
        for response_id, item, code in connection.execute(
            text("SELECT response_id, item, code FROM answers")
        ):
            found.setdefault(int(response_id), {})[str(item)] = int(code)
    return found


def test_answers_move_into_the_row_and_back(app: Flask, survey: Survey, field: Field) -> None:
    assert survey.submit(field.desk, full_answers(TC2="0", comment="Tốt")).status_code == 303
    assert survey.submit(field.desk, full_answers(HL="1", CC1="2")).status_code == 303
    with app.app_context():
        stored = {r.id: dict(r.answer_codes) for r in get_session().scalars(select(Response))}
        get_session().close()
        assert len(stored) == 2 and all(len(codes) > 10 for codes in stored.values())
        assert any(codes["TC2"] == 0 for codes in stored.values())
        engine = get_engine()

        migrate.downgrade(engine, "0004_security")
        tables = inspect(engine).get_table_names()
        assert "answers" in tables and "score_summary_cells" not in tables
        assert "answer_codes" not in {c["name"] for c in inspect(engine).get_columns("responses")}
        assert _answers_table(engine) == stored
        with engine.begin() as connection:
            # A response stored before 0005 without any answer, and one more with two.
            for _ in range(2):
                connection.execute(
                    text(
                        "INSERT INTO responses (uuid, desk_id, unit_id, channel,"
                        " questionnaire_version_id, submitted_at, language, valid, flags,"
                        " via_invitation) SELECT :uuid, desk_id, unit_id, channel,"
                        " questionnaire_version_id, submitted_at, language, valid, flags,"
                        " via_invitation FROM responses ORDER BY id LIMIT 1"
                    ),
                    {"uuid": uuid.uuid4().hex},
                )
            new_ids = [
                int(i)
                for i in connection.scalars(
                    text("SELECT id FROM responses WHERE id > :top ORDER BY id"),
                    {"top": max(stored)},
                )
            ]
            connection.execute(
                text("INSERT INTO answers (response_id, item, code) VALUES (:r, 'HL', 4)"),
                {"r": new_ids[0]},
            )
            connection.execute(
                text("INSERT INTO answers (response_id, item, code) VALUES (:r, 'TC1', 0)"),
                {"r": new_ids[0]},
            )

        migrate.upgrade(engine)
        assert "answers" not in inspect(engine).get_table_names()
        session = get_session()
        session.expire_all()
        after = {r.id: dict(r.answer_codes) for r in session.scalars(select(Response))}
        expected = {**stored, new_ids[0]: {"HL": 4, "TC1": 0}}
        expected.update({i: {} for i in new_ids[1:]})
        assert after == expected
        # The row reads back as it always did, item by item.
        first = session.get(Response, min(stored))
        assert first is not None
        assert {a.item: a.code for a in first.answers} == stored[min(stored)]
