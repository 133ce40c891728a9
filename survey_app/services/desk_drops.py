"""The desk-drop alert: days whose desk SIPAS fell well below the desk's weeks before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

import analysis
from analysis import PeriodRange, ScoreResult, ScoringSettings
from questionnaires import Questionnaire

#: The significance level of the alert's test (a day against its baseline).
ALPHA = 0.05


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


def compare(scores: ScoreResult) -> analysis.ChangeResult:
    """Changes along the period. analysis.z_test divides before it masks a zero SE (two
    groups whose answers are all alike): numpy's warning is silenced here, the masked result
    is NaN as documented (reported to analysis/)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return analysis.compare(scores, "period")


def zone_today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def local_dates(rows: pd.DataFrame, zone: str) -> pd.Series:
    """The local day each response was submitted on."""
    dates: pd.Series = rows["submitted_at"].dt.tz_convert(zone).dt.date
    return dates


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
    ``baseline_days`` before, with at least ``min_n`` responses that day and p < ``ALPHA`` (or no
    p-value because a side has a zero standard error).

    analysis/ does the scoring and the test: each day and its baseline are custom periods
    (overlapping ranges), and :func:`analysis.compare` tests each day against the range just
    before it in the list, which is its own baseline.
    """
    if rows.empty:
        return []
    ranges = drop_ranges(last_day, days, baseline_days)
    recent = rows[local_dates(rows, zone) >= ranges[0].start]
    if recent.empty:
        return []
    scores = analysis.score(
        recent, q, by=["desk_code", "period"], period=ranges, settings=settings, timezone=zone
    )
    return drops_in(scores, points=points, min_n=min_n)


def drop_ranges(last_day: date, days: int = 14, baseline_days: int = 28) -> list[PeriodRange]:
    """Each of the last ``days`` days and, before it, its baseline (the ``baseline_days``
    before): the periods the alert scores."""
    ranges: list[PeriodRange] = []
    for back in range(days - 1, -1, -1):
        day = last_day - timedelta(days=back)
        ranges.append(
            PeriodRange(f"base {day}", day - timedelta(days=baseline_days), day - timedelta(days=1))
        )
        ranges.append(PeriodRange(day.isoformat(), day, day))
    return ranges


def drops_in(scores: ScoreResult, *, points: float = 15, min_n: int = 5) -> list[Drop]:
    """The drops in scores by desk and :func:`drop_ranges` (from the rows or the summaries)."""
    change = compare(scores).to_frame()
    table = scores.to_frame()
    sipas = change[(change["code"] == "SIPAS") & ~change["period"].str.startswith("base ")]
    n_of = table[table["code"] == "SIPAS"].set_index(["desk_code", "period"])["n"]
    found: list[Drop] = []
    records: list[dict[str, Any]] = sipas.to_dict(orient="records")  # type: ignore[assignment]
    for row in records:
        n = n_of.get((row["desk_code"], row["period"]))
        if n is None or pd.isna(n) or int(n) < min_n or pd.isna(row["change"]):
            continue
        # No p-value when one side has a zero SE (e.g. every answer that day dissatisfied):
        # a fall that large over enough responses is then shown all the same.
        significant = pd.isna(row["p_value"]) or row["p_value"] < ALPHA
        if row["change"] <= -points and significant:
            found.append(
                Drop(
                    str(row["desk_code"]),
                    date.fromisoformat(str(row["period"])),
                    float(row["index"]),
                    float(row["index_base"]),
                    float(row["change"]),
                    int(n),
                    float("nan") if pd.isna(row["p_value"]) else float(row["p_value"]),
                )
            )
    return sorted(found, key=lambda d: (d.day, d.desk_code), reverse=True)
