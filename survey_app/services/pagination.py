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
#: Lists of a whole history (comments, the review queue) count at most this many rows: past
#: it the page says "more than" (a count of millions would read the whole history).
COUNT_CAP = 2_000


@dataclass(frozen=True)
class Page:
    """One page of a query's rows, with what the page links need."""

    rows: list[Any]
    total: int
    number: int
    size: int
    #: True when the list has more rows than the count went to (``total`` is the cap).
    capped: bool = False

    @property
    def shown_total(self) -> str:
        """The count as a page shows it: "2000+" past the cap."""
        return f"{self.total}+" if self.capped else str(self.total)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, empty or not)."""
        return max(1, -(-self.total // self.size))


def page_of(
    session: Session,
    query: Select[*_Ts],
    number: int,
    size: int = PAGE_SIZE,
    *,
    cap: int | None = None,
) -> Page:
    """Page ``number`` (from 1) of ``query``, which must already be ordered.

    With ``cap``, at most ``cap`` rows are counted (the count reads the same slice the pages
    do, newest first, and stops), so a list's cost does not grow with its history.
    """
    # Unordered, so the database may stop at the cap in whatever order is cheapest.
    counted = query.order_by(None) if cap is None else query.order_by(None).limit(cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    capped = cap is not None and total > cap
    rows = session.execute(query.limit(size).offset((number - 1) * size)).all()
    return Page(list(rows), cap if capped and cap is not None else total, number, size, capped)
