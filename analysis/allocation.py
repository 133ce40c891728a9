"""A province's sample plan: the n each stratum needs, and how a total n is shared out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .errors import DataError, shown
from .intervals import critical_value
from .sampling import required_sample_size

Allocation = Literal["equal", "proportional", "neyman"]


def margin_sample_size(
    population: ArrayLike,
    margin: float = 0.05,
    *,
    p: ArrayLike = 0.5,
    confidence: float = 0.95,
    deff: float = 1.0,
) -> NDArray[np.int64]:
    """The n that estimates a share to ± ``margin`` in a population of N, rounded up.

    Parameters
    ----------
    population : array_like of int
        N per stratum (households, or dossiers served), ≥ 0.
    margin : float
        e, the half-width wanted on the 0–1 scale (0.05 = ±5 points).
    p : float or array_like
        The expected share (0.5, the default, is the most cautious).
    confidence : float
    deff : float
        The design effect expected (e.g. 1.5–2 for a village-clustered sample).

    Returns
    -------
    ndarray of int
        Never more than N.

    Notes
    -----
    Cochran's n with the finite population correction:
    :math:`n_0 = \\mathrm{deff} \\cdot z^2 p(1-p)/e^2`, :math:`n = n_0 / (1 + (n_0 - 1)/N)`.
    With p = 0.5, z = 2 and deff = 1 this is nearly the ministry's
    :math:`N/(1 + N e^2)` (:func:`analysis.required_sample_size`), which is Slovin's.

    Examples
    --------
    >>> margin_sample_size([1000, 100000]).tolist()
    [278, 383]
    """
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    if isinstance(deff, bool) or not isinstance(deff, int | float) or not deff > 0:
        raise ValueError(f"deff must be a positive number, got {deff!r}")
    n_pop = np.asarray(population, dtype=float)
    if not np.all(np.isfinite(n_pop) & (n_pop >= 0)):
        raise ValueError(f"population must be numbers ≥ 0, got {population!r}")
    share = np.asarray(p, dtype=float)
    if not np.all((share > 0) & (share < 1)):
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    z = critical_value(confidence)
    n0 = deff * z * z * share * (1 - share) / margin**2
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(n_pop > 0, n0 / (1 + (n0 - 1) / n_pop), 0.0)
    n: NDArray[np.int64] = np.minimum(np.ceil(np.round(exact, 9)), n_pop).astype(np.int64)
    return n


@dataclass(frozen=True)
class AllocationResult:
    """Per stratum ``stratum, population, p, n, share_sampled, margin`` and the province's.

    ``margin`` is the half-width (0–1 scale) of the stratum's share at its ``p``;
    ``province_margin`` that of the province's share, the strata weighted by population.
    """

    table: pd.DataFrame = field(repr=False)
    method: str
    total: int
    province_margin: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def allocate(
    strata: pd.DataFrame,
    total: int,
    *,
    method: Allocation = "neyman",
    stratum: str = "stratum",
    population: str = "population",
    p: str | float = 0.5,
    minimum: int = 0,
    confidence: float = 0.95,
) -> AllocationResult:
    """Share a total sample of ``total`` among strata.

    Parameters
    ----------
    strata : DataFrame
        One row per stratum (commune, department): its name and population N_h (> 0).
    total : int
        The province's sample size n (at most Σ N_h), e.g. the sum of the strata's
        required n, or the budget.
    method : {"equal", "proportional", "neyman"}
        ``equal``: n/H each; ``proportional``: n_h ∝ N_h; ``neyman``: the allocation that
        minimises the margin of the province's share (below).
    p : str or float
        The expected share per stratum: a column name, or one value for all (0.5).
    minimum : int
        The least n of any stratum (or all of it, if smaller), e.g. 30 so that every
        commune's index is reported unflagged (SIPAS.md §5).

    Returns
    -------
    AllocationResult

    Raises
    ------
    DataError
        A stratum is listed twice, its population is not a whole number > 0, its p is
        outside (0, 1), or ``total`` exceeds the population (naming the row).

    Notes
    -----
    The province's share is :math:`\\hat p = \\sum_h W_h \\hat p_h`, W_h = N_h/N, with
    variance under stratified simple random sampling

    .. math:: V(n_1 \\ldots n_H) = \\sum_h W_h^2 \\Big(1 - \\frac{n_h}{N_h}\\Big)
              \\frac{S_h^2}{n_h}, \\qquad S_h^2 = \\frac{N_h}{N_h - 1} p_h (1 - p_h).

    Minimising V subject to Σ n_h = n (Lagrange) gives Neyman's
    :math:`n_h = n \\, N_h S_h / \\sum_k N_k S_k`. Under the bounds
    min(minimum, N_h) ≤ n_h ≤ N_h the optimum is :math:`n_h = \\mathrm{clip}(\\kappa N_h S_h)`
    with κ such that Σ n_h = n: a stratum whose share exceeds N_h is taken whole, one below
    the minimum is raised to it, and the others share the rest in proportion to N_h S_h
    (equal and proportional allocation are bounded the same way). With one p for every
    stratum this is proportional allocation up to the N_h/(N_h − 1) factor. Fractions are
    rounded by largest remainder, so the n_h sum to n exactly, never above N_h. The
    margins are z·√V (province) and z·√((1 − n_h/N_h) S_h²/n_h) (stratum).

    Examples
    --------
    >>> import pandas as pd
    >>> strata = pd.DataFrame({"stratum": ["A", "B", "C"], "population": [8000, 1500, 500],
    ...                        "p": [0.9, 0.5, 0.7]})
    >>> result = allocate(strata, 600, method="neyman", p="p")
    >>> result.to_frame()["n"].tolist(), round(result.province_margin, 4)
    ([426, 133, 41], 0.0262)
    """
    if method not in get_args(Allocation):
        raise ValueError(f"method must be equal, proportional or neyman, got {method!r}")
    if not isinstance(strata, pd.DataFrame):
        raise TypeError(f"strata must be a DataFrame, got {type(strata).__name__}")
    if isinstance(total, bool) or not isinstance(total, int | np.integer) or total < 0:
        raise ValueError(f"total must be a whole number ≥ 0, got {total!r}")
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        raise ValueError(f"minimum must be a whole number ≥ 0, got {minimum!r}")
    for column in (stratum, population, *([p] if isinstance(p, str) else [])):
        if column not in strata.columns:
            raise DataError("the strata table needs this column", source="strata", column=column)
    names = strata[stratum]
    _refuse_first(
        strata, names.duplicated().to_numpy(), stratum, "is listed twice: one row per stratum"
    )
    sizes = _whole_positive(strata, population)
    shares = _shares(strata, p)
    if total > sizes.sum():
        raise ValueError(f"total {total} is more than the population ({int(sizes.sum())})")
    h = len(sizes)
    s2 = np.where(sizes > 1, sizes / np.maximum(sizes - 1, 1), 1.0) * shares * (1 - shares)
    if method == "equal":
        target = np.full(h, total / h)
    elif method == "proportional":
        target = total * sizes / sizes.sum()
    else:
        spread = sizes * np.sqrt(s2)
        target = total * spread / spread.sum()
    low = np.minimum(float(minimum), sizes)
    if low.sum() > total:
        raise ValueError(
            f"total {total} cannot give every stratum its minimum {minimum} "
            f"(that needs {int(low.sum())})"
        )
    n = _bounded_round(target, low, sizes, total)
    z = critical_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_h = np.where(n > 0, (1 - n / sizes) * s2 / n, np.nan)
    weight = sizes / sizes.sum()
    province = float(z * np.sqrt(np.sum(weight**2 * var_h)))
    table = pd.DataFrame(
        {
            "stratum": names.to_numpy(),
            "population": sizes.astype(np.int64),
            "p": shares,
            "n": n,
            "share_sampled": n / sizes,
            "margin": z * np.sqrt(var_h),
        }
    )
    return AllocationResult(table, method, int(total), province)


def _bounded_round(
    target: NDArray[np.float64], low: NDArray[np.float64], high: NDArray[np.float64], total: int
) -> NDArray[np.int64]:
    """Whole n_h summing to ``total`` with low_h ≤ n_h ≤ high_h, as close to ``target`` as the
    bounds allow: n_h = clip(κ·target_h, low_h, high_h) with κ set (by bisection) so that
    they sum to ``total`` — for Neyman's objective exactly the optimum under the bounds
    (Lagrange with box constraints) — then largest-remainder rounding within the bounds."""
    top = float(np.max(high / target)) * 2 + 1.0
    bottom = 0.0
    for _ in range(200):  # the sum is monotone in κ: halve the bracket to float precision
        kappa = (bottom + top) / 2
        if np.clip(kappa * target, low, high).sum() < total:
            bottom = kappa
        else:
            top = kappa
    exact = np.clip(top * target, low, high)
    n = np.clip(np.floor(exact + 1e-9), low, high).astype(np.int64)
    order = np.argsort(-(exact - n), kind="stable")
    for k in order:  # largest remainders first; then anyone with room, should rounding need it
        if n.sum() >= total:
            break
        if n[k] < high[k]:
            n[k] += 1
    for k in order:
        if n.sum() <= total:
            break
        if n[k] > low[k]:
            n[k] -= 1
    return n


def _whole_positive(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    values: NDArray[np.float64] = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    bad = ~(np.isfinite(values) & (values > 0) & (values == np.round(values)))
    _refuse_first(frame, bad, column, "is not a whole number > 0")
    return values


def _shares(frame: pd.DataFrame, p: str | float) -> NDArray[np.float64]:
    if not isinstance(p, str):
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p < 1:
            raise ValueError(f"p must be between 0 and 1 or a column name, got {p!r}")
        return np.full(len(frame), float(p))
    values: NDArray[np.float64] = pd.to_numeric(frame[p], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    _refuse_first(frame, ~((values > 0) & (values < 1)), p, "is not a share between 0 and 1")
    return values


def _refuse_first(frame: pd.DataFrame, bad: NDArray[np.bool_], column: str, rule: str) -> None:
    """Raise a DataError naming the first bad row of the strata table, its value and the rule."""
    if bad.any():
        row = frame.index[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{column} {shown(frame[column].loc[row])} {rule}",
            source="strata",
            row=row,
            column=column,
        )


def stratum_sample_sizes(
    population: ArrayLike,
    *,
    rule: Literal["ministry", "margin"] = "ministry",
    margin: float = 0.05,
    p: ArrayLike = 0.5,
    confidence: float = 0.95,
    deff: float = 1.0,
) -> NDArray[np.int64]:
    """Each stratum's required n: the ministry's ``N/(1 + N e²)`` or a target margin.

    ``rule="ministry"`` is :func:`analysis.required_sample_size` (SIPAS.md §5);
    ``rule="margin"`` is :func:`margin_sample_size` with ``p``, ``confidence``, ``deff``.

    Examples
    --------
    >>> stratum_sample_sizes([1000, 250]).tolist()
    [286, 154]
    >>> stratum_sample_sizes([1000, 250], rule="margin", deff=1.5).tolist()
    [366, 175]
    """
    if rule == "ministry":
        return required_sample_size(population, margin)
    if rule == "margin":
        return margin_sample_size(population, margin, p=p, confidence=confidence, deff=deff)
    raise ValueError(f"rule must be ministry or margin, got {rule!r}")
