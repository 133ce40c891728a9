"""Counters of sign-in attempts, shared by every worker (security/throttle.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SignInAttempts(Base):
    """Attempts on one key (a username, an address, a known device) in the current window."""

    __tablename__ = "sign_in_attempts"

    #: "user:<username>", "addr:<client address>" or "device:<device cookie nonce>".
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    #: Unix seconds: a plain integer compares the same way on every backend.
    window_start: Mapped[int] = mapped_column(BigInteger)
