"""Standard errors of element, aspect and overall indices by Taylor linearisation.

This is the one statistic that needs respondent-level rows: a node mixes items answered by
different (overlapping) sets of respondents, so its variance depends on how each person's
answers go together, which a count table cannot tell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from .intervals import snap_zero_se
from .plan import ScoringPlan
from .responses import ResponseMatrix
from .tally import ItemEstimates, ScoredPairs
from .tree import NodeIndices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def node_standard_errors(
    matrix: ResponseMatrix,
    pairs: ScoredPairs,
    plan: ScoringPlan,
    items: ItemEstimates,
    nodes: NodeIndices,
    node_n: IntArray,
) -> FloatArray:
    """Linearised SE (0–1 scale) of every node in every group; NaN where not estimable.

    For item j with ratio R_j = Σ w·y_j / Σ w·a_j, respondent i's influence is
    z_ij = (y_ij − R_j·a_ij) / Σ w·a_j. A node's influence is Σ_c λ_c z_ic over its children
    with their weights λ in the node (1/number of defined children), applied down the tree.
    Then var = n/(n − 1) · Σ_i (w_i z_i)², with n the node's contributing respondents.
    """
    groups = pairs.n_groups
    variance = np.full((groups, len(plan.nodes)), np.nan)

    def spread(v: int, z: FloatArray) -> None:
        wz = z if pairs.weights is None else z * pairs.weights
        squares = np.bincount(pairs.gid, wz * wz, minlength=pairs.bins)[:groups]
        n = node_n[:, v]
        with np.errstate(divide="ignore", invalid="ignore"):
            variance[:, v] = np.where(n > 1, squares * n / (n - 1), np.nan)

    node_influences(matrix, pairs, plan, items, nodes, spread)
    return snap_zero_se(np.sqrt(variance))


def node_influences(
    matrix: ResponseMatrix,
    pairs: ScoredPairs,
    plan: ScoringPlan,
    items: ItemEstimates,
    nodes: NodeIndices,
    visit: Callable[[int, FloatArray], None],
) -> None:
    """Call ``visit(v, z)`` with every node's influence z (one value per pair, unweighted).

    The influence of item j depends on a respondent only through their code, so it is a
    (group × slot) table gathered with one index per item: no per-respondent Python work.
    Pairs left out of scoring get z = 0. Children are visited before their parent, and only
    one branch of influences is held at a time.
    """
    base = pairs.gid * plan.slots + 1

    def influence(v: int) -> FloatArray:
        node = plan.nodes[v]
        # One zero row more: pairs left out of scoring sit in group ``n_groups`` (ScoredPairs).
        weight = np.vstack([nodes.child_weights[v], np.zeros(nodes.child_weights[v].shape[1])])
        z = np.zeros(len(pairs.gid))
        if node.items:
            for position, m in enumerate(node.items):
                table = _influence_table(items, plan, m, weight[:, position])
                z += table.ravel()[base + pairs.column(matrix, plan.measures[m].column)]
        else:
            for position, child in enumerate(node.children):
                z += weight[:, position][pairs.gid] * influence(child)  # 1-D gather: fast
        visit(v, z)
        return z

    influence(0)


def item_influence(
    matrix: ResponseMatrix, pairs: ScoredPairs, plan: ScoringPlan, items: ItemEstimates, m: int
) -> FloatArray:
    """The influence z_ij = (y_ij − R_j·a_ij) / Σ w·a_j of measure ``m``, one value per pair.

    Zero for pairs left out of scoring and in groups where nobody answered the item.
    """
    # 0 for the group of pairs left out of scoring and where the item has no answers.
    scale = np.append(np.isfinite(items.share[:, m]), False).astype(float)
    table = _influence_table(items, plan, m, scale)
    base = pairs.gid * plan.slots + 1
    influence: FloatArray = table.ravel()[base + pairs.column(matrix, plan.measures[m].column)]
    return influence


def _influence_table(
    items: ItemEstimates, plan: ScoringPlan, m: int, weight: FloatArray
) -> FloatArray:
    """λ_g · (y(slot) − R_gj·a(slot)) / Σ w·a_gj as a (group + 1) × slot table (0 where λ = 0)."""
    measure = plan.measures[m]
    ratio = np.append(items.share[:, m], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = (
            weight[:, None]
            * (measure.score[None, :] - ratio[:, None] * measure.answered[None, :])
            / np.append(items.weight_sum[:, m], np.nan)[:, None]
        )
    return np.where(weight[:, None] > 0, table, 0.0)
