"""Storing a checked response: one transaction, one row per answer, stored once per UUID."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.orm import Session

from questionnaires import CheckedAnswers

from .models import (
    Answer,
    Comment,
    Desk,
    InvitationUse,
    Response,
    Service,
    utcnow,
)
from .questionnaire_store import PublishedVersion

# The tables themselves: the submit path uses Core inserts (see add_response).
RESPONSES = cast(Table, Response.__table__)
ANSWERS = cast(Table, Answer.__table__)
COMMENTS = cast(Table, Comment.__table__)
INVITATION_USES = cast(Table, InvitationUse.__table__)


@dataclass(frozen=True)
class NewResponse:
    """Everything known about a response before it is stored."""

    uuid: uuid.UUID
    desk: Desk
    version: PublishedVersion
    answers: CheckedAnswers
    channel: str
    service: Service | None = None
    answered_at: datetime | None = None
    duration_seconds: int | None = None
    language: str = "vi"
    flags: tuple[str, ...] = ()
    #: Keyed digest of the dossier number when the response came through an invitation.
    invitation_digest: str | None = None


def response_exists(session: Session, response_uuid: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Response.uuid == response_uuid))))


def invitation_used(session: Session, desk: Desk, digest: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    InvitationUse.desk_id == desk.id, InvitationUse.dossier_digest == digest
                )
            )
        )
    )


def add_response(
    session: Session, new: NewResponse, *, submitted_at: datetime | None = None
) -> int:
    """Insert the response, its answers, comment and invitation use (no commit); returns its id.

    Statements run at once, so a duplicate UUID or an answered dossier raises IntegrityError here
    (unique constraints, also against a concurrent request); the caller rolls back and decides
    what that means for its client. Core inserts (one executemany for the answers) skip the
    ORM's unit of work: the submit path is the hottest code in the app.
    """
    now = submitted_at or utcnow()
    # The session's own connection, so these inserts share its transaction, but without the
    # ORM's statement handling, which is most of the cost of a Core insert run through it.
    connection = session.connection()
    response_id = connection.execute(
        insert(RESPONSES).returning(RESPONSES.c.id),
        [
            {
                "uuid": new.uuid,
                "desk_id": new.desk.id,
                "unit_id": new.desk.unit_id,
                "service_id": new.service.id if new.service else None,
                "channel": new.channel,
                "questionnaire_version_id": new.version.id,
                "submitted_at": now,
                "answered_at": new.answered_at,
                "duration_seconds": new.duration_seconds,
                "language": new.language,
                "valid": new.answers.valid,
                "flags": ";".join(sorted(set(new.flags))),
                "via_invitation": new.invitation_digest is not None,
            }
        ],
    ).scalar_one()
    if new.answers.codes:
        # An executemany of one cached statement: SQLAlchemy sends it to PostgreSQL in one
        # pipeline. (A multi-row ``.values([...])`` is compiled afresh on every call, which
        # cost more than the round trips it saved.)
        connection.execute(
            insert(ANSWERS),
            [
                {"response_id": response_id, "item": item, "code": code}
                for item, code in new.answers.codes.items()
            ],
        )
    if new.answers.comment:
        connection.execute(
            insert(COMMENTS), [{"response_id": response_id, "text": new.answers.comment}]
        )
    if new.invitation_digest is not None:
        connection.execute(
            insert(INVITATION_USES),
            [
                {
                    "desk_id": new.desk.id,
                    "dossier_digest": new.invitation_digest,
                    "used_on": now.date(),
                }
            ],
        )
    return response_id
