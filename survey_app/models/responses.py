"""What citizens answer: responses (answers in the row), comments, used invitations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Desk, Service, Unit

CHANNELS = ("qr", "kiosk", "web", "paper")

#: JSONB on PostgreSQL (binary, so an item is read without parsing the text), JSON elsewhere.
ANSWER_CODES = JSON().with_variant(JSONB(), "postgresql")

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class QuestionnaireVersion(Base):
    """A published questionnaire version, kept whole so old responses can always be read."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Response(Base):
    """One submitted survey. Anonymous: nothing here identifies the person."""

    __tablename__ = "responses"
    __table_args__ = (
        Index(None, "unit_id", "submitted_at"),
        Index(None, "desk_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Made by the client (the form's submission id, the kiosk's record id): a retry is stored once.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"))
    #: The desk's unit when the response arrived (desks may later move).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    channel: Mapped[str] = mapped_column(String(8))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    #: When the server stored it (UTC).
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the citizen answered, if the client says so (kiosk device time, sanity-checked).
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Seconds from showing the form to submitting it.
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    #: The validity rule of the questionnaire (enough satisfaction items answered).
    valid: Mapped[bool] = mapped_column(Boolean)
    #: Integrity flags, ';'-separated (e.g. "too_fast"); empty when none.
    flags: Mapped[str] = mapped_column(String(200), default="")
    via_invitation: Mapped[bool] = mapped_column(Boolean, default=False)

    desk: Mapped[Desk] = relationship()
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service | None] = relationship()
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    comment: Mapped[Comment | None] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )
    #: Integrity signals (services/integrity.py, README "Integrity and privacy"): a keyed digest
    #: of the client address and user agent whose key changes every day (never the address),
    #: blanked after INTEGRITY_SOURCE_DAYS; and the answer codes in item order, one character
    #: each, to find identical answer vectors at a desk.
    source_digest: Mapped[str | None] = mapped_column(String(16))
    answers_vector: Mapped[str | None] = mapped_column(String(64))
    #: The answers, item code to code (0 is "cannot judge"): one row write per response, where
    #: a row per answer cost ~25 (issue 10). Read in SQL as ``answer_codes[item]``.
    answer_codes: Mapped[dict[str, int]] = mapped_column(
        ANSWER_CODES, default=dict, server_default=text("'{}'")
    )

    @property
    def answers(self) -> list[Answer]:
        """The answered items, in the order they were stored."""
        return [Answer(item, int(code)) for item, code in (self.answer_codes or {}).items()]


class Answer(NamedTuple):
    """One answered item of a response (read from :attr:`Response.answer_codes`)."""

    item: str
    #: The answer's code on the item's scale; 0 is "cannot judge".
    code: int


class Comment(Base):
    """The free-text comment of a response (NFC, at most the questionnaire's max length)."""

    __tablename__ = "comments"

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="comment")


class InvitationUse(Base):
    """A dossier invitation that has been answered. Kept apart from responses (no link to one)
    and holding only a keyed digest of the dossier number, so answers stay anonymous."""

    __tablename__ = "invitation_uses"
    __table_args__ = (UniqueConstraint("desk_id", "dossier_digest"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"))
    dossier_digest: Mapped[str] = mapped_column(String(64))
    #: The day only: a time would let someone match the use to a response.
    used_on: Mapped[date] = mapped_column(Date)
