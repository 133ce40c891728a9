"""The index plan (SIPAS.md §6): targets per unit, index and period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Unit
from .officers import Officer


class Target(Base):
    """A target such as "SIPAS ≥ 85 in 2026" for a unit.

    ``period`` is a period label as analysis/ writes it (``2026``, ``2026-Q2``, ``2026-05``) or
    empty for every period; ``code`` an index or item code (``SIPAS``, ``PA``, ``TC1``).
    """

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("unit_id", "code", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[float] = mapped_column(Float)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    set_by: Mapped[Officer | None] = relationship()
