"""Published questionnaire versions in the database: shipped files in, old versions back out."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import questionnaires
from questionnaires import Questionnaire

from ..models import QuestionnaireVersion


class VersionConflict(Exception):
    """A file's content differs from the version already published under the same number."""

    def __init__(self, questionnaire: Questionnaire, stored: QuestionnaireVersion) -> None:
        super().__init__(
            f"{questionnaire.source}: version {questionnaire.version} of {questionnaire.id} was "
            f"published on {stored.published_at:%d/%m/%Y} with different content. A published "
            f"version is never changed in place: raise `version` to {questionnaire.version + 1} "
            "(or more) in the file and publish again."
        )


@dataclass(frozen=True)
class PublishedVersion:
    """A published version: its database id and the questionnaire it describes."""

    id: int
    questionnaire: Questionnaire


def publish(session: Session, questionnaire: Questionnaire) -> tuple[QuestionnaireVersion, bool]:
    """Store ``questionnaire`` unless its version exists; returns (row, whether it is new).

    Raises :class:`VersionConflict` if that version exists with other content.
    """
    same = select(QuestionnaireVersion).where(
        QuestionnaireVersion.questionnaire == questionnaire.id,
        QuestionnaireVersion.version == questionnaire.version,
    )
    stored = session.scalar(same)
    if stored is None:
        row = QuestionnaireVersion(
            questionnaire=questionnaire.id,
            version=questionnaire.version,
            content_hash=questionnaire.content_hash,
            content=dict(questionnaire.content),
        )
        try:
            with session.begin_nested():
                session.add(row)
            return row, True
        except IntegrityError:
            # Another worker published it at the same moment (first requests on a new
            # database): use theirs.
            stored = session.scalar(same)
            if stored is None:
                raise
    if stored.content_hash != questionnaire.content_hash:
        raise VersionConflict(questionnaire, stored)
    return stored, False


def publish_shipped(session: Session) -> list[tuple[QuestionnaireVersion, bool]]:
    """Publish the current version of every questionnaire file shipped with the package."""
    return [publish(session, questionnaires.get(qid)) for qid in questionnaires.available()]


# Published rows never change, so each app keeps the ones it has seen; the submit path then
# needs no query to know which questionnaire a form showed.
_CACHE = "sipas.published_versions"


def _cache() -> dict[object, PublishedVersion]:
    cache: dict[object, PublishedVersion] = current_app.extensions.setdefault(_CACHE, {})
    return cache


def current_version(session: Session, questionnaire_id: str) -> PublishedVersion:
    """The shipped (current) version of a questionnaire, published on first use.

    The caller commits (a first use inserts the row).
    """
    key = ("current", questionnaire_id)
    cached = _cache().get(key)
    if cached is None:
        row, new = publish(session, questionnaires.get(questionnaire_id))
        cached = PublishedVersion(row.id, questionnaires.get(questionnaire_id))
        if not new:  # a row just inserted is only certain once the caller has committed
            _cache()[key] = _cache()[row.id] = cached
    return cached


def version_by_id(session: Session, version_id: int) -> PublishedVersion | None:
    """Any published version, old ones included (a form or a kiosk may send an earlier one)."""
    cached = _cache().get(version_id)
    if cached is None:
        row = session.get(QuestionnaireVersion, version_id)
        if row is None:
            return None
        cached = PublishedVersion(row.id, questionnaire_of(row))
        _cache()[version_id] = cached
    return cached


# Equal content hashes mean equal questionnaires, so a parsed version can be shared by hash.
_parsed: dict[str, Questionnaire] = {}


def questionnaire_of(row: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire a stored version describes (validated once per content)."""
    parsed = _parsed.get(row.content_hash)
    if parsed is None:
        parsed = questionnaires.from_mapping(
            row.content, source=f"{row.questionnaire} v{row.version} (database)"
        )
        _parsed[row.content_hash] = parsed
    return parsed
