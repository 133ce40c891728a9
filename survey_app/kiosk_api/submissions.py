"""A kiosk submission: read it, check it exactly like the web form, store each UUID once.

The tablet may send the same record again hours later (its confirmation was lost on the way):
the same UUID with the same answers is answered as the first time and stored once; the same UUID
with other answers is a conflict (409, logged) and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import JsonError
from ..models import KioskDevice, KioskSubmission, QuestionnaireVersion, Response, utcnow
from ..models.tables import KIOSK_SUBMISSIONS
from ..services import intake
from ..services import opening_hours as hours
from ..services.integrity import Circumstances, KioskFacts
from ..services.kiosk_settings import KioskSettings
from ..services.questionnaire_store import PublishedVersion, version_by_id

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")


class Rejected(JsonError):
    """A submission that will never be stored as sent: ``status`` (4xx), a stable ``code`` for
    the client, an English ``message`` for the person reading logs, and extra JSON fields."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(status, code, message, realm="sipas-kiosk", **extra)


@dataclass(frozen=True)
class Submission:
    """A submission as the tablet sent it, its fields type-checked."""

    uuid: uuid.UUID
    desk: str
    questionnaire: str
    version: int
    answers: Mapping[str, Any]
    language: str
    started_at: datetime
    answered_at: datetime


@dataclass(frozen=True)
class Stored:
    """The answer to a submission that is stored (now or before): identical on a replay."""

    uuid: uuid.UUID
    received_at: datetime
    replay: bool = False
    flags: tuple[str, ...] = field(default=())

    def body(self) -> dict[str, Any]:
        return {
            "status": "stored",
            "id": str(self.uuid),
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
        }


# -- reading ------------------------------------------------------------------------------------


def _timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected(400, "malformed", f"{name} must be an ISO 8601 text with its time zone")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(400, "malformed", f"{name} {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise Rejected(400, "malformed", f"{name} {value!r} has no time zone (end it with Z)")
    return parsed


def read_submission(body: Any) -> Submission:
    """Type-check the JSON object the tablet sent (400 when its shape is wrong)."""
    if not isinstance(body, dict):
        raise Rejected(400, "malformed", "the body must be a JSON object")
    required = ("id", "desk", "questionnaire", "version", "answers", "started_at", "answered_at")
    missing = [name for name in required if name not in body]
    if missing:
        raise Rejected(400, "malformed", f"missing fields: {', '.join(missing)}", fields=missing)
    try:
        response_uuid = uuid.UUID(str(body["id"]))
    except ValueError:
        raise Rejected(400, "malformed", f"id {str(body['id'])[:60]!r} is not a UUID") from None
    version = body["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise Rejected(400, "malformed", "version must be a whole number")
    for name in ("desk", "questionnaire"):
        if not isinstance(body[name], str) or not 0 < len(body[name]) <= 32:
            raise Rejected(400, "malformed", f"{name} must be a short text")
    if not isinstance(body["answers"], dict):
        raise Rejected(400, "malformed", "answers must be a JSON object of item code to answer")
    language = body.get("language", "vi")
    if language not in LANGUAGES:
        raise Rejected(422, "bad_language", f"language must be one of {', '.join(LANGUAGES)}")
    return Submission(
        uuid=response_uuid,
        desk=body["desk"],
        questionnaire=body["questionnaire"],
        version=version,
        answers=body["answers"],
        language=language,
        started_at=_timestamp(body["started_at"], "started_at"),
        answered_at=_timestamp(body["answered_at"], "answered_at"),
    )


# -- checking -----------------------------------------------------------------------------------


def _published(session: Session, questionnaire: str, version: int) -> PublishedVersion | None:
    """Any published version by its public id and number (an old one too: a tablet may have
    queued a response under it before a new version was published)."""
    cache: dict[tuple[str, int], int] = current_app.extensions.setdefault(
        "sipas.kiosk_version_ids", {}
    )
    version_id = cache.get((questionnaire, version))
    if version_id is None:
        version_id = session.scalar(
            select(QuestionnaireVersion.id).where(
                QuestionnaireVersion.questionnaire == questionnaire,
                QuestionnaireVersion.version == version,
            )
        )
        if version_id is None:
            return None
        cache[(questionnaire, version)] = version_id
    return version_by_id(session, version_id)


def answers_digest(
    questionnaire: str, version: int, codes: Mapping[str, int], comment: str | None
) -> str:
    """A stable digest of what was answered: equal answers, however they were spelled (4 or
    "4"), give equal digests."""
    canonical = json.dumps(
        [questionnaire, version, dict(sorted(codes.items())), comment],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_times(submission: Submission, now: datetime) -> int:
    """Reject impossible device times; the survey's duration in whole seconds."""
    config = current_app.config
    skew = timedelta(seconds=config["KIOSK_CLOCK_SKEW_SECONDS"])
    if submission.answered_at > now + skew:
        raise Rejected(
            422,
            "answered_in_future",
            f"answered_at {submission.answered_at.isoformat()} is ahead of the server's clock "
            f"({now.isoformat(timespec='seconds')}) by more than {skew.total_seconds():.0f} s",
        )
    oldest = now - timedelta(days=config["KIOSK_MAX_AGE_DAYS"])
    if submission.answered_at < oldest:
        raise Rejected(
            422,
            "answered_too_long_ago",
            f"answered_at {submission.answered_at.isoformat()} is more than "
            f"{config['KIOSK_MAX_AGE_DAYS']} days old",
        )
    duration = (submission.answered_at - submission.started_at).total_seconds()
    if not 0 <= duration <= config["KIOSK_MAX_DURATION_SECONDS"]:
        raise Rejected(
            422,
            "bad_duration",
            f"started_at must be before answered_at and at most "
            f"{config['KIOSK_MAX_DURATION_SECONDS']} s earlier (got {duration:.0f} s)",
        )
    return int(duration)


def _circumstances(
    session: Session,
    device: KioskDevice,
    settings: KioskSettings,
    submission: Submission,
    duration: int,
) -> Circumstances:
    """What the integrity rules judge a kiosk response by (the rules are the intake's)."""
    earlier = session.scalar(
        select(func.count())
        .select_from(KioskSubmission)
        .where(
            KioskSubmission.device_id == device.id,
            KioskSubmission.answered_at > submission.answered_at - timedelta(hours=1),
            KioskSubmission.answered_at <= submission.answered_at,
        )
    )
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    signals = intake.signal_settings()
    return Circumstances(
        duration_seconds=duration,
        min_seconds=settings.min_seconds,
        earlier_in_hour=earlier or 0,
        max_per_hour=settings.max_per_hour,
        during_opening_hours=hours.is_open(
            device.desk.opening_hours, submission.started_at.astimezone(zone)
        ),
        kiosk=_kiosk_facts(session, device, settings, submission) if signals.signals else None,
    )


def _kiosk_facts(
    session: Session, device: KioskDevice, settings: KioskSettings, submission: Submission
) -> KioskFacts:
    """What the server saw of the device: its arrivals in the last hour (by the server's
    clock), the latest time it claimed before, and its last "queue empty" heartbeat."""
    now = utcnow()
    arrivals = session.scalar(
        select(func.count())
        .select_from(Response)
        .join(KioskSubmission, KioskSubmission.response_id == Response.id)
        .where(
            Response.desk_id == device.desk_id,
            Response.submitted_at > now - timedelta(hours=1),
            KioskSubmission.device_id == device.id,
        )
    )
    latest = session.scalar(
        select(func.max(KioskSubmission.answered_at)).where(KioskSubmission.device_id == device.id)
    )
    empty_at = device.heartbeat_at if device.last_queue_length == 0 else None
    return KioskFacts(
        arrivals_in_hour=arrivals or 0,
        max_per_hour=settings.max_per_hour,
        queued=device.last_queue_length,
        latest_claimed=latest,
        empty_queue_at=empty_at,
        claimed_at=submission.answered_at,
        heartbeat_seconds=settings.heartbeat_seconds,
        order_seconds=intake.signal_settings().kiosk_order_seconds,
    )


# -- storing ------------------------------------------------------------------------------------


def _already_stored(session: Session, submission: Submission, digest: str) -> Stored | None:
    """The earlier answer if this UUID is stored; raises 409 if it was stored with other answers."""
    row = session.execute(
        select(Response.submitted_at, KioskSubmission.answers_digest)
        .outerjoin(KioskSubmission, KioskSubmission.response_id == Response.id)
        .where(Response.uuid == submission.uuid)
    ).first()
    if row is None:
        return None
    if row.answers_digest != digest:
        log.warning(
            "kiosk conflict: response %s was stored with other answers; the new ones are refused",
            submission.uuid,
        )
        raise Rejected(
            409,
            "conflict",
            f"response {submission.uuid} is already stored with different answers",
        )
    return Stored(submission.uuid, row.submitted_at, replay=True)


def store(
    session: Session,
    device: KioskDevice,
    settings: KioskSettings,
    submission: Submission,
    *,
    now: datetime | None = None,
) -> Stored:
    """Check and store one submission: the web form's checks, then once per UUID.

    Unlike other data functions this one commits: "stored once" is decided by the unique UUID at
    insert time, and losing that race to a concurrent retry must roll back and answer with the
    row the winner stored, so the commit and its recovery belong together here.
    Raises :class:`Rejected` for anything that must not be stored.
    """
    now = now or utcnow()
    if submission.desk != device.desk.code:
        raise Rejected(
            422,
            "wrong_desk",
            f"this device is enrolled for desk {device.desk.code}, not {submission.desk}",
        )
    version = _published(session, submission.questionnaire, submission.version)
    if version is None:
        raise Rejected(
            422,
            "unknown_questionnaire_version",
            f"{submission.questionnaire} v{submission.version} has never been published",
        )
    try:
        checked = intake.check(version, submission.answers)
    except intake.InvalidAnswers as invalid:
        raise Rejected(
            422,
            "invalid_answers",
            f"the answers do not fit {version.questionnaire.key}",
            problems=[{"item": p.item, "kind": p.kind} for p in invalid.checked.problems],
        ) from None
    duration = _check_times(submission, now)
    digest = answers_digest(
        submission.questionnaire,
        submission.version,
        checked.answers.codes,
        checked.answers.comment,
    )
    earlier = _already_stored(session, submission, digest)
    if earlier is not None:
        return earlier

    answered_at = min(submission.answered_at, now)

    def record_kiosk_submission(connection: Connection, stored: intake.StoredResponse) -> None:
        connection.execute(
            insert(KIOSK_SUBMISSIONS),
            [
                {
                    "response_id": stored.id,
                    "device_id": device.id,
                    "answers_digest": digest,
                    "answered_at": answered_at,
                }
            ],
        )

    received = intake.Received(
        uuid=submission.uuid,
        checked=checked,
        channel="kiosk",
        circumstances=_circumstances(session, device, settings, submission, duration),
        # A tablet's clock, even corrected by its last exchange with the server, may run a
        # little ahead (within the skew allowed above): it was not answered after it arrived.
        answered_at=answered_at,
        language=submission.language,
    )
    try:
        stored = intake.store(
            intake.InSession(session, device.desk, submitted_at=now),
            received,
            also=[record_kiosk_submission],
        )
        session.execute(
            update(KioskDevice)
            .where(KioskDevice.id == device.id)
            .values(last_stored_at=now, last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except IntegrityError:
        # The same UUID stored a moment ago by another request (a retry racing its original).
        session.rollback()
        earlier = _already_stored(session, submission, digest)
        if earlier is None:
            raise
        return earlier
    assert stored is not None  # a loaded desk is always there to store at
    return Stored(submission.uuid, now, flags=stored.flags)
