"""The wide format: stored responses as one row each (system columns, then one column per
item), built in SQL for the CSV export, the API and scoring; and the "excluded by review" rule."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

import questionnaires
from questionnaires import Questionnaire

from ..models.tables import (
    ANSWERS,
    COMMENTS,
    DESKS,
    RESPONSES,
    REVIEWS,
    SERVICES,
    UNITS,
    VERSIONS,
)

# -- the "excluded by review" rule: an officer's "exclude" decision makes a response not valid
# and adds a flag in every export. Written once for Python rows and once for SQL (PostgreSQL's
# COPY), side by side so they cannot drift; tests compare the two exports.

#: The review decision that takes a response out of the official scores.
EXCLUDE_DECISION = "exclude"
#: The flag a response excluded by an officer carries in exports (its ``valid`` is then 0).
EXCLUDED_FLAG = "excluded_by_review"


def is_excluded(decision: str | None) -> bool:
    return decision == EXCLUDE_DECISION


def exported_valid(stored_valid: bool | None, decision: str | None) -> bool:
    """``valid`` as exported: the stored verdict, unless an officer excluded the response."""
    return bool(stored_valid) and not is_excluded(decision)


def exported_flags(flags: str | None, decision: str | None) -> str:
    """``flags`` as exported: the stored flags, and ``excluded_by_review`` when excluded."""
    flags = flags or ""
    if is_excluded(decision):
        return f"{flags};{EXCLUDED_FLAG}" if flags else EXCLUDED_FLAG
    return flags


def excluded_sql(decision: Any) -> ColumnElement[bool]:
    """:func:`is_excluded` in SQL."""
    return func.coalesce(decision, "") == EXCLUDE_DECISION


def exported_valid_sql(stored_valid: Any, decision: Any) -> Any:
    """:func:`exported_valid` in SQL, as 1 or 0."""
    return case((and_(stored_valid, ~excluded_sql(decision)), 1), else_=0)


def exported_flags_sql(flags: Any, decision: Any) -> Any:
    """:func:`exported_flags` in SQL."""
    excluded = excluded_sql(decision)
    return case(
        (excluded & (flags == ""), literal(EXCLUDED_FLAG)),
        (excluded, flags + literal(";" + EXCLUDED_FLAG)),
        else_=flags,
    )


def item_columns(questionnaire: Questionnaire) -> tuple[list[str], list[str]]:
    """The wide format's item columns: (answers that are scored or reported, demographics)."""
    scored: list[str] = []
    profile: list[str] = []
    for item in questionnaire.items.values():
        (profile if item.role == "profile" else scored).extend(item.sub_items())
    return scored, profile


def pivot_columns(codes: list[str]) -> list[Any]:
    """One column per item code, holding the response's code: the wide format built in SQL
    (answers has one row per item, so MAX picks the only value)."""
    # FILTER (PostgreSQL, SQLite 3.30+) feeds each column's aggregate only its own item's
    # row: faster than MAX(CASE …), which feeds every row to every column.
    return [func.max(ANSWERS.c.code).filter(ANSWERS.c.item == code).label(code) for code in codes]


def responses_where(
    *, unit_ids: set[int] | None, start: datetime | None, end: datetime | None
) -> list[Any]:
    """Conditions on responses: in these units, submitted in [start, end) (None: no bound)."""
    where: list[Any] = []
    if unit_ids is not None:
        where.append(RESPONSES.c.unit_id.in_(sorted(unit_ids)))
    if start is not None:
        where.append(RESPONSES.c.submitted_at >= start)
    if end is not None:
        where.append(RESPONSES.c.submitted_at < end)
    return where


def responses_select(
    codes: list[str],
    *,
    unit_ids: set[int] | None,
    start: datetime | None,
    end: datetime | None,
    questionnaire_id: str | None = None,
    extra_where: list[Any] | None = None,
    with_comment: bool = False,
    id_range: tuple[int, int] | None = None,
) -> Select[Any]:
    """Wide responses (system columns, then one column per item code), oldest first.

    ``id_range`` (first, last response id) bounds both the responses and, explicitly, the
    answers pivoted: the planner does not carry a range on responses over to answers, and
    would otherwise scan every answer for each batch of an export.
    """
    where = [
        *(extra_where or []),
        *responses_where(unit_ids=unit_ids, start=start, end=end),
        *([VERSIONS.c.questionnaire == questionnaire_id] if questionnaire_id is not None else []),
    ]
    answer_where = list(where)
    if id_range is not None:
        where.append(RESPONSES.c.id.between(*id_range))
        answer_where += [
            RESPONSES.c.id.between(*id_range),
            ANSWERS.c.response_id.between(*id_range),
        ]
    pivot = (
        select(ANSWERS.c.response_id, *pivot_columns(codes))
        .select_from(
            ANSWERS.join(RESPONSES, RESPONSES.c.id == ANSWERS.c.response_id).join(
                VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id
            )
        )
        .where(*answer_where)
        .group_by(ANSWERS.c.response_id)
        .subquery("wide")
    )
    joined = (
        RESPONSES.join(UNITS, UNITS.c.id == RESPONSES.c.unit_id)
        .join(DESKS, DESKS.c.id == RESPONSES.c.desk_id)
        .join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
        .outerjoin(SERVICES, SERVICES.c.id == RESPONSES.c.service_id)
        .outerjoin(REVIEWS, REVIEWS.c.response_id == RESPONSES.c.id)
        .outerjoin(pivot, pivot.c.response_id == RESPONSES.c.id)
    )
    extra: list[Any] = []
    if with_comment:
        on = COMMENTS.c.response_id == RESPONSES.c.id
        if id_range is not None:  # as for answers: else every batch scans all comments
            on = and_(on, COMMENTS.c.response_id.between(*id_range))
        joined = joined.outerjoin(COMMENTS, on)
        extra.append(COMMENTS.c.text.label("comment"))
    return (
        select(
            RESPONSES.c.id.label("response_id"),
            RESPONSES.c.submitted_at,
            UNITS.c.code.label("unit_code"),
            DESKS.c.code.label("desk_code"),
            SERVICES.c.code.label("service_code"),
            RESPONSES.c.channel,
            VERSIONS.c.questionnaire,
            VERSIONS.c.version.label("questionnaire_version"),
            RESPONSES.c.valid.label("stored_valid"),
            RESPONSES.c.flags,
            REVIEWS.c.decision,
            *[pivot.c[code] for code in codes],
            *extra,
        )
        .select_from(joined)
        .where(*where)
        .order_by(RESPONSES.c.id)
    )


def load_responses(
    session: Session,
    questionnaire: Questionnaire,
    *,
    unit_ids: set[int] | None,
    start: datetime | None = None,
    end: datetime | None = None,
    extra_where: list[Any] | None = None,
) -> pd.DataFrame:
    """Wide responses to ``questionnaire`` (every version of its id) as analysis/ reads them.

    ``valid`` is the stored validity verdict and no officer exclusion (what the official
    scores use); ``valid_kept`` ignores exclusions (the "with excluded responses" view).
    """
    scored, _profile = item_columns(questionnaire)
    query = responses_select(
        scored,
        unit_ids=unit_ids,
        start=start,
        end=end,
        questionnaire_id=questionnaire.id,
        extra_where=extra_where,
    )
    result = session.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    excluded = frame["decision"].eq(EXCLUDE_DECISION)
    frame["valid_kept"] = frame["stored_valid"].astype(bool)
    frame["valid"] = frame["valid_kept"] & ~excluded
    frame["excluded"] = excluded
    for code in scored:
        frame[code] = pd.to_numeric(frame[code], errors="coerce")
    # Every version of a questionnaire id is scored with the current one (same index tree);
    # analysis/ would refuse the version column otherwise.
    return frame.drop(columns=["questionnaire_version", "stored_valid", "decision"])


def very_dissatisfied_condition(questionnaire_codes: tuple[str, ...] = ()) -> Any:
    """Responses with a "Rất không hài lòng" (code 1) on the overall question or any criterion
    of a satisfaction-5 scale."""
    items = questionnaire_codes or tuple(_satisfaction_codes())
    return RESPONSES.c.id.in_(
        select(ANSWERS.c.response_id).where(and_(ANSWERS.c.item.in_(items), ANSWERS.c.code == 1))
    )


def _satisfaction_codes() -> set[str]:
    codes: set[str] = set()
    for qid in questionnaires.available():
        q = questionnaires.get(qid)
        for item in q.items.values():
            rated = item.role in ("satisfaction", "overall", "question")
            if rated and item.scale is not None and item.scale.code.startswith("satisfaction"):
                codes.add(item.code)
    return codes


def responses_page(
    session: Session,
    *,
    unit_ids: set[int],
    start: datetime | None,
    end: datetime | None,
    page: int,
    size: int,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many, one page of) responses in these units and [start, end), by id, each the wide
    format as JSON: the system columns with the exclusion rule applied, ``answers`` as item code
    to code, and the comment (the API's /responses)."""
    where = responses_where(unit_ids=unit_ids, start=start, end=end)
    total = session.scalar(select(func.count()).select_from(RESPONSES).where(*where)) or 0
    page_ids = session.scalars(
        select(RESPONSES.c.id)
        .where(*where)
        .order_by(RESPONSES.c.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    if not page_ids:
        return total, []
    answers: dict[int, dict[str, int]] = defaultdict(dict)
    for response_id, item, code in session.execute(
        select(ANSWERS.c.response_id, ANSWERS.c.item, ANSWERS.c.code).where(
            ANSWERS.c.response_id.in_(page_ids)
        )
    ):
        answers[response_id][item] = code
    query = responses_select(
        [],
        unit_ids=unit_ids,
        start=None,
        end=None,
        with_comment=True,
        extra_where=[RESPONSES.c.id.in_(page_ids)],
    )
    return total, [
        {
            "response_id": row.response_id,
            "submitted_at": row.submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "unit_code": row.unit_code,
            "desk_code": row.desk_code,
            "service_code": row.service_code,
            "channel": row.channel,
            "questionnaire": row.questionnaire,
            "questionnaire_version": row.questionnaire_version,
            "valid": exported_valid(row.stored_valid, row.decision),
            "flags": exported_flags(row.flags, row.decision),
            "weight": None,
            "answers": answers.get(row.response_id, {}),
            "comment": row.comment,
        }
        for row in session.execute(query)
    ]


# -- rows for the score summaries (services.score_store) --------------------------------------


def decisions_of(connection: Any) -> dict[int, str]:
    """Every review decision, by response id (few: only flagged responses are reviewed)."""
    return {
        int(response_id): str(decision)
        for response_id, decision in connection.execute(
            select(REVIEWS.c.response_id, REVIEWS.c.decision)
        )
    }


def stored_rows(connection: Any, where: list[Any], *, batch: int, scored_items: Any) -> Any:
    """Wide rows as the summaries are built from them, per questionnaire id, in id batches:
    ``desk_id, unit_id, questionnaire_version_id, channel, decision, submitted_at, valid``
    (the stored verdict), ``flags`` and the scored item columns of the current version."""
    base = RESPONSES.join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
    bounds = connection.execute(
        select(VERSIONS.c.questionnaire, func.min(RESPONSES.c.id), func.max(RESPONSES.c.id))
        .select_from(base)
        .where(*where)
        .group_by(VERSIONS.c.questionnaire)
    ).all()
    for questionnaire_id, low, high in bounds:
        q = questionnaires.get(questionnaire_id)
        codes = scored_items(q)
        for first in range(int(low), int(high) + 1, batch):
            last = min(first + batch - 1, int(high))
            frame = _stored_batch(connection, where, questionnaire_id, codes, (first, last))
            if len(frame):
                yield questionnaire_id, frame


def _stored_batch(
    connection: Any, where: list[Any], questionnaire_id: str, codes: list[str], ids: tuple[int, int]
) -> pd.DataFrame:
    in_range = [
        *where,
        VERSIONS.c.questionnaire == questionnaire_id,
        RESPONSES.c.id.between(*ids),
    ]
    pivot = (
        select(ANSWERS.c.response_id, *pivot_columns(codes))
        .select_from(
            ANSWERS.join(RESPONSES, RESPONSES.c.id == ANSWERS.c.response_id).join(
                VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id
            )
        )
        .where(*in_range, ANSWERS.c.response_id.between(*ids))
        .group_by(ANSWERS.c.response_id)
        .subquery("wide")
    )
    query = (
        select(
            RESPONSES.c.id,
            RESPONSES.c.desk_id,
            RESPONSES.c.unit_id,
            RESPONSES.c.questionnaire_version_id,
            RESPONSES.c.channel,
            func.coalesce(REVIEWS.c.decision, "").label("decision"),
            RESPONSES.c.submitted_at,
            RESPONSES.c.valid,
            RESPONSES.c.flags,
            *[pivot.c[code] for code in codes],
        )
        .select_from(
            RESPONSES.join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
            .outerjoin(REVIEWS, REVIEWS.c.response_id == RESPONSES.c.id)
            .outerjoin(pivot, pivot.c.response_id == RESPONSES.c.id)
        )
        .where(*in_range)
    )
    result = connection.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    frame["valid"] = frame["valid"].astype(bool)
    for code in codes:
        frame[code] = pd.to_numeric(frame[code], errors="coerce").astype(float)
    return frame
