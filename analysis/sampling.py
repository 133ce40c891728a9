"""Sample planning: the ministry's required sample size, achieved n and response rate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .errors import DataError, shown
from .scoring import ScoreResult


def required_sample_size(transactions: ArrayLike, margin: float = 0.05) -> NDArray[np.int64]:
    """The ministry's required sample size ``n = N / (1 + N·e²)``, rounded up.

    Parameters
    ----------
    transactions : array_like of int
        N, the transactions (dossiers handled) in the period; ≥ 0.
    margin : float
        e, the margin of error (0.05 in the ministry's guidance).

    Returns
    -------
    ndarray of int
        Never more than N (and at most 1/e² = 400 for e = 0.05).

    Notes
    -----
    Slovin's formula :math:`n = N/(1 + N e^2)`; a fractional n is rounded up, since a
    sample one short of the requirement is short.

    Examples
    --------
    >>> required_sample_size([100, 1000, 50000]).tolist()
    [80, 286, 397]
    """
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    n = np.asarray(transactions, dtype=float)
    if not np.all(np.isfinite(n) & (n >= 0)):
        raise ValueError(f"transactions must be numbers ≥ 0, got {transactions!r}")
    exact = n / (1 + n * margin**2)
    # Guard the rounding-up against float noise (e.g. 79.99999999999999 → 80, not 81).
    return np.ceil(np.round(exact, 9)).astype(np.int64)


@dataclass(frozen=True)
class SamplePlan:
    """Per group: ``transactions, required_n, received, achieved_n, response_rate,
    shortfall, enough``."""

    table: pd.DataFrame = field(repr=False)
    margin: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def sample_plan(
    scores: ScoreResult,
    transactions: pd.DataFrame,
    *,
    transactions_column: str = "transactions",
    margin: float = 0.05,
) -> SamplePlan:
    """Required n against achieved n for each group whose transactions are known.

    Parameters
    ----------
    scores : ScoreResult
        Scores from :func:`analysis.score` (their ``responses`` counts).
    transactions : DataFrame
        The scores' grouping columns (e.g. ``unit_code, period``) and ``transactions``.
    transactions_column : str
    margin : float
        e of the ministry's formula.

    Returns
    -------
    SamplePlan

    Notes
    -----
    ``required_n = ceil(N / (1 + N·e²))``; ``achieved_n`` = scored (valid) responses;
    ``response_rate = received / N`` (every response received, as the ministry's rate of
    responses to transactions); ``shortfall = max(required_n − achieved_n, 0)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score
    >>> rows = pd.DataFrame({"unit_code": ["X"] * 3, "HL_TC": [5, 4, 3], "HL_TT": [5, 4, 3],
    ...     "HL_CC": [5, 4, 3], "HL_KQ": [5, 4, 3], "HL_PA": [5, 4, 3], "HL": [5, 4, 3]})
    >>> n = pd.DataFrame({"unit_code": ["X"], "transactions": [10]})
    >>> plan = sample_plan(score(rows, "sipas-kiosk", by=["unit_code"]), n).to_frame()
    >>> plan[["required_n", "achieved_n", "response_rate", "shortfall"]]
       required_n  achieved_n  response_rate  shortfall
    0          10           3            0.3          7
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(f"transactions must be a DataFrame, got {type(transactions).__name__}")
    keys = list(scores.group_columns)
    for column in [*keys, transactions_column]:
        if column not in transactions.columns:
            raise DataError(
                "the transactions table needs the grouping columns and the counts",
                source="transactions",
                column=column,
            )
    counts = pd.to_numeric(transactions[transactions_column], errors="coerce")
    bad = ~(counts.notna() & (counts >= 0) & (counts == counts.round()))
    if bad.any():
        row = bad[bad].index[0]
        raise DataError(
            f"{shown(transactions[transactions_column].loc[row])} is not a whole number ≥ 0",
            source="transactions",
            row=row,
            column=transactions_column,
        )
    plan = transactions[keys].copy()
    plan["transactions"] = counts.astype(np.int64)
    plan["required_n"] = required_sample_size(plan["transactions"], margin)
    responses = scores.responses
    if "received" not in responses.columns:
        raise ValueError(
            "sample_plan needs scores computed from responses (score), not from a count table"
        )
    for column in keys:  # align the key dtypes (a CSV gives text, the scores may hold numbers)
        plan[column] = plan[column].astype(responses[column].dtype)
    merged = (
        plan.merge(responses[[*keys, "received", "scored"]], on=keys, how="left")
        if keys
        else plan.assign(received=responses["received"].iloc[0], scored=responses["scored"].iloc[0])
    )
    merged["received"] = merged["received"].fillna(0).astype(np.int64)
    merged["achieved_n"] = merged.pop("scored").fillna(0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["response_rate"] = np.where(
            merged["transactions"] > 0, merged["received"] / merged["transactions"], np.nan
        )
    merged["shortfall"] = (merged["required_n"] - merged["achieved_n"]).clip(lower=0)
    merged["enough"] = merged["shortfall"] == 0
    return SamplePlan(merged.reset_index(drop=True), float(margin))
