"""Writing a checked response: one transaction, one row per answer, stored once per UUID.

Only the intake (``services.intake``) calls the writers here; channels go through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, exists, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from questionnaires import CheckedAnswers

from ..db import Database
from ..models import Desk, InvitationUse, Response, Service, utcnow

# The tables themselves: the submit path uses Core inserts (see add_response).
from ..models.tables import ANSWERS, COMMENTS, DESKS, INVITATION_USES, RESPONSES, UNITS
from .questionnaire_store import PublishedVersion


@dataclass(frozen=True)
class NewResponse:
    """Everything known about a response before it is stored."""

    uuid: uuid.UUID
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


@dataclass(frozen=True)
class Written:
    """Where a response was written: its id, desk, unit and the time it was stored."""

    id: int
    desk_id: int
    unit_id: int
    submitted_at: datetime


#: Called with the connection and the written row, inside the transaction that wrote it.
Then = Callable[[Connection, Written], None]


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
    session: Session,
    desk: Desk,
    new: NewResponse,
    *,
    submitted_at: datetime | None = None,
    then: Then | None = None,
) -> Written:
    """Insert the response at ``desk`` with its answers, comment and invitation use (no commit).

    Statements run at once, so a duplicate UUID or an answered dossier raises IntegrityError here
    (unique constraints, also against a concurrent request); the caller rolls back and decides
    what that means for its client.
    """
    # The session's own connection, so these inserts share its transaction, but without the
    # ORM's statement handling, which is most of the cost of a Core insert run through it.
    connection = session.connection()
    now = submitted_at or utcnow()
    written = Written(
        _insert(connection, desk.id, desk.unit_id, new, now), desk.id, desk.unit_id, now
    )
    if then is not None:
        then(connection, written)
    return written


def add_response_at_desk(
    database: Database, desk_code: str, new: NewResponse, *, then: Then | None = None
) -> Written | None:
    """Store the response at the active desk with this public code, committed; returns where,
    or None when there is no such active desk (nothing is stored then).

    The citizen survey's submit path, the hottest code in the app: on PostgreSQL one statement
    (one round trip, atomic on its own) finds the desk and inserts everything; elsewhere one
    short transaction does the same in steps. ``then`` runs in the same transaction (on
    PostgreSQL the statement then runs inside BEGIN … COMMIT rather than by itself). A duplicate
    UUID or an answered dossier raises IntegrityError and stores nothing.
    """
    now = utcnow()
    if database.autocommit is not None:
        params = _store_params(desk_code, new, now)
        if then is not None:
            params[_THEN] = then
        row = _store_in_one_statement(database.autocommit, params)
        return None if row is None else Written(row[0], row[1], row[2], now)
    with database.engine.begin() as connection:
        desk = connection.execute(_ACTIVE_DESK, {"code": desk_code}).first()
        if desk is None:
            return None
        written = Written(
            _insert(connection, desk.id, desk.unit_id, new, now), desk.id, desk.unit_id, now
        )
        if then is not None:
            then(connection, written)
        return written


def _store_in_one_statement(
    engine: Engine, params: dict[str, object]
) -> tuple[int, int, int] | None:
    try:
        return _run_store(engine, params)
    except DBAPIError as error:
        # The pool does not ping a connection before use (a round trip per submission), so one
        # that died since (a database restart) fails here; the pool drops it and its like, and
        # the statement runs once more on a new connection. Should the first try have committed
        # after all, the second raises IntegrityError for the same UUID, which the caller
        # already reads as "stored".
        if not error.connection_invalidated:
            raise
        return _run_store(engine, params)


#: The key of ``params`` that carries the after-store hooks to :func:`_run_store` (so the
#: retry above wraps the hooks' transaction as it wraps the lone statement).
_THEN = "_then"


def _run_store(engine: Engine, params: dict[str, object]) -> tuple[int, int, int] | None:
    then = params.get(_THEN)
    values = {key: value for key, value in params.items() if key != _THEN}
    with engine.connect() as connection:
        if then is None:
            row = connection.execute(_STORE_AT_DESK, values).first()
            return None if row is None else (row[0], row[1], row[2])
        # The pool commits each statement by itself; the hooks' writes must commit or roll
        # back with the response, so this one runs between an explicit BEGIN and COMMIT.
        connection.exec_driver_sql("BEGIN")
        try:
            row = connection.execute(_STORE_AT_DESK, values).first()
            if row is not None:
                when = values["submitted_at"]
                assert isinstance(when, datetime)
                then(connection, Written(row[0], row[1], row[2], when))  # type: ignore[operator]
            connection.exec_driver_sql("COMMIT")
        except BaseException:
            if not connection.invalidated:
                connection.exec_driver_sql("ROLLBACK")
            raise
        return None if row is None else (row[0], row[1], row[2])


def _response_row(new: NewResponse, now: datetime) -> dict[str, object]:
    """The response's own columns, except where it was answered (desk and unit)."""
    return {
        "uuid": new.uuid,
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


def _insert(
    connection: Connection, desk_id: int, unit_id: int, new: NewResponse, now: datetime
) -> int:
    response_id: int = connection.execute(
        insert(RESPONSES).returning(RESPONSES.c.id),
        [{**_response_row(new, now), "desk_id": desk_id, "unit_id": unit_id}],
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
            [{"desk_id": desk_id, "dossier_digest": new.invitation_digest, "used_on": now.date()}],
        )
    return response_id


_ACTIVE_DESK = (
    select(DESKS.c.id, DESKS.c.unit_id)
    .join(UNITS, UNITS.c.id == DESKS.c.unit_id)
    .where(DESKS.c.code == bindparam("code"), DESKS.c.active.is_(True), UNITS.c.active.is_(True))
)

# Data-modifying CTEs all run, to completion, whether or not the final SELECT reads them; when no
# active desk matches, `response` inserts nothing, so neither do the others.
_STORE_AT_DESK = text(
    """
    WITH desk AS (
        SELECT desks.id, desks.unit_id
        FROM desks JOIN units ON units.id = desks.unit_id
        WHERE desks.code = :desk_code AND desks.active AND units.active
    ), response AS (
        INSERT INTO responses (
            uuid, desk_id, unit_id, service_id, channel, questionnaire_version_id, submitted_at,
            answered_at, duration_seconds, language, valid, flags, via_invitation
        )
        SELECT :uuid, desk.id, desk.unit_id, :service_id, :channel, :questionnaire_version_id,
            :submitted_at, :answered_at, :duration_seconds, :language, :valid, :flags,
            :via_invitation
        FROM desk
        RETURNING id, desk_id, unit_id
    ), answer AS (
        INSERT INTO answers (response_id, item, code)
        SELECT response.id, given.item, given.code
        FROM response,
            unnest(CAST(:items AS VARCHAR[]), CAST(:codes AS SMALLINT[])) AS given (item, code)
    ), comment AS (
        INSERT INTO comments (response_id, text)
        SELECT response.id, CAST(:comment AS TEXT) FROM response
        WHERE CAST(:comment AS TEXT) IS NOT NULL
    ), invitation_use AS (
        INSERT INTO invitation_uses (desk_id, dossier_digest, used_on)
        SELECT response.desk_id, CAST(:digest AS VARCHAR), CAST(:used_on AS DATE) FROM response
        WHERE CAST(:digest AS VARCHAR) IS NOT NULL
    )
    SELECT id, desk_id, unit_id FROM response
    """
).bindparams(
    bindparam("uuid", type_=RESPONSES.c.uuid.type),
    bindparam("submitted_at", type_=RESPONSES.c.submitted_at.type),
    bindparam("answered_at", type_=RESPONSES.c.answered_at.type),
)


def _store_params(desk_code: str, new: NewResponse, now: datetime) -> dict[str, object]:
    return {
        **_response_row(new, now),
        "desk_code": desk_code,
        "items": list(new.answers.codes),
        "codes": list(new.answers.codes.values()),
        "comment": new.answers.comment or None,
        "digest": new.invitation_digest,
        "used_on": now.date(),
    }
