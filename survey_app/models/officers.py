"""Who works in the officer workspace: officers, the API tokens of the index-plan feed, and the
audit log of what they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .field import Unit
from .responses import BigId

#: administrator: everything; officer: their unit and every unit below it; viewer: read-only.
ROLES = ("admin", "officer", "viewer")


class Officer(Base):
    """A person who signs in to the workspace. Never linked to any response."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    #: Argon2id hash (argon2-cffi's encoded form, parameters included).
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    #: The unit an officer or viewer is responsible for (with every unit below it); an
    #: administrator may have none.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Raised on a password change or deactivation: every signed-in session ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship()

    # -- Flask-Login's protocol -------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The version in the id makes an old session cookie load no one once it changes.
        return f"{self.id}.{self.session_version}"

    # -- roles -------------------------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_edit(self) -> bool:
        """Administrators and unit officers change things; viewers only look."""
        return self.role in ("admin", "officer")


class ApiToken(Base):
    """A bearer token of the index-plan feed, scoped to a unit like an officer."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The first characters of the token, shown so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the whole token: it is random and long, so a slow hash adds nothing.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: None: every unit (issued by an administrator for a provincial system).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship()
    created_by: Mapped[Officer | None] = relationship()

    #: What the token may do, space-separated (WRITE_SCOPES in services/accounts.py); "read"
    #: alone for the index-plan feed, as every token issued before write scopes existed.
    scopes: Mapped[str] = mapped_column(String(200), default="read", server_default="read")

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class AuditEvent(Base):
    """One line of the audit log: sign-ins, exports, setting changes, enrolments, decisions."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "action", "at"), Index(None, "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    #: Who acted as shown in the log: a username, "api:<token name>" or "cli".
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    #: What it was done to: a unit or desk code, a username, a file name.
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The officer's address (officers, not citizens: responses never store one).
    remote_addr: Mapped[str] = mapped_column(String(64), default="")

    officer: Mapped[Officer | None] = relationship()
