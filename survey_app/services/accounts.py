"""Officers and who sees what: password hashing, the unit tree, scopes, and the audit log.

A scope is the set of units an officer (or API token) may see: an administrator's is every
unit; a unit officer's and a viewer's is their unit and every unit below it. Every loader of
the workspace, the reports and the API asks the scope before it reads data.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import g, has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ROLES, ApiToken, AuditEvent, Officer, Unit, utcnow
from .collation import vi_key
from .pagination import Page, page_of

# argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
#: Stands in for a missing account so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


#: New usernames: ASCII only, so no two look alike (a Cyrillic "а" is not a Latin "a").
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")


def normalise_username(username: str) -> str:
    """The form a username is stored and looked up in: NFKC (full-width letters become
    ASCII), no surrounding spaces, lower case."""
    return unicodedata.normalize("NFKC", username).strip().lower()


class AccountError(ValueError):
    """A request to create or change an account that cannot be done (the message says why)."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(officer: Officer | None, password: str) -> bool:
    """Whether ``password`` is the officer's; upgrades an outdated hash in place."""
    if officer is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return False
    try:
        _hasher.verify(officer.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(officer.password_hash):
        officer.password_hash = _hasher.hash(password)
    return True


def create_officer(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    full_name: str = "",
    unit: Unit | None = None,
) -> Officer:
    """Add an officer (no commit). Officers and viewers need a unit; usernames are unique."""
    username = normalise_username(username)
    if not USERNAME.fullmatch(username):
        raise AccountError("a username is 1–64 ASCII letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
    if role != "admin" and unit is None:
        raise AccountError(f"a {role} needs a unit (--unit CODE)")
    if session.scalar(select(Officer.id).where(Officer.username == username)) is not None:
        raise AccountError(f"the username {username!r} is taken")
    officer = Officer(
        username=username,
        full_name=full_name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        unit=unit,
    )
    session.add(officer)
    session.flush()
    return officer


def set_password(officer: Officer, password: str) -> None:
    """Change the password and end every session signed in with the old one."""
    officer.password_hash = hash_password(password)
    end_sessions(officer)


def end_sessions(officer: Officer) -> None:
    """End every session of the officer, on every device (no commit).

    The session cookie holds the officer's session version (``Officer.get_id``); once the
    version in the database moves on, a cookie saved earlier signs in no one.
    """
    officer.session_version += 1


# -- the unit tree ---------------------------------------------------------------------------


@dataclass
class UnitTree:
    """Every unit, with parents and children by id (a province has a few hundred units)."""

    units: dict[int, Unit]
    by_code: dict[str, Unit] = field(default_factory=dict)
    children: dict[int | None, list[Unit]] = field(default_factory=dict)
    #: successor id → ids of the units merged into it (survey_app/services/unit_history.py).
    predecessors: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> UnitTree:
        from .unit_history import merge_links

        units = {u.id: u for u in session.scalars(select(Unit).order_by(Unit.kind, Unit.name))}
        tree = cls(units, predecessors=merge_links(session))
        for unit in units.values():
            tree.by_code[unit.code] = unit
            tree.children.setdefault(unit.parent_id, []).append(unit)
        for kids in tree.children.values():
            # Today's units before ended ones, the service centre first, then Vietnamese order.
            kids.sort(key=lambda u: (u.valid_to is not None, u.kind != "center", vi_key(u.name)))
        # ``units`` in tree order (each parent before its children), so every list built
        # from it shows the province before its communes.
        ordered: dict[int, Unit] = {}
        stack = list(reversed(tree.children.get(None, [])))
        while stack:
            unit = stack.pop()
            if unit.id not in ordered:
                ordered[unit.id] = unit
                stack.extend(reversed(tree.children.get(unit.id, [])))
        ordered.update({i: u for i, u in units.items() if i not in ordered})
        tree.units = ordered
        return tree

    def subtree_ids(self, unit_id: int) -> set[int]:
        """The unit and every unit below it."""
        found, stack = set(), [unit_id]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(child.id for child in self.children.get(current, ()))
        return found

    def ancestors(self, unit: Unit) -> list[Unit]:
        """The unit's parents from the root down (the unit itself excluded)."""
        chain: list[Unit] = []
        current = self.units.get(unit.parent_id) if unit.parent_id else None
        while current is not None and current not in chain:
            chain.append(current)
            current = self.units.get(current.parent_id) if current.parent_id else None
        return chain[::-1]

    def roots(self) -> list[Unit]:
        return self.children.get(None, [])


def unit_tree(session: Session) -> UnitTree:
    """The tree, loaded once per request."""
    if has_request_context():
        if "unit_tree" not in g:
            g.unit_tree = UnitTree.load(session)
        tree: UnitTree = g.unit_tree
        return tree
    return UnitTree.load(session)


@dataclass(frozen=True)
class Scope:
    """The units someone may see. ``unit_ids`` None means every unit."""

    unit_ids: frozenset[int] | None
    #: The units at the top of the scope (an officer's own unit; an administrator's roots).
    root_ids: tuple[int, ...]

    def allows(self, unit_id: int | None) -> bool:
        return self.unit_ids is None or (unit_id is not None and unit_id in self.unit_ids)

    def restrict(self, unit_ids: Iterable[int]) -> set[int]:
        ids = set(unit_ids)
        return ids if self.unit_ids is None else ids & self.unit_ids


def scope_of(tree: UnitTree, unit_id: int | None) -> Scope:
    """The scope of someone responsible for ``unit_id`` (None: every unit): the unit, those
    below it, and the units merged into them (their history is the unit's)."""
    from .unit_history import stored_unit_ids

    if unit_id is None:
        return Scope(None, tuple(u.id for u in tree.roots()))
    return Scope(stored_unit_ids(tree, unit_id), (unit_id,))


def officer_scope(tree: UnitTree, officer: Officer) -> Scope:
    return scope_of(tree, None if officer.is_admin else officer.unit_id)


# -- API tokens ------------------------------------------------------------------------------

TOKEN_PREFIX = "sipas_"
#: What an API token may do: "read" the index-plan feed; the one-stop system's writes.
READ_SCOPE = "read"
WRITE_SCOPES = ("invitations:write", "dossiers:write")
TOKEN_SCOPES = (READ_SCOPE, *WRITE_SCOPES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    *,
    name: str,
    unit: Unit | None,
    created_by: Officer | None,
    scopes: Iterable[str] = (READ_SCOPE,),
) -> tuple[ApiToken, str]:
    """A new API token (no commit): the row, and the secret shown once and never stored.
    ``scopes``: some of :data:`TOKEN_SCOPES` (a token always reads)."""
    chosen = {READ_SCOPE, *scopes}
    unknown = chosen - set(TOKEN_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip()[:200] or "API",
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=token_digest(secret),
        scopes=" ".join(s for s in TOKEN_SCOPES if s in chosen),
        unit=unit,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row, secret


def find_token(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, or None (unknown or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    return row


# -- the audit log ---------------------------------------------------------------------------


def record(
    session: Session,
    action: str,
    *,
    officer: Officer | None = None,
    actor: str | None = None,
    target: str = "",
    **detail: Any,
) -> AuditEvent:
    """Add an audit event (no commit; the caller's transaction carries it)."""
    event = AuditEvent(
        at=utcnow(),
        officer_id=officer.id if officer is not None else None,
        actor=(actor or (officer.username if officer is not None else "?"))[:200],
        action=action[:40],
        target=str(target)[:200],
        detail={k: v for k, v in detail.items() if v is not None},
        remote_addr=(request.remote_addr or "")[:64] if has_request_context() else "",
    )
    session.add(event)
    return event


def all_officers(session: Session) -> Sequence[Officer]:
    return session.scalars(select(Officer).order_by(Officer.username)).all()


def all_api_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()


def audit_page(session: Session, action: str, number: int) -> Page:
    """A page of the audit log (``action``: only that kind, or every kind if empty), newest
    first."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    return page_of(session, query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), number)


def audit_actions(session: Session) -> Sequence[str]:
    """The kinds of event the log holds, for its filter."""
    return session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
