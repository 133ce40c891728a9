"""`sipas subject find` and `erase`: what one person wrote in a comment, and the digest of a
dossier they used an invitation for, are found and erased; the answers stay."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import AuditEvent, Comment, Desk, InvitationUse, Response
from survey_app.services import invitations

from ..conftest import TEST_SECRET

PERSONAL = "Tôi là Nguyễn Văn An, số 0987 654 321, chờ quá lâu."


def test_find_then_erase_one_persons_comment_and_invitation(demo: Flask) -> None:
    with demo.app_context():
        db = get_session()
        response = db.scalars(select(Response).where(Response.comment.has())).first()
        assert response is not None and response.comment is not None
        response.comment.text = PERSONAL
        desk = db.scalar(select(Desk).where(Desk.code == "DAMHA2"))
        assert desk is not None
        digest = invitations.dossier_digest(TEST_SECRET, "DAMHA2", "000.00.12.H40-241124-0001")
        db.add(InvitationUse(desk_id=desk.id, dossier_digest=digest, used_on=date.today()))
        db.add(InvitationUse(desk_id=desk.id, dossier_digest="f" * 64, used_on=date.today()))
        db.commit()
        response_id = response.id
        answers = sum(len(codes) for codes in db.scalars(select(Response.answer_codes)))
    runner = demo.test_cli_runner()

    found = runner.invoke(
        args=["subject", "find", "--text", "0987 654", "--dossier", "000.00.12.H40-241124-0001",
              "--desk", "damha2"]
    )  # fmt: skip
    assert found.exit_code == 0, found.output
    assert f"comment of response {response_id}" in found.output and "Nguyễn Văn An" in found.output
    assert "1 comments contain" in found.output
    assert f"used on {date.today():%Y-%m-%d}" in found.output
    nothing = runner.invoke(args=["subject", "find", "--dossier", "OTHER-1", "--desk", "DAMHA2"])
    assert "no record" in nothing.output

    erased = runner.invoke(
        args=["subject", "erase", "--comment", str(response_id), "--dossier",
              "000.00.12.H40-241124-0001", "--desk", "DAMHA2"]
    )  # fmt: skip
    assert erased.exit_code == 0, erased.output
    assert "erased the text of 1 comments and 1 invitation digest" in erased.output
    with demo.app_context():
        db = get_session()
        assert db.get(Comment, response_id).text == ""  # type: ignore[union-attr]
        assert db.scalars(select(InvitationUse.dossier_digest)).all() == ["f" * 64]
        assert sum(len(codes) for codes in db.scalars(select(Response.answer_codes))) == answers
        audit = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["subject_searched", "subject_erased"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [event.action for event in audit] == [
        "subject_searched",
        "subject_searched",
        "subject_erased",
    ]
    assert all("0987" not in str(event.detail) + event.target for event in audit)
    again = runner.invoke(args=["subject", "find", "--text", "0987 654"])
    assert "0 comments contain" in again.output


def test_find_needs_something_to_look_for(app: Flask) -> None:
    refused = app.test_cli_runner().invoke(args=["subject", "find", "--dossier", "X"])
    assert refused.exit_code != 0 and "--dossier with --desk" in refused.output
