"""Scorecards: the scores of a unit (and those below it) or a desk for a period, assembled for
the dashboard, the reports and the API. No score is computed here: every number comes from
analysis/ (score, rank_units, join_targets, compare, drivers, tidy_scores).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import analysis
import questionnaires
from analysis import OPTIONAL_COLUMNS, TIDY_COLUMNS, ScoringSettings, summaries
from questionnaires import Questionnaire

from ..models import Desk, Target, Unit
from ..models.tables import RESPONSES
from . import periods, score_store, unit_history
from .accounts import UnitTree
from .desk_drops import Drop, compare, desk_drops, drop_ranges, drops_in, local_dates, zone_today
from .index_codes import headline_codes
from .periods import Period
from .wide_export import item_columns, load_responses


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


@dataclass(frozen=True)
class ScorecardSettings:
    """The app's settings a scorecard is built by (one place for the dashboard, reports, API)."""

    min_n: int = 30
    zone: str = "Asia/Ho_Chi_Minh"
    drop_points: float = 15
    drop_min_n: int = 5
    #: SCORE_FLAGGED (wide_export.counts_in_default_view).
    score_flagged: str = "exclude"
    #: Score from the stored summaries (``SIPAS_SCORES_FROM_SUMMARIES``); off until the two
    #: known differences from the rows are fixed (see bench/RESULTS.md, "Province scale").
    from_summaries: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScorecardSettings:
        return cls(
            min_n=int(config["SCORE_MIN_N"]),
            zone=str(config["TIME_ZONE"]),
            drop_points=float(config["DROP_ALERT_POINTS"]),
            drop_min_n=int(config["DROP_ALERT_MIN_N"]),
            score_flagged=str(config.get("SCORE_FLAGGED", "exclude")),
            from_summaries=str(config.get("SCORES_FROM_SUMMARIES", "")).lower()
            in ("1", "true", "yes"),
        )


def unit_scorecard(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    period: Period,
    questionnaire: Questionnaire,
    settings: ScorecardSettings,
    view: str = "today",
) -> Scorecard:
    """:func:`build_scorecard` by the app's settings."""
    build = build_scorecard_from_summaries if settings.from_summaries else build_scorecard
    return build(
        session,
        tree,
        unit,
        period,
        view=view,
        questionnaire=questionnaire,
        min_n=settings.min_n,
        zone=settings.zone,
        drop_points=settings.drop_points,
        drop_min_n=settings.drop_min_n,
        score_flagged=settings.score_flagged,
    )


def desk_scorecard(
    session: Session, desk: Desk, period: Period, settings: ScorecardSettings
) -> DeskCard:
    """:func:`build_desk_card` by the app's settings."""
    build = build_desk_card_from_summaries if settings.from_summaries else build_desk_card
    return build(
        session,
        desk,
        period,
        min_n=settings.min_n,
        zone=settings.zone,
        drop_points=settings.drop_points,
        drop_min_n=settings.drop_min_n,
        score_flagged=settings.score_flagged,
    )


def settings_for(min_n: int) -> ScoringSettings:
    return ScoringSettings(min_n=min_n)


# -- the scorecard of a unit and period ------------------------------------------------------


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
    #: SIPAS and elements of the unit with every response (flagged or excluded ones too): the
    #: "with" side of the with/without comparison.
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
    #: ``today`` (predecessors rolled into today's units) or ``as_it_was``.
    view: str = "today"
    #: The merged units whose responses are counted for this unit (today's view).
    rolled_in: unit_history.RolledIn = field(default_factory=lambda: unit_history.RolledIn((), ()))

    def unit_rows(self, unit_code: str | None = None) -> pd.DataFrame:
        code = unit_code or self.unit.code
        return self.table[self.table["unit_code"] == code]

    @property
    def headline_codes(self) -> tuple[str, ...]:
        return headline_codes(self.questionnaire)

    def headline(self, unit_code: str | None = None) -> pd.DataFrame:
        rows = self.unit_rows(unit_code)
        codes = list(self.headline_codes)
        return rows[rows["code"].isin(codes)].set_index("code").reindex(codes)

    def value(self, code: str, column: str = "index", unit_code: str | None = None) -> Any:
        rows = self.unit_rows(unit_code)
        found = rows.loc[rows["code"] == code, column]
        return None if found.empty or pd.isna(found.iloc[0]) else found.iloc[0]

    @property
    def scored(self) -> int:
        found = self.counts.loc[self.counts["unit_code"] == self.unit.code, "scored"]
        return int(found.iloc[0]) if len(found) else 0


def empty_tidy(groups: tuple[str, ...]) -> pd.DataFrame:
    """A tidy scores table with no rows (a period without responses)."""
    return pd.DataFrame(columns=[*groups, *TIDY_COLUMNS, *OPTIONAL_COLUMNS])


def _trend_end(period: Period, zone: str) -> date:
    """The trend ends with the period, or this month if the period is still running."""
    today = zone_today(zone)
    return min(period.end, today) if period.start <= today else period.end


def monthly_trend(
    rows: pd.DataFrame,
    q: Questionnaire,
    months: list[Period],
    settings: ScoringSettings,
    zone: str,
) -> pd.DataFrame:
    """The headline indices month by month (an empty table when there is no response)."""
    if not len(rows):
        return empty_tidy(("period",))
    ranges = [m.as_range() for m in months]
    trend = analysis.score(
        rows, q, by=["period"], period=ranges, settings=settings, timezone=zone
    ).to_frame()
    return trend[trend["code"].isin(headline_codes(q))].reset_index(drop=True)


COUNT_COLUMNS = [
    "unit_code",
    "period",
    "received",
    "scored",
    "invalid",
    "marked_not_valid",
    "flagged",
    "flag_excluded",
]


def _period_tables(
    session: Session,
    history: unit_history.ReportMap,
    ids: set[int],
    tree_frame: pd.DataFrame,
    main: analysis.ScoreResult,
    period: Period,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(tidy scores of the period, of the previous one, response counts of the period), with
    targets, ranks and changes, from ``main`` (by unit code and the two periods)."""
    previous = period.previous()
    if main.table.empty:
        # No response in either period. analysis.rank_units cannot rank an empty table
        # (reported to analysis/), and there is nothing to rank.
        empty = empty_tidy(("unit_code", "period"))
        return empty, empty, pd.DataFrame(columns=COUNT_COLUMNS)
    # Communes, wards and special zones that existed in the period are ranked; service points
    # (a centre, a branch) and former districts are not.
    ranked_in = {p.label: history.rankable(p.start, p.end) for p in (previous, period)}
    rankable = [
        code in ranked_in.get(label, ())
        for code, label in zip(main.table["unit_code"], main.table["period"], strict=True)
    ]
    ranks = analysis.rank_units(
        dataclasses.replace(main, table=main.table.loc[rankable]), units=tree_frame
    )
    targets = analysis.join_targets(main, targets_frame(session, ids))
    changes = compare(main)
    tidy = analysis.tidy_scores(main, targets=targets, ranks=ranks, changes=changes)
    current = tidy[tidy["period"] == period.label].reset_index(drop=True)
    before = tidy[tidy["period"] == previous.label].reset_index(drop=True)
    counts = main.responses
    counts = counts[counts["period"] == period.label].reset_index(drop=True)
    return current, before, counts


def build_scorecard_from_summaries(
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
    view: str = "today",
    score_flagged: str = "exclude",
) -> Scorecard:
    """Score ``unit`` (pooled with every unit below it) and each unit below it in ``period``,
    with the previous period, targets, ranks, the monthly trend, drivers and desks.

    Every number comes from the stored summaries (``services.score_store``): month cells of
    the units for the periods and the trend, day cells of the last 42 days for the desk-drop
    alert. The units are a plain set of unit ids (:meth:`UnitTree.subtree_ids`). When no
    summaries fit (none built yet under this zone), the raw responses are scored instead.
    """
    q = questionnaire or questionnaires.get("sipas-service")
    ids = tree.subtree_ids(unit.id)
    # The summaries are kept by stored unit: a unit with merged predecessors (whose rows are
    # reported under today's code) is scored from the rows until the summaries learn lineage.
    history = unit_history.report_map(tree, unit, view)
    renamed = any(code != today for code, today in history.relabel_codes.items())
    if set(history.unit_ids) != ids or renamed:
        return build_scorecard(
            session,
            tree,
            unit,
            period,
            questionnaire=q,
            min_n=min_n,
            zone=zone,
            drop_points=drop_points,
            drop_min_n=drop_min_n,
            view=view,
            score_flagged=score_flagged,
        )
    try:
        window = _window(period, zone)
        read = score_store.read(
            session, q, zone=zone, unit_ids=ids, months=window.months, score_flagged=score_flagged
        )
        days = score_store.read(
            session, q, zone=zone, unit_ids=ids, days=window.drop_days, score_flagged=score_flagged
        )
    except score_store.SummariesUnavailable:
        return build_scorecard(
            session,
            tree,
            unit,
            period,
            questionnaire=q,
            min_n=min_n,
            zone=zone,
            drop_points=drop_points,
            drop_min_n=drop_min_n,
            view=view,
            score_flagged=score_flagged,
        )
    settings = settings_for(min_n)
    previous = period.previous()
    tree_frame = history.units_frame()
    official = read.official
    both = [previous.as_range(), period.as_range()]
    main = (
        summaries.score_summaries(
            official,
            q,
            by=["unit_code", "period"],
            period=both,
            units=tree_frame,
            settings=settings,
        )
        if _rows(official)
        else analysis.score(
            load_responses_empty(q),
            q,
            by=["unit_code", "period"],
            period=both,
            units=tree_frame,
            settings=settings,
            timezone=zone,
        )
    )
    current, before, counts = _period_tables(session, history, ids, tree_frame, main, period)

    in_period = _between(official, period.start, period.end)
    kept = empty_tidy(())
    driver_table = pd.DataFrame()
    if _rows(in_period):
        kept_in = _between(read.kept, period.start, period.end)
        kept = summaries.score_summaries(kept_in, q, settings=settings).to_frame()
        kept = kept[kept["code"].isin(headline_codes(q))].reset_index(drop=True)
        try:
            driver_table = summaries.summary_drivers(in_period, q, settings=settings).to_frame()
        except analysis.AnalysisError:
            driver_table = pd.DataFrame()
    trend = _summary_trend(
        _between(official, window.trend[0].start, period.end), q, window.trend, settings
    )
    own = _where(in_period, in_period.table["unit_code"].isin(history.service_point_codes()))
    desks = (
        summaries.score_summaries(own, q, by=["desk_code"], settings=settings).to_frame()
        if _rows(own)
        else pd.DataFrame(columns=["desk_code", "code", "index", "n"])
    )
    drops = _summary_drops(days.official, q, window, settings, drop_points, drop_min_n)
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
        months=[m.label for m in window.trend],
        view=history.view,
        rolled_in=history.rolled_in(min(previous.start, window.trend[0].start), period.end),
    )


@dataclass(frozen=True)
class _Window:
    """What a scorecard reads: whole months (first days), the trend's months, the alert's days."""

    months: list[date]
    trend: list[Period]
    drop_days: tuple[date, date]
    last_day: date


def _window(period: Period, zone: str) -> _Window:
    trend = periods.last_months(_trend_end(period, zone), 12)
    first = min(period.previous().start, trend[0].start)
    months: list[date] = []
    day = first.replace(day=1)
    while day <= period.end:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    last_day = min(period.end, zone_today(zone))
    ranges = drop_ranges(last_day)
    return _Window(months, trend, (ranges[0].start, last_day), last_day)


def _rows(part: summaries.Summaries) -> int:
    return len(part.table)


def _where(part: summaries.Summaries, mask: Any) -> summaries.Summaries:
    return summaries.Summaries(part.table[mask].reset_index(drop=True), part.basis)


def _between(part: summaries.Summaries, start: date, end: date) -> summaries.Summaries:
    days = part.table["day"]
    return _where(part, (days >= start.isoformat()) & (days <= end.isoformat()))


def load_responses_empty(q: Questionnaire) -> pd.DataFrame:
    """No response, in the wide format (what analysis.score gives an empty result for)."""
    scored, _ = item_columns(q)
    columns = ["response_id", "submitted_at", "unit_code", "desk_code", "valid", "flags"]
    frame = pd.DataFrame(columns=[*columns, *scored])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    return frame


def _summary_trend(
    part: summaries.Summaries, q: Questionnaire, months: list[Period], settings: ScoringSettings
) -> pd.DataFrame:
    if not _rows(part):
        return empty_tidy(("period",))
    ranges = [m.as_range() for m in months]
    trend = summaries.score_summaries(
        part, q, by=["period"], period=ranges, settings=settings
    ).to_frame()
    return trend[trend["code"].isin(headline_codes(q))].reset_index(drop=True)


def _summary_drops(
    part: summaries.Summaries,
    q: Questionnaire,
    window: _Window,
    settings: ScoringSettings,
    points: float,
    min_n: int,
) -> list[Drop]:
    if not _rows(part):
        return []
    scores = summaries.score_summaries(
        part,
        q,
        by=["desk_code", "period"],
        period=drop_ranges(window.last_day),
        settings=settings,
    )
    return drops_in(scores, points=points, min_n=min_n)


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
    view: str = "today",
    score_flagged: str = "exclude",
) -> Scorecard:
    """:func:`build_scorecard_from_summaries` from the raw responses (the reference the
    summaries are tested against, and the way when no summaries fit).

    ``view`` ``today``: today's units, each with the units merged into it (its trend crosses
    the merger); ``as_it_was``: each stored unit alone (survey_app/services/unit_history.py).
    """

    q = questionnaire or questionnaires.get("sipas-service")
    settings = settings_for(min_n)
    previous = period.previous()
    months = periods.last_months(_trend_end(period, zone), 12)
    first = min(previous.start, months[0].start)
    start, _ = periods.Period("window", "custom", first, period.end).utc_bounds(zone)
    _, end = period.utc_bounds(zone)
    history = unit_history.report_map(tree, unit, view)
    ids = set(history.unit_ids)
    rows = history.relabel(
        load_responses(session, q, unit_ids=ids, start=start, end=end, score_flagged=score_flagged)
    )
    tree_frame = history.units_frame()

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
    current, before, counts = _period_tables(session, history, ids, tree_frame, main, period)
    in_period = rows[local_dates(rows, zone).between(period.start, period.end)]
    kept = empty_tidy(())
    driver_table = pd.DataFrame()
    if len(in_period):
        kept = analysis.score(
            in_period.assign(valid=in_period["valid_kept"]), q, settings=settings, timezone=zone
        ).to_frame()
        kept = kept[kept["code"].isin(headline_codes(q))].reset_index(drop=True)
        try:
            driver_table = analysis.drivers(
                in_period, q, settings=settings, timezone=zone
            ).to_frame()
        except analysis.AnalysisError:
            driver_table = pd.DataFrame()

    monthly = rows[local_dates(rows, zone) >= months[0].start]
    trend = monthly_trend(monthly, q, months, settings, zone)

    own_desks = in_period[in_period["unit_code"].isin(history.service_point_codes())]
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
        last_day=min(period.end, zone_today(zone)),
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
        view=history.view,
        rolled_in=history.rolled_in(first, period.end),
    )


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


def build_desk_card_from_summaries(
    session: Session,
    desk: Desk,
    period: Period,
    *,
    questionnaire: Questionnaire | None = None,
    min_n: int = 30,
    zone: str = "Asia/Ho_Chi_Minh",
    drop_points: float = 15,
    drop_min_n: int = 5,
    score_flagged: str = "exclude",
) -> DeskCard:
    """A desk's scores in ``period``, its monthly trend and drops, from the stored summaries
    (the raw responses when none fit)."""
    q = questionnaire or questionnaires.get(desk.questionnaire)
    try:
        window = _window(period, zone)
        read = score_store.read(
            session,
            q,
            zone=zone,
            desk_ids={desk.id},
            months=window.months,
            score_flagged=score_flagged,
        )
        days = score_store.read(
            session,
            q,
            zone=zone,
            desk_ids={desk.id},
            days=window.drop_days,
            score_flagged=score_flagged,
        )
    except score_store.SummariesUnavailable:
        return build_desk_card(
            session,
            desk,
            period,
            questionnaire=q,
            min_n=min_n,
            zone=zone,
            drop_points=drop_points,
            drop_min_n=drop_min_n,
            score_flagged=score_flagged,
        )
    settings = settings_for(min_n)
    in_period = _between(read.official, period.start, period.end)
    table = (
        summaries.score_summaries(in_period, q, settings=settings).to_frame()
        if _rows(in_period)
        else empty_tidy(())
    )
    trend = _summary_trend(
        _between(read.official, window.trend[0].start, period.end), q, window.trend, settings
    )
    drops = _summary_drops(days.official, q, window, settings, drop_points, drop_min_n)
    return DeskCard(desk, period, q, table, trend, drops, [m.label for m in window.trend])


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
    score_flagged: str = "exclude",
) -> DeskCard:
    """:func:`build_desk_card` from the raw responses."""
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
        score_flagged=score_flagged,
    )
    in_period = rows[local_dates(rows, zone).between(period.start, period.end)]
    table = (
        analysis.score(in_period, q, settings=settings).to_frame()
        if len(in_period)
        else empty_tidy(())
    )
    trend = monthly_trend(rows, q, months, settings, zone)
    drops = desk_drops(
        rows,
        q,
        settings=settings,
        zone=zone,
        last_day=min(period.end, zone_today(zone)),
        points=drop_points,
        min_n=drop_min_n,
    )
    return DeskCard(desk, period, q, table, trend, drops, [m.label for m in months])
