"""Stored score summaries: the additive read model every officer page, report and API score
is computed from (issue 10).

A *summary set* is one build of one questionnaire's summaries under one basis (the item
indicators, validity threshold and time zone of :class:`analysis.summaries.SummaryBasis`) and
one column layout (:func:`analysis.summaries.number_columns`). Its *cells* hold the sums of the
responses in one grain cell, packed as float64 in the layout's order (sipas-2023 has more
number columns than PostgreSQL's 1,600-column limit, and a packed vector is read with one
``numpy.frombuffer``; see bench/RESULTS.md, "Province scale").

Two spans are kept, both current in the same transaction as each response:

* ``day``: desk × local day × questionnaire version × channel × status, where status is the
  stored validity verdicts (``rule_valid``, ``column_valid``), the integrity ``flags`` and the
  officer's review ``decision`` ('' none, 'keep', 'exclude'). Any rule about flags and
  decisions ("count flagged", "only unflagged or kept") is then a filter on the status columns
  and a sum.
* ``month``: the same cells added up to desk × month (version and channel summed over): what a
  year read touches, 12 rows per desk and status instead of 365 × channels.

Each set has a generation: readers and the after-store hook use the newest *ready* set of a
questionnaire; ``sipas scores rebuild`` fills a new generation beside it and marks it ready in
one short transaction (an interrupted rebuild leaves the old one in use).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")

#: The spans a cell may cover.
SPANS = ("day", "month")


class SummarySet(Base):
    """One build of a questionnaire's summaries: its basis and its column layout."""

    __tablename__ = "score_summary_sets"
    __table_args__ = (UniqueConstraint("questionnaire", "generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The questionnaire id (e.g. ``sipas-service``); every version of it is summed together.
    questionnaire: Mapped[str] = mapped_column(String(32))
    generation: Mapped[int] = mapped_column(Integer)
    #: False while a rebuild fills it; the newest ready set is the one in use.
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    #: :class:`analysis.summaries.SummaryBasis` as a JSON object (grain aside).
    basis: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The number columns, in the order of every cell's packed sums.
    columns: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SummaryCell(Base):
    """The sums of the responses in one grain cell of a summary set (see the module)."""

    __tablename__ = "score_summary_cells"
    __table_args__ = (
        UniqueConstraint(
            "set_id",
            "span",
            "day",
            "desk_id",
            "questionnaire_version_id",
            "channel",
            "rule_valid",
            "column_valid",
            "flags",
            "decision",
            name="uq_score_summary_cells_key",
        ),
        Index(None, "set_id", "span", "unit_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("score_summary_sets.id", ondelete="CASCADE"))
    span: Mapped[str] = mapped_column(String(5))
    #: The local day (``day``) or the first day of the month (``month``).
    day: Mapped[date] = mapped_column(Date)
    #: The desk's unit when the responses arrived (as ``responses.unit_id``).
    unit_id: Mapped[int] = mapped_column(Integer)
    desk_id: Mapped[int] = mapped_column(Integer)
    #: 0 in month cells (summed over versions).
    questionnaire_version_id: Mapped[int] = mapped_column(Integer)
    #: '' in month cells (summed over channels).
    channel: Mapped[str] = mapped_column(String(8))
    rule_valid: Mapped[bool] = mapped_column(Boolean)
    #: The stored verdict (``responses.valid``), before any officer's exclusion.
    column_valid: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[str] = mapped_column(String(200))
    #: The review decision: '' none, 'keep' or 'exclude'.
    decision: Mapped[str] = mapped_column(String(8))
    #: Responses in the cell (also the first packed sum): a cell at 0 is deleted.
    responses: Mapped[int] = mapped_column(BigInteger)
    #: float64 little-endian, one per column of the set.
    sums: Mapped[bytes] = mapped_column(LargeBinary)
