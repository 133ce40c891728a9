"""Where surveys are collected: the tree of units, their desks, and the service catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

UNIT_KINDS = ("province", "district", "center", "commune", "national")


class Unit(Base):
    """An administrative unit: province → district → commune; a district's public
    administration center is a unit under its district."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    desks: Mapped[list[Desk]] = relationship(back_populates="unit")

    def lineage(self) -> list[Unit]:
        """This unit and its ancestors, nearest first."""
        chain: list[Unit] = []
        unit: Unit | None = self
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = unit.parent
        return chain


class Desk(Base):
    """A counter where citizens are served; its short public code is in its QR poster's URL."""

    __tablename__ = "desks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    questionnaire: Mapped[str] = mapped_column(String(32), default="sipas-service")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The walk-up tablet's questionnaire (shorter than the QR survey's by default).
    kiosk_questionnaire: Mapped[str] = mapped_column(
        String(32), default="sipas-kiosk", server_default="sipas-kiosk"
    )
    #: Local opening hours per weekday, e.g. {"mon": ["07:30-11:30", "13:30-17:00"], …};
    #: a day not listed is closed; None: always open (see survey_app/services/opening_hours.py).
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    unit: Mapped[Unit] = relationship(back_populates="desks")


class Service(Base):
    """An administrative procedure from the catalogue (optional on a response)."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
