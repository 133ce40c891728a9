"""The kiosk submit endpoint: stored once per UUID, checked like the web form, bad input refused
with a clear 4xx that stores nothing; stuffing flags. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import questionnaires
from survey_app.db import get_session
from survey_app.kiosk_api import submissions
from survey_app.models import (
    Desk,
    KioskDevice,
    KioskSubmission,
    QuestionnaireVersion,
    Response,
)
from survey_app.services.questionnaire_store import current_version

from .conftest import KIOSK_ITEMS, Kiosk, kiosk_response


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def count(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


def stored(app: Flask, response_uuid: str) -> Response:
    with app.app_context():
        row = get_session().scalar(
            select(Response).where(Response.uuid == uuid.UUID(response_uuid))
        )
        assert row is not None
        _ = row.answers, row.comment, row.questionnaire_version  # load before the session closes
        return row


def test_a_response_is_stored_with_device_time_and_arrival_time(app: Flask, kiosk: Kiosk) -> None:
    payload = kiosk_response(
        answers={**dict.fromkeys(KIOSK_ITEMS, 3), "HL_KQ": 0, "comment": " Tốt "}
    )
    before = datetime.now(UTC)
    answer = kiosk.submit(payload)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "stored" and body["id"] == payload["id"]
    assert answer.headers["Cache-Control"] == "no-store"

    row = stored(app, payload["id"])
    assert row.channel == "kiosk" and row.language == "vi" and row.valid
    assert row.answered_at == datetime.fromisoformat(payload["answered_at"])
    assert before <= row.submitted_at <= datetime.now(UTC)
    assert stamp(row.submitted_at) == body["received_at"]
    assert row.duration_seconds == 20 and row.flags == ""
    assert {a.item: a.code for a in row.answers} == {**dict.fromkeys(KIOSK_ITEMS, 3), "HL_KQ": 0}
    assert row.comment is not None and row.comment.text == "Tốt"
    assert (row.questionnaire_version.questionnaire, row.questionnaire_version.version) == (
        "sipas-kiosk",
        1,
    )
    with app.app_context():
        receipt = get_session().get(KioskSubmission, row.id)
        assert receipt is not None and receipt.device_id == kiosk.device_id
        device = get_session().get(KioskDevice, kiosk.device_id)
        assert device is not None and device.last_stored_at == row.submitted_at


def test_a_replay_is_answered_as_before_and_stored_once(app: Flask, kiosk: Kiosk) -> None:
    payload = kiosk_response()
    first = kiosk.submit(payload)
    # The confirmation was lost; the tablet sends the record again later, codes spelled as text.
    again = dict(payload, answers={k: str(v) for k, v in payload["answers"].items()})
    second = kiosk.submit(again)
    third = kiosk.submit(payload)
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.get_json() == second.get_json() == third.get_json()
    assert count(app) == 1


def test_the_same_uuid_with_other_answers_is_a_logged_409(
    app: Flask, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    payload = kiosk_response()
    assert kiosk.submit(payload).status_code == 200
    other = dict(payload, answers={**payload["answers"], "HL": 1})
    with caplog.at_level(logging.WARNING, logger="survey_app.kiosk_api.submissions"):
        answer = kiosk.submit(other)
    assert answer.status_code == 409
    assert answer.get_json()["error"] == "conflict"
    assert payload["id"] in answer.get_json()["message"]
    assert any("kiosk conflict" in r.message and payload["id"] in r.message for r in caplog.records)
    assert count(app) == 1
    assert {a.item: a.code for a in stored(app, payload["id"]).answers}["HL"] == 5  # unchanged


def test_a_uuid_used_by_the_web_form_is_a_conflict(app: Flask, kiosk: Kiosk) -> None:
    payload = kiosk_response()
    assert kiosk.submit(payload).status_code == 200
    with app.app_context():
        session = get_session()
        session.execute(
            KioskSubmission.__table__.delete()  # as if it had come through another channel
        )
        session.commit()
    assert kiosk.submit(payload).status_code == 409


def test_a_concurrent_duplicate_is_answered_as_a_replay(
    app: Flask, kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry racing its original: both pass the "already stored?" check, one insert loses."""
    payload = kiosk_response()
    assert kiosk.submit(payload).status_code == 200
    real = submissions._already_stored
    calls: list[int] = []

    def first_misses(*args: Any) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(submissions, "_already_stored", first_misses)
    answer = kiosk.submit(payload)
    assert answer.status_code == 200 and answer.get_json()["id"] == payload["id"]
    assert len(calls) == 2 and count(app) == 1


# -- bad input: a clear 4xx, nothing stored ----------------------------------------------------

NOW = datetime.now(UTC)

BAD_BODIES: list[tuple[str, Any, int, str]] = [
    ("array", [1, 2], 400, "malformed"),
    ("missing fields", {"id": str(uuid.uuid4())}, 400, "malformed"),
    ("not a uuid", kiosk_response(id="12345"), 400, "malformed"),
    ("version as text", kiosk_response(version="1"), 400, "malformed"),
    ("answers as a list", kiosk_response(answers=[4, 4]), 400, "malformed"),
    ("time without zone", kiosk_response(answered_at="2026-11-24T10:00:00"), 400, "malformed"),
    ("time not a time", kiosk_response(answered_at="yesterday"), 400, "malformed"),
    ("unknown language", kiosk_response(language="fr"), 422, "bad_language"),
    (
        "answer out of the scale",
        kiosk_response(answers={**dict.fromkeys(KIOSK_ITEMS, 4), "HL": 6}),
        422,
        "invalid_answers",
    ),
    (
        "required answer missing",
        kiosk_response(answers=dict.fromkeys(KIOSK_ITEMS[:-1], 4)),
        422,
        "invalid_answers",
    ),
    (
        "item of another questionnaire",
        kiosk_response(answers={**dict.fromkeys(KIOSK_ITEMS, 4), "TC1": 4}),
        422,
        "invalid_answers",
    ),
    (
        "answer that is not a code",
        kiosk_response(answers={**dict.fromkeys(KIOSK_ITEMS, 4), "HL": True}),
        422,
        "invalid_answers",
    ),
    (
        "control characters in the comment",
        kiosk_response(answers={**dict.fromkeys(KIOSK_ITEMS, 4), "comment": "a\x00b"}),
        422,
        "invalid_answers",
    ),
    (
        "comment too long",
        kiosk_response(answers={**dict.fromkeys(KIOSK_ITEMS, 4), "comment": "x" * 1001}),
        422,
        "invalid_answers",
    ),
    ("version never published", kiosk_response(version=99), 422, "unknown_questionnaire_version"),
    (
        "unknown questionnaire",
        kiosk_response(questionnaire="nope"),
        422,
        "unknown_questionnaire_version",
    ),
    ("another desk", kiosk_response(desk="OTHER1"), 422, "wrong_desk"),
    (
        "answered in the future",
        kiosk_response(
            started_at=stamp(NOW + timedelta(hours=2)),
            answered_at=stamp(NOW + timedelta(hours=2, seconds=20)),
        ),
        422,
        "answered_in_future",
    ),
    (
        "answered years ago",
        kiosk_response(
            started_at=stamp(NOW - timedelta(days=800)),
            answered_at=stamp(NOW - timedelta(days=800) + timedelta(seconds=20)),
        ),
        422,
        "answered_too_long_ago",
    ),
    (
        "finished before it started",
        kiosk_response(started_at=stamp(NOW), answered_at=stamp(NOW - timedelta(seconds=30))),
        422,
        "bad_duration",
    ),
    (
        "a survey lasting a day",
        kiosk_response(started_at=stamp(NOW - timedelta(days=1)), answered_at=stamp(NOW)),
        422,
        "bad_duration",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [pytest.param(body, status, error, id=name) for name, body, status, error in BAD_BODIES],
)
def test_bad_submissions_are_refused_and_store_nothing(
    app: Flask, kiosk: Kiosk, body: Any, status: int, error: str
) -> None:
    answer = kiosk.submit(body)
    assert answer.status_code == status, answer.get_json()
    refused = answer.get_json()
    assert refused["error"] == error and refused["status"] == status and refused["message"]
    assert count(app) == 0


def test_the_problems_name_the_items(kiosk: Kiosk) -> None:
    answer = kiosk.submit(kiosk_response(answers={"HL": 9, "XX": 1}))
    problems = {(p["item"], p["kind"]) for p in answer.get_json()["problems"]}
    assert ("HL", "out_of_range") in problems and ("XX", "unknown_item") in problems
    assert ("HL_TC", "missing") in problems


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
        (b"", "application/json", 400, "malformed_json"),
        (b"id=1", "application/x-www-form-urlencoded", 415, "not_json"),
    ],
)
def test_bodies_that_are_not_json(
    app: Flask, kiosk: Kiosk, data: bytes, content_type: str, status: int, error: str
) -> None:
    answer = kiosk.client.post(
        "/kiosk/api/responses", data=data, content_type=content_type, headers=kiosk.headers()
    )
    assert answer.status_code == status and answer.get_json()["error"] == error
    assert count(app) == 0


def test_a_body_too_large_is_413(app: Flask, kiosk: Kiosk) -> None:
    answer = kiosk.submit(kiosk_response(padding="x" * 70_000))
    assert answer.status_code == 413 and answer.is_json
    assert count(app) == 0


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "no_token"),
        ({"Authorization": "Bearer"}, "no_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "no_token"),
        ({"Authorization": "Bearer not-a-token"}, "unknown_token"),
        ({"Authorization": "Bearer " + "x" * 500}, "unknown_token"),
    ],
)
def test_a_missing_or_wrong_token_is_401(
    app: Flask, kiosk: Kiosk, headers: dict[str, str], error: str
) -> None:
    answer = kiosk.client.post("/kiosk/api/responses", json=kiosk_response(), headers=headers)
    assert answer.status_code == 401 and answer.get_json()["error"] == error
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(app) == 0


def test_a_session_cookie_is_no_substitute_for_the_token(app: Flask, kiosk: Kiosk) -> None:
    kiosk.client.get("/s/TEST1")  # a citizen's session and CSRF token in this client
    answer = kiosk.client.post("/kiosk/api/responses", json=kiosk_response())
    assert answer.status_code == 401
    assert count(app) == 0


def test_a_revoked_device_is_403_and_stores_nothing(app: Flask, kiosk: Kiosk) -> None:
    result = app.test_cli_runner().invoke(args=["kiosk", "revoke", str(kiosk.device_id)])
    assert result.exit_code == 0, result.output
    answer = kiosk.submit(kiosk_response())
    assert answer.status_code == 403 and answer.get_json()["error"] == "device_revoked"
    assert count(app) == 0


def test_a_closed_desk_refuses_its_kiosk(app: Flask, kiosk: Kiosk) -> None:
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == kiosk.desk))
        assert desk is not None
        desk.active = False
        session.commit()
    answer = kiosk.submit(kiosk_response())
    assert answer.status_code == 403 and answer.get_json()["error"] == "desk_inactive"
    assert count(app) == 0


# -- questionnaire versions --------------------------------------------------------------------


def test_a_response_queued_under_an_earlier_version_is_scored_under_it(
    app: Flask, kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        session = get_session()
        v1 = current_version(session, "sipas-kiosk")
        session.commit()
    # Version 2 is published while a tablet still holds responses answered under version 1.
    content = dict(questionnaires.get("sipas-kiosk").content)
    content["version"] = 2
    content["sections"] = [
        *content["sections"][:-1],
        {
            "code": "NEW",
            "title": {"vi": "Câu mới", "en": "New"},
            "items": [
                {
                    "code": "HL_NEW",
                    "role": "question",
                    "scale": "satisfaction-5",
                    "text": {"vi": "Câu hỏi mới?", "en": "A new question?"},
                }
            ],
        },
        content["sections"][-1],
    ]
    v2 = questionnaires.from_mapping(content, source="sipas-kiosk v2 (test)")
    real_get = questionnaires.get
    monkeypatch.setattr(
        questionnaires, "get", lambda qid: v2 if qid == "sipas-kiosk" else real_get(qid)
    )
    app.extensions.pop("sipas.published_versions", None)

    config = kiosk.client.get("/kiosk/api/config", headers=kiosk.headers()).get_json()
    assert config["questionnaire"]["version"] == 2
    old = kiosk_response()
    new = kiosk_response(version=2, answers={**old["answers"], "HL_NEW": 2})
    assert kiosk.submit(old).status_code == 200
    assert kiosk.submit(new).status_code == 200
    # Version 1 never had HL_NEW.
    mixed = kiosk_response(version=1, answers={**old["answers"], "HL_NEW": 2})
    assert kiosk.submit(mixed).status_code == 422
    assert stored(app, old["id"]).questionnaire_version_id == v1.id
    newer = stored(app, new["id"])
    assert newer.questionnaire_version.version == 2
    assert {a.item: a.code for a in newer.answers}["HL_NEW"] == 2
    with app.app_context():
        versions = get_session().scalar(
            select(func.count()).where(QuestionnaireVersion.questionnaire == "sipas-kiosk")
        )
        assert versions == 2


# -- stuffing: stored, flagged, never dropped --------------------------------------------------


def set_device(app: Flask, device_id: int, **values: Any) -> None:
    with app.app_context():
        session = get_session()
        device = session.get(KioskDevice, device_id)
        assert device is not None
        for name, value in values.items():
            setattr(device, name, value)
        session.commit()


def test_too_fast_is_flagged_by_the_device_setting(app: Flask, kiosk: Kiosk) -> None:
    answered = datetime.now(UTC) - timedelta(minutes=1)
    quick = kiosk_response(
        started_at=stamp(answered - timedelta(seconds=3)), answered_at=stamp(answered)
    )
    assert kiosk.submit(quick).status_code == 200
    assert stored(app, quick["id"]).flags == "too_fast"  # default KIOSK_MIN_SECONDS = 6
    set_device(app, kiosk.device_id, min_seconds=2)
    quick_again = dict(quick, id=str(uuid.uuid4()))
    assert kiosk.submit(quick_again).status_code == 200
    assert stored(app, quick_again["id"]).flags == ""


def test_over_rate_is_flagged_per_device(app: Flask, kiosk: Kiosk) -> None:
    set_device(app, kiosk.device_id, max_per_hour=3)
    start = datetime.now(UTC) - timedelta(hours=3)
    ids = []
    for minute in (0, 10, 20, 30, 40, 100, 125):  # the 4th and 5th are over 3 within an hour
        answered = start + timedelta(minutes=minute)
        payload = kiosk_response(
            started_at=stamp(answered - timedelta(seconds=30)), answered_at=stamp(answered)
        )
        assert kiosk.submit(payload).status_code == 200
        ids.append(payload["id"])
    flags = [stored(app, i).flags for i in ids]
    assert flags == ["", "", "", "over_rate", "over_rate", "", ""]
    assert count(app) == 7  # flagged, never dropped


def test_a_response_begun_while_the_desk_was_closed_is_flagged(app: Flask, kiosk: Kiosk) -> None:
    result = app.test_cli_runner().invoke(
        args=["kiosk", "desk", kiosk.desk, "--hours", "mon-sun 07:30-11:30"]
    )
    assert result.exit_code == 0, result.output
    # 03:00 UTC is 10:00 in Hà Nội (open); 12:00 UTC is 19:00 (closed).
    day = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    open_, closed = day.replace(hour=3), day.replace(hour=12)
    ids = {}
    for name, moment in (("open", open_), ("closed", closed)):
        payload = kiosk_response(
            started_at=stamp(moment), answered_at=stamp(moment + timedelta(seconds=30))
        )
        assert kiosk.submit(payload).status_code == 200
        ids[name] = payload["id"]
    assert stored(app, ids["open"]).flags == ""
    assert stored(app, ids["closed"]).flags == "outside_hours"


def test_a_tablet_clock_slightly_ahead_is_tolerated_and_clamped(app: Flask, kiosk: Kiosk) -> None:
    ahead = datetime.now(UTC) + timedelta(seconds=90)  # within KIOSK_CLOCK_SKEW_SECONDS
    payload = kiosk_response(
        started_at=stamp(ahead - timedelta(seconds=20)), answered_at=stamp(ahead)
    )
    assert kiosk.submit(payload).status_code == 200
    row = stored(app, payload["id"])
    assert row.answered_at == row.submitted_at  # not answered after it arrived
    assert row.duration_seconds == 20
