"""Dossier invitations: an encrypted link printed on a receipt allows one response for that
dossier. The token is AES-GCM: its content (the dossier number) cannot be read from the link,
in an access log or in browser history, and any change to it is detected."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "sipas.invitation.v1"
#: The encrypted tokens' key is derived from the secret key under this label (HKDF).
KEY_LABEL = b"sipas.invitation.v2"
#: … and the key of deterministic nonces under this one (never the same key as the cipher's).
NONCE_LABEL = b"sipas.invitation.nonce.v1"
NONCE_BYTES = 12
MAX_DOSSIER_LENGTH = 64
MAX_TOKEN_LENGTH = 1000


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


@functools.lru_cache(maxsize=8)
def _key(secret: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL)
    return AESGCM(derived.derive(secret.encode()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, invitation: Invitation, *, deterministic: bool = False) -> str:
    """The URL-safe token: ``nonce.ciphertext`` of the invitation's fields (AES-256-GCM).

    ``deterministic``: the nonce is a keyed digest of the plaintext (a synthetic IV), so the
    same invitation always gives the same link — what makes the API's invitations idempotent
    without storing them. A nonce then repeats only with the very same plaintext, which GCM
    allows; it tells only that two links are equal, which anyone can see anyway.
    """
    payload = [
        invitation.desk_code,
        invitation.dossier,
        invitation.expires_on.toordinal(),
        invitation.service_code,
    ]
    plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if deterministic:
        nonce = hmac.new(_nonce_key(secret), plain, hashlib.sha256).digest()[:NONCE_BYTES]
    else:
        nonce = os.urandom(NONCE_BYTES)
    return f"{_b64(nonce)}.{_b64(_key(secret).encrypt(nonce, plain, SALT.encode()))}"


@functools.lru_cache(maxsize=8)
def _nonce_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=NONCE_LABEL)
    return derived.derive(secret.encode())


def verify(secret: str, token: str, *, today: date | None = None) -> Invitation:
    """Read a token back; raises :class:`InvitationError` if it was altered or has expired."""
    try:
        payload = _decrypt(secret, token)
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


def _decrypt(secret: str, token: str) -> Any:
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError("token too long")
    nonce_text, _, sealed = token.partition(".")
    try:
        nonce = _unb64(nonce_text)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("not an encrypted token")
        return json.loads(_key(secret).decrypt(nonce, _unb64(sealed), SALT.encode()))
    except (InvalidTag, binascii.Error, ValueError):
        pass
    # Links printed before tokens were encrypted stay valid until they expire (INVITATION_DAYS).
    return _legacy_serializer(secret).loads(token)


def _legacy_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def dossier_digest(secret: str, desk_code: str, dossier: str) -> str:
    """A keyed digest that tells whether a dossier has answered without storing its number."""
    message = f"{desk_code.upper()}\x1f{dossier}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
