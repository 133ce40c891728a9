"""Throttled sign-in: attempts counted atomically per username, client address and known device.

Each attempt is counted *before* its password is checked, in one atomic statement (an upsert
returning the new count), so parallel requests cannot all pass a check made before any of them
was recorded. A correct password clears its username's and device's counters.

A username locked by someone else's wrong guesses would lock its owner out too; so a browser
that signed in to that account before carries a signed device cookie, and its attempts are
counted on that device alone (README "Security").
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import SignInAttempts

#: Failures allowed from one address, as a multiple of those allowed for one username.
ADDRESS_FACTOR = 4
DEVICE_SALT = "sign-in-device"
DEVICE_COOKIE_DAYS = 365


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Seconds until the fullest counter's window ends (for Retry-After).
    retry_after: int


def limits(username: str, address: str, device: str | None, limit: int) -> dict[str, int]:
    """The counters one attempt adds to, each with its limit.

    From a known device of the account, only that device's counter: someone else's guesses on
    the username or from the same address (a whole office behind one NAT) never lock it.
    """
    if device is not None:
        return {f"device:{device}": limit}
    return {f"user:{username}": limit, f"addr:{address}": ADDRESS_FACTOR * limit}


def count_attempt(session: Session, limits: dict[str, int], window: int) -> Verdict:
    """Count one attempt on every key; refused if any key is now beyond its limit. Commits."""
    now = int(time.time())
    allowed, retry_after = True, 0
    for key, limit in limits.items():
        attempts, start = _increment(session, key[:200], now, window)
        if attempts > limit:
            allowed = False
            retry_after = max(retry_after, start + window - now)
    session.commit()  # seen by every other worker before this one checks the password
    return Verdict(allowed, max(retry_after, 1))


def clear(session: Session, keys: list[str], window: int) -> None:
    """Forget the attempts on ``keys`` (after a correct password), and every counter whose
    window has ended, so guesses at made-up usernames do not pile up (no commit)."""
    stale = SignInAttempts.window_start <= int(time.time()) - window
    listed = SignInAttempts.key.in_([k[:200] for k in keys])
    session.execute(delete(SignInAttempts).where(listed | stale))


def _increment(session: Session, key: str, now: int, window: int) -> tuple[int, int]:
    """The key's attempts after adding this one, and when its window started."""
    table = SignInAttempts.__table__
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expired = table.c.window_start <= now - window
    statement = (
        insert(table)
        .values(key=key, attempts=1, window_start=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            # Both right-hand sides read the row as it was before this update.
            set_={
                "attempts": case((expired, 1), else_=table.c.attempts + 1),
                "window_start": case((expired, now), else_=table.c.window_start),
            },
        )
        .returning(table.c.attempts, table.c.window_start)
    )
    attempts, start = session.execute(statement).one()
    return int(attempts), int(start)


# -- known devices ---------------------------------------------------------------------------

#: A shared desk computer may be the known device of a few officers.
DEVICE_ACCOUNTS = 5


def device_cookie_name(secure: bool) -> str:
    # "__Host-": sent only over HTTPS, for this host and path "/", so no subdomain can set it.
    return "__Host-sipas_device" if secure else "sipas_device"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=DEVICE_SALT)


def read_device(secret_key: str, cookie: str | None) -> dict[str, str]:
    """username → nonce of the accounts this browser signed in to (empty if none or forged)."""
    if not cookie or len(cookie) > 2000:
        return {}
    try:
        data = _serializer(secret_key).loads(cookie)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def remember_device(secret_key: str, known: dict[str, str], username: str) -> str:
    """The device cookie's new value once ``username`` signed in on it (newest last)."""
    nonce = known.pop(username, None) or secrets.token_urlsafe(16)
    kept = list(known.items())[-(DEVICE_ACCOUNTS - 1) :]
    return _serializer(secret_key).dumps({**dict(kept), username: nonce})
