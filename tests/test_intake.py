"""The one intake: its integrity rules and its after-store seam, through both channels."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Connection, func, select

from survey_app.db import get_session
from survey_app.models import Response
from survey_app.services import intake
from survey_app.services.integrity import (
    OUTSIDE_HOURS,
    OVER_RATE,
    TOO_FAST,
    Circumstances,
    flags_for,
    too_fast,
)

from .conftest import Field, Kiosk, Survey, full_answers, kiosk_response


@pytest.mark.parametrize(
    ("circumstances", "expected"),
    [
        (Circumstances(duration_seconds=9, min_seconds=10), (TOO_FAST,)),
        (Circumstances(duration_seconds=10, min_seconds=10), ()),
        (Circumstances(duration_seconds=None, min_seconds=10), ()),
        (Circumstances(5, 6, earlier_in_hour=30, max_per_hour=30), (TOO_FAST, OVER_RATE)),
        (Circumstances(60, 6, earlier_in_hour=29, max_per_hour=30), ()),
        (Circumstances(60, 6, during_opening_hours=False), (OUTSIDE_HOURS,)),
        (Circumstances(60, 6, during_opening_hours=None), ()),
    ],
)
def test_the_rules_flag_what_they_name(
    circumstances: Circumstances, expected: tuple[str, ...]
) -> None:
    assert flags_for(circumstances) == expected


def test_too_fast_is_strictly_below_the_setting() -> None:
    assert too_fast(0, 1) and not too_fast(1, 1) and not too_fast(None, 0)


def count(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


def test_web_form_after_store_hook_sees_the_row_in_its_transaction(
    app: Flask, survey: Survey, field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[intake.StoredResponse, int]] = []

    def hook(connection: Connection, stored: intake.StoredResponse) -> None:
        # The response is visible on the hook's connection: it is the same transaction.
        codes = connection.execute(
            select(Response.answer_codes).where(Response.id == stored.id)
        ).scalar_one()
        seen.append((stored, len(codes)))

    monkeypatch.setattr(intake, "AFTER_STORE", (hook,))
    assert survey.submit(field.desk, full_answers()).status_code == 303
    assert len(seen) == 1
    stored, answers = seen[0]
    assert stored.channel == "qr" and answers == 17  # 16 criteria and HL
    assert stored.answers.codes["HL"] == 5
    with app.app_context():
        row = get_session().scalar(select(Response))
        assert row is not None and row.id == stored.id and row.desk_id == stored.desk_id


def test_a_failing_hook_stores_nothing(
    app: Flask, survey: Survey, field: Field, kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hook(connection: Connection, stored: intake.StoredResponse) -> None:
        raise RuntimeError("summary could not be updated")

    monkeypatch.setattr(intake, "AFTER_STORE", (hook,))
    # The app's error handler answers 500; what matters is that the response went with it.
    assert survey.submit(field.desk, full_answers()).status_code == 500
    assert kiosk.submit(kiosk_response()).status_code == 500
    assert count(app) == 0


def test_kiosk_flags_come_from_the_same_rule(
    app: Flask, kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[intake.StoredResponse] = []
    monkeypatch.setattr(intake, "AFTER_STORE", (lambda _c, stored: seen.append(stored),))
    quick = kiosk_response()
    quick["started_at"] = quick["answered_at"]  # answered in no time at all
    assert kiosk.submit(quick).status_code == 200
    assert [s.flags for s in seen] == [(TOO_FAST,)] and seen[0].channel == "kiosk"
