"""The officer dashboard's content: the all-channel headline with its two comparisons (the
previous period and the same span a year earlier), the split by form and channel, and the
rows of its tables, assembled from a scorecard. The view only adds words and renders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

import analysis
import questionnaires
from analysis import PoolingSettings

from ..models import Unit
from . import charts, unit_history
from .accounts import UnitTree
from .collation import vi_key
from .desk_drops import local_dates, zone_today
from .index_codes import headline_codes
from .periods import Period, days
from .scorecards import Scorecard
from .wide_export import load_responses

#: What the dashboard shows by default: every service-delivery form, pooled.
ALL_FORMS = "all"
#: The forms a desk collects on, pooled in the all-channel headline (README "All-channel SIPAS").
POOLED_FORMS = ("sipas-service", "sipas-kiosk")
#: A comparison is "thin" when the other span holds fewer scored responses than this share of
#: the current span's (or fewer than the small-group minimum).
THIN_SHARE = 0.5


def missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """A pandas/numpy value as a template wants it (None for missing)."""
    if missing(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts, pandas' missing values as None (templates test for None)."""
    return [
        {str(key): plain(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


# -- the headline and its comparisons --------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The headline of another span, and whether it holds enough responses to compare."""

    kind: str  # "previous" or "last_year"
    #: The span of this period compared (to date when the period is still running).
    current: Period
    #: The span it is compared with.
    other: Period
    scored: int
    current_scored: int
    thin: bool
    values: dict[str, float | None]
    se: dict[str, float | None]


@dataclass(frozen=True)
class Headline:
    """SIPAS, elements and HL of a unit over every form (or one), with comparisons."""

    forms: tuple[str, ...]
    #: Scored responses per form in the period (the forms that fed it).
    form_counts: dict[str, int]
    weighting: str
    rows: list[dict[str, Any]]
    comparisons: list[Comparison]
    #: One row per form × channel: ``form, channel, n, index, ci_low, ci_high`` (SIPAS) and
    #: the elements' indices by code.
    split: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(self.form_counts.values())


def spans(period: Period, today: date) -> tuple[Period, Period, Period]:
    """The span of ``period`` shown (to date if it is still running), the same length at the
    start of the previous period, and the same dates a year earlier."""
    current = period.until(today) if period.start <= today < period.end else period
    before = period.previous()
    last = min(before.end, date.fromordinal(before.start.toordinal() + current.days - 1))
    previous = before if current is period else days(before.start, last)
    year_ago = period.same_span_last_year() if current is period else current.same_span_last_year()
    return current, previous, year_ago


def _score_spans(
    rows: pd.DataFrame,
    q: questionnaires.Questionnaire,
    ranges: Sequence[Period],
    settings: analysis.ScoringSettings,
    zone: str,
) -> pd.DataFrame:
    frames = []
    seen: set[str] = set()
    for span in ranges:
        if span.label in seen:
            continue
        seen.add(span.label)
        inside = rows[local_dates(rows, zone).between(span.start, span.end)]
        if not len(inside):
            continue
        scored = analysis.score(inside, q, settings=settings).to_frame(detail=True)
        frames.append(scored.assign(period=span.label))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def headline(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    period: Period,
    *,
    forms: Sequence[str] = POOLED_FORMS,
    weighting: str = "respondents",
    min_n: int = 30,
    zone: str = "Asia/Ho_Chi_Minh",
    today: date | None = None,
    targets: Mapping[str, float] | None = None,
    view: str = "today",
    score_flagged: str = "exclude",
) -> Headline:
    """The headline of ``unit`` (and everything below it) pooled over ``forms``.

    ``view`` and ``score_flagged`` pick the stored units (today's unit with the units merged
    into it, or as it was) and the flagged-response rule exactly as the scorecard does.

    Each form is scored on its own by analysis/, then pooled element by element by
    :func:`analysis.pool_forms` (a single form pools to its own indices). The previous
    period and the same span a year earlier are scored the same way.
    """
    day = today or zone_today(zone)
    current, previous, year_ago = spans(period, day)
    settings = analysis.ScoringSettings(min_n=min_n)
    window = days(min(previous.start, year_ago.start, current.start), current.end)
    start, _ = window.utc_bounds(zone)
    _, end = current.utc_bounds(zone)
    ids = set(unit_history.unit_ids_for(tree, unit.id, view))
    parts: dict[str, pd.DataFrame] = {}
    split: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for form in forms:
        q = questionnaires.get(form)
        rows = load_responses(
            session, q, unit_ids=ids, start=start, end=end, score_flagged=score_flagged
        )
        if not len(rows):
            continue
        scored = _score_spans(rows, q, [current, previous, year_ago], settings, zone)
        if scored.empty:
            continue
        parts[form] = scored
        now = scored[scored["period"] == current.label]
        sipas = now[now["code"] == "SIPAS"]
        counts[form] = int(sipas["n"].iloc[0]) if len(sipas) else 0
        split.extend(_split_rows(rows, q, current, settings, zone))
    codes = [*headline_codes(questionnaires.get(forms[0])), "HL"]
    if not parts:
        return Headline(tuple(forms), {}, weighting, [], [], [])
    pooled = analysis.pool_forms(
        parts,
        by=["period"],
        settings=PoolingSettings(weighting=weighting, min_n=min_n),  # type: ignore[arg-type]
    ).table
    by_period = {label: frame.set_index("code") for label, frame in pooled.groupby("period")}
    here = by_period.get(current.label)
    comparisons = []
    current_n = _scored(here)
    for kind, other in (("previous", previous), ("last_year", year_ago)):
        frame = by_period.get(other.label)
        scored_n = _scored(frame)
        comparisons.append(
            Comparison(
                kind,
                current,
                other,
                scored_n,
                current_n,
                scored_n < min_n or scored_n < THIN_SHARE * current_n,
                {c: _get(frame, c, "index") for c in codes},
                {c: _get(frame, c, "se") for c in codes},
            )
        )
    out = []
    for code in codes:
        row: dict[str, Any] = {
            "code": code,
            "level": _get(here, code, "level"),
            "label_vi": _get(here, code, "label_vi") or code,
            "n": _get(here, code, "n") or 0,
            "index": _get(here, code, "index"),
            "ci_low": _get(here, code, "ci_low"),
            "ci_high": _get(here, code, "ci_high"),
            "min_n_flag": bool(_get(here, code, "min_n_flag") in (None, True)),
            "se": _get(here, code, "se"),
        }
        target = (targets or {}).get(code)
        row["target"] = target
        row["gap"] = None if target is None or row["index"] is None else row["index"] - target
        for c in comparisons:
            before = c.values.get(code)
            row[c.kind] = before
            row[f"{c.kind}_change"] = (
                None if before is None or row["index"] is None else row["index"] - before
            )
            row[f"{c.kind}_p"] = _p_value(row["index"], row["se"], before, c.se.get(code))
        out.append(row)
    return Headline(tuple(parts), counts, weighting, out, comparisons, split)


def _scored(frame: pd.DataFrame | None) -> int:
    if frame is None or "SIPAS" not in frame.index:
        return 0
    value = plain(frame.loc["SIPAS", "n"])
    return int(value) if value is not None else 0


def _get(frame: pd.DataFrame | None, code: str, column: str) -> Any:
    if frame is None or code not in frame.index or column not in frame.columns:
        return None
    return plain(frame.loc[code, column])


def _p_value(a: Any, se_a: Any, b: Any, se_b: Any) -> float | None:
    if None in (a, se_a, b, se_b):
        return None
    _z, p = analysis.z_test(a, se_a, b, se_b)
    value = float(p)
    return None if math.isnan(value) else value


def _split_rows(
    rows: pd.DataFrame,
    q: questionnaires.Questionnaire,
    current: Period,
    settings: analysis.ScoringSettings,
    zone: str,
) -> list[dict[str, Any]]:
    inside = rows[local_dates(rows, zone).between(current.start, current.end)]
    if not len(inside):
        return []
    table = analysis.score(inside, q, by=["channel"], settings=settings).to_frame()
    out = []
    for channel, frame in table.groupby("channel"):
        indexed = frame.set_index("code")
        row: dict[str, Any] = {
            "form": q.id,
            "channel": str(channel),
            "n": _get(indexed, "SIPAS", "n") or 0,
            "index": _get(indexed, "SIPAS", "index"),
            "ci_low": _get(indexed, "SIPAS", "ci_low"),
            "ci_high": _get(indexed, "SIPAS", "ci_high"),
            "min_n_flag": bool(_get(indexed, "SIPAS", "min_n_flag") in (None, True)),
            "HL": _get(indexed, "HL", "index"),
        }
        row.update({code: _get(indexed, code, "index") for code in analysis.pooling.ELEMENTS})
        out.append(row)
    return out


# -- the rows of the dashboard's tables (moved out of the view, issue 9) ---------------------


def children_rows(card: Scorecard, tree: UnitTree) -> list[dict[str, Any]]:
    """The units just below, ranked (unranked last, then in Vietnamese alphabetical order)."""
    # Today's view lists today's units; "as it was" those that existed in the period.
    kids = [
        u
        for u in tree.children.get(card.unit.id, [])
        if (
            u.valid_to is None
            if card.view == "today"
            else u.exists_during(card.period.start, card.period.end)
        )
    ]
    table = card.table[card.table["code"] == "SIPAS"].set_index("unit_code")
    out = []
    for unit in kids:
        row: dict[str, Any] = dict.fromkeys(
            ("index", "ci_low", "ci_high", "rank", "rank_change", "target", "gap"), None
        )
        row.update(n=0, min_n_flag=True)
        if unit.code in table.index:
            row.update({str(k): plain(v) for k, v in table.loc[unit.code].items()})
        row["unit"] = unit
        out.append(row)
    return sorted(
        out,
        key=lambda r: (r.get("rank") is None, r.get("rank") or 0, vi_key(r["unit"].name)),
    )


def trend_points(trend: Sequence[Mapping[str, Any]]) -> list[charts.Point]:
    """The monthly SIPAS rows as points of a trend chart (dashboard, desk page, PDF)."""
    return [
        charts.Point(
            short_month(r["period"]),
            r.get("index"),
            r.get("ci_low"),
            r.get("ci_high"),
            bool(r.get("min_n_flag")),
        )
        for r in trend
    ]


def trend_rows(card_trend: pd.DataFrame, months: list[str]) -> list[dict[str, Any]]:
    sipas = card_trend[card_trend["code"] == "SIPAS"].set_index("period")
    out = []
    for label in months:
        row: dict[str, Any] = (
            {str(k): plain(v) for k, v in sipas.loc[label].items()} if label in sipas.index else {}
        )
        row["period"] = label
        out.append(row)
    return out


def driver_rows(card_drivers: pd.DataFrame, names: Mapping[str, str]) -> list[dict[str, Any]]:
    rows = records(card_drivers)
    for row in rows:
        row["label"] = names.get(row["item"], row["label_vi"])
    return rows


def item_rows(card: Scorecard, names: Mapping[str, str]) -> list[dict[str, Any]]:
    unit_rows = card.unit_rows()
    items = records(unit_rows[unit_rows["level"].isin(["element", "item", "overall_question"])])
    for row in items:
        row["label"] = names.get(row["code"], row["label_vi"])
    return items


def target_rows(card: Scorecard, tree: UnitTree, names: Mapping[str, str]) -> list[dict[str, Any]]:
    if "target" not in card.table:
        return []
    rows = records(card.table[card.table["target"].notna()])
    for row in rows:
        row["unit"] = tree.by_code.get(row["unit_code"])
        row["label"] = names.get(row["code"], row["label_vi"])
    return rows


def desk_rows(card: Scorecard) -> list[dict[str, Any]]:
    desks = card.desks
    return records(desks[desks["code"] == "SIPAS"]) if len(desks) else []


def unit_targets(card: Scorecard) -> dict[str, float]:
    """The unit's own targets for the period, by index code."""
    rows = card.unit_rows()
    if "target" not in rows:
        return {}
    found = rows[rows["target"].notna()]
    return {str(c): float(t) for c, t in zip(found["code"], found["target"], strict=True)}


def sipas_target(card: Scorecard) -> float | None:
    return unit_targets(card).get("SIPAS")


# -- the charts -------------------------------------------------------------------------------


def bar_label(row: dict[str, Any]) -> str:
    """SIPAS alone; an element as "TC · Tiếp cận dịch vụ"."""
    return "SIPAS" if row["code"] == "SIPAS" else f"{row['code']} · {row['label']}"


def short_month(label: str) -> str:
    """2026-05 → 05/26 (chart axes have little room)."""
    year, _sep, month = label.partition("-")
    return f"{month}/{year[2:]}" if month else label


@dataclass(frozen=True)
class ChartTexts:
    """The charts' titles, in the reader's language (the view translates them)."""

    elements: str
    trend: str
    ranking: str
    drivers: str
    drivers_x: str
    drivers_y: str


def charts_for(
    card: Scorecard,
    headline: list[dict[str, Any]],
    children: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    drivers: list[dict[str, Any]],
    texts: ChartTexts,
    font: str = charts.WEB_FONT,
) -> dict[str, str]:
    """The dashboard's charts as SVG, from the rows above (also drawn in the PDF report)."""
    out = {
        "elements": charts.index_bars(
            [
                charts.Bar(
                    bar_label(r),
                    r["index"],
                    r["ci_low"],
                    r["ci_high"],
                    bool(r["min_n_flag"]),
                    r.get("target"),
                )
                for r in headline
            ],
            texts.elements,
            font=font,
        ),
        "trend": charts.trend_line(
            trend_points(trend),
            texts.trend,
            target=sipas_target(card),
            font=font,
        ),
    }
    if children:
        out["ranking"] = charts.index_bars(
            [
                charts.Bar(
                    r["unit"].name,
                    r.get("index"),
                    r.get("ci_low"),
                    r.get("ci_high"),
                    bool(r.get("min_n_flag")),
                    r.get("target"),
                )
                for r in children
            ],
            texts.ranking,
            font=font,
            label_width=230,
        )
    plotted = [d for d in drivers if d.get("quadrant") not in (None, "None")]
    if plotted:
        out["drivers"] = charts.importance_performance(
            [
                charts.Driver(d["item"], d["performance"], d["importance"], d["quadrant"])
                for d in plotted
            ],
            texts.drivers,
            performance_split=sum(d["performance"] for d in plotted) / len(plotted),
            importance_split=sum(d["importance"] for d in plotted) / len(plotted),
            x_label=texts.drivers_x,
            y_label=texts.drivers_y,
            font=font,
        )
    return out
