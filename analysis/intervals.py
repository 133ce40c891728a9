"""Confidence intervals: Wilson score for item shares, normal on a linearised SE for indices."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


def critical_value(confidence: float) -> float:
    """The two-sided normal quantile, e.g. 1.959963984540054 for 0.95."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    # 1 - 0.95 is 0.050000000000000044 in binary; rounding gives the alpha = 0.05 a user
    # (and statsmodels) would write, so the quantile is bit-for-bit the conventional one.
    alpha = round(1 - confidence, 12)
    return float(stats.norm.isf(alpha / 2))


def wilson_interval(
    successes: ArrayLike, nobs: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion, on the 0–1 scale.

    Parameters
    ----------
    successes : array_like of float
        Number of successes; with weights, the share times the effective sample size.
    nobs : array_like of float
        Number of trials; with weights, Kish's effective sample size (Σw)² / Σw².
        Where ``nobs`` is 0 the interval is NaN.
    confidence : float
        Coverage, 0.95 by default.

    Returns
    -------
    low, high : ndarray
        The bounds, clipped to [0, 1].

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z` the two-sided normal quantile,

    .. math:: \\frac{\\hat p + z^2/2n}{1 + z^2/n} \\pm
              \\frac{z}{1 + z^2/n}\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}

    The arithmetic follows ``statsmodels.stats.proportion.proportion_confint(method="wilson")``
    step for step, so unweighted bounds equal it to the last bit.

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(nobs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = x / n
    return wilson_from_share(share, n, confidence)


def wilson_from_share(
    share: ArrayLike, nobs: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson interval from the share itself (the weighted share and Kish n with weights).

    Scoring calls this with the share it already computed, so the interval uses the very
    same :math:`\\hat p` as the published index. NaN where ``nobs`` is 0.

    Examples
    --------
    >>> low, high = wilson_from_share(0.8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    """
    q = np.asarray(share, dtype=float)
    n = np.asarray(nobs, dtype=float)
    crit = critical_value(confidence)
    crit2 = crit**2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + crit2 / n
        center = (q + crit2 / (2 * n)) / denom
        dist = crit * np.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2))
        dist /= denom
    empty = ~(n > 0)
    low = np.where(empty, np.nan, np.clip(center - dist, 0, 1))
    high = np.where(empty, np.nan, np.clip(center + dist, 0, 1))
    return low, high


def normal_interval(
    estimate: ArrayLike,
    se: ArrayLike,
    confidence: float = 0.95,
    bounds: tuple[float, float] = (0, 100),
) -> tuple[FloatArray, FloatArray]:
    """``estimate ± z·se`` clipped to ``bounds``; NaN where the SE is 0 or unknown.

    A zero linearised SE means every answer to each item of the index is the same (for
    example all "Rất hài lòng"): the variance is not estimable from the sample, and reporting
    ``[index, index]`` would claim certainty. The interval is reported as missing instead; the
    item rows' Wilson intervals remain.

    Examples
    --------
    >>> low, high = normal_interval([80.0, 50.0], [2.0, 0.0])
    >>> [round(float(v), 3) for v in low], [round(float(v), 3) for v in high]
    ([76.08, nan], [83.92, nan])
    """
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    crit = critical_value(confidence)
    usable = np.isfinite(est) & np.isfinite(s) & (s > 0)
    low = np.where(usable, np.clip(est - crit * s, *bounds), np.nan)
    high = np.where(usable, np.clip(est + crit * s, *bounds), np.nan)
    return low, high


#: A standard error (0–1 scale) below this is the rounding noise of an exactly zero variance
#: (influences that cancel, e.g. two items whose indices always sum to 100); a real SE of
#: any sample this software will see is many orders of magnitude larger.
ZERO_SE = 1e-11


def snap_zero_se(se: ArrayLike) -> FloatArray:
    """Standard errors with rounding noise around zero set to exactly 0 (NaN kept).

    Examples
    --------
    >>> snap_zero_se([3.4e-18, 0.02, float("nan")]).tolist()
    [0.0, 0.02, nan]
    """
    s = np.asarray(se, dtype=float)
    return np.where(s < ZERO_SE, 0.0, s)


def kish_effective_n(weight_sum: ArrayLike, weight_sq_sum: ArrayLike) -> FloatArray:
    """Kish's effective sample size (Σw)² / Σw²; equals the count when every weight is 1.

    Notes
    -----
    :math:`n_{eff} = (\\sum_i w_i)^2 / \\sum_i w_i^2`; 0 where there are no weights.

    Examples
    --------
    >>> float(kish_effective_n(4.0, 4.0)), float(kish_effective_n(4.0, 6.0))
    (4.0, 2.6666666666666665)
    """
    w = np.asarray(weight_sum, dtype=float)
    w2 = np.asarray(weight_sq_sum, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w2 > 0, w * w / w2, 0.0)
