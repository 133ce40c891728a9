"""What citizens left for officers to act on: comments to follow up and flagged responses to
review, as the workspace lists them and the dashboard counts them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, contains_eager

from ..models import Comment, CommentFollowUp, Desk, Response, ResponseReview
from .pagination import COUNT_CAP, Page, page_of
from .wide_export import answer_code, very_dissatisfied_condition

_Ts = TypeVarTuple("_Ts")

#: Filters of the comments list, and of the review queue.
COMMENT_STATUSES = ("all", "open", "handled")
REVIEW_STATUSES = ("undecided", "decided", "all")


@dataclass(frozen=True)
class CommentFilter:
    """The comments asked for; ``end`` is a local day's start, included whole."""

    unit_ids: set[int] | None = None
    desk_id: int | None = None
    status: str = "all"
    very_dissatisfied: bool = False
    text: str = ""
    start: datetime | None = None
    end: datetime | None = None


def comments_page(session: Session, wanted: CommentFilter, number: int) -> Page:
    """A page of (Comment, Response, CommentFollowUp) rows, newest first."""
    if wanted.status not in COMMENT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(COMMENT_STATUSES)}")
    query = (
        select(Comment, Response, CommentFollowUp)
        .join(Response, Response.id == Comment.response_id)
        .join(Desk, Desk.id == Response.desk_id)
        .outerjoin(CommentFollowUp, CommentFollowUp.response_id == Comment.response_id)
    )
    if wanted.unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(wanted.unit_ids)))
    if wanted.desk_id is not None:
        query = query.where(Response.desk_id == wanted.desk_id)
    if wanted.status == "open":
        query = query.where(CommentFollowUp.response_id.is_(None))
    elif wanted.status == "handled":
        query = query.where(CommentFollowUp.response_id.is_not(None))
    if wanted.very_dissatisfied:
        query = query.where(very_dissatisfied_condition())
    if wanted.text:
        query = query.where(Comment.text.ilike(f"%{wanted.text}%"))
    if wanted.start is not None:
        query = query.where(Response.submitted_at >= wanted.start)
    if wanted.end is not None:
        query = query.where(Response.submitted_at < wanted.end + timedelta(days=1))
    return page_of(session, _newest_first(query), number, cap=COUNT_CAP)


def review_page(
    session: Session, unit_ids: set[int] | None, desk_id: int | None, status: str, number: int
) -> Page:
    """A page of flagged (Response, ResponseReview) rows, newest first."""
    if status not in REVIEW_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    query = (
        select(Response, ResponseReview)
        .join(Response.desk)
        .options(contains_eager(Response.desk))
        .outerjoin(ResponseReview, ResponseReview.response_id == Response.id)
        .where(Response.flags != "")
    )
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    if desk_id is not None:
        query = query.where(Response.desk_id == desk_id)
    if status == "undecided":
        query = query.where(ResponseReview.response_id.is_(None))
    elif status == "decided":
        query = query.where(ResponseReview.response_id.is_not(None))
    return page_of(session, _newest_first(query), number, cap=COUNT_CAP)


def _newest_first(query: Select[*_Ts]) -> Select[*_Ts]:
    return query.order_by(Response.submitted_at.desc(), Response.id.desc())


def very_dissatisfied_among(session: Session, response_ids: Iterable[int]) -> set[int]:
    """Which of these responses have a "Rất không hài lòng" anywhere rated."""
    ids = list(response_ids)
    if not ids:
        return set()
    query = select(Response.id).where(Response.id.in_(ids), very_dissatisfied_condition())
    return set(session.scalars(query))


def answers_to(session: Session, response_ids: Iterable[int], item: str) -> dict[int, int]:
    """The code each of these responses gave ``item`` (those that answered it)."""
    ids = list(response_ids)
    if not ids:
        return {}
    code = answer_code(item)
    query = select(Response.id, code).where(Response.id.in_(ids), code.is_not(None))
    return {response_id: int(value) for response_id, value in session.execute(query)}


def comments_in_period(
    session: Session, unit_ids: set[int], start: datetime, end: datetime, limit: int
) -> list[Any]:
    """(text, Response, follow-up note) of the newest ``limit`` comments in the period."""
    query = (
        select(Comment.text, Response, CommentFollowUp.note)
        .join(Response, Response.id == Comment.response_id)
        .outerjoin(CommentFollowUp, CommentFollowUp.response_id == Comment.response_id)
        .where(
            Response.unit_id.in_(sorted(unit_ids)),
            Response.submitted_at >= start,
            Response.submitted_at < end,
        )
        .order_by(Response.submitted_at.desc())
        .limit(limit)
    )
    return list(session.execute(query).all())


def open_counts(session: Session, unit_ids: set[int]) -> tuple[int, int]:
    """(comments not yet followed up, flagged responses not yet reviewed) in these units."""
    units = sorted(unit_ids)
    unhandled = session.scalar(
        select(func.count())
        .select_from(Comment)
        .join(Response, Response.id == Comment.response_id)
        .outerjoin(CommentFollowUp, CommentFollowUp.response_id == Comment.response_id)
        .where(Response.unit_id.in_(units), CommentFollowUp.response_id.is_(None))
    )
    undecided = session.scalar(
        select(func.count())
        .select_from(Response)
        .outerjoin(ResponseReview, ResponseReview.response_id == Response.id)
        .where(
            Response.unit_id.in_(units),
            Response.flags != "",
            ResponseReview.response_id.is_(None),
        )
    )
    return unhandled or 0, undecided or 0
