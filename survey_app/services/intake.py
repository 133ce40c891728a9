"""The one intake: every channel (QR, invitation, kiosk, demo, later paper) stores through here.

A channel reads its own input, then calls :func:`check` (the answers against the questionnaire
version they answer) and :func:`store` (the integrity rules, one write, the after-store hooks in
the write's transaction). Rejections a person must see are the channel's to word.

Later work plugs in at :data:`AFTER_STORE`: a hook gets the transaction's connection and the
:class:`StoredResponse` (issue 10 keeps score summaries current there, issue 11 records integrity
signals), so whatever it writes commits or rolls back with the response itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from questionnaires import CheckedAnswers, check_answers

from ..db import Database
from ..models import Desk, Service
from . import score_store
from .integrity import Circumstances, flags_for
from .questionnaire_store import PublishedVersion
from .response_store import NewResponse, Written, add_response, add_response_at_desk


class InvalidAnswers(Exception):
    """The answers do not fit the questionnaire version; ``checked.problems`` says where."""

    def __init__(self, version: PublishedVersion, checked: CheckedAnswers) -> None:
        super().__init__(f"the answers do not fit {version.questionnaire.key}")
        self.version, self.checked = version, checked


@dataclass(frozen=True)
class Checked:
    """Answers that fit the version they answer. Only :func:`check` makes one, so nothing is
    stored without having been checked."""

    version: PublishedVersion
    answers: CheckedAnswers


def check(version: PublishedVersion, raw: Mapping[str, Any]) -> Checked:
    """Check raw answers (item code to code or text) against ``version``; raises
    :class:`InvalidAnswers` when any does not fit."""
    checked = check_answers(version.questionnaire, raw)
    if not checked.ok:
        raise InvalidAnswers(version, checked)
    return Checked(version, checked)


@dataclass(frozen=True)
class Received:
    """A checked response as a channel received it, with what is known of how it was given."""

    uuid: uuid.UUID
    checked: Checked
    channel: str
    circumstances: Circumstances
    language: str = "vi"
    answered_at: datetime | None = None
    service: Service | None = None
    #: Keyed digest of the dossier number when the response came through an invitation.
    invitation_digest: str | None = None


@dataclass(frozen=True)
class StoredResponse:
    """A response as stored: what after-store hooks and channels get back."""

    id: int
    uuid: uuid.UUID
    desk_id: int
    unit_id: int
    channel: str
    version: PublishedVersion
    answers: CheckedAnswers
    flags: tuple[str, ...]
    submitted_at: datetime


#: Runs inside the transaction that stored the response.
AfterStore = Callable[[Connection, StoredResponse], None]

#: The hooks every stored response goes through, in order: the score summaries (issue 10).
AFTER_STORE: tuple[AfterStore, ...] = (score_store.after_store,)


@dataclass(frozen=True)
class ByDeskCode:
    """Store at the active desk with this public code, in a short transaction of its own,
    committed (the web form: the desk is never loaded on the usual path)."""

    database: Database
    desk_code: str


@dataclass(frozen=True)
class InSession:
    """Store at a loaded desk in the session's transaction, not committed (kiosk, demo, import)."""

    session: Session
    desk: Desk
    submitted_at: datetime | None = None


def store(
    where: ByDeskCode | InSession, received: Received, *, also: Sequence[AfterStore] = ()
) -> StoredResponse | None:
    """Flag ``received`` by the integrity rules and write it once, then run the after-store
    hooks and the channel's own ``also`` hooks in the same transaction.

    Returns the stored response, or None when ``where`` names no active desk. A UUID stored
    already, or a dossier answered already, raises IntegrityError and stores nothing; what that
    means is the channel's to say (a repeat to thank, a replay to compare).
    """
    flags = flags_for(received.circumstances)
    checked = received.checked
    new = NewResponse(
        uuid=received.uuid,
        version=checked.version,
        answers=checked.answers,
        channel=received.channel,
        service=received.service,
        answered_at=received.answered_at,
        duration_seconds=received.circumstances.duration_seconds,
        language=received.language,
        flags=flags,
        invitation_digest=received.invitation_digest,
    )

    def stored(written: Written) -> StoredResponse:
        return StoredResponse(
            id=written.id,
            uuid=received.uuid,
            desk_id=written.desk_id,
            unit_id=written.unit_id,
            channel=received.channel,
            version=checked.version,
            answers=checked.answers,
            flags=flags,
            submitted_at=written.submitted_at,
        )

    hooks = (*AFTER_STORE, *also)

    def run_hooks(connection: Connection, written: Written) -> None:
        response = stored(written)
        for hook in hooks:
            hook(connection, response)

    then = run_hooks if hooks else None
    if isinstance(where, ByDeskCode):
        written = add_response_at_desk(where.database, where.desk_code, new, then=then)
    else:
        written = add_response(
            where.session, where.desk, new, submitted_at=where.submitted_at, then=then
        )
    return None if written is None else stored(written)
