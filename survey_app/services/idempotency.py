"""Requests sent with an ``Idempotency-Key`` header: the answer given the first time is kept
and given again for the same key and body, so a client that lost the answer can simply
resend; the same key with another body is refused."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import IdempotentAnswer

MAX_KEY_LENGTH = 200


class KeyReused(Exception):
    """This key was used before with another request body or endpoint."""


@dataclass(frozen=True)
class Stored:
    status: int
    body: str


def request_hash(endpoint: str, body: bytes) -> str:
    return hashlib.sha256(endpoint.encode() + b"\x1f" + body).hexdigest()


def replay(session: Session, token_id: int, key: str, endpoint: str, body: bytes) -> Stored | None:
    """The answer stored for this key, None if the key is new; :class:`KeyReused` if it was
    used for something else."""
    row = session.scalar(
        select(IdempotentAnswer).where(
            IdempotentAnswer.token_id == token_id, IdempotentAnswer.key == key
        )
    )
    if row is None:
        return None
    if row.request_hash != request_hash(endpoint, body):
        raise KeyReused(key)
    return Stored(row.status, row.body)


def remember(
    session: Session, token_id: int, key: str, endpoint: str, body: bytes, status: int, answer: str
) -> None:
    """Keep an answer (no commit: stored with the request's own writes, or not at all)."""
    session.add(
        IdempotentAnswer(
            token_id=token_id,
            key=key,
            endpoint=endpoint[:40],
            request_hash=request_hash(endpoint, body),
            status=status,
            body=answer,
        )
    )
    session.flush()
