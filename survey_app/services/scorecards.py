"""The app's side of scoring: stored responses into the DataFrames analysis/ takes, and the
results back, for the dashboard, the reports and the API. No score is computed here: every
number comes from analysis/ (score, rank_units, join_targets, compare, drivers, tidy_scores).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Select, Table, and_, func, select
from sqlalchemy.orm import Session

import analysis
import questionnaires
from analysis import PeriodRange, ScoreResult, ScoringSettings
from questionnaires import Questionnaire

from ..models import (
    Answer,
    Comment,
    Desk,
    QuestionnaireVersion,
    Response,
    ResponseReview,
    Service,
    Target,
    Unit,
)
from . import periods
from .accounts import UnitTree
from .periods import Period

RESPONSES = cast(Table, Response.__table__)
ANSWERS = cast(Table, Answer.__table__)
DESKS = cast(Table, Desk.__table__)
UNITS = cast(Table, Unit.__table__)
SERVICES = cast(Table, Service.__table__)
VERSIONS = cast(Table, QuestionnaireVersion.__table__)
REVIEWS = cast(Table, ResponseReview.__table__)
COMMENTS = cast(Table, Comment.__table__)

#: The flag a response excluded by an officer carries in exports (its ``valid`` is then 0).
EXCLUDED_FLAG = "excluded_by_review"
#: Index codes shown at a glance: the overall index and the five elements.
HEADLINE = ("SIPAS", "TC", "TT", "CC", "KQ", "PA")


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
    where: list[Any] = list(extra_where or [])
    if unit_ids is not None:
        where.append(RESPONSES.c.unit_id.in_(sorted(unit_ids)))
    if start is not None:
        where.append(RESPONSES.c.submitted_at >= start)
    if end is not None:
        where.append(RESPONSES.c.submitted_at < end)
    if questionnaire_id is not None:
        where.append(VERSIONS.c.questionnaire == questionnaire_id)
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
        joined = joined.outerjoin(COMMENTS, COMMENTS.c.response_id == RESPONSES.c.id)
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
    excluded = frame["decision"].eq("exclude")
    frame["valid_kept"] = frame["stored_valid"].astype(bool)
    frame["valid"] = frame["valid_kept"] & ~excluded
    frame["excluded"] = excluded
    for code in scored:
        frame[code] = pd.to_numeric(frame[code], errors="coerce")
    # Every version of a questionnaire id is scored with the current one (same index tree);
    # analysis/ would refuse the version column otherwise.
    return frame.drop(columns=["questionnaire_version", "stored_valid", "decision"])


def units_frame(tree: UnitTree, root: Unit) -> pd.DataFrame:
    """The roll-up tree below ``root`` as analysis/ takes it (``unit_code, parent_code``)."""
    ids = tree.subtree_ids(root.id)
    rows = [
        (u.code, None if u.id == root.id else tree.units[u.parent_id].code)  # type: ignore[index]
        for u in tree.units.values()
        if u.id in ids
    ]
    return pd.DataFrame(rows, columns=["unit_code", "parent_code"])


def targets_frame(session: Session, unit_ids: set[int] | None) -> pd.DataFrame:
    """Targets as analysis.join_targets reads them (``unit_code, index, period, target``)."""
    query = select(Unit.code, Target.code, Target.period, Target.value).join(Unit)
    if unit_ids is not None:
        query = query.where(Target.unit_id.in_(sorted(unit_ids)))
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["unit_code", "index", "period", "target"])


def settings_for(min_n: int) -> ScoringSettings:
    return ScoringSettings(min_n=min_n)


# -- the scorecard of a unit and period ------------------------------------------------------


@dataclass(frozen=True)
class Drop:
    """A desk's day whose SIPAS fell well below its 28 days before."""

    desk_code: str
    day: date
    index: float
    baseline: float
    change: float
    n: int
    p_value: float


@dataclass
class Scorecard:
    """Everything the dashboard and reports show for one unit (and those below) and period."""

    unit: Unit
    period: Period
    previous: Period
    questionnaire: Questionnaire
    #: Tidy scores (SIPAS.md §7) of the unit and every unit below it in the period, with
    #: ``target, gap, rank, rank_change, p_change``.
    table: pd.DataFrame
    #: The same for the previous period (for the change column).
    previous_table: pd.DataFrame
    #: Response counts per unit (received, scored, invalid, excluded …) in the period.
    counts: pd.DataFrame
    #: SIPAS and elements of the unit if officers' exclusions were undone.
    kept_all: pd.DataFrame
    #: Monthly scores of the unit over the 12 months ending with the period.
    trend: pd.DataFrame
    #: Importance–performance of the criteria in the unit.
    drivers: pd.DataFrame
    #: Tidy scores of the unit's own desks in the period.
    desks: pd.DataFrame
    drops: list[Drop] = field(default_factory=list)
    min_n: int = 30
    #: The trend's months (labels), oldest first.
    months: list[str] = field(default_factory=list)

    def unit_rows(self, unit_code: str | None = None) -> pd.DataFrame:
        code = unit_code or self.unit.code
        return self.table[self.table["unit_code"] == code]

    def headline(self, unit_code: str | None = None) -> pd.DataFrame:
        rows = self.unit_rows(unit_code)
        return rows[rows["code"].isin(HEADLINE)].set_index("code").reindex(list(HEADLINE))

    def value(self, code: str, column: str = "index", unit_code: str | None = None) -> Any:
        rows = self.unit_rows(unit_code)
        found = rows.loc[rows["code"] == code, column]
        return None if found.empty or pd.isna(found.iloc[0]) else found.iloc[0]

    @property
    def scored(self) -> int:
        found = self.counts.loc[self.counts["unit_code"] == self.unit.code, "scored"]
        return int(found.iloc[0]) if len(found) else 0


def _compare(scores: ScoreResult) -> analysis.ChangeResult:
    """Changes along the period. analysis.z_test divides before it masks a zero SE (two
    groups whose answers are all alike): numpy's warning is silenced here, the masked result
    is NaN as documented (reported to analysis/)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return analysis.compare(scores, "period")


def empty_tidy(groups: tuple[str, ...]) -> pd.DataFrame:
    """A tidy scores table with no rows (a period without responses)."""
    from analysis.scoring import OPTIONAL_COLUMNS, TIDY_COLUMNS

    return pd.DataFrame(columns=[*groups, *TIDY_COLUMNS, *OPTIONAL_COLUMNS])


def _zone_now(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def _trend_end(period: Period, zone: str) -> date:
    """The trend ends with the period, or this month if the period is still running."""
    today = _zone_now(zone)
    return min(period.end, today) if period.start <= today else period.end


def build_scorecard(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    period: Period,
    *,
    questionnaire: Questionnaire | None = None,
    min_n: int = 30,
    zone: str = "Asia/Ho_Chi_Minh",
    drop_points: float = 15,
    drop_min_n: int = 5,
) -> Scorecard:
    """Score ``unit`` (pooled with every unit below it) and each unit below it in ``period``,
    with the previous period, targets, ranks, the monthly trend, drivers and desks."""
    q = questionnaire or questionnaires.get("sipas-service")
    settings = settings_for(min_n)
    previous = period.previous()
    months = periods.last_months(_trend_end(period, zone), 12)
    first = min(previous.start, months[0].start)
    start, _ = periods.Period("window", "custom", first, period.end).utc_bounds(zone)
    _, end = period.utc_bounds(zone)
    ids = tree.subtree_ids(unit.id)
    rows = load_responses(session, q, unit_ids=ids, start=start, end=end)
    tree_frame = units_frame(tree, unit)

    both = [previous.as_range(), period.as_range()]
    main = analysis.score(
        rows,
        q,
        by=["unit_code", "period"],
        period=both,
        units=tree_frame,
        settings=settings,
        timezone=zone,
    )
    if main.table.empty:
        # No response in either period. analysis.rank_units cannot rank an empty table
        # (reported to analysis/), and there is nothing to rank.
        current = before = empty_tidy(("unit_code", "period"))
        counts = pd.DataFrame(
            columns=[
                "unit_code",
                "period",
                "received",
                "scored",
                "invalid",
                "marked_not_valid",
                "flagged",
                "flag_excluded",
            ]
        )
    else:
        # A district's public administration center is not ranked among its communes.
        rankable = [
            code in tree.by_code and tree.by_code[code].kind != "center"
            for code in main.table["unit_code"]
        ]
        ranks = analysis.rank_units(
            dataclasses.replace(main, table=main.table.loc[rankable]), units=tree_frame
        )
        targets = analysis.join_targets(main, targets_frame(session, ids))
        changes = _compare(main)
        tidy = analysis.tidy_scores(main, targets=targets, ranks=ranks, changes=changes)
        current = tidy[tidy["period"] == period.label].reset_index(drop=True)
        before = tidy[tidy["period"] == previous.label].reset_index(drop=True)
        counts = main.responses
        counts = counts[counts["period"] == period.label].reset_index(drop=True)

    in_period = rows[_local_dates(rows, zone).between(period.start, period.end)]
    kept = empty_tidy(())
    driver_table = pd.DataFrame()
    if len(in_period):
        kept = analysis.score(
            in_period.assign(valid=in_period["valid_kept"]), q, settings=settings, timezone=zone
        ).to_frame()
        kept = kept[kept["code"].isin(HEADLINE)].reset_index(drop=True)
        try:
            driver_table = analysis.drivers(
                in_period, q, settings=settings, timezone=zone
            ).to_frame()
        except analysis.AnalysisError:
            driver_table = pd.DataFrame()

    monthly = rows[_local_dates(rows, zone) >= months[0].start]
    trend = empty_tidy(("period",))
    if len(monthly):
        trend = analysis.score(
            monthly,
            q,
            by=["period"],
            period=[m.as_range() for m in months],
            settings=settings,
            timezone=zone,
        ).to_frame()
        trend = trend[trend["code"].isin(HEADLINE)].reset_index(drop=True)

    own_desks = in_period[in_period["unit_code"] == unit.code]
    desks = (
        analysis.score(own_desks, q, by=["desk_code"], settings=settings).to_frame()
        if len(own_desks)
        else pd.DataFrame(columns=["desk_code", "code", "index", "n"])
    )
    drops = desk_drops(
        rows,
        q,
        settings=settings,
        zone=zone,
        last_day=min(period.end, _zone_now(zone)),
        points=drop_points,
        min_n=drop_min_n,
    )
    return Scorecard(
        unit=unit,
        period=period,
        previous=previous,
        questionnaire=q,
        table=current,
        previous_table=before,
        counts=counts,
        kept_all=kept,
        trend=trend,
        drivers=driver_table,
        desks=desks,
        drops=drops,
        min_n=min_n,
        months=[m.label for m in months],
    )


def _local_dates(rows: pd.DataFrame, zone: str) -> pd.Series:
    return rows["submitted_at"].dt.tz_convert(zone).dt.date


def desk_drops(
    rows: pd.DataFrame,
    q: Questionnaire,
    *,
    settings: ScoringSettings,
    zone: str,
    last_day: date,
    days: int = 14,
    baseline_days: int = 28,
    points: float = 15,
    min_n: int = 5,
) -> list[Drop]:
    """Days in the last ``days`` whose desk SIPAS fell at least ``points`` below the desk's
    ``baseline_days`` before, with at least ``min_n`` responses that day and p < 0.05 (or no
    p-value because a side has a zero standard error).

    analysis/ does the scoring and the test: each day and its baseline are custom periods
    (overlapping ranges), and :func:`analysis.compare` tests each day against the range just
    before it in the list, which is its own baseline.
    """
    if rows.empty:
        return []
    ranges: list[PeriodRange] = []
    for back in range(days - 1, -1, -1):
        day = last_day - timedelta(days=back)
        ranges.append(
            PeriodRange(f"base {day}", day - timedelta(days=baseline_days), day - timedelta(days=1))
        )
        ranges.append(PeriodRange(day.isoformat(), day, day))
    first = ranges[0].start
    recent = rows[_local_dates(rows, zone) >= first]
    if recent.empty:
        return []
    scores = analysis.score(
        recent, q, by=["desk_code", "period"], period=ranges, settings=settings, timezone=zone
    )
    change = _compare(scores).to_frame()
    table = scores.to_frame()
    sipas = change[(change["code"] == "SIPAS") & ~change["period"].str.startswith("base ")]
    n_of = table[table["code"] == "SIPAS"].set_index(["desk_code", "period"])["n"]
    found: list[Drop] = []
    for row in sipas.itertuples(index=False):
        n = n_of.get((row.desk_code, row.period))
        if n is None or pd.isna(n) or int(n) < min_n or pd.isna(row.change):
            continue
        # No p-value when one side has a zero SE (e.g. every answer that day dissatisfied):
        # a fall that large over enough responses is then shown all the same.
        significant = pd.isna(row.p_value) or row.p_value < 0.05
        if row.change <= -points and significant:
            found.append(
                Drop(
                    str(row.desk_code),
                    date.fromisoformat(str(row.period)),
                    float(row.index),
                    float(row.index_base),
                    float(row.change),
                    int(n),
                    float("nan") if pd.isna(row.p_value) else float(row.p_value),
                )
            )
    return sorted(found, key=lambda d: (d.day, d.desk_code), reverse=True)


# -- a desk ----------------------------------------------------------------------------------


@dataclass
class DeskCard:
    desk: Desk
    period: Period
    questionnaire: Questionnaire
    table: pd.DataFrame
    trend: pd.DataFrame
    drops: list[Drop]
    months: list[str]


def build_desk_card(
    session: Session,
    desk: Desk,
    period: Period,
    *,
    questionnaire: Questionnaire | None = None,
    min_n: int = 30,
    zone: str = "Asia/Ho_Chi_Minh",
    drop_points: float = 15,
    drop_min_n: int = 5,
) -> DeskCard:
    q = questionnaire or questionnaires.get(desk.questionnaire)
    settings = settings_for(min_n)
    months = periods.last_months(_trend_end(period, zone), 12)
    start, _ = periods.Period(
        "w", "custom", min(months[0].start, period.start), period.end
    ).utc_bounds(zone)
    _, end = period.utc_bounds(zone)
    rows = load_responses(
        session,
        q,
        unit_ids=None,
        start=start,
        end=end,
        extra_where=[RESPONSES.c.desk_id == desk.id],
    )
    in_period = rows[_local_dates(rows, zone).between(period.start, period.end)]
    table = (
        analysis.score(in_period, q, settings=settings).to_frame()
        if len(in_period)
        else empty_tidy(())
    )
    trend = empty_tidy(("period",))
    if len(rows):
        trend = analysis.score(
            rows,
            q,
            by=["period"],
            period=[m.as_range() for m in months],
            settings=settings,
            timezone=zone,
        ).to_frame()
        trend = trend[trend["code"].isin(HEADLINE)].reset_index(drop=True)
    drops = desk_drops(
        rows,
        q,
        settings=settings,
        zone=zone,
        last_day=min(period.end, _zone_now(zone)),
        points=drop_points,
        min_n=drop_min_n,
    )
    return DeskCard(desk, period, q, table, trend, drops, [m.label for m in months])


# -- very dissatisfied responses (a data query, not a score) ----------------------------------


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


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
