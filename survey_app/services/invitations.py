"""Dossier invitations: a signed link printed on a receipt allows one response for that dossier."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "sipas.invitation.v1"
MAX_DOSSIER_LENGTH = 64


class InvitationError(Exception):
    """The token cannot be used. ``kind`` is "invalid" (tampered or garbled) or "expired"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Invitation:
    desk_code: str
    dossier: str
    expires_on: date
    service_code: str | None = None


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def make_invitation(
    desk_code: str,
    dossier: str,
    *,
    days: int,
    service_code: str | None = None,
    today: date | None = None,
) -> Invitation:
    dossier = dossier.strip()
    if not dossier or len(dossier) > MAX_DOSSIER_LENGTH or not dossier.isprintable():
        raise ValueError(f"dossier number must be 1–{MAX_DOSSIER_LENGTH} printable characters")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    start = today or datetime.now(UTC).date()
    return Invitation(desk_code.upper(), dossier, start + timedelta(days=days), service_code)


def sign(secret: str, invitation: Invitation) -> str:
    """The URL-safe token: the invitation's fields and an HMAC-SHA256 over them."""
    payload = [
        invitation.desk_code,
        invitation.dossier,
        invitation.expires_on.toordinal(),
        invitation.service_code,
    ]
    token = _serializer(secret).dumps(payload)
    return token if isinstance(token, str) else token.decode()


def verify(secret: str, token: str, *, today: date | None = None) -> Invitation:
    """Read a token back; raises :class:`InvitationError` if it was altered or has expired."""
    try:
        payload = _serializer(secret).loads(token)
        desk_code, dossier, expires, service_code = payload
        invitation = Invitation(
            str(desk_code),
            str(dossier),
            date.fromordinal(int(expires)),
            None if service_code is None else str(service_code),
        )
    except (BadSignature, ValueError, TypeError, OverflowError):
        raise InvitationError("invalid") from None
    if invitation.expires_on < (today or datetime.now(UTC).date()):
        raise InvitationError("expired")
    return invitation


def dossier_digest(secret: str, desk_code: str, dossier: str) -> str:
    """A keyed digest that tells whether a dossier has answered without storing its number."""
    message = f"{desk_code.upper()}\x1f{dossier}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
