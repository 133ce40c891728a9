"""Changes between periods or units, with p-values and an optional Holm correction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from .breakdown import PERIOD
from .scoring import ScoreResult

FloatArray = NDArray[np.float64]


def two_proportion_test(
    share1: ArrayLike, n1: ArrayLike, share2: ArrayLike, n2: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Pooled two-proportion z-test, two-sided; shares on the 0–1 scale.

    Parameters
    ----------
    share1, share2 : array_like
        The two proportions (weighted shares with weights).
    n1, n2 : array_like
        Their sample sizes (Kish effective sizes with weights).

    Returns
    -------
    z, p_value : ndarray
        NaN where the pooled share is 0 or 1 (no variation to test) or a size is 0.

    Notes
    -----
    :math:`\\bar p = (p_1 n_1 + p_2 n_2)/(n_1 + n_2)`,
    :math:`z = (p_1 - p_2)/\\sqrt{\\bar p(1-\\bar p)(1/n_1 + 1/n_2)}`, :math:`p = 2\\,\\Phi(-|z|)`.
    The same as ``statsmodels.stats.proportion.proportions_ztest`` on counts.

    Examples
    --------
    >>> z, p = two_proportion_test(0.8, 100, 0.7, 100)
    >>> round(float(z), 4), round(float(p), 4)
    (1.633, 0.1025)
    """
    p1, p2 = np.asarray(share1, dtype=float), np.asarray(share2, dtype=float)
    m1, m2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (p1 * m1 + p2 * m2) / (m1 + m2)
        var = pooled * (1 - pooled) * (1 / m1 + 1 / m2)
        z = np.where((var > 0) & (m1 > 0) & (m2 > 0), (p1 - p2) / np.sqrt(var), np.nan)
    return z, 2 * stats.norm.sf(np.abs(z))


def z_test(
    estimate1: ArrayLike, se1: ArrayLike, estimate2: ArrayLike, se2: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """z-test of the difference of two independent estimates with linearised SEs.

    NaN where either SE is missing or 0 (an SE of 0 means not estimable, see
    :func:`analysis.intervals.normal_interval`).

    Notes
    -----
    :math:`z = (E_1 - E_2)/\\sqrt{SE_1^2 + SE_2^2}`, :math:`p = 2\\,\\Phi(-|z|)`.

    Examples
    --------
    >>> z, p = z_test(84.0, 1.0, 81.0, 1.5)
    >>> round(float(z), 4), round(float(p), 4)
    (1.6641, 0.0961)
    """
    e1, e2 = np.asarray(estimate1, dtype=float), np.asarray(estimate2, dtype=float)
    s1, s2 = np.asarray(se1, dtype=float), np.asarray(se2, dtype=float)
    usable = (s1 > 0) & (s2 > 0) & np.isfinite(e1) & np.isfinite(e2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(usable, (e1 - e2) / np.sqrt(s1**2 + s2**2), np.nan)
    return z, 2 * stats.norm.sf(np.abs(z))


def holm(p_values: ArrayLike) -> FloatArray:
    """Holm's step-down adjusted p-values; NaNs stay NaN and are not counted.

    Notes
    -----
    With the m finite p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,
    :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min(1, (m - j + 1)\\,p_{(j)})`.

    Examples
    --------
    >>> [round(float(p), 3) for p in holm([0.01, 0.04, 0.03, float("nan")])]
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(stepped)
    return out


@dataclass(frozen=True)
class ChangeResult:
    """Each index compared with a base (the previous period, or a named unit).

    ``to_frame()`` columns: the other grouping columns, ``<along>``, ``<along>_base``,
    ``level, code, label_vi, index, index_base, change, z, p_value`` and, with Holm,
    ``p_holm``.
    """

    table: pd.DataFrame = field(repr=False)
    along: str
    holm: bool

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def compare(
    scores: ScoreResult, along: str = PERIOD, *, base: Any = None, holm_correction: bool = False
) -> ChangeResult:
    """Change of every index along one grouping column, with its p-value.

    Parameters
    ----------
    scores : ScoreResult
        Scores with ``along`` among their grouping columns.
    along : str
        The column compared over: ``"period"`` (period over period) or a unit column.
    base : optional
        Compare every value with this one (e.g. a unit code). ``None``: each value with the
        one before it (periods in time order, other values sorted); the first has none.
    holm_correction : bool
        Add ``p_holm``: Holm-adjusted p-values over every comparison in the result.

    Returns
    -------
    ChangeResult

    Notes
    -----
    Shares (item, question, expectation and perception rows under ``top2box``) use the
    pooled two-proportion z-test on the shares and their Kish effective n. Indices
    (element, aspect, overall) and ``mean_score`` items use a z-test on the linearised SEs:
    :math:`z = (I_1 - I_2)/\\sqrt{SE_1^2 + SE_2^2}`. Both assume the two groups are
    independent samples — true for different periods or different units, not for a unit
    against its own roll-up parent. Scores from a count table have no node SEs, so node
    changes there have no p-value.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score
    >>> rows = pd.DataFrame({"unit_code": ["A"] * 4 + ["B"] * 4,
    ...     "HL_TC": [5, 5, 4, 2, 3, 2, 4, 1], "HL_TT": [5, 4, 4, 4, 4, 3, 2, 1],
    ...     "HL_CC": [5, 5, 5, 4, 3, 3, 3, 4], "HL_KQ": [4, 4, 5, 2, 2, 3, 5, 1],
    ...     "HL_PA": [5, 4, 3, 5, 1, 2, 3, 4], "HL": [5, 4, 4, 3, 2, 3, 3, 4]})
    >>> result = score(rows, "sipas-kiosk", by=["unit_code"])
    >>> change = compare(result, "unit_code", base="A").to_frame()
    >>> change.loc[change["code"] == "HL", ["unit_code", "change", "p_value"]].round(3)
       unit_code  change  p_value
    11         B   -50.0    0.157
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    if along not in scores.group_columns:
        raise ValueError(
            f"along must be one of the grouping columns {list(scores.group_columns)}, got {along!r}"
        )
    table = scores.to_frame(detail=True)
    others = [c for c in scores.group_columns if c != along]
    values = (
        list(scores.period_order)
        if along == PERIOD and scores.period_order
        else sorted(table[along].dropna().unique().tolist())
    )
    base_column = f"{along}_base"
    if base is None:
        previous = {v: values[k - 1] for k, v in enumerate(values) if k > 0}
    else:
        if base not in set(table[along].dropna().tolist()):
            raise ValueError(f"base {base!r} is not a value of {along!r} in these scores")
        previous = {v: base for v in values if v != base}
    current = table[table[along].isin(list(previous))].copy()
    current[base_column] = current[along].map(previous)
    keys = [*others, "level", "code"]
    reference = table[[*keys, along, "index", "se", "n_eff"]].rename(
        columns={along: base_column, "index": "index_base", "se": "se_base", "n_eff": "n_eff_base"}
    )
    merged = current.merge(reference, on=[*keys, base_column], how="left")
    is_share = (merged["kind"] == "share").to_numpy()
    z_share, p_share = two_proportion_test(
        merged["index"] / 100, merged["n_eff"], merged["index_base"] / 100, merged["n_eff_base"]
    )
    z_index, p_index = z_test(
        merged["index"], merged["se"], merged["index_base"], merged["se_base"]
    )
    merged["change"] = merged["index"] - merged["index_base"]
    merged["z"] = np.where(is_share, z_share, z_index)
    merged["p_value"] = np.where(is_share, p_share, p_index)
    columns = [
        *others,
        along,
        base_column,
        "level",
        "code",
        "label_vi",
        "index",
        "index_base",
        "change",
        "z",
        "p_value",
    ]
    if holm_correction:
        merged["p_holm"] = holm(merged["p_value"].to_numpy(dtype=float))
        columns.append("p_holm")
    return ChangeResult(merged[columns].reset_index(drop=True), along, holm_correction)
