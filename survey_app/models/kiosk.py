"""Reception-desk tablets: enrolled devices, their one-time enrolment codes, what they sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Desk
from .responses import BigId


class KioskDevice(Base):
    """A tablet that collects responses for one desk.

    Only a SHA-256 digest of its bearer token is kept: a leaked database does not let anyone
    submit as the tablet. The token is set when the tablet exchanges an enrolment code; a revoked
    device keeps its row (and its responses keep pointing at it).
    """

    __tablename__ = "kiosk_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    #: hex SHA-256 of the device token; empty until the tablet has used its enrolment code.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the tablet last exchanged an enrolment code for a token.
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Heartbeat: the last request the tablet made, and what it said about its queue then.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_queue_length: Mapped[int | None] = mapped_column(Integer)
    last_rejected_count: Mapped[int | None] = mapped_column(Integer)
    #: When a response from this tablet was last stored.
    last_stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_version: Mapped[str | None] = mapped_column(String(32))
    #: Per-device overrides of the KIOSK_* settings (None: the app's setting applies).
    min_seconds: Mapped[int | None] = mapped_column(Integer)
    max_per_hour: Mapped[int | None] = mapped_column(Integer)
    idle_seconds: Mapped[int | None] = mapped_column(Integer)
    #: When the tablet last sent a heartbeat (``last_seen_at`` also moves on every upload): a
    #: heartbeat that said "queue empty" after a response's claimed time contradicts the claim.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    desk: Mapped[Desk] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="device", cascade="all, delete-orphan"
    )

    @property
    def state(self) -> str:
        """``revoked``, ``enrolled`` or ``waiting`` (a code was issued but not yet used)."""
        if self.revoked_at is not None:
            return "revoked"
        return "enrolled" if self.token_hash else "waiting"


class Enrolment(Base):
    """A one-time code that turns a tablet into a desk's kiosk (hashed, expiring)."""

    __tablename__ = "kiosk_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("kiosk_devices.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    device: Mapped[KioskDevice] = relationship(back_populates="enrolments")


class KioskSubmission(Base):
    """The kiosk side of a stored response: which tablet sent it and a digest of its answers.

    The digest tells a replay (same UUID, same answers: answered as before) from a conflict
    (same UUID, other answers: 409); ``answered_at`` with the device id counts a tablet's rate.
    Kept beside ``responses`` rather than in it, so the citizen path is untouched.
    """

    __tablename__ = "kiosk_submissions"
    __table_args__ = (Index(None, "device_id", "answered_at"),)

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("kiosk_devices.id"))
    #: hex SHA-256 of the canonical JSON of (questionnaire, version, answers).
    answers_digest: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
