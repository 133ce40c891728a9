"""Index targets of a unit's plan (SIPAS ≥ 85 this year …): listed and set, one per code/period."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Officer, Target, Unit, utcnow


def targets_of(session: Session, unit_ids: AbstractSet[int] | None) -> Sequence[Target]:
    """Targets of these units (None: every unit), latest period first."""
    query = select(Target).order_by(Target.period.desc(), Target.unit_id, Target.code)
    if unit_ids is not None:
        query = query.where(Target.unit_id.in_(sorted(unit_ids)))
    return session.scalars(query).all()


def set_target(
    session: Session, unit: Unit, code: str, period: str, value: float, by: Officer
) -> tuple[Target, float | None]:
    """Set (or change) a target, no commit; returns it and the value it had before."""
    row = session.scalar(
        select(Target).where(
            Target.unit_id == unit.id, Target.code == code, Target.period == period
        )
    )
    before = row.value if row is not None else None
    if row is None:
        row = Target(unit_id=unit.id, code=code, period=period)
        session.add(row)
    row.value = value
    row.set_by_id = by.id
    row.set_at = utcnow()
    return row, before
