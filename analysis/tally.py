"""Tallies: answers counted per (group, column, code) — the count table as arrays — and the
item estimates (share or mean score, n, interval) that follow from them alone.

Both routes meet here: :func:`tally_rows` counts a response matrix with ``np.bincount``;
``scoring.score_counts`` fills the same arrays from a count table the database aggregated.
Everything after the tally is therefore the same code, so indices and item intervals are
identical by either route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .breakdown import Grouping
from .intervals import normal_interval, snap_zero_se, wilson_from_share
from .plan import ScoringPlan
from .responses import ResponseMatrix

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Tally:
    """Sums over scored responses, shaped (groups, columns, slots); slot c + 1 holds code c.

    Without weights ``weight`` and ``weight_sq`` are None and every weight counts as 1.
    ``node_n[g, v]`` is the number of respondents of group ``g`` who answered at least one
    item under node ``plan.nodes[v]``; −1 where a count table did not provide it.
    """

    counts: IntArray
    weight: FloatArray | None
    weight_sq: FloatArray | None
    node_n: IntArray


@dataclass(frozen=True)
class ScoredPairs:
    """The (row, group) pairs to tally.

    A pair whose response is not scored (invalid or excluded) is given the extra group id
    ``n_groups`` rather than removed: with one group per row this spares copying every
    column of a million rows, and every sum over that extra group is dropped.
    """

    rows: IntArray | None  # None: pair k is row k
    gid: IntArray
    weights: FloatArray | None
    n_groups: int

    @property
    def bins(self) -> int:
        """Group ids in use: the real groups and the one that collects left-out pairs."""
        return self.n_groups + 1

    def column(self, matrix: ResponseMatrix, j: int) -> NDArray[np.int8]:
        col = matrix.codes[:, j]
        return col if self.rows is None else col[self.rows]


def scored_pairs(matrix: ResponseMatrix, grouping: Grouping) -> ScoredPairs:
    """Set aside the pairs whose response is invalid or excluded (see ScoredPairs)."""
    rows, g = grouping.rows, grouping.n_groups
    if rows is None:
        gid = grouping.gid if matrix.scored.all() else np.where(matrix.scored, grouping.gid, g)
        return ScoredPairs(None, gid, matrix.weights, g)
    keep = matrix.scored[rows]  # a roll-up copies its columns anyway: drop them outright
    kept_rows = rows[keep]
    w = None if matrix.weights is None else matrix.weights[kept_rows]
    return ScoredPairs(kept_rows, grouping.gid[keep], w, g)


def answered_any(
    matrix: ResponseMatrix, pairs: ScoredPairs, plan: ScoringPlan
) -> list[NDArray[np.bool_]]:
    """For each index node, whether each pair's respondent answered an item under it."""
    table = {m.column: m.answered.astype(bool) for m in plan.measures if m.level == "item"}
    answered: dict[int, NDArray[np.bool_]] = {}
    for node in plan.nodes:
        if node.items:
            for m in node.items:
                column = plan.measures[m].column
                answered[column] = table[column][pairs.column(matrix, column) + 1]
    out: list[NDArray[np.bool_] | None] = [None] * len(plan.nodes)
    for v in range(len(plan.nodes) - 1, -1, -1):  # children come after parents
        node = plan.nodes[v]
        parts = (
            [answered[plan.measures[m].column] for m in node.items]
            if node.items
            else [out[c] for c in node.children]
        )
        acc = np.zeros(len(pairs.gid), dtype=bool)
        for part in parts:
            assert part is not None
            acc |= part
        out[v] = acc
    return [a for a in out if a is not None]


def tally_rows(matrix: ResponseMatrix, pairs: ScoredPairs, plan: ScoringPlan) -> Tally:
    """Count the scored pairs: one ``np.bincount`` per column over ``group × slots + slot``."""
    g, c, k = pairs.n_groups, len(plan.columns), plan.slots
    size = pairs.bins * k
    counts = np.empty((g, c, k), dtype=np.int64)
    weighted = pairs.weights is not None
    weight = np.empty((g, c, k)) if weighted else None
    weight_sq = np.empty((g, c, k)) if weighted else None
    w2 = pairs.weights**2 if pairs.weights is not None else None
    base = pairs.gid * k + 1  # slot of code c is c + 1
    for j in range(c):
        key = base + pairs.column(matrix, j)
        counts[:, j, :] = np.bincount(key, minlength=size)[: g * k].reshape(g, k)
        if weight is not None and weight_sq is not None:
            weight[:, j, :] = np.bincount(key, pairs.weights, size)[: g * k].reshape(g, k)
            weight_sq[:, j, :] = np.bincount(key, w2, size)[: g * k].reshape(g, k)
    node_n = np.stack(
        [
            np.bincount(pairs.gid[a], minlength=pairs.bins)[:g]
            for a in answered_any(matrix, pairs, plan)
        ],
        axis=1,
    ).astype(np.int64)
    return Tally(counts, weight, weight_sq, node_n)


@dataclass(frozen=True)
class ItemEstimates:
    """One value per (group, measure), on the 0–1 scale; NaN where nothing was answered."""

    share: FloatArray  # Σ w·y / Σ w·a: the item index / 100
    n: IntArray  # answers that count
    weight_sum: FloatArray  # Σ w·a (= n without weights)
    n_eff: FloatArray  # Kish (Σ w·a)² / Σ w²·a (= n without weights)
    se: FloatArray  # linearised SE of the ratio
    low: FloatArray
    high: FloatArray


def item_estimates(tally: Tally, plan: ScoringPlan, confidence: float) -> ItemEstimates:
    """Item shares, n and intervals from a tally (see the Notes of ``analysis.score``)."""
    g, m = tally.counts.shape[0], len(plan.measures)
    shape = (g, m)
    share, weight_sum, n_eff, se = (np.full(shape, np.nan) for _ in range(4))
    n = np.zeros(shape, dtype=np.int64)
    low, high = np.full(shape, np.nan), np.full(shape, np.nan)
    for k, measure in enumerate(plan.measures):
        a, y = measure.answered, measure.score
        counts = tally.counts[:, measure.column, :]
        w = counts.astype(float) if tally.weight is None else tally.weight[:, measure.column, :]
        w2 = (
            counts.astype(float)
            if tally.weight_sq is None
            else tally.weight_sq[:, measure.column, :]
        )
        answers = counts @ a.astype(np.int64)
        wa = w @ a
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (w @ y) / wa
            ratio = np.where(answers > 0, ratio, np.nan)
            # Linearised variance of a ratio: n/(n−1) Σ w²(y − R·a)² / (Σ w·a)².
            resid = y[None, :] - ratio[:, None] * a[None, :]
            var = (w2 * resid**2 * (a[None, :] > 0)).sum(axis=1) / wa**2
            var = np.where(answers > 1, var * answers / (answers - 1), np.nan)
            # Unweighted this is n²/n: exactly n, so Wilson is the textbook one.
            neff = np.where(answers > 0, wa**2 / (w2 @ a), 0.0)
        share[:, k], n[:, k], weight_sum[:, k], n_eff[:, k] = ratio, answers, wa, neff
        se[:, k] = snap_zero_se(np.sqrt(var))
        if measure.kind == "share":
            low[:, k], high[:, k] = wilson_from_share(ratio, neff, confidence)
        else:
            low[:, k], high[:, k] = normal_interval(ratio, se[:, k], confidence, (0, 1))
    return ItemEstimates(share, n, weight_sum, n_eff, se, low, high)
