"""Pages of a long list (comments, the review queue, the audit log): one count, one slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

_Ts = TypeVarTuple("_Ts")

#: Rows on a page of the officer workspace's lists.
PAGE_SIZE = 50
#: The highest page number asked for that is answered (a guard against absurd offsets).
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    """One page of a query's rows, with what the page links need."""

    rows: list[Any]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, empty or not)."""
        return max(1, -(-self.total // self.size))


def page_of(session: Session, query: Select[*_Ts], number: int, size: int = PAGE_SIZE) -> Page:
    """Page ``number`` (from 1) of ``query``, which must already be ordered."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(size).offset((number - 1) * size)).all()
    return Page(list(rows), total or 0, number, size)
