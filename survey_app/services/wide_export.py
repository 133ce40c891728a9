"""The wide format: stored responses as one row each (system columns, then one column per
item), built in SQL for the CSV export, the API and scoring; and the "excluded by review" rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

import questionnaires
from questionnaires import Questionnaire

from ..models.tables import (
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


# -- "counts in the default view" (issue 11): by default the scores (headline, ranks, targets,
# reports, API) count a response that is valid by the rule, not excluded by a reviewer, and
# either carries no integrity flag or was kept by a reviewer; SCORE_FLAGGED=include counts
# flagged responses awaiting review too (as before). Defined here once, in Python and SQL, on a
# response's integrity state, so stored summaries by state (issue 10) apply the same rule.

#: The review decision that keeps a flagged response in the scores.
KEEP_DECISION = "keep"
#: A response's integrity state: no flag and no decision; flagged and not yet reviewed;
#: kept by a reviewer; excluded by a reviewer.
CLEAN, FLAGGED, KEPT, EXCLUDED = "clean", "flagged", "kept", "excluded"
INTEGRITY_STATES = (CLEAN, FLAGGED, KEPT, EXCLUDED)
#: SCORE_FLAGGED: leave flagged responses awaiting review out ("exclude", the default) or not.
SCORE_FLAGGED_MODES = ("exclude", "include")


def integrity_state(flags: str | None, decision: str | None) -> str:
    """One of :data:`INTEGRITY_STATES` for a stored response."""
    if is_excluded(decision):
        return EXCLUDED
    if not flags:
        return CLEAN
    return KEPT if decision == KEEP_DECISION else FLAGGED


def counts_in_default_view(state: str, score_flagged: str = "exclude") -> bool:
    """Whether a (rule-valid) response in ``state`` counts in the scores shown by default."""
    if score_flagged not in SCORE_FLAGGED_MODES:
        raise ValueError(f"SCORE_FLAGGED must be exclude or include, got {score_flagged!r}")
    return state in (CLEAN, KEPT) or (state == FLAGGED and score_flagged == "include")


def integrity_state_sql(flags: Any, decision: Any) -> Any:
    """:func:`integrity_state` in SQL."""
    return case(
        (excluded_sql(decision), literal(EXCLUDED)),
        (func.coalesce(flags, "") == "", literal(CLEAN)),
        (func.coalesce(decision, "") == KEEP_DECISION, literal(KEPT)),
        else_=literal(FLAGGED),
    )


def counts_in_default_view_sql(flags: Any, decision: Any, score_flagged: str = "exclude") -> Any:
    """:func:`counts_in_default_view` of :func:`integrity_state_sql`, as a boolean."""
    states = [s for s in INTEGRITY_STATES if counts_in_default_view(s, score_flagged)]
    return integrity_state_sql(flags, decision).in_(states)


def item_columns(questionnaire: Questionnaire) -> tuple[list[str], list[str]]:
    """The wide format's item columns: (answers that are scored or reported, demographics)."""
    scored: list[str] = []
    profile: list[str] = []
    for item in questionnaire.items.values():
        (profile if item.role == "profile" else scored).extend(item.sub_items())
    return scored, profile


def answer_code(code: str) -> Any:
    """The response's code for item ``code`` in SQL (NULL when not answered), read from the
    response's own row (``responses.answer_codes``)."""
    return RESPONSES.c.answer_codes[code].as_integer()


def pivot_columns(codes: list[str]) -> list[Any]:
    """One column per item code, holding the response's code: the wide format built in SQL."""
    return [answer_code(code).label(code) for code in codes]


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

    ``id_range`` (first, last response id) bounds the responses (an export's batch).
    """
    where = [
        *(extra_where or []),
        *responses_where(unit_ids=unit_ids, start=start, end=end),
        *([VERSIONS.c.questionnaire == questionnaire_id] if questionnaire_id is not None else []),
    ]
    if id_range is not None:
        where.append(RESPONSES.c.id.between(*id_range))
    joined = (
        RESPONSES.join(UNITS, UNITS.c.id == RESPONSES.c.unit_id)
        .join(DESKS, DESKS.c.id == RESPONSES.c.desk_id)
        .join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
        .outerjoin(SERVICES, SERVICES.c.id == RESPONSES.c.service_id)
        .outerjoin(REVIEWS, REVIEWS.c.response_id == RESPONSES.c.id)
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
            *pivot_columns(codes),
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
    score_flagged: str = "exclude",
) -> pd.DataFrame:
    """Wide responses to ``questionnaire`` (every version of its id) as analysis/ reads them.

    ``valid`` is the stored validity verdict and :func:`counts_in_default_view` (what the
    official scores use); ``valid_kept`` ignores reviews and flags (the "with every response"
    view shown beside it); ``integrity_state`` is :func:`integrity_state`.
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
    states = [integrity_state(f, d) for f, d in zip(frame["flags"], frame["decision"], strict=True)]
    frame["integrity_state"] = pd.Series(states, index=frame.index, dtype=object)
    counted = frame["integrity_state"].map(
        {s: counts_in_default_view(s, score_flagged) for s in INTEGRITY_STATES}
    )
    frame["valid_kept"] = frame["stored_valid"].astype(bool)
    frame["valid"] = frame["valid_kept"] & counted.astype(bool)
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
    return or_(*(answer_code(item) == 1 for item in sorted(items)))


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
    answers: dict[int, dict[str, int]] = {
        response_id: {item: int(code) for item, code in (codes or {}).items()}
        for response_id, codes in session.execute(
            select(RESPONSES.c.id, RESPONSES.c.answer_codes).where(RESPONSES.c.id.in_(page_ids))
        )
    }
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
            *pivot_columns(codes),
        )
        .select_from(
            RESPONSES.join(
                VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id
            ).outerjoin(REVIEWS, REVIEWS.c.response_id == RESPONSES.c.id)
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
