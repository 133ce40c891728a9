"""Data-subject requests (Law 91/2025/QH15): find what the app holds about one person, and erase
it. Responses are anonymous; a person can only be found through what they wrote in a comment
or through the dossier number of an invitation they used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Comment, CommentFollowUp, Desk, InvitationUse, Response
from ..services import invitations


@dataclass(frozen=True)
class FoundComment:
    response_id: int
    submitted_at: datetime
    desk_code: str
    text: str
    note: str


def find_comments(session: Session, text: str, *, limit: int = 200) -> list[FoundComment]:
    """Comments (or their handling notes) containing ``text``, e.g. part of a phone number."""
    pattern = f"%{text.strip()}%"
    rows = session.execute(
        select(Comment, Response.submitted_at, Desk.code, CommentFollowUp.note)
        .join(Response, Response.id == Comment.response_id)
        .join(Desk, Desk.id == Response.desk_id)
        .outerjoin(CommentFollowUp, CommentFollowUp.response_id == Comment.response_id)
        .where(Comment.text.ilike(pattern) | CommentFollowUp.note.ilike(pattern))
        .order_by(Response.submitted_at)
        .limit(limit)
    ).all()
    return [
        FoundComment(comment.response_id, submitted_at, desk_code, comment.text, note or "")
        for comment, submitted_at, desk_code, note in rows
    ]


def find_invitation(
    session: Session, secret: str, desk_code: str, dossier: str
) -> InvitationUse | None:
    """The used invitation of a dossier at a desk (found by recomputing its keyed digest)."""
    digest = invitations.dossier_digest(secret, desk_code, dossier.strip())
    return session.scalar(
        select(InvitationUse)
        .join(Desk, Desk.id == InvitationUse.desk_id)
        .where(Desk.code == desk_code.strip().upper(), InvitationUse.dossier_digest == digest)
    )


def erase_comments(session: Session, response_ids: list[int]) -> int:
    """Blank the text of these comments and their handling notes; the answers stay (no commit)."""
    if not response_ids:
        return 0
    result = session.execute(
        update(Comment).where(Comment.response_id.in_(response_ids)).values(text=""),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(CommentFollowUp)
        .where(CommentFollowUp.response_id.in_(response_ids))
        .values(note=""),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def erase_invitation(session: Session, use: InvitationUse) -> date:
    """Delete a used invitation's digest (no commit); returns the day it was used."""
    used_on = use.used_on
    session.delete(use)
    return used_on
