"""The integrity signals of issue 11: each rule by hand-worked cases (pure), then through the
app on SQLite and PostgreSQL (web form, kiosk, the one intake)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from survey_app.db import get_database, get_session
from survey_app.models import Desk, Response
from survey_app.services import intake, integrity
from survey_app.services.integrity import (
    BATCH,
    BURST,
    CLAIMED_TIME,
    SAME_ANSWERS,
    SAME_SOURCE,
    Circumstances,
    Incoming,
    KioskFacts,
    Recent,
    SignalSettings,
)
from survey_app.services.questionnaire_store import current_version

from .conftest import Field, Kiosk, Survey, full_answers, kiosk_response, make_test_app

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
QUIET = SignalSettings(batch_min=999, source_max=999, same_min=999, burst_min=999)


def recent(i: int, seconds_ago: float, duration: int | None = 60, **kw: Any) -> Recent:
    return Recent(
        id=i,
        submitted_at=T0 - timedelta(seconds=seconds_ago),
        duration_seconds=duration,
        source_digest=kw.get("source"),
        answers_vector=kw.get("vector"),
    )


def incoming(duration: int | None = 60, **kw: Any) -> Incoming:
    return Incoming(T0, duration, kw.get("source"), kw.get("vector"))


# -- the rules, by hand ----------------------------------------------------------------------


def test_batch_needs_batch_min_forms_issued_and_posted_together() -> None:
    settings = SignalSettings(**{**QUIET.__dict__, "batch_min": 3, "batch_fetch_seconds": 60,
                                 "batch_post_seconds": 120})  # fmt: skip
    # Issued: now-60-0 = T0-60; the others T0-(30+40)=T0-70 and T0-(50+20)=T0-70: within 60 s.
    two = [recent(1, 30, 40), recent(2, 50, 20)]
    verdict = integrity.judge_recent(incoming(60), two, [], None, settings)
    assert verdict.flags == (BATCH,) and verdict.earlier[BATCH] == (1, 2)
    # One of them posted 200 s ago (outside the 120 s post window): only two together.
    spread = [recent(1, 30, 40), recent(2, 200, 20)]
    assert integrity.judge_recent(incoming(60), spread, [], None, settings).flags == ()
    # Issued an hour apart (people who opened the form at different times): not a batch.
    apart = [recent(1, 30, 3600), recent(2, 50, 20)]
    assert integrity.judge_recent(incoming(60), apart, [], None, settings).flags == ()


def test_same_source_counts_todays_responses_of_the_digest() -> None:
    settings = SignalSettings(**{**QUIET.__dict__, "source_max": 3})
    fired = integrity.judge_recent(incoming(source="ab"), [], [7, 8], None, settings)
    assert fired.flags == (SAME_SOURCE,) and fired.earlier[SAME_SOURCE] == (7, 8)
    assert integrity.judge_recent(incoming(source="ab"), [], [7], None, settings).flags == ()
    # No digest (kiosk, demo): the rule cannot fire.
    assert integrity.judge_recent(incoming(), [], [7, 8], None, settings).flags == ()


def test_same_answers_allows_max_diff_items_and_its_window() -> None:
    settings = SignalSettings(**{**QUIET.__dict__, "same_min": 3, "same_seconds": 600})
    rows = [
        recent(1, 60, vector="55554"),  # one item differs: alike
        recent(2, 120, vector="55555"),
        recent(3, 180, vector="55533"),  # two differ: not alike
        recent(4, 900, vector="55555"),  # outside the 600 s window
    ]
    verdict = integrity.judge_recent(incoming(vector="55555"), rows, [], None, settings)
    assert verdict.flags == (SAME_ANSWERS,) and verdict.earlier[SAME_ANSWERS] == (1, 2)
    strict = SignalSettings(**{**settings.__dict__, "same_max_diff": 0})
    assert integrity.judge_recent(incoming(vector="55555"), rows, [], None, strict).flags == ()
    assert integrity.differences("5-5", "555") == 1
    assert integrity.differences("55", "555") == 3


@pytest.mark.parametrize(
    ("arrivals", "baseline", "fires"),
    [
        (11, 0.0, False),  # below burst_min, whatever the baseline
        (12, 0.0, True),  # 12 > 4 × max(0, 1)
        (12, 3.0, False),  # 12 is not more than 4 × 3
        (13, 3.0, True),
        (40, 10.0, False),
        (41, 10.0, True),
    ],
)
def test_burst_against_the_desks_baseline(arrivals: int, baseline: float, fires: bool) -> None:
    settings = SignalSettings(burst_min=12, burst_factor=4.0)
    assert integrity.burst_fires(arrivals, baseline, settings) is fires


def test_burst_flags_the_hour_it_counted() -> None:
    settings = SignalSettings(**{**QUIET.__dict__, "burst_min": 3, "burst_factor": 2.0})
    rows = [recent(1, 60), recent(2, 120), recent(3, 4000)]  # the third is over an hour ago
    verdict = integrity.judge_recent(incoming(), rows, [], 1.0, settings)
    assert verdict.flags == (BURST,) and verdict.earlier[BURST] == (1, 2)
    assert integrity.judge_recent(incoming(), rows, [], 1.5, settings).flags == ()


def kiosk_facts(**overrides: Any) -> KioskFacts:
    values: dict[str, Any] = {
        "arrivals_in_hour": 0,
        "max_per_hour": 30,
        "queued": 0,
        "latest_claimed": None,
        "empty_queue_at": None,
        "claimed_at": T0,
        "heartbeat_seconds": 60,
        "order_seconds": 120,
    }
    return KioskFacts(**{**values, **overrides})


def test_kiosk_arrival_rate_allows_what_the_heartbeat_said_was_queued() -> None:
    assert integrity.kiosk_flags(kiosk_facts(arrivals_in_hour=29)) == ()
    assert integrity.kiosk_flags(kiosk_facts(arrivals_in_hour=30)) == ("arrival_rate",)
    # A tablet back online with 50 queued uploads them all within the hour: not a burst.
    assert integrity.kiosk_flags(kiosk_facts(arrivals_in_hour=60, queued=50)) == ()


def test_kiosk_claimed_time_against_order_and_empty_queue() -> None:
    earlier_claim = T0 + timedelta(seconds=121)
    assert integrity.kiosk_flags(kiosk_facts(latest_claimed=earlier_claim)) == (CLAIMED_TIME,)
    assert integrity.kiosk_flags(kiosk_facts(latest_claimed=T0 + timedelta(seconds=119))) == ()
    # The queue was said empty at T0+181 s: an answer at T0 should have been sent by then
    # (grace: one heartbeat, 60 s, plus 120 s).
    empty = T0 + timedelta(seconds=181)
    assert integrity.kiosk_flags(kiosk_facts(empty_queue_at=empty)) == (CLAIMED_TIME,)
    assert integrity.kiosk_flags(kiosk_facts(empty_queue_at=empty - timedelta(seconds=2))) == ()


def test_source_digest_rotates_daily_and_keeps_no_address() -> None:
    day = date(2026, 12, 2)
    one = integrity.source_digest("secret", "203.0.113.7", "Firefox", day)
    assert one == integrity.source_digest("secret", "203.0.113.7", "Firefox", day)
    assert len(one) == 16 and "203" not in one
    assert one != integrity.source_digest("secret", "203.0.113.8", "Firefox", day)
    assert one != integrity.source_digest("secret", "203.0.113.7", "Chrome", day)
    assert one != integrity.source_digest("secret", "203.0.113.7", "Firefox", date(2026, 12, 3))
    assert one != integrity.source_digest("other", "203.0.113.7", "Firefox", day)


def test_settings_come_from_the_config_as_their_types() -> None:
    config = {"INTEGRITY_BATCH_MIN": "9", "INTEGRITY_BURST_FACTOR": "2.5",
              "INTEGRITY_SIGNALS": "false"}  # fmt: skip
    settings = SignalSettings.from_config(config)
    assert settings.batch_min == 9 and settings.burst_factor == 2.5
    assert settings.signals is False and settings.source_max == SignalSettings().source_max


# -- through the app -------------------------------------------------------------------------

SIGNALS: dict[str, Any] = {"INTEGRITY_SIGNALS": True}


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url, **SIGNALS)
    yield app
    with app.app_context():
        get_database().dispose()


def all_flags(app: Flask) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(select(Response.flags).order_by(Response.id)))


def varied(i: int) -> dict[str, str]:
    """Answers that differ from each other in several items (so same_answers stays quiet)."""
    codes = [str(1 + (i * 7 + k * 3) % 5) for k in range(6)]
    return full_answers(TC1=codes[0], TC2=codes[1], TT1=codes[2], CC1=codes[3], KQ1=codes[4],
                        PA1=codes[5], HL=str(1 + i % 5))  # fmt: skip


def test_forms_fetched_together_and_posted_together_are_flagged_whole(
    app: Flask, survey: Survey, field: Field
) -> None:
    app.extensions.pop("sipas.signal_settings", None)
    app.config.update(INTEGRITY_SOURCE_MAX=999, INTEGRITY_BATCH_MIN=6)
    forms = [survey.open(field.desk) for _ in range(8)]
    for i, hidden in enumerate(forms):
        # A different address and browser each time: only the batch gives them away.
        client = {"REMOTE_ADDR": f"198.51.100.{i}", "HTTP_USER_AGENT": f"ua{i}"}
        assert survey.submit(field.desk, varied(i), hidden, environ_base=client).status_code == 303
    flags = all_flags(app)
    assert len(flags) == 8 and all(BATCH in f.split(";") for f in flags), flags


def test_many_from_one_source_are_flagged_and_the_digest_is_stored_not_the_address(
    app: Flask, survey: Survey, field: Field
) -> None:
    app.extensions.pop("sipas.signal_settings", None)
    app.config.update(INTEGRITY_SOURCE_MAX=3, INTEGRITY_BATCH_MIN=999)
    for i in range(3):
        survey.submit(field.desk, varied(i), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    survey.submit(field.desk, varied(9), environ_base={"REMOTE_ADDR": "203.0.113.10"})
    flags = all_flags(app)
    assert [SAME_SOURCE in f for f in flags] == [True, True, True, False], flags
    with app.app_context():
        rows = get_session().execute(select(Response.source_digest, Response.answers_vector))
        digests = [r.source_digest for r in rows]
    assert len(set(digests)) == 2 and all(d and "203" not in d for d in digests)


def test_identical_answers_in_a_short_window_are_flagged(
    app: Flask, survey: Survey, field: Field
) -> None:
    app.extensions.pop("sipas.signal_settings", None)
    app.config.update(INTEGRITY_SOURCE_MAX=999, INTEGRITY_BATCH_MIN=999, INTEGRITY_SAME_MIN=4)
    for i in range(4):
        survey.submit(field.desk, full_answers(), environ_base={"REMOTE_ADDR": f"192.0.2.{i}"})
    survey.submit(field.desk, varied(3), environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert [SAME_ANSWERS in f for f in all_flags(app)] == [True, True, True, True, False]


def test_a_burst_is_judged_against_the_same_hour_of_earlier_weeks(app: Flask, field: Field) -> None:
    """Through the one intake with simulated times (as the demo and imports store)."""
    app.extensions.pop("sipas.signal_settings", None)
    app.config.update(INTEGRITY_SOURCE_MAX=999, INTEGRITY_BATCH_MIN=999, INTEGRITY_SAME_MIN=999,
                      INTEGRITY_BURST_MIN=5, INTEGRITY_BURST_FACTOR=2.0,
                      INTEGRITY_BURST_WEEKS=2)  # fmt: skip
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == field.desk))
        assert desk is not None
        version = current_version(session, desk.questionnaire)

        def store(at: datetime) -> tuple[str, ...]:
            received = intake.Received(
                uuid=uuid.uuid4(),
                checked=intake.check(version, full_answers()),
                channel="qr",
                circumstances=Circumstances(60, 10),
            )
            stored = intake.store(intake.InSession(session, desk, submitted_at=at), received)
            assert stored is not None
            return stored.flags

        # Two weeks ago and last week: 3 responses in this hour each → baseline 3.
        for week in (2, 1):
            for minute in (30, 32, 34):
                assert store(T0 - timedelta(weeks=week, minutes=minute)) == ()
        # Now 6 in the hour: 6 ≤ 2 × 3, no burst; the 7th is one.
        # (each "now" from T0-29 to T0-5 min sees those 3 per week in its hour of the week)
        got = [store(T0 - timedelta(minutes=29 - 4 * k)) for k in range(7)]
        session.commit()
        assert got[:6] == [()] * 6 and got[6] == (BURST,)
        flags = list(
            session.scalars(
                select(Response.flags)
                .where(Response.submitted_at > T0 - timedelta(hours=1))
                .order_by(Response.submitted_at)
            )
        )
    assert flags == [BURST] * 7  # the hour is flagged whole, earlier weeks untouched


def test_a_form_fetched_at_one_desk_is_refused_at_another(
    app: Flask, survey: Survey, field: Field
) -> None:
    hidden = survey.open(field.desk)
    refused = survey.submit(field.other_desk, full_answers(), hidden)
    assert refused.status_code == 400
    assert "không thuộc quầy này" in refused.get_data(as_text=True)
    assert all_flags(app) == []
    assert survey.submit(field.desk, full_answers(), hidden).status_code == 303


def test_a_kiosk_backdating_under_an_empty_queue_is_flagged(app: Flask, kiosk: Kiosk) -> None:
    assert kiosk.heartbeat({"queue_length": 0}).status_code == 200
    now = datetime.now(UTC)

    def at(minutes_ago: int) -> dict[str, Any]:
        answered = now - timedelta(minutes=minutes_ago)
        return kiosk_response(
            started_at=(answered - timedelta(seconds=40)).isoformat().replace("+00:00", "Z"),
            answered_at=answered.isoformat().replace("+00:00", "Z"),
            answers={
                "HL_TC": 1 + minutes_ago % 5,
                "HL_TT": 1 + minutes_ago % 3,
                "HL_CC": 4,
                "HL_KQ": 2 + minutes_ago % 3,
                "HL_PA": 3,
                "HL": 5,
            },  # fmt: skip
        )

    assert kiosk.submit(at(0)).status_code == 200  # just answered: consistent
    assert kiosk.submit(at(9)).status_code == 200  # claims 9 min ago, queue was said empty
    flags = all_flags(app)
    assert flags[0] == "" and CLAIMED_TIME in flags[1].split(";")


def test_a_tablet_uploading_its_offline_queue_is_not_flagged(app: Flask, kiosk: Kiosk) -> None:
    now = datetime.now(UTC)
    assert kiosk.heartbeat({"queue_length": 0}).status_code == 200
    # Went offline, answered 5 over the next hours, came back, said 5 queued, uploads oldest first.
    with app.app_context():
        from survey_app.models import KioskDevice

        session = get_session()
        device = session.get(KioskDevice, kiosk.device_id)
        assert device is not None
        device.heartbeat_at = now - timedelta(hours=5)
        session.commit()
    assert kiosk.heartbeat({"queue_length": 5}).status_code == 200
    for k in range(5):
        answered = now - timedelta(hours=4 - k / 2)
        payload = kiosk_response(
            started_at=(answered - timedelta(seconds=40)).isoformat().replace("+00:00", "Z"),
            answered_at=answered.isoformat().replace("+00:00", "Z"),
            answers={"HL_TC": 1 + k, "HL_TT": 5 - k, "HL_CC": 4, "HL_KQ": 2, "HL_PA": 3, "HL": 5},
        )
        assert kiosk.submit(payload).status_code == 200
    assert all_flags(app) == [""] * 5
