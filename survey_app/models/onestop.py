"""What the province's one-stop information system sends through the API: dossier facts and
petitions (PAKN) that Decision 766 group 5 is computed from, the event keys that make every
write idempotent, and replayable answers to requests sent with an ``Idempotency-Key``.

Nothing here identifies a citizen: a dossier or petition number is kept only as a keyed digest
(pseudonymous, SIPAS.md §10: purged with the other digests, README "Retention")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow
from .responses import BigId

#: The citizen's rating of a dossier or of a petition's handling.
RATINGS = ("satisfied", "not_satisfied")


class OnestopDossier(Base):
    """One dossier's facts as its events said them (the latest value of each)."""

    __tablename__ = "onestop_dossiers"
    __table_args__ = (
        Index(None, "unit_id", "settled_at"),
        Index(None, "desk_id", "settled_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: HMAC-SHA256 of the dossier number (never the number itself).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"))
    #: The desk's unit when the dossier was received (desks may later move).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    procedure_code: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The one-stop system said so (an "overdue" event), whatever the dates say.
    overdue_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "satisfied" / "not_satisfied" / None (not rated).
    rating: Mapped[str | None] = mapped_column(String(16))
    #: At least one petition (PAKN) is about this dossier.
    has_petition: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The month a dossier counts in: returned, or else due, or else received (kept in step
    #: by the service so a month's query is one index range).
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OnestopPetition(Base):
    """A petition or feedback (PAKN) and its handling."""

    __tablename__ = "onestop_petitions"
    __table_args__ = (Index(None, "unit_id", "settled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("onestop_dossiers.id", ondelete="SET NULL")
    )
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A repeat of an earlier petition on the same matter.
    repeated: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfied_votes: Mapped[int] = mapped_column(Integer, default=0)
    not_satisfied_votes: Mapped[int] = mapped_column(Integer, default=0)
    #: Handled, or else due, or else received.
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OnestopEvent(Base):
    """An event already applied, by the caller's key: the same key again is not applied twice."""

    __tablename__ = "onestop_events"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The API token that sent it (a caller's keys are its own); None from the command line.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    #: SHA-256 of the event as sent: the same key with other content is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotentAnswer(Base):
    """The answer given to a request that carried an ``Idempotency-Key`` header, replayed when
    the same caller sends the same key and body again (holds codes and links, no numbers)."""

    __tablename__ = "onestop_idempotent_answers"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
