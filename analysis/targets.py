"""The index plan (SIPAS.md §6): targets per unit, index and period, and PAR INDEX points."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .breakdown import PERIOD
from .errors import DataError, shown
from .scoring import ScoreResult

#: In a targets table, ``unit_code`` "*" means every unit; an empty ``period``, every period.
EVERY = "*"


#: Columns of a targets table after the grouping columns.
TARGET_COLUMNS = ("level", "code", "label_vi", "n", "index", "min_n_flag", "target", "gap", "met")


@dataclass(frozen=True)
class TargetResult:
    """Scores that have a target: ``to_frame()`` columns are the grouping columns,
    ``level, code, label_vi, n, index, min_n_flag, target, gap, met``; ``gap`` = index −
    target (negative = short of the target)."""

    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def read_targets(targets: pd.DataFrame, source: str = "targets") -> pd.DataFrame:
    """Check a targets table and normalise it to ``unit_code, code, period, target``.

    The index column may be called ``index`` or ``code``; ``period`` is optional.
    """
    if not isinstance(targets, pd.DataFrame):
        raise TypeError(f"targets must be a DataFrame, got {type(targets).__name__}")
    frame = targets.rename(columns={"index": "code"})
    for column in ("unit_code", "code", "target"):
        if column not in frame.columns:
            raise DataError(
                "a targets table needs unit_code, index and target",
                source=source,
                column=column if column != "code" else "index",
            )
    out = pd.DataFrame(index=frame.index)
    out["unit_code"] = frame["unit_code"].astype("str").str.strip()
    out["code"] = frame["code"].astype("str").str.strip()
    if PERIOD in frame.columns:
        # A spreadsheet may hold the year 2025 as the number 2025.0.
        out[PERIOD] = (
            frame[PERIOD]
            .astype("str")
            .str.strip()
            .fillna("")
            .str.replace(r"^(\d+)\.0$", r"\1", regex=True)
        )
    else:
        out[PERIOD] = ""
    values = pd.to_numeric(frame["target"], errors="coerce")
    bad = ~values.between(0, 100)
    if bad.any():
        row = bad[bad].index[0]
        raise DataError(
            f"target {shown(frame['target'].loc[row])} is not a number from 0 to 100",
            source=source,
            row=row,
            column="target",
        )
    out["target"] = values.astype(float)
    dup = out.duplicated(["unit_code", "code", PERIOD], keep="first")
    if dup.any():
        row = dup[dup].index[0]
        raise DataError(
            "this unit, index and period has a target already",
            source=source,
            row=row,
            column="target",
        )
    return out


def join_targets(
    scores: ScoreResult, targets: pd.DataFrame, *, unit_column: str = "unit_code"
) -> TargetResult:
    """Join a targets table to the scores and compute the gap.

    Parameters
    ----------
    scores : ScoreResult
    targets : DataFrame
        ``unit_code, index, period, target`` (target in index points, 0–100). ``unit_code``
        "*" applies to every unit and an empty or absent ``period`` to every period; the
        most specific target wins (unit and period > unit > period > neither).
    unit_column : str
        The scores' unit column.

    Returns
    -------
    TargetResult

    Notes
    -----
    ``gap = index − target``; ``met = index ≥ target``. A period matches by its label
    (``2025``, ``2025-Q1``, ``2025-03``), so targets set per year join scores by year.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score
    >>> rows = pd.DataFrame({"unit_code": ["X", "X", "Y", "Y"],
    ...     "HL_TC": [5, 4, 5, 2], "HL_TT": [5, 4, 5, 2], "HL_CC": [4, 4, 4, 2],
    ...     "HL_KQ": [5, 2, 5, 2], "HL_PA": [5, 5, 5, 2], "HL": [5, 5, 4, 2]})
    >>> plan = pd.DataFrame({"unit_code": ["*", "Y"], "index": ["SIPAS", "SIPAS"],
    ...                      "target": [85, 60]})
    >>> result = join_targets(score(rows, "sipas-kiosk", by=["unit_code"]), plan)
    >>> result.to_frame()[["unit_code", "index", "target", "gap", "met"]]
      unit_code  index  target   gap    met
    0         X   90.0    85.0   5.0   True
    1         Y   50.0    60.0 -10.0  False
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    plan = read_targets(targets)
    table = scores.to_frame()
    units = (
        table[unit_column].astype("str")
        if unit_column in scores.group_columns
        else pd.Series(EVERY, index=table.index)
    )
    periods = (
        table[PERIOD].astype("str")
        if PERIOD in scores.group_columns
        else pd.Series("", index=table.index)
    )
    found = pd.Series(np.nan, index=table.index)
    # Least specific first, so each more specific match overwrites it.
    for unit_any, period_any in ((True, True), (True, False), (False, True), (False, False)):
        subset = plan[(plan["unit_code"] == EVERY) == unit_any]
        subset = subset[(subset[PERIOD] == "") == period_any]
        if subset.empty:
            continue
        lookup = pd.DataFrame(
            {
                "unit_code": EVERY if unit_any else units,
                "code": table["code"],
                PERIOD: "" if period_any else periods,
            }
        )
        hit = lookup.merge(subset, on=["unit_code", "code", PERIOD], how="left")["target"]
        hit.index = table.index
        found = hit.where(hit.notna(), found)
    table["target"] = found
    table = table[table["target"].notna()].copy()
    table["gap"] = table["index"] - table["target"]
    # pandas-stubs know no pd.array of a boolean Series with dtype "boolean" (pandas does).
    table["met"] = pd.array(table["index"] >= table["target"], dtype="boolean")  # type: ignore[call-overload]
    table.loc[table["index"].isna(), "met"] = pd.NA
    columns = [*scores.group_columns, *TARGET_COLUMNS]
    return TargetResult(table[columns].reset_index(drop=True))


@dataclass(frozen=True)
class ParPoints:
    """PAR INDEX points per group: grouping columns, ``code, index, n, min_n_flag,
    max_points, points``."""

    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def par_index_points(scores: ScoreResult, max_points: float, code: str = "SIPAS") -> ParPoints:
    """Points of the citizen-satisfaction criterion of PAR INDEX.

    Parameters
    ----------
    scores : ScoreResult
    max_points : float
        The points the criterion is worth (a setting: the conversion rule is not in the
        published sources).
    code : str
        The index converted, the overall SIPAS by default.

    Notes
    -----
    ``points = index / 100 × max_points`` (SIPAS.md §6).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score
    >>> rows = pd.DataFrame({"HL_TC": [5, 4], "HL_TT": [5, 4], "HL_CC": [4, 4],
    ...                      "HL_KQ": [5, 2], "HL_PA": [5, 5], "HL": [5, 5]})
    >>> par_index_points(score(rows, "sipas-kiosk"), max_points=2.5).to_frame()[["index", "points"]]
       index  points
    0   90.0    2.25
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, int | float)
        or not (max_points > 0 and np.isfinite(max_points))
    ):
        raise ValueError(f"max_points must be a positive number, got {max_points!r}")
    table = scores.to_frame()
    table = table[table["code"] == code].copy()
    if table.empty:
        raise ValueError(f"code {code!r} is not an index of these scores")
    table["max_points"] = float(max_points)
    table["points"] = table["index"] / 100 * float(max_points)
    columns = [*scores.group_columns, "code", "index", "n", "min_n_flag", "max_points", "points"]
    return ParPoints(table[columns].reset_index(drop=True))
