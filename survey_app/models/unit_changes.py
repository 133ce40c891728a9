"""Changes of the unit map as data: merges, splits, renames and moves, each with its effective date.

Responses are never rewritten: a response keeps the unit and desk it was given at, and reports
find today's unit of an old one through these rows (survey_app/services/unit_history.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Desk, Unit
from .officers import Officer

CHANGE_KINDS = ("merge", "split", "rename", "move")
#: The two sides of a merge or split: the units before (``from``) and after (``to``).
SIDES = ("from", "to")


class UnitChange(Base):
    """One change of the map on ``effective_on`` (the first day of the new map).

    - merge: the ``from`` units end and their data rolls into the one ``to`` unit;
    - split: the one ``from`` unit ends; its data is not divided among the ``to`` units;
    - rename: ``unit`` is called ``new_name`` from that day (``old_name`` before);
    - move: ``unit`` (or ``desk``) goes from ``from_parent`` to ``to_parent``.
    """

    __tablename__ = "unit_changes"
    __table_args__ = (Index(None, "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    effective_on: Mapped[date] = mapped_column(Date)
    #: The legal basis, e.g. "Nghị quyết 1679/NQ-UBTVQH15".
    basis: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id"), default=None)
    old_name: Mapped[str | None] = mapped_column(String(200), default=None)
    new_name: Mapped[str | None] = mapped_column(String(200), default=None)
    from_parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    to_parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    desk: Mapped[Desk | None] = relationship()
    from_parent: Mapped[Unit | None] = relationship(foreign_keys=[from_parent_id])
    to_parent: Mapped[Unit | None] = relationship(foreign_keys=[to_parent_id])
    recorded_by: Mapped[Officer | None] = relationship()
    links: Mapped[list[UnitChangeLink]] = relationship(
        back_populates="change", cascade="all, delete-orphan", order_by="UnitChangeLink.id"
    )

    def units_on(self, side: str) -> list[Unit]:
        return [link.unit for link in self.links if link.side == side]


class UnitChangeLink(Base):
    """A unit on one side of a merge or split."""

    __tablename__ = "unit_change_links"
    __table_args__ = (Index(None, "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("unit_changes.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    side: Mapped[str] = mapped_column(String(4))

    change: Mapped[UnitChange] = relationship(back_populates="links")
    unit: Mapped[Unit] = relationship()
