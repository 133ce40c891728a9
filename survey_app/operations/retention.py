"""Retention of what may identify a person: comments' free text and used invitations' dossier
digests are removed after their period; responses, answers and comment rows stay, so counts and
scores never change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from ..models import Comment, CommentFollowUp, InvitationUse, Response

#: The longest an invitation link can be valid (`sipas invite --days` allows up to 366): a
#: digest must outlive every link that could still be used, or that dossier could answer twice.
LONGEST_INVITATION_DAYS = 366


class RetentionError(ValueError):
    """A retention setting that would lose data or break a rule; the message names it."""


@dataclass(frozen=True)
class RetentionPolicy:
    comment_days: int
    invitation_days: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetentionPolicy:
        """Read SIPAS_RETENTION_* and refuse values that would purge too early."""
        comment_days = _days(config, "RETENTION_COMMENT_DAYS", minimum=1)
        longest = max(LONGEST_INVITATION_DAYS, int(config.get("INVITATION_DAYS") or 0))
        invitation_days = _days(config, "RETENTION_INVITATION_DAYS", minimum=longest + 1)
        return cls(comment_days, invitation_days)

    def cutoffs(self, now: datetime) -> tuple[datetime, date]:
        """Comments of responses submitted before the first, invitations used before the second."""
        return now - timedelta(days=self.comment_days), (
            now.date() - timedelta(days=self.invitation_days)
        )


def _days(config: Mapping[str, Any], name: str, *, minimum: int) -> int:
    value = config.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RetentionError(
            f"SIPAS_{name} must be a whole number of days, at least {minimum}; got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, for a dry run, would remove)."""

    comments_before: datetime
    invitations_before: date
    comment_texts: int
    follow_up_notes: int
    invitation_digests: int
    dry_run: bool

    def describe(self) -> str:
        verb = "would blank" if self.dry_run else "blanked"
        removed = "would delete" if self.dry_run else "deleted"
        return (
            f"{verb} the text of {self.comment_texts} comments and {self.follow_up_notes} "
            f"handling notes (responses submitted before {self.comments_before:%Y-%m-%d %H:%M} "
            f"UTC); {removed} {self.invitation_digests} invitation digests (used before "
            f"{self.invitations_before:%Y-%m-%d}); responses, answers and scores are kept"
        )


def purge(
    session: Session, policy: RetentionPolicy, *, dry_run: bool, now: datetime | None = None
) -> Purge:
    """Blank old comments' text and their handling notes, delete old invitation digests.

    No commit: the caller commits (with its audit record) or, for a dry run, rolls back.
    """
    comments_before, invitations_before = policy.cutoffs(now or datetime.now(UTC))
    old_responses = select(Response.id).where(Response.submitted_at < comments_before)
    # A handling note may quote the comment, so it goes with it.
    comment_filter: ColumnElement[bool] = Comment.response_id.in_(old_responses) & (
        Comment.text != ""
    )
    note_filter: ColumnElement[bool] = CommentFollowUp.response_id.in_(old_responses) & (
        CommentFollowUp.note != ""
    )
    invitation_filter: ColumnElement[bool] = InvitationUse.used_on < invitations_before
    if dry_run:
        counts = [
            session.scalar(select(func.count()).select_from(model).where(condition)) or 0
            for model, condition in (
                (Comment, comment_filter),
                (CommentFollowUp, note_filter),
                (InvitationUse, invitation_filter),
            )
        ]
    else:
        counts = [
            _rowcount(session, update(Comment).where(comment_filter).values(text="")),
            _rowcount(session, update(CommentFollowUp).where(note_filter).values(note="")),
            _rowcount(session, delete(InvitationUse).where(invitation_filter)),
        ]
    texts, notes, digests = counts
    return Purge(comments_before, invitations_before, texts, notes, digests, dry_run)


def _rowcount(session: Session, statement: Any) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]
