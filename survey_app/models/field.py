"""Where surveys are collected: the tree of units, their desks, and the service catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

#: Administrative units of today's two tiers (since 1/7/2025: a province and its communes,
#: wards and special zones).
TODAY_KINDS = ("province", "commune", "ward", "special_zone")
#: Kinds kept only for history: districts ended on 1/7/2025 (SIPAS.md §8).
HISTORY_KINDS = ("district",)
#: Service points: a public administration service centre (a province's, or a former
#: district's), a commune centre or branch of the provincial centre, a reception point.
SERVICE_POINT_KINDS = ("center", "branch", "reception_point")
#: The root of a national instance that imports provinces' summaries (federation).
NATIONAL_KINDS = ("national",)
UNIT_KINDS = (*TODAY_KINDS, *HISTORY_KINDS, *SERVICE_POINT_KINDS, *NATIONAL_KINDS)
#: The kinds ranked against each other (service points and districts are not).
RANKED_KINDS = ("commune", "ward", "special_zone")


class Unit(Base):
    """A unit: province → commune, ward or special zone (a district, in history), with its
    service points below it (a commune's centre or branch → reception points; desks hang on
    any). A unit exists from ``valid_from`` (None: always) until the day before ``valid_to``
    (None: still exists); its changes (merge, split, rename, move) are UnitChange rows."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Unit | None] = relationship(
        remote_side=[id], back_populates="children", foreign_keys=[parent_id]
    )
    children: Mapped[list[Unit]] = relationship(back_populates="parent", foreign_keys=[parent_id])
    desks: Mapped[list[Desk]] = relationship(back_populates="unit")

    #: The first day the unit exists (None: before any recorded change).
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    #: The first day it no longer exists (None: it exists today).
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    #: A commune centre that is a branch of the provincial centre: that centre (the service
    #: tree provincial centre → branch → reception point → desk, beside the parent tree).
    branch_of_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    branch_of: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[branch_of_id])

    def exists_during(self, first: date, last: date) -> bool:
        """Whether the unit existed on any day from ``first`` to ``last`` (both included)."""
        return (self.valid_from is None or self.valid_from <= last) and (
            self.valid_to is None or self.valid_to > first
        )

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
