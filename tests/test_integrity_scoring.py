"""The default scoring rule of issue 11 ("unflagged or kept by a reviewer") in Python and SQL,
and the grouping of flagged responses into episodes, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

import questionnaires
from survey_app.db import get_session
from survey_app.models import Desk, Officer, Response, ResponseReview
from survey_app.services import episodes, intake
from survey_app.services.integrity import Circumstances
from survey_app.services.questionnaire_store import current_version
from survey_app.services.wide_export import (
    CLEAN,
    EXCLUDED,
    FLAGGED,
    KEPT,
    counts_in_default_view,
    counts_in_default_view_sql,
    integrity_state,
    integrity_state_sql,
    load_responses,
)

from .conftest import CRITERIA, Field, full_answers

T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("flags", "decision", "state", "default", "include"),
    [
        ("", None, CLEAN, True, True),
        ("too_fast", None, FLAGGED, False, True),
        ("batch;same_source", "keep", KEPT, True, True),
        ("too_fast", "exclude", EXCLUDED, False, False),
        ("", "exclude", EXCLUDED, False, False),  # excluded whatever its flags
        ("", "keep", CLEAN, True, True),
    ],
)
def test_the_default_rule(
    flags: str, decision: str | None, state: str, default: bool, include: bool
) -> None:
    assert integrity_state(flags, decision) == state
    assert counts_in_default_view(state) is default
    assert counts_in_default_view(state, "include") is include


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="exclude or include"):
        counts_in_default_view(CLEAN, "maybe")


def store_at(app: Flask, desk_code: str, at: datetime, flags: str = "", code: str = "4") -> int:
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == desk_code))
        assert desk is not None
        version = current_version(session, desk.questionnaire)
        stored = intake.store(
            intake.InSession(session, desk, submitted_at=at),
            intake.Received(
                uuid=uuid.uuid4(),
                checked=intake.check(version, {**full_answers(), **dict.fromkeys(CRITERIA, code)}),
                channel="qr",
                circumstances=Circumstances(60, 10),
            ),
        )
        assert stored is not None
        if flags:
            session.get_one(Response, stored.id).flags = flags
        session.commit()
        return stored.id


def officer(app: Flask) -> int:
    with app.app_context():
        session = get_session()
        row = Officer(username="rasoat", full_name="Cán bộ rà soát", role="admin")
        row.password_hash = "x"
        session.add(row)
        session.commit()
        return row.id


def review(app: Flask, response_id: int, decision: str, officer_id: int) -> None:
    with app.app_context():
        session = get_session()
        session.add(
            ResponseReview(response_id=response_id, decision=decision, officer_id=officer_id)
        )
        session.commit()


def test_python_and_sql_agree_and_scores_use_the_rule(app: Flask, field: Field) -> None:
    who = officer(app)
    ids = {
        "clean": store_at(app, field.desk, T0),
        "flagged": store_at(app, field.desk, T0 + timedelta(minutes=1), "batch"),
        "kept": store_at(app, field.desk, T0 + timedelta(minutes=2), "batch"),
        "excluded": store_at(app, field.desk, T0 + timedelta(minutes=3), "too_fast"),
    }
    review(app, ids["kept"], "keep", who)
    review(app, ids["excluded"], "exclude", who)
    with app.app_context():
        session = get_session()
        q = questionnaires.get("sipas-service")
        for mode, expected in (("exclude", {"clean", "kept"}),
                               ("include", {"clean", "kept", "flagged"})):  # fmt: skip
            rows = load_responses(session, q, unit_ids=None, score_flagged=mode)
            valid = set(rows.loc[rows["valid"], "response_id"])
            assert valid == {ids[name] for name in expected}
            assert rows["valid_kept"].all()  # the "with every response" side
            query = (
                select(Response.id)
                .outerjoin(ResponseReview, ResponseReview.response_id == Response.id)
                .where(counts_in_default_view_sql(Response.flags, ResponseReview.decision, mode))
            )
            assert set(session.scalars(query)) == valid
        states = dict(
            session.execute(
                select(
                    Response.id, integrity_state_sql(Response.flags, ResponseReview.decision)
                ).outerjoin(ResponseReview, ResponseReview.response_id == Response.id)
            ).all()
        )
    assert states == {ids["clean"]: CLEAN, ids["flagged"]: FLAGGED, ids["kept"]: KEPT,
                      ids["excluded"]: EXCLUDED}  # fmt: skip


def test_episodes_group_by_desk_and_gap() -> None:
    at = [T0 + timedelta(minutes=m) for m in (0, 50, 100, 300, 310)]
    rows = [
        (1, 7, 1, at[0], "batch", False),
        (2, 7, 1, at[1], "batch;same_source", False),
        (3, 7, 1, at[2], "same_source", True),
        (4, 7, 1, at[3], "too_fast", False),  # 200 min after the one before: a new episode
        (5, 8, 1, at[4], "burst", False),  # another desk
    ]
    found = episodes.group(rows, timedelta(minutes=60))
    assert [(e.desk_id, e.response_ids) for e in found] == [(8, [5]), (7, [4]), (7, [1, 2, 3])]
    first = found[2]
    assert first.count == 3 and first.undecided == 2
    assert first.start == at[0] and first.end == at[2]
    assert dict(first.reasons) == {"batch": 2, "same_source": 2}
    assert episodes.parse_key(first.key) == (7, at[0], at[2])
    with pytest.raises(ValueError):
        episodes.parse_key("7|2026-11-10T02:00:00|2026-11-10T01:00:00")


def test_an_episode_is_decided_once_and_scored_with_and_without(app: Flask, field: Field) -> None:
    who = officer(app)
    # 30 clean responses satisfied (4) with every criterion on the day before, then an
    # episode of 10 flagged ones dissatisfied (1) with every criterion.
    for k in range(30):
        store_at(app, field.desk, T0 - timedelta(days=1, minutes=20 * k))
    flagged = [store_at(app, field.desk, T0 + timedelta(minutes=k), "batch", code="1")
               for k in range(10)]  # fmt: skip
    with app.app_context():
        session = get_session()
        found = episodes.episodes(session, None, None, gap=timedelta(minutes=60))
        assert len(found) == 1 and found[0].response_ids == flagged
        episode = found[0]
        assert episode.n_without == 30 and episode.n_with == 40
        assert episode.sipas_without is not None and episode.sipas_with is not None
        # SIPAS = 100 × share of satisfied answers (SIPAS.md): 100 without, 30/40 with.
        assert episode.sipas_without == pytest.approx(100.0)
        assert episode.sipas_with == pytest.approx(75.0)
        desk_id, start, end = episodes.parse_key(episode.key)
        changed = episodes.decide(
            session, session.get_one(Officer, who), desk_id, start, end, "exclude", "bơm phiếu"
        )
        session.commit()
        assert changed == 10
        decisions = session.scalars(select(ResponseReview.decision)).all()
        assert list(decisions) == ["exclude"] * 10
        from survey_app.models import AuditEvent

        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "review_episode"))
        (event,) = list(events)
        assert event.detail["responses"] == 10 and event.detail["decision"] == "exclude"
        # Decided: no longer among the undecided episodes.
        assert episodes.episodes(session, None, None, gap=timedelta(minutes=60)) == []


def test_purge_blanks_old_source_digests(app: Flask, field: Field) -> None:
    from survey_app.services.integrity import forget_sources

    old = store_at(app, field.desk, T0 - timedelta(days=40))
    new = store_at(app, field.desk, T0)
    with app.app_context():
        session = get_session()
        for response_id in (old, new):
            session.get_one(Response, response_id).source_digest = "0123456789abcdef"
        session.commit()
        assert forget_sources(session, T0 - timedelta(days=30), dry_run=True) == 1
        assert forget_sources(session, T0 - timedelta(days=30)) == 1
        session.commit()
        digests = dict(session.execute(select(Response.id, Response.source_digest)).all())
    assert digests == {old: None, new: "0123456789abcdef"}
