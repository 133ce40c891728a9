"""The field as the workspace looks it up: units, desks and services by code or by unit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from ..models import Desk, KioskDevice, Service, Unit


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.code == code))


def active_desk(session: Session, code: str) -> Desk | None:
    """The desk with this code if it and its unit take responses, its unit loaded with it."""
    return session.scalar(
        select(Desk)
        .join(Unit)
        .options(contains_eager(Desk.unit))
        .where(Desk.code == code, Desk.active.is_(True), Unit.active.is_(True))
    )


def desk_by_code(session: Session, code: str) -> Desk | None:
    return session.scalar(select(Desk).where(Desk.code == code))


def service_by_code(session: Session, code: str) -> Service | None:
    return session.scalar(select(Service).where(Service.code == code))


def desks_of(session: Session, unit_ids: Iterable[int], *, active_only: bool = False) -> list[Desk]:
    """The desks of these units, by code."""
    query = select(Desk).where(Desk.unit_id.in_(sorted(set(unit_ids)))).order_by(Desk.code)
    if active_only:
        query = query.where(Desk.active.is_(True))
    return list(session.scalars(query))


def desks_by_id(session: Session, desk_ids: Iterable[int]) -> dict[int, Desk]:
    return {d.id: d for d in session.scalars(select(Desk).where(Desk.id.in_(set(desk_ids))))}


def all_desks(session: Session) -> Sequence[Desk]:
    return session.scalars(select(Desk).order_by(Desk.code)).all()


def all_services(session: Session) -> Sequence[Service]:
    return session.scalars(select(Service).order_by(Service.code)).all()


def kiosks_of(session: Session, desk_ids: Iterable[int]) -> Sequence[KioskDevice]:
    """The kiosk devices enrolled at these desks, oldest first."""
    query = select(KioskDevice).where(KioskDevice.desk_id.in_(sorted(set(desk_ids))))
    return session.scalars(query.order_by(KioskDevice.id)).all()
