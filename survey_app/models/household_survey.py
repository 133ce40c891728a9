"""The province's own household (or dossier) survey: its sample plan, the drawn units, paper
forms keyed twice by clerks, and the design of each stored paper response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Unit
from .officers import Officer
from .responses import BigId

#: How a plan's total is shared among its strata: each stratum its own required n, or
#: analysis.allocate's equal / proportional / neyman (the least province margin).
ALLOCATIONS = ("required", "equal", "proportional", "neyman")
#: What the frame lists: households (a household survey) or dossiers served (an exit survey).
FRAME_KINDS = ("households", "dossiers")


class SamplePlan(Base):
    """A stored sample plan: how the sizes were set and the seed of its draw (reproducible)."""

    __tablename__ = "sample_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    questionnaire: Mapped[str] = mapped_column(String(32))
    frame_kind: Mapped[str] = mapped_column(String(16))
    #: ``ministry`` (n = N/(1 + N e²)) or ``margin`` (Cochran's n for ± margin).
    rule: Mapped[str] = mapped_column(String(16))
    margin: Mapped[float] = mapped_column(Float)
    allocation: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(Integer)
    two_stage: Mapped[bool] = mapped_column(Boolean, default=False)
    per_cluster: Mapped[int] = mapped_column(Integer, default=10)
    frame_rows: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the frame as uploaded, so a redraw can prove it used the same frame.
    frame_sha256: Mapped[str] = mapped_column(String(64))
    province_margin: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[Officer | None] = relationship()
    strata: Mapped[list[SampleStratum]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="SampleStratum.stratum"
    )


class SampleStratum(Base):
    """One stratum (a commune or department, an app unit) of a plan: N, required and drawn n."""

    __tablename__ = "sample_strata"
    __table_args__ = (UniqueConstraint("plan_id", "stratum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sample_plans.id", ondelete="CASCADE"))
    #: The unit's code as the frame writes it.
    stratum: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    population: Mapped[int] = mapped_column(Integer)
    clusters: Mapped[int] = mapped_column(Integer)
    n_required: Mapped[int] = mapped_column(Integer)
    n_planned: Mapped[int] = mapped_column(Integer)
    n_drawn: Mapped[int] = mapped_column(Integer)
    clusters_drawn: Mapped[int] = mapped_column(Integer)
    margin: Mapped[float | None] = mapped_column(Float)

    plan: Mapped[SamplePlan] = relationship(back_populates="strata")
    unit: Mapped[Unit] = relationship()


class SampleUnit(Base):
    """A drawn household or dossier: its form number and its design (stratum, cluster, weight)."""

    __tablename__ = "sample_units"
    __table_args__ = (
        UniqueConstraint("plan_id", "form_number"),
        UniqueConstraint("plan_id", "frame_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sample_plans.id", ondelete="CASCADE"))
    form_number: Mapped[int] = mapped_column(Integer)
    frame_id: Mapped[str] = mapped_column(String(64))
    stratum: Mapped[str] = mapped_column(String(32))
    cluster: Mapped[str | None] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float)
    #: PSUs in the stratum's frame (villages, or units in a one-stage draw).
    fpc: Mapped[float] = mapped_column(Float)


class PaperKeying(Base):
    """One clerk's keying of one paper form (double entry: two clerks key every form)."""

    __tablename__ = "paper_keyings"
    __table_args__ = (UniqueConstraint("plan_id", "form_number", "clerk_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sample_plans.id", ondelete="CASCADE"))
    form_number: Mapped[int] = mapped_column(Integer)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    #: Item code → keyed code (or list of codes for a multi question, text for the comment).
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    keyed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clerk: Mapped[Officer] = relationship()


class PaperForm(Base):
    """A settled paper form, stored through the intake: the response and its design."""

    __tablename__ = "paper_forms"
    __table_args__ = (UniqueConstraint("plan_id", "form_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sample_plans.id", ondelete="CASCADE"))
    form_number: Mapped[int] = mapped_column(Integer)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), unique=True
    )
    stratum: Mapped[str] = mapped_column(String(32))
    cluster: Mapped[str | None] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float)
    fpc: Mapped[float] = mapped_column(Float)
    #: ``agreed`` (two keyings equal), ``settled`` (a third clerk chose) or ``imported``.
    source: Mapped[str] = mapped_column(String(12))
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
