"""Drivers: each criterion's performance (its index) against its importance (rank correlation
with the overall question HL) — the view that tells a unit which low criteria to fix first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from questionnaires import Questionnaire

from .breakdown import DEFAULT_TIMEZONE, PeriodSpec
from .errors import AnalysisError
from .plan import ScoringPlan
from .scoring import check_rows, resolve_questionnaire
from .settings import ScoringSettings
from .tally import ItemEstimates, item_estimates, tally_rows

#: Quadrants of the importance–performance view, in the order a unit should act on them.
QUADRANTS = {
    "fix_first": "Ưu tiên cải thiện",  # important, performing below the others
    "keep_up": "Tiếp tục duy trì",  # important and performing well
    "low_priority": "Cải thiện sau",  # less important, performing below the others
    "possible_overkill": "Có thể đang đầu tư thừa",  # less important, performing well
}

FloatArray = NDArray[np.float64]


def spearman_from_table(table: ArrayLike) -> FloatArray:
    """Spearman's rho from joint frequency tables ``(..., kx, ky)`` of two coded variables.

    With few distinct codes every tied value shares its mid-rank, so rho (the Pearson
    correlation of the mid-ranks, as ``scipy.stats.spearmanr`` computes it) follows from
    the table alone. NaN when either variable is constant or the table is empty.

    Notes
    -----
    With counts :math:`t_{xy}`, margins :math:`n_x, n_y` and mid-ranks
    :math:`r_x = \\sum_{x' < x} n_{x'} + (n_x + 1)/2` (likewise :math:`r_y`), centred at
    :math:`(n + 1)/2`: :math:`\\rho = \\sum t_{xy} d_x d_y /
    \\sqrt{\\sum n_x d_x^2 \\sum n_y d_y^2}`.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([[2, 0], [1, 3]])  # x=1: y=1 twice; x=2: y=1 once, y=2 three times
    >>> round(float(spearman_from_table(table)), 6)
    0.707107
    """
    t = np.asarray(table, dtype=float)
    n = t.sum(axis=(-2, -1))
    nx, ny = t.sum(axis=-1), t.sum(axis=-2)
    rx = np.cumsum(nx, axis=-1) - nx + (nx + 1) / 2  # mid-rank of each x code
    ry = np.cumsum(ny, axis=-1) - ny + (ny + 1) / 2
    centre = ((n + 1) / 2)[..., None]
    dx, dy = rx - centre, ry - centre
    cov = np.einsum("...ij,...i,...j->...", t, dx, dy)
    vx = (nx * dx**2).sum(axis=-1)
    vy = (ny * dy**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = cov / np.sqrt(vx * vy)
    return np.where((vx > 0) & (vy > 0), rho, np.nan)


@dataclass(frozen=True)
class DriversResult:
    """Per group and criterion: ``item, element, label_vi, n, performance, n_pairs,
    importance, quadrant, quadrant_vi, priority`` (1 = act first)."""

    table: pd.DataFrame = field(repr=False)
    performance_split: float | None
    importance_split: float | None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def drivers(
    responses: pd.DataFrame,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    weights: str | None = None,
    overall_item: str | None = None,
    performance_split: float | None = None,
    importance_split: float | None = None,
    settings: ScoringSettings | None = None,
) -> DriversResult:
    """Importance–performance of every criterion, by group.

    Parameters
    ----------
    responses, questionnaire, by, period, units, unit_column, time_column, timezone, weights,
    settings
        As for :func:`analysis.score`.
    overall_item : str, optional
        The overall question; by default the questionnaire's item with role ``overall``
        (``HL``). ``sipas-2023`` has none, so it needs one named.
    performance_split, importance_split : float, optional
        Where the quadrants divide (e.g. a target of 85). By default each group's mean over
        its criteria that have both values, the usual importance–performance crosshair.

    Returns
    -------
    DriversResult

    Notes
    -----
    performance = the item index (weighted with ``weights``). importance = Spearman's rho
    between the item's code and the overall question's code over the scored respondents
    who answered both with a scale code (unweighted: a rank correlation has no standard
    weighted form). Quadrants: importance ≥ split and performance < split is
    ``fix_first``; ≥/≥ ``keep_up``; </< ``low_priority``; </≥ ``possible_overkill``.
    Priority orders the quadrants so, then importance from high to low. Needs respondent
    rows: the joint (item, HL) table is counted per group with one ``np.bincount``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"HL_TC": [5, 4, 2, 1], "HL_TT": [5, 5, 5, 4],
    ...                      "HL_CC": [4, 2, 4, 2], "HL_KQ": [5, 4, 3, 3],
    ...                      "HL_PA": [2, 2, 1, 1], "HL": [5, 4, 2, 1]})
    >>> view = drivers(rows, "sipas-kiosk").to_frame()
    >>> view[["item", "performance", "importance", "quadrant"]].round(3)
        item  performance  importance           quadrant
    0  HL_PA          0.0       0.894          fix_first
    1  HL_TC         50.0       1.000            keep_up
    2  HL_KQ         50.0       0.949            keep_up
    3  HL_TT        100.0       0.775  possible_overkill
    4  HL_CC         50.0       0.447  possible_overkill
    """
    q = resolve_questionnaire(questionnaire)
    overall = overall_question(q, overall_item)
    rows = check_rows(
        responses,
        q,
        settings,
        by=by,
        period=period,
        weights=weights,
        units=units,
        unit_column=unit_column,
        time_column=time_column,
        timezone=timezone,
    )
    plan, matrix, grouping, pairs = rows.plan, rows.matrix, rows.grouping, rows.pairs
    if overall not in plan.columns:
        raise ValueError(f"overall_item must be a scored question of {q.key}, got {overall!r}")
    estimates = item_estimates(tally_rows(matrix, pairs, plan), plan, rows.settings.confidence)

    criteria = [m for m, measure in enumerate(plan.measures) if measure.level == "item"]
    overall_scale = sorted(q.items[overall].scale.codes)  # type: ignore[union-attr]
    y = pairs.column(matrix, plan.column_position(overall)).astype(np.int64)
    y_slot = np.searchsorted(overall_scale, y)
    y_ok = np.isin(y, overall_scale)
    g = pairs.n_groups
    rho = np.full((g, len(criteria)), np.nan)
    n_pairs = np.zeros((g, len(criteria)), dtype=np.int64)
    for k, m in enumerate(criteria):
        measure = plan.measures[m]
        item = q.items[measure.code]
        scale = sorted(item.scale.codes)  # type: ignore[union-attr]
        x = pairs.column(matrix, measure.column).astype(np.int64)
        both = y_ok & np.isin(x, scale)
        kx, ky = len(scale), len(overall_scale)
        key = (pairs.gid[both] * kx + np.searchsorted(scale, x[both])) * ky + y_slot[both]
        joint = np.bincount(key, minlength=pairs.bins * kx * ky)[: g * kx * ky].reshape(g, kx, ky)
        rho[:, k] = spearman_from_table(joint)
        n_pairs[:, k] = joint.sum(axis=(1, 2))

    return drivers_table(
        grouping.groups, plan, estimates, rho, n_pairs, performance_split, importance_split
    )


def overall_question(
    q: Questionnaire, overall_item: str | None, required: bool = True
) -> str | None:
    """The overall question the drivers use: ``overall_item``, else the item with role
    ``overall``; an AnalysisError when there is none and ``required``."""
    overall = overall_item or next((i.code for i in q.items.values() if i.role == "overall"), None)
    if overall is None:
        if not required:
            return None
        raise AnalysisError(
            f"{q.key} has no overall question (role 'overall'); name one with overall_item"
        )
    if overall not in q.items or q.items[overall].type != "choice":
        raise ValueError(f"overall_item must be a choice item of {q.key}, got {overall!r}")
    return overall


def drivers_table(
    groups: pd.DataFrame,
    plan: ScoringPlan,
    estimates: ItemEstimates,
    rho: FloatArray,
    n_pairs: NDArray[np.int64],
    performance_split: float | None,
    importance_split: float | None,
) -> DriversResult:
    """Quadrants and priorities from each criterion's performance and importance (rho)."""
    criteria = [m for m, measure in enumerate(plan.measures) if measure.level == "item"]
    element_of = {m: node.code for node in plan.nodes for m in node.items}
    g = len(groups)
    performance = 100 * estimates.share[:, criteria]
    # The crosshair is placed among the criteria that can be plotted (both values known).
    plotted = ~np.isnan(performance) & ~np.isnan(rho)
    p_split = (
        np.full(g, performance_split, dtype=float)
        if performance_split is not None
        else _mean_where(performance, plotted)
    )
    i_split = (
        np.full(g, importance_split, dtype=float)
        if importance_split is not None
        else _mean_where(rho, plotted)
    )
    high_i = rho >= i_split[:, None]
    high_p = performance >= p_split[:, None]
    quadrant = np.where(
        high_i,
        np.where(high_p, "keep_up", "fix_first"),
        np.where(high_p, "possible_overkill", "low_priority"),
    ).astype(object)
    quadrant[np.isnan(rho) | np.isnan(performance)] = None

    c = len(criteria)
    take = np.repeat(np.arange(g), c)
    table = groups.iloc[take].reset_index(drop=True)
    table["item"] = np.tile([plan.measures[m].code for m in criteria], g)
    table["element"] = np.tile([element_of.get(m, "") for m in criteria], g)
    table["label_vi"] = np.tile([plan.measures[m].label_vi for m in criteria], g)
    table["n"] = estimates.n[:, criteria].ravel()
    table["performance"] = performance.ravel()
    table["n_pairs"] = n_pairs.ravel()
    table["importance"] = rho.ravel()
    table["quadrant"] = pd.array(quadrant.ravel(), dtype="str")
    table["quadrant_vi"] = table["quadrant"].map(QUADRANTS)
    order = {name: k for k, name in enumerate(QUADRANTS)}
    table["_q"] = table["quadrant"].map(order).fillna(len(order))
    group_columns = list(groups.columns)
    table["_g"] = take
    table = table.sort_values(
        ["_g", "_q", "importance"], ascending=[True, True, False], kind="stable"
    )
    table["priority"] = table.groupby("_g").cumcount() + 1
    table = table.drop(columns=["_q", "_g"]).reset_index(drop=True)
    columns = [
        *group_columns,
        "priority",
        "item",
        "element",
        "label_vi",
        "n",
        "performance",
        "n_pairs",
        "importance",
        "quadrant",
        "quadrant_vi",
    ]
    return DriversResult(table[columns], performance_split, importance_split)


def _mean_where(values: FloatArray, use: NDArray[np.bool_]) -> FloatArray:
    count = use.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, np.where(use, values, 0).sum(axis=1) / count, np.nan)
