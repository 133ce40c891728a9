"""Episodes: flagged responses grouped by desk and time, so an officer decides once per episode.

An episode is a run of flagged responses at one desk where each follows the one before within
``gap`` (setting ``INTEGRITY_EPISODE_GAP_MINUTES``). It carries its desk, window, count and the
reasons (flags) with how many carry each, and the desk's SIPAS over the 30 days ending with the
episode with and without the episode's responses: what deciding the episode changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import analysis
import questionnaires

from ..models import Desk, Officer, Response, ResponseReview, utcnow
from . import accounts
from .wide_export import load_responses

#: Days of the desk's responses the with/without score of an episode is computed over.
SCORE_DAYS = 30
#: Episodes scored on one page (each costs two scorings of the desk's month).
MAX_SCORED = 20


@dataclass
class Episode:
    desk_id: int
    unit_id: int
    start: datetime
    end: datetime
    response_ids: list[int] = field(default_factory=list)
    undecided: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: The desk's SIPAS over SCORE_DAYS to the episode's end, without / with its responses
    #: (None: not scored, or too few responses to score).
    sipas_without: float | None = None
    sipas_with: float | None = None
    n_without: int = 0
    n_with: int = 0

    @property
    def count(self) -> int:
        return len(self.response_ids)

    @property
    def key(self) -> str:
        """What the decision form sends back: the desk and window (ids are looked up again)."""
        return f"{self.desk_id}|{self.start.isoformat()}|{self.end.isoformat()}"


def group(
    rows: Sequence[tuple[int, int, int, datetime, str, bool]], gap: timedelta
) -> list[Episode]:
    """Episodes from (id, desk_id, unit_id, submitted_at, flags, decided) rows, ordered by
    desk then time; newest episode first."""
    found: list[Episode] = []
    current: Episode | None = None
    for response_id, desk_id, unit_id, at, flags, decided in rows:
        if current is None or current.desk_id != desk_id or at - current.end > gap:
            current = Episode(desk_id, unit_id, at, at)
            found.append(current)
        current.end = at
        current.response_ids.append(response_id)
        current.undecided += 0 if decided else 1
        current.reasons.update(f for f in flags.split(";") if f)
    return sorted(found, key=lambda e: e.end, reverse=True)


def flagged_rows(
    session: Session,
    unit_ids: set[int] | None,
    desk_id: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[int, int, int, datetime, str, bool]]:
    query = (
        select(
            Response.id,
            Response.desk_id,
            Response.unit_id,
            Response.submitted_at,
            Response.flags,
            ResponseReview.response_id.is_not(None),
        )
        .outerjoin(ResponseReview, ResponseReview.response_id == Response.id)
        .where(Response.flags != "")
        .order_by(Response.desk_id, Response.submitted_at, Response.id)
    )
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    if desk_id is not None:
        query = query.where(Response.desk_id == desk_id)
    if since is not None:
        query = query.where(Response.submitted_at >= since)
    if until is not None:
        query = query.where(Response.submitted_at <= until)
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def episodes(
    session: Session,
    unit_ids: set[int] | None,
    desk_id: int | None,
    *,
    gap: timedelta,
    undecided_only: bool = True,
    score_flagged: str = "exclude",
) -> list[Episode]:
    """The episodes in scope (those with an undecided response, unless ``undecided_only`` is
    False), newest first, the first :data:`MAX_SCORED` with the desk's score with/without."""
    found = group(flagged_rows(session, unit_ids, desk_id), gap)
    if undecided_only:
        found = [e for e in found if e.undecided]
    for episode in found[:MAX_SCORED]:
        score_with_without(session, episode, score_flagged)
    return found


def _sipas(rows: pd.DataFrame, q: questionnaires.Questionnaire) -> tuple[float | None, int]:
    if not len(rows) or not rows["valid"].any():
        return None, 0
    table = analysis.score(rows, q).to_frame()
    found = table[table["code"] == "SIPAS"]
    if found.empty or pd.isna(found["index"].iloc[0]):
        return None, int(rows["valid"].sum())
    return float(found["index"].iloc[0]), int(found["n"].iloc[0])


def score_with_without(session: Session, episode: Episode, score_flagged: str) -> None:
    """Fill the episode's with/without SIPAS: its desk's responses over SCORE_DAYS to its end,
    counted by the default rule, minus (without) or plus (with) the episode's responses."""
    desk = session.get(Desk, episode.desk_id)
    if desk is None:
        return
    q = questionnaires.get(desk.questionnaire)
    rows = load_responses(
        session,
        q,
        unit_ids=None,
        start=episode.end - timedelta(days=SCORE_DAYS),
        end=episode.end + timedelta(seconds=1),
        extra_where=[Response.desk_id == desk.id],
        score_flagged=score_flagged,
    )
    if not len(rows):
        return
    inside = rows["response_id"].isin(episode.response_ids)
    without = rows.assign(valid=rows["valid"] & ~inside)
    with_ = rows.assign(valid=rows["valid"] | (inside & rows["valid_kept"]))
    episode.sipas_without, episode.n_without = _sipas(without, q)
    episode.sipas_with, episode.n_with = _sipas(with_, q)


def parse_key(key: str) -> tuple[int, datetime, datetime]:
    """The desk id and window of an episode's :attr:`Episode.key`; ValueError when malformed."""
    desk_text, start_text, end_text = key.split("|")
    desk_id = int(desk_text)
    start_at, end_at = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    if start_at.tzinfo is None or end_at.tzinfo is None or end_at < start_at:
        raise ValueError("an episode's window needs time zones and start <= end")
    return desk_id, start_at, end_at


def decide(
    session: Session,
    officer: Officer,
    desk_id: int,
    start: datetime,
    end: datetime,
    decision: str,
    note: str,
) -> int:
    """Keep or exclude every flagged response at the desk in [start, end], with one audit
    event for the episode (no commit). Returns how many responses it decided."""
    ids = [row[0] for row in flagged_rows(session, None, desk_id, start, end)]
    reviews = {
        r.response_id: r
        for r in session.scalars(select(ResponseReview).where(ResponseReview.response_id.in_(ids)))
    }
    now = utcnow()
    for response_id in ids:
        review = reviews.get(response_id)
        if review is None:
            review = ResponseReview(response_id=response_id)
            session.add(review)
        review.decision = decision
        review.note = note
        review.officer_id = officer.id
        review.decided_at = now
    accounts.record(
        session,
        "review_episode",
        officer=officer,
        target=f"desk {desk_id} {start.isoformat()}–{end.isoformat()}"[:200],
        decision=decision,
        responses=len(ids),
        changed=sum(1 for i in ids if i not in reviews or reviews[i].decision != decision),
    )
    return len(ids)
