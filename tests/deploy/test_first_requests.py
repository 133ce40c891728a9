"""Two app servers answering their first requests on a new database publish the same
questionnaire version at the same moment: both must get it, neither a 500 (found by the nginx
test: a UniqueViolation on questionnaire_versions)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select

import questionnaires
from survey_app.db import get_database
from survey_app.models import QuestionnaireVersion
from survey_app.services.questionnaire_store import publish


def test_two_workers_publishing_the_same_version_both_get_it(app: Flask) -> None:
    questionnaire = questionnaires.get("sipas-service")
    with app.app_context():
        sessions = get_database().sessions
        first, second = sessions(), sessions()
        try:
            row, new = publish(first, questionnaire)  # inserted, not yet committed
            assert new
            result: dict[str, Any] = {}

            def other_worker() -> None:
                try:
                    result["value"] = publish(second, questionnaire)
                    second.commit()
                except Exception as error:  # noqa: BLE001 - reported below
                    result["error"] = error

            worker = threading.Thread(target=other_worker)
            worker.start()  # it waits on the unique index (PostgreSQL) or the write lock
            worker.join(0.5)
            first.commit()
            worker.join(30)
            assert "error" not in result, result.get("error")
            theirs, theirs_new = result["value"]
            assert (theirs.id, theirs_new) == (row.id, False)
            count = first.scalar(
                select(func.count())
                .select_from(QuestionnaireVersion)
                .where(QuestionnaireVersion.questionnaire == "sipas-service")
            )
            assert count == 1
        finally:
            first.close()
            second.close()
