"""Element, aspect and overall indices: unweighted means down the questionnaire's index tree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .plan import ScoringPlan

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class NodeIndices:
    """Node values (groups × nodes, 0–1 scale) and how much each child weighs in each node.

    ``child_weights[v][g, c]`` is 1/(number of defined children) for a defined child ``c``
    of node ``v`` in group ``g``, else 0: the node is Σ_c child_weights · child. The
    linearisation uses these weights, so the variance is of exactly the published mean.
    """

    value: FloatArray
    child_weights: tuple[FloatArray, ...]


def node_indices(share: FloatArray, plan: ScoringPlan, empty_child: str) -> NodeIndices:
    """Each node = the unweighted mean of its children's indices (items for an element).

    A child with no answers in a group is skipped (``empty_child="skip"``) or makes the node
    undefined (``"nan"``); a node with no defined child is NaN, never 0.
    """
    groups, count = share.shape[0], len(plan.nodes)
    value = np.full((groups, count), np.nan)
    weights: list[FloatArray] = [np.zeros((groups, 0))] * count
    for v in range(count - 1, -1, -1):  # nodes are listed parents first
        node = plan.nodes[v]
        parts = share[:, list(node.items)] if node.items else value[:, list(node.children)]
        defined = ~np.isnan(parts)
        present = defined.sum(axis=1)
        complete = present == parts.shape[1]
        usable = complete if empty_child == "nan" else present > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(defined, parts, 0.0).sum(axis=1) / present
            weight = np.where(defined, 1.0, 0.0) / present[:, None]
        value[:, v] = np.where(usable, mean, np.nan)
        weights[v] = np.where(usable[:, None], weight, 0.0)
    return NodeIndices(value, tuple(weights))
