"""Enrolling, authenticating and revoking kiosk tablets (data functions: the caller commits)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from ..models import Desk, Enrolment, KioskDevice, Unit, utcnow

#: Letters and digits nobody confuses when typing a code read off a screen (no 0/O, 1/I/L, U/V).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
#: 16 symbols of 29: about 78 bits, and the code expires and works once.
CODE_LENGTH = 16


def digest(secret: str) -> str:
    """hex SHA-256: all the database keeps of a device token or an enrolment code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(text: str) -> str:
    """What was typed or scanned, without spaces or dashes, in capitals."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def format_code(code: str) -> str:
    """``ABCD-EFGH-JKMN-PQRS``: easier to read aloud and to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class IssuedEnrolment:
    """A fresh enrolment code; the code itself exists only here, never in the database."""

    device: KioskDevice
    code: str
    expires_at: datetime


def _issue(session: Session, device: KioskDevice, hours: float) -> IssuedEnrolment:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    enrolment = Enrolment(
        device=device,
        code_hash=digest(code),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(enrolment)
    session.flush()
    return IssuedEnrolment(device, code, enrolment.expires_at)


def enrol_device(session: Session, desk: Desk, label: str, *, hours: float) -> IssuedEnrolment:
    """A new device for ``desk`` and its one-time code (valid for ``hours``)."""
    device = KioskDevice(desk=desk, label=label.strip()[:100])
    session.add(device)
    return _issue(session, device, hours)


def reissue(session: Session, device: KioskDevice, *, hours: float) -> IssuedEnrolment:
    """A new code for an existing device: a wiped tablet, an expired code, or re-enrolment
    after a revocation (using the code lifts it)."""
    return _issue(session, device, hours)


class EnrolmentRefused(Exception):
    """The code cannot enrol a tablet. ``kind``: unknown, used, expired or desk_inactive."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def exchange(
    session: Session, code: str, *, now: datetime | None = None
) -> tuple[KioskDevice, str]:
    """Use a code once: the device it was issued for gets a new token (returned, never stored).

    A used code is marked with one conditional UPDATE, so two tablets racing with the same code
    cannot both win.
    """
    now = now or utcnow()
    enrolment = session.scalar(
        select(Enrolment)
        .options(joinedload(Enrolment.device).joinedload(KioskDevice.desk).joinedload(Desk.unit))
        .where(Enrolment.code_hash == digest(normalise_code(code)))
    )
    if enrolment is None:
        raise EnrolmentRefused("unknown")
    if enrolment.used_at is not None:
        raise EnrolmentRefused("used")
    if enrolment.expires_at <= now:
        raise EnrolmentRefused("expired")
    device = enrolment.device
    if not device.desk.active or not device.desk.unit.active:
        raise EnrolmentRefused("desk_inactive")
    claimed = session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id, Enrolment.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrolmentRefused("used")
    token = secrets.token_urlsafe(32)
    device.token_hash = digest(token)
    device.enrolled_at = now
    device.revoked_at = None
    device.last_seen_at = now
    return device, token


def device_for_token(session: Session, token: str) -> KioskDevice | None:
    """The device holding this bearer token (revoked ones included: the caller says 403)."""
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(KioskDevice)
        .join(Desk)
        .join(Unit)
        .options(joinedload(KioskDevice.desk).joinedload(Desk.unit))
        .where(KioskDevice.token_hash == digest(token))
    )


def revoke(session: Session, device: KioskDevice, *, now: datetime | None = None) -> None:
    """Refuse the device's token from now on, and any code issued for it but not yet used."""
    now = now or utcnow()
    device.revoked_at = now
    session.execute(
        update(Enrolment)
        .where(Enrolment.device_id == device.id, Enrolment.used_at.is_(None))
        .where(Enrolment.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def devices_with_desks(session: Session, desk_id: int | None = None) -> Sequence[KioskDevice]:
    """Every kiosk device (or those of one desk) with its desk loaded, oldest first."""
    query = select(KioskDevice).options(joinedload(KioskDevice.desk)).order_by(KioskDevice.id)
    if desk_id is not None:
        query = query.where(KioskDevice.desk_id == desk_id)
    return session.scalars(query).all()
