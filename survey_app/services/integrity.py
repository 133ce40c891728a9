"""The integrity rules a response is flagged by when it is stored: each one name and one setting.

A flag never rejects a response: it is stored, marked, and left to review (SIPAS.md). The
channel gathers the facts (how long it took, how many came from the same device in the hour
before, whether the desk was open); the rules here judge them, the same way for every channel.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, literal, or_, select, update

from ..models.tables import DESKS, RESPONSES

#: Answered faster than a person can read the questions (setting: ``SURVEY_MIN_SECONDS`` for
#: the web form, ``KIOSK_MIN_SECONDS`` or the device's own ``min_seconds`` for a kiosk).
TOO_FAST = "too_fast"
#: More responses from one kiosk in an hour than a desk serves (``KIOSK_MAX_PER_HOUR``).
OVER_RATE = "over_rate"
#: Started while the desk was closed by its opening hours (kiosks).
OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True)
class Circumstances:
    """What is known about how a response was given; None where a channel cannot know it."""

    duration_seconds: int | None
    #: The channel's ``too_fast`` threshold in seconds.
    min_seconds: int
    #: Responses from the same device in the hour before this one was answered.
    earlier_in_hour: int | None = None
    max_per_hour: int | None = None
    during_opening_hours: bool | None = None
    #: Kiosk: the device's arrivals, heartbeat and earlier claims (None for other channels).
    kiosk: KioskFacts | None = None


def too_fast(duration_seconds: int | None, min_seconds: int) -> bool:
    """Whether a response that took ``duration_seconds`` was given too fast to be read."""
    return duration_seconds is not None and duration_seconds < min_seconds


def flags_for(circumstances: Circumstances) -> tuple[str, ...]:
    """The flags a response is stored with, in the order the rules are listed above."""
    flags = []
    if too_fast(circumstances.duration_seconds, circumstances.min_seconds):
        flags.append(TOO_FAST)
    if (
        circumstances.earlier_in_hour is not None
        and circumstances.max_per_hour is not None
        and circumstances.earlier_in_hour >= circumstances.max_per_hour
    ):
        flags.append(OVER_RATE)
    if circumstances.during_opening_hours is False:
        flags.append(OUTSIDE_HOURS)
    if circumstances.kiosk is not None:
        flags.extend(kiosk_flags(circumstances.kiosk))
    return tuple(flags)


# -- signals beyond one response's timing (issue 11) -------------------------------------------
#
# Judged by :func:`judge` in the one intake, before the write, for every channel, from what is
# stored at the desk in the last hour or so (one indexed range of ``responses`` by desk and
# time, plus one by source digest): the flags go in with the response's own row. When a rule
# fires, the earlier responses it matched get the flag too (:func:`add_flag`, in the write's
# transaction), so a batch is flagged whole, not from its n-th member on.

#: More arrivals at a desk in the last hour than its own baseline for that hour of the week
#: (the mean of the same hour in the previous ``INTEGRITY_BURST_WEEKS`` weeks) allows: at least
#: ``INTEGRITY_BURST_MIN`` and more than ``INTEGRITY_BURST_FACTOR`` × the baseline.
BURST = "burst"
#: Forms fetched in a batch and posted in a batch: at least ``INTEGRITY_BATCH_MIN`` responses
#: at the desk posted within ``INTEGRITY_BATCH_POST_SECONDS`` whose forms were issued within
#: ``INTEGRITY_BATCH_FETCH_SECONDS`` of each other (issue time from the signed form token).
BATCH = "batch"
#: At least ``INTEGRITY_SOURCE_MAX`` responses today from one source (the keyed, daily digest
#: of client address and user agent).
SAME_SOURCE = "same_source"
#: At least ``INTEGRITY_SAME_MIN`` responses at the desk within ``INTEGRITY_SAME_SECONDS`` whose
#: answer vectors differ in at most ``INTEGRITY_SAME_MAX_DIFF`` items.
SAME_ANSWERS = "same_answers"
#: Kiosk: more responses from the device *arriving* in the last hour than ``max_per_hour``
#: (beyond what its last heartbeat said was queued): the claimed times cannot hide a burst.
ARRIVAL_RATE = "arrival_rate"
#: Kiosk: the claimed answer time contradicts what the server saw: older than a response the
#: device sent before (by more than ``INTEGRITY_KIOSK_ORDER_SECONDS``; the queue uploads oldest
#: first), or older than a heartbeat in which the device said its queue was empty.
CLAIMED_TIME = "claimed_time"

#: Every rule's name, in the order flags are listed (the review page explains each).
RULES = (TOO_FAST, OVER_RATE, OUTSIDE_HOURS, BURST, BATCH, SAME_SOURCE, SAME_ANSWERS,
         ARRIVAL_RATE, CLAIMED_TIME)  # fmt: skip


@dataclass(frozen=True)
class SignalSettings:
    """The signals' settings (SIPAS_INTEGRITY_*; README "Integrity and privacy")."""

    #: False: only the per-response rules above run (too_fast, over_rate, outside_hours).
    signals: bool = True
    burst_min: int = 12
    burst_factor: float = 4.0
    burst_weeks: int = 4
    batch_min: int = 6
    batch_fetch_seconds: int = 120
    batch_post_seconds: int = 300
    source_max: int = 6
    same_min: int = 6
    same_seconds: int = 1800
    same_max_diff: int = 1
    kiosk_order_seconds: int = 120

    @classmethod
    def from_config(cls, config: Any) -> SignalSettings:
        return cls(
            **{
                name: _typed(getattr(cls, name), config[f"INTEGRITY_{name.upper()}"])
                for name in cls.__dataclass_fields__
                if f"INTEGRITY_{name.upper()}" in config
            }
        )


def _typed(default: object, value: Any) -> Any:
    """A setting as its default's type (environment variables arrive as text)."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if isinstance(default, float):
        return float(value)
    return int(value)


def source_digest(secret: str, address: str | None, user_agent: str | None, day: date) -> str:
    """A keyed digest of (address, user agent) that only matches on the same day.

    The key is HMAC(secret, day), never stored: once the day is over, nobody (nor the database
    holder) can tell whether two digests of different days came from one source, and without
    the app's secret no digest can be tested against a guessed address.
    """
    key = hmac.new(secret.encode(), f"sipas.source:{day.isoformat()}".encode(), hashlib.sha256)
    message = f"{address or ''}\n{(user_agent or '')[:512]}".encode()
    return hmac.new(key.digest(), message, hashlib.sha256).hexdigest()[:16]


def answers_vector(item_codes: Sequence[str], codes: Mapping[str, int]) -> str:
    """The answer codes in item order, one character each ('-' unanswered): two responses'
    vectors compare item by item (:func:`differences`)."""
    return "".join(
        "-" if code not in codes else chr(48 + min(codes[code], 74)) for code in item_codes
    )[:64]


def differences(a: str, b: str) -> int:
    """How many items two answer vectors differ in (a different length: every one)."""
    if len(a) != len(b):
        return max(len(a), len(b))
    return sum(x != y for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Recent:
    """A response stored at the desk lately, as the signals read it."""

    id: int
    submitted_at: datetime
    duration_seconds: int | None
    source_digest: str | None
    answers_vector: str | None
    #: Its flags as stored (';'-separated): an earlier response already carrying a flag is
    #: not flagged again.
    flags: str = ""


@dataclass(frozen=True)
class Incoming:
    """The response being stored, as the signals read it."""

    now: datetime
    duration_seconds: int | None
    source_digest: str | None
    answers_vector: str | None


@dataclass(frozen=True)
class Verdict:
    """Flags for the incoming response and, per flag, earlier responses to flag as well."""

    flags: tuple[str, ...] = ()
    earlier: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def _issued(at: datetime, duration: int | None) -> datetime | None:
    return None if duration is None else at - timedelta(seconds=duration)


def judge_recent(
    incoming: Incoming,
    recent: Sequence[Recent],
    same_source: Sequence[int],
    baseline: float | None,
    settings: SignalSettings,
) -> Verdict:
    """The desk-level signals from what is stored lately (pure: tests feed it by hand).

    ``recent`` holds the desk's responses of the last hour (or ``same_seconds`` if longer),
    ``same_source`` the ids stored today with the incoming source digest, ``baseline`` the
    desk's mean arrivals in this hour of the week (None when not looked up: the hour is below
    ``burst_min``).
    """
    flags: list[str] = []
    earlier: dict[str, tuple[int, ...]] = {}
    now = incoming.now
    hour = [r for r in recent if r.submitted_at > now - timedelta(hours=1)]
    if burst_fires(len(hour) + 1, baseline, settings):
        flags.append(BURST)
        earlier[BURST] = tuple(r.id for r in hour)
    issued = _issued(now, incoming.duration_seconds)
    if issued is not None:
        fetch = timedelta(seconds=settings.batch_fetch_seconds)
        post_since = now - timedelta(seconds=settings.batch_post_seconds)
        batch = [
            r.id
            for r in recent
            if r.submitted_at >= post_since
            and (other := _issued(r.submitted_at, r.duration_seconds)) is not None
            and abs(other - issued) <= fetch
        ]
        if len(batch) + 1 >= settings.batch_min:
            flags.append(BATCH)
            earlier[BATCH] = tuple(batch)
    if incoming.source_digest is not None and len(same_source) + 1 >= settings.source_max:
        flags.append(SAME_SOURCE)
        earlier[SAME_SOURCE] = tuple(same_source)
    if incoming.answers_vector:
        since = now - timedelta(seconds=settings.same_seconds)
        alike = [
            r.id
            for r in recent
            if r.submitted_at >= since
            and r.answers_vector
            and differences(r.answers_vector, incoming.answers_vector) <= settings.same_max_diff
        ]
        if len(alike) + 1 >= settings.same_min:
            flags.append(SAME_ANSWERS)
            earlier[SAME_ANSWERS] = tuple(alike)
    return Verdict(tuple(flags), earlier)


def burst_fires(arrivals: int, baseline: float | None, settings: SignalSettings) -> bool:
    """Whether ``arrivals`` in the last hour is a burst against the desk's ``baseline``."""
    if arrivals < settings.burst_min:
        return False
    return arrivals > settings.burst_factor * max(baseline or 0.0, 1.0)


@dataclass(frozen=True)
class KioskFacts:
    """What the kiosk channel knows about the device when a response arrives."""

    arrivals_in_hour: int
    max_per_hour: int
    #: What the device's last heartbeat said was queued (None: never said).
    queued: int | None
    #: The latest answer time the device claimed in an earlier upload.
    latest_claimed: datetime | None
    #: When the device last sent a heartbeat saying its queue was empty.
    empty_queue_at: datetime | None
    claimed_at: datetime
    heartbeat_seconds: int
    #: ``INTEGRITY_KIOSK_ORDER_SECONDS``: how far back of an earlier claim a claim may be.
    order_seconds: int = 120


def kiosk_flags(facts: KioskFacts) -> tuple[str, ...]:
    """The kiosk's own rules (``arrival_rate``, ``claimed_time``) on what the channel knows."""
    flags = []
    allowed = facts.max_per_hour + (facts.queued or 0)
    if facts.arrivals_in_hour >= allowed:
        flags.append(ARRIVAL_RATE)
    grace = timedelta(seconds=facts.order_seconds)
    out_of_order = (
        facts.latest_claimed is not None and facts.claimed_at < facts.latest_claimed - grace
    )
    before_empty = facts.empty_queue_at is not None and facts.claimed_at < (
        facts.empty_queue_at - timedelta(seconds=facts.heartbeat_seconds) - grace
    )
    if out_of_order or before_empty:
        flags.append(CLAIMED_TIME)
    return tuple(flags)


# -- the look-ups (one indexed range each) and the one way a stored response gains a flag ------

_RECENT = (
    RESPONSES.c.id,
    RESPONSES.c.submitted_at,
    RESPONSES.c.duration_seconds,
    RESPONSES.c.source_digest,
    RESPONSES.c.answers_vector,
    RESPONSES.c.flags,
)
#: A desk under attack is bounded by the door's limits; this bounds the rows read regardless.
RECENT_ROWS = 2000


def _desk_is(desk_id: int | None, desk_code: str | None) -> ColumnElement[bool]:
    if desk_id is not None:
        return RESPONSES.c.desk_id == desk_id
    return RESPONSES.c.desk_id == (
        select(DESKS.c.id).where(DESKS.c.code == desk_code).scalar_subquery()
    )


def judge(
    connection: Connection,
    incoming: Incoming,
    settings: SignalSettings,
    *,
    desk_id: int | None = None,
    desk_code: str | None = None,
) -> Verdict:
    """The desk-level signals for ``incoming`` at the desk (by id, or by public code)."""
    if not settings.signals:
        return Verdict()
    now = incoming.now
    span = max(3600, settings.same_seconds, settings.batch_post_seconds)
    desk = _desk_is(desk_id, desk_code)
    recent = [
        Recent(*row)
        for row in connection.execute(
            select(*_RECENT)
            .where(desk, RESPONSES.c.submitted_at > now - timedelta(seconds=span))
            .where(RESPONSES.c.submitted_at <= now)
            .order_by(RESPONSES.c.submitted_at.desc())
            .limit(RECENT_ROWS)
        )
    ]
    same_source: list[int] = []
    source_flagged: set[int] = set()
    if incoming.source_digest is not None:
        for response_id, flags in connection.execute(
            select(RESPONSES.c.id, RESPONSES.c.flags)
            .where(
                RESPONSES.c.source_digest == incoming.source_digest,
                RESPONSES.c.submitted_at > now - timedelta(days=1),
                RESPONSES.c.submitted_at <= now,
            )
            .limit(RECENT_ROWS)
        ):
            same_source.append(response_id)
            if SAME_SOURCE in flags.split(";"):
                source_flagged.add(response_id)
    baseline = None
    in_hour = sum(r.submitted_at > now - timedelta(hours=1) for r in recent) + 1
    if in_hour >= settings.burst_min and settings.burst_weeks > 0:
        baseline = desk_baseline(connection, desk, now, settings.burst_weeks)
    verdict = judge_recent(incoming, recent, same_source, baseline, settings)
    # Only the earlier responses that lack the flag need the write (a batch already flagged
    # is not rewritten at every new member).
    carrying = {r.id: set(r.flags.split(";")) for r in recent}
    for response_id in source_flagged:
        carrying.setdefault(response_id, set()).add(SAME_SOURCE)
    earlier = {
        flag: tuple(i for i in ids if flag not in carrying.get(i, ()))
        for flag, ids in verdict.earlier.items()
    }
    return Verdict(verdict.flags, {flag: ids for flag, ids in earlier.items() if ids})


def desk_baseline(
    connection: Connection, desk: ColumnElement[bool], now: datetime, weeks: int
) -> float:
    """The desk's mean unflagged arrivals in the hour before ``now``, same hour of the week,
    over the ``weeks`` weeks before (one query of ``weeks`` small index ranges)."""
    ranges = [
        RESPONSES.c.submitted_at.between(
            now - timedelta(weeks=k, hours=1), now - timedelta(weeks=k)
        )
        for k in range(1, weeks + 1)
    ]
    count = connection.scalar(
        select(func.count())
        .select_from(RESPONSES)
        .where(desk, or_(*ranges), RESPONSES.c.flags == "")
    )
    return (count or 0) / weeks


def add_flag(connection: Connection, ids: Sequence[int], flag: str) -> int:
    """Add ``flag`` to stored responses that lack it: the one way a flag is added after the
    write (hooks keeping per-state summaries must follow it here). Returns rows changed."""
    if not ids:
        return 0
    flags = RESPONSES.c.flags
    result = connection.execute(
        update(RESPONSES)
        .where(
            RESPONSES.c.id.in_(sorted(set(ids))),
            ~(literal(";") + flags + literal(";")).contains(f";{flag};", autoescape=True),
        )
        .values(flags=case((flags == "", literal(flag)), else_=flags + literal(";" + flag)))
    )
    return int(result.rowcount or 0)


def forget_sources(session: Any, before: datetime, *, dry_run: bool = False) -> int:
    """Blank the source digests of responses stored before ``before`` (``sipas purge``,
    INTEGRITY_SOURCE_DAYS): after that the rule has nothing to compare them with anyway."""
    condition = (RESPONSES.c.submitted_at < before) & RESPONSES.c.source_digest.is_not(None)
    if dry_run:
        return int(
            session.scalar(select(func.count()).select_from(RESPONSES).where(condition)) or 0
        )
    result = session.execute(update(RESPONSES).where(condition).values(source_digest=None))
    return int(result.rowcount or 0)
