"""Rankings of units with ties, "not ranked" for small groups, and change against the
previous period; and the ranking of expectations within a group."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .breakdown import PERIOD, unit_ancestors
from .scoring import ScoreResult

RANKED, NOT_RANKED = "ranked", "not ranked"


@dataclass(frozen=True)
class RankResult:
    """Ranks per (period, other groups, index) across units.

    ``to_frame()`` columns: grouping columns, ``level, code, index, n, min_n_flag, rank,
    rank_previous, rank_change, status``; ``rank_change`` = previous rank − rank (positive
    = moved up); ``status`` is ``ranked`` or ``not ranked``.
    """

    table: pd.DataFrame = field(repr=False)
    unit_column: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def competition_rank(values: pd.Series, decimals: int | None) -> pd.Series:
    """1 for the highest; equal values share the best rank and leave a gap (1, 2, 2, 4).

    Examples
    --------
    >>> competition_rank(pd.Series([84.996, 85.004, 80.0, float("nan")]), 2).tolist()
    [1, 1, 3, <NA>]
    """
    key = values.round(decimals) if decimals is not None else values
    return key.rank(method="min", ascending=False).astype("Int64")


def rank_units(
    scores: ScoreResult,
    *,
    unit_column: str = "unit_code",
    decimals: int | None = 2,
    units: pd.DataFrame | None = None,
    among: Collection[str] | None = None,
) -> RankResult:
    """Rank units on every index, within each period and other breakdown.

    Parameters
    ----------
    scores : ScoreResult
        Scores with ``unit_column`` among the grouping columns.
    unit_column : str
        The column that names the ranked units.
    decimals : int or None
        Indices are compared as published, rounded to this many decimals, so 85.004 and
        84.996 tie; ``None`` compares the exact values.
    units : DataFrame, optional
        The unit tree (``unit_code, parent_code``) of a roll-up: units are then ranked only
        against units at the same depth of that tree (e.g. the communes, wards and special
        zones of a province with each other, never with the province or a service point).
    among : collection of str, optional
        The units that may be ranked (e.g. those that existed in the period); the others are
        "not ranked". ``None``: every unit.

    Returns
    -------
    RankResult

    Notes
    -----
    A group with ``min_n_flag`` (n below ``min_n``), no index or no unit is "not ranked" and
    takes no rank; the others are ranked 1 = highest with ties sharing the best rank. The
    rank change compares with the period just before in time order; it is missing when the
    unit was not ranked then.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import ScoringSettings, score
    >>> rows = pd.DataFrame({"unit_code": ["A", "A", "B", "B", "C"],
    ...     "HL_TC": [5, 4, 5, 4, 1], "HL_TT": [5, 4, 5, 4, 1], "HL_CC": [4, 4, 4, 4, 1],
    ...     "HL_KQ": [5, 2, 5, 2, 1], "HL_PA": [5, 5, 5, 5, 1], "HL": [5, 5, 4, 4, 1]})
    >>> result = score(rows, "sipas-kiosk", by=["unit_code"],
    ...                settings=ScoringSettings(min_n=2))
    >>> ranks = rank_units(result).to_frame()
    >>> sipas = ranks[ranks["code"] == "SIPAS"].reset_index(drop=True)
    >>> sipas[["unit_code", "index", "rank", "status"]]
      unit_code  index  rank      status
    0         A   90.0     1      ranked
    1         B   90.0     1      ranked
    2         C    0.0  <NA>  not ranked
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    if unit_column not in scores.group_columns:
        raise ValueError(
            f"unit_column must be one of the grouping columns {list(scores.group_columns)}, "
            f"got {unit_column!r}"
        )
    table = scores.to_frame()[[*scores.group_columns, "level", "code", "index", "n", "min_n_flag"]]
    partition = [c for c in scores.group_columns if c != unit_column] + ["level", "code"]
    if units is not None:
        chains = unit_ancestors(units)
        table["_depth"] = table[unit_column].map(lambda u: len(chains.get(str(u), ())))
        partition.append("_depth")
    rankable = (table["min_n_flag"] == False) & table["index"].notna()  # noqa: E712 - NA-aware
    # Responses with no unit form a group of their own, but it is not a unit to rank.
    rankable = rankable.fillna(False).astype(bool) & table[unit_column].notna()
    if among is not None:
        rankable &= table[unit_column].isin(list(among))
    ranks = pd.Series(pd.NA, index=table.index, dtype="Int64")
    if rankable.any():
        eligible = table[rankable]
        key = eligible["index"].round(decimals) if decimals is not None else eligible["index"]
        ranks[rankable] = (
            key.groupby([eligible[c] for c in partition], dropna=False)
            .rank(method="min", ascending=False)
            .astype("Int64")
        )
    table["rank"] = ranks
    table["status"] = np.where(rankable, RANKED, NOT_RANKED)
    table["rank_previous"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
    if PERIOD in scores.group_columns and unit_column != PERIOD and scores.period_order:
        order = list(scores.period_order)
        before = {p: order[k - 1] for k, p in enumerate(order) if k > 0}
        keys = [c for c in partition if c != PERIOD] + [unit_column]
        earlier = table[[*keys, PERIOD, "rank"]].rename(
            columns={PERIOD: "_before", "rank": "rank_previous"}
        )
        # A single period maps to no earlier one: keep the label type so the merge still works.
        previous = table[PERIOD].map(before).astype(table[PERIOD].dtype)
        lookup = table[keys + [PERIOD]].assign(_before=previous)
        joined = lookup.merge(earlier, on=[*keys, "_before"], how="left")
        table["rank_previous"] = joined["rank_previous"].astype("Int64").to_numpy()
    table["rank_change"] = table["rank_previous"] - table["rank"]
    columns = [
        *scores.group_columns,
        "level",
        "code",
        "index",
        "n",
        "min_n_flag",
        "rank",
        "rank_previous",
        "rank_change",
        "status",
    ]
    return RankResult(table[columns].reset_index(drop=True), unit_column)


@dataclass(frozen=True)
class ExpectationRanking:
    """Expectations (desire items) by share wanting improvement, highest first per group.

    ``to_frame()`` columns: grouping columns, ``priority`` (1 = most wanted; ties share),
    ``code, label_vi, n, index, ci_low, ci_high, min_n_flag``.
    """

    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def expectation_ranking(scores: ScoreResult, decimals: int | None = 2) -> ExpectationRanking:
    """Rank the expectation items of each group by the share wanting improvement.

    The share is that of the two highest codes of the desire scale (3 Mong muốn,
    4 Rất mong muốn), as in the ``expectation`` rows of the scores.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score
    >>> import questionnaires
    >>> q = questionnaires.get("sipas-service")
    >>> rows = pd.DataFrame({c: [4, 4] for c in q.answer_columns()})
    >>> rows["Q10_8"] = [1, 2]
    >>> top = expectation_ranking(score(rows, q)).to_frame()
    >>> top[["priority", "code", "index"]].tail(2)
       priority    code  index
    4         1  Q10_10  100.0
    5         6   Q10_8    0.0
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    table = scores.to_frame()
    table = table[table["level"] == "expectation"].copy()
    groups = list(scores.group_columns)
    key = table["index"].round(decimals) if decimals is not None else table["index"]
    if groups:
        priority = key.groupby([table[c] for c in groups], dropna=False).rank(
            method="min", ascending=False
        )
    else:
        priority = key.rank(method="min", ascending=False)
    table.insert(len(groups), "priority", priority.astype("Int64"))
    table = table.sort_values([*groups, "priority"], kind="stable")  # ties: form order
    columns = [
        *groups,
        "priority",
        "code",
        "label_vi",
        "n",
        "index",
        "ci_low",
        "ci_high",
        "min_n_flag",
    ]
    return ExpectationRanking(table[columns].reset_index(drop=True))
