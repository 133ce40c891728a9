"""Invitations asked for by the one-stop system: a dossier (number, desk, procedure, when it
was returned) in, the invitation token out — many at once, all checked before any is made.

Idempotent without storing anything: the token is encrypted with a nonce derived from its
content (``invitations.sign(deterministic=True)``) and expires a fixed number of days after
the dossier was returned, so the same dossier always gets the same link."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Desk
from . import invitations
from .onestop_events import FUTURE_SLACK, Problem, TimeZoneMissing, parse_time

KNOWN_FIELDS = {"dossier", "desk", "procedure", "returned_at", "key", "send"}
PROCEDURE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
#: A Vietnamese mobile number: 0 or +84, then a mobile prefix and 8 digits.
PHONE = re.compile(r"^(?:0|\+84|84)(?:3|5|7|8|9)[0-9]{8}$")
CHANNELS = ("sms", "zalo_zns")


@dataclass(frozen=True)
class SendRequest:
    """Send the link to this phone by SMS or Zalo ZNS (the citizen agreed: ``consent``)."""

    channel: str
    phone: str


@dataclass(frozen=True)
class Issued:
    """One invitation made: its place in the request, the caller's key, the token."""

    index: int
    key: str | None
    desk_code: str
    token: str
    expires_on: date
    send: SendRequest | None


class InvitationsRefused(Exception):
    """At least one item breaks a rule: no invitation was made."""

    def __init__(self, problems: Sequence[Problem], total: int) -> None:
        super().__init__(f"{len(problems)} of {total} dossiers break a rule; nothing was made")
        self.problems = list(problems)
        self.total = total


def _send(raw: Any, channels: Sequence[str]) -> SendRequest:
    if not isinstance(raw, dict) or set(raw) - {"channel", "phone", "consent"}:
        raise ValueError("send must be an object with channel, phone and consent")
    if raw.get("channel") not in channels:
        raise ValueError(f"send.channel must be one of {', '.join(channels) or '(none enabled)'}")
    phone = raw.get("phone")
    if not isinstance(phone, str) or not PHONE.match(phone.replace(" ", "")):
        raise ValueError("send.phone must be a Vietnamese mobile number such as 0912345678")
    if raw.get("consent") is not True:
        # Law 91/2025: explicit consent, never a default.
        raise ConsentMissing("send needs consent: true (the citizen agreed to receive it)")
    return SendRequest(raw["channel"], phone.replace(" ", ""))


class ConsentMissing(ValueError):
    pass


def issue(
    session: Session,
    items: Sequence[Any],
    *,
    secret: str,
    days: int,
    time_zone: str,
    allowed_unit_ids: set[int] | None,
    send_channels: Sequence[str] = CHANNELS,
    now: datetime | None = None,
    max_problems: int = 100,
) -> list[Issued]:
    """Make an invitation for every item, or raise :class:`InvitationsRefused` (none made).

    An item: ``{"dossier", "desk", "procedure"?, "returned_at", "key"?, "send"?}``. Rules:
    ``bad_field``, ``time_zone``, ``not_in_future``, ``expired`` (returned more than ``days``
    ago), ``unknown_desk`` (or closed), ``out_of_scope``, ``consent_required``."""
    now = now or datetime.now(UTC)
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    desks = {
        row.code: (row.unit_id, row.active)
        for row in session.execute(select(Desk.code, Desk.unit_id, Desk.active))
    }
    made: list[Issued] = []
    problems: list[Problem] = []
    for index, raw in enumerate(items):
        key = raw.get("key") if isinstance(raw, Mapping) else None
        key = key if isinstance(key, str) and 0 < len(key) <= 100 else None
        record = raw.get("dossier") if isinstance(raw, Mapping) else None
        record = f"dossier {record}" if isinstance(record, str) else None

        def refuse(
            rule: str,
            message: str,
            index: int = index,
            key: str | None = key,
            record: str | None = record,
        ) -> None:
            where = f"item {index}" + (f" (key {key!r})" if key else "")
            if record:
                where += f", {record}"
            problems.append(Problem(index, key, record, rule, f"{where}: {message} — rule {rule}"))

        if not isinstance(raw, dict):
            refuse("bad_field", "must be a JSON object")
            continue
        unknown = set(raw) - KNOWN_FIELDS
        if unknown:
            refuse("bad_field", f"unknown field(s) {', '.join(sorted(unknown))}")
            continue
        number: str = raw["dossier"] if isinstance(raw.get("dossier"), str) else ""
        desk_code = raw.get("desk")
        procedure = raw.get("procedure")
        if not isinstance(desk_code, str) or not desk_code.strip():
            refuse("bad_field", "desk is required (the desk's code)")
            continue
        if procedure is not None and (
            not isinstance(procedure, str) or not PROCEDURE.match(procedure)
        ):
            refuse("bad_field", "procedure must be a code of 1–32 letters, digits, . _ -")
            continue
        try:
            returned = parse_time(raw.get("returned_at"))
            send = _send(raw["send"], send_channels) if raw.get("send") is not None else None
            invitation = invitations.make_invitation(
                desk_code.strip().upper(),
                number,
                days=days,
                service_code=procedure,
                today=returned.astimezone(zone).date(),
            )
        except TimeZoneMissing as error:
            refuse("time_zone", f"returned_at: {error}")
            continue
        except ConsentMissing as error:
            refuse("consent_required", str(error))
            continue
        except ValueError as error:
            refuse("bad_field", str(error))
            continue
        if returned > now + FUTURE_SLACK:
            refuse("not_in_future", "returned_at is later than now")
            continue
        if invitation.expires_on < today:
            refuse("expired", f"returned more than {days} days ago: the link would have expired")
            continue
        desk = desks.get(invitation.desk_code)
        if desk is None or not desk[1]:
            refuse("unknown_desk", f"no open desk with code {invitation.desk_code!r}")
            continue
        if allowed_unit_ids is not None and desk[0] not in allowed_unit_ids:
            refuse("out_of_scope", f"desk {invitation.desk_code} is outside this token's units")
            continue
        token = invitations.sign(secret, invitation, deterministic=True)
        made.append(Issued(index, key, invitation.desk_code, token, invitation.expires_on, send))
    if problems:
        raise InvitationsRefused(problems[:max_problems], len(problems))
    return made
