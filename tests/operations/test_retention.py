"""`sipas purge`: comments' free text, their handling notes and used invitations' dossier digests
past their retention period are removed; every response, answer and score stays the same."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.models import (
    AuditEvent,
    Comment,
    CommentFollowUp,
    Desk,
    InvitationUse,
    Officer,
    Response,
)
from survey_app.operations.retention import RetentionError, RetentionPolicy

from ..officer.conftest import Tokens
from .conftest import days_ago

OLD_TEXT = "Chị Lan, số điện thoại 0912 345 678, chờ hai tiếng."
RECENT_TEXT = "Cán bộ nhiệt tình, hướng dẫn rõ ràng."
OLD_NOTE = "Đã gọi lại cho chị Lan."


def _scores(app: Flask, token: str) -> list[Any]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    this_year = date.today().year
    bodies = []
    for period in (this_year - 1, this_year):
        answer = client.get(f"/api/v1/scores?unit=QN-DAMHA&period={period}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        bodies.append(answer.get_json())
    return bodies


def _counts(app: Flask) -> tuple[int, int, int, int]:
    with app.app_context():
        db = get_session()
        responses, comments, follow_ups = (
            db.scalar(select(func.count()).select_from(model)) or 0
            for model in (Response, Comment, CommentFollowUp)
        )
        answers = sum(len(codes) for codes in db.scalars(select(Response.answer_codes)))
        return responses, answers, comments, follow_ups


@pytest.fixture
def aged(demo: Flask) -> dict[str, int]:
    """Two commented responses moved 4,000 days back (one with a handling note), a recent one,
    and invitation uses 500 and 10 days old. (The demo's history begins 18 months before the
    merger of 1/7/2025, so only the moved ones are older than the 10 years kept below.)"""
    with demo.app_context():
        db = get_session()
        commented = db.scalars(
            select(Response).where(Response.comment.has()).order_by(Response.id)
        ).all()
        old, older, recent = commented[0], commented[1], commented[-1]
        for response in (old, older):
            response.submitted_at = days_ago(4000)
            assert response.comment is not None
            response.comment.text = OLD_TEXT
        assert recent.comment is not None
        recent.comment.text = RECENT_TEXT
        admin = db.scalar(select(Officer).where(Officer.username == "admin"))
        db.add(CommentFollowUp(response_id=old.id, note=OLD_NOTE, officer=admin))
        desk = db.scalar(select(Desk).where(Desk.code == "DAMHA2"))
        assert desk is not None
        today = date.today()
        db.add_all(
            [
                InvitationUse(
                    desk_id=desk.id, dossier_digest="a" * 64, used_on=today - timedelta(500)
                ),
                InvitationUse(
                    desk_id=desk.id, dossier_digest="b" * 64, used_on=today - timedelta(10)
                ),
            ]
        )
        db.commit()
        return {"old": old.id, "older": older.id, "recent": recent.id}


def test_purge_removes_old_personal_text_and_keeps_every_score(
    demo: Flask, tokens: Tokens, aged: dict[str, int]
) -> None:
    demo.config["RETENTION_COMMENT_DAYS"] = 3650
    scores_before, counts_before = _scores(demo, tokens.damha), _counts(demo)
    with demo.app_context():
        comments_before = get_session().scalar(
            select(func.count()).select_from(Comment).where(Comment.text != "")
        )

    dry = demo.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would blank the text of 2 comments and 1 handling notes" in dry.output
    assert "would delete 1 invitation digests" in dry.output
    with demo.app_context():
        db = get_session()
        assert db.get(Comment, aged["old"]).text == OLD_TEXT  # type: ignore[union-attr]
        assert db.scalar(select(func.count()).select_from(InvitationUse)) == 2
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "data_purged")) is None

    done = demo.test_cli_runner().invoke(args=["purge"])
    assert done.exit_code == 0, done.output
    assert "blanked the text of 2 comments and 1 handling notes" in done.output
    with demo.app_context():
        db = get_session()
        assert db.get(Comment, aged["old"]).text == ""  # type: ignore[union-attr]
        assert db.get(Comment, aged["older"]).text == ""  # type: ignore[union-attr]
        assert db.get(Comment, aged["recent"]).text == RECENT_TEXT  # type: ignore[union-attr]
        assert db.get(CommentFollowUp, aged["old"]).note == ""  # type: ignore[union-attr]
        left = db.scalars(select(InvitationUse.dossier_digest)).all()
        assert left == ["b" * 64]
        stored = " ".join(db.scalars(select(Comment.text)).all())
        assert "0912" not in stored and "Lan" not in stored
        assert (
            db.scalar(select(func.count()).select_from(Comment).where(Comment.text != ""))
            == comments_before - 2
        )
        audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "data_purged"))
        assert audit is not None and audit.actor == "cli"
        assert audit.detail["comment_texts"] == 2 and audit.detail["invitation_digests"] == 1
    assert _counts(demo) == counts_before
    assert _scores(demo, tokens.damha) == scores_before

    again = demo.test_cli_runner().invoke(args=["purge"])
    assert "blanked the text of 0 comments and 0 handling notes" in again.output


def test_a_shorter_period_blanks_more_and_still_keeps_the_scores(
    demo: Flask, tokens: Tokens
) -> None:
    """Demo responses spread over a year: a 90-day period blanks most comments."""
    demo.config["RETENTION_COMMENT_DAYS"] = 90
    scores_before, counts_before = _scores(demo, tokens.damha), _counts(demo)
    with demo.app_context():
        db = get_session()
        cutoff = days_ago(90)
        old = db.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Response)
            .where(Response.submitted_at < cutoff)
        )
        recent = db.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Response)
            .where(Response.submitted_at >= cutoff)
        )
    assert old and recent
    done = demo.test_cli_runner().invoke(args=["purge"])
    assert f"blanked the text of {old} comments" in done.output
    with demo.app_context():
        texts = get_session().scalars(select(Comment.text)).all()
    assert sum(1 for t in texts if t) == recent
    assert _counts(demo) == counts_before
    assert _scores(demo, tokens.damha) == scores_before


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"RETENTION_COMMENT_DAYS": 0}, "SIPAS_RETENTION_COMMENT_DAYS must be"),
        ({"RETENTION_COMMENT_DAYS": "30"}, "SIPAS_RETENTION_COMMENT_DAYS must be"),
        ({"RETENTION_INVITATION_DAYS": 90}, "SIPAS_RETENTION_INVITATION_DAYS must be"),
        (
            {"RETENTION_INVITATION_DAYS": 400, "INVITATION_DAYS": 500},
            "at least 501",
        ),
    ],
)
def test_unsafe_periods_are_refused(app: Flask, settings: dict[str, Any], message: str) -> None:
    app.config.update(settings)
    with pytest.raises(RetentionError, match=message):
        RetentionPolicy.from_config(app.config)
    refused = app.test_cli_runner().invoke(args=["purge"])
    assert refused.exit_code != 0 and message in refused.output


def test_the_defaults_are_safe(app: Flask) -> None:
    policy = RetentionPolicy.from_config(app.config)
    assert policy.comment_days == 730 and policy.invitation_days == 400


def test_comments_page_says_a_text_was_erased(demo: Flask, aged: dict[str, int]) -> None:
    from ..officer.conftest import sign_in

    demo.config["RETENTION_COMMENT_DAYS"] = 3650
    assert demo.test_cli_runner().invoke(args=["purge"]).exit_code == 0
    client = sign_in(demo.test_client(), "admin")
    since = (date.today() - timedelta(4100)).isoformat()
    until = (date.today() - timedelta(3900)).isoformat()
    page = client.get("/officer/comments", query_string={"from": since, "to": until})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert OLD_TEXT not in html and OLD_NOTE not in html
    assert html.count("Nội dung ý kiến đã được xoá khi hết thời hạn lưu trữ.") == 2
