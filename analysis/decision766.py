"""Decision 766 group 5 (satisfaction, 18 points): a **reference calculation**.

Decision 766/QĐ-TTg (23/6/2022) scores provinces and communes monthly from the one-stop and
national portal data. Its satisfaction group, as the national portal computes it, is known only
from a third-party reconstruction (SIPAS.md §9), not from the decision's text: every constant
here is a parameter (:class:`Group5Settings`), and every result says it is a reference
calculation. It is reported **beside** SIPAS, never mixed into it.

Two steps, so the same numbers come from per-dossier frames (here, with pandas) or from counts
a database already grouped (the app's SQL): :func:`tally` counts, :func:`score_tally` scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError

LABEL = (
    "Tham khảo: tính theo cách Cổng DVC quốc gia (QĐ 766/QĐ-TTg, nhóm 5), không phải số chính thức"
)

#: The count columns of a tally (one row per group), in order.
COUNT_COLUMNS = (
    "dossiers",
    "dossiers_overdue",
    "dossiers_flagged",
    "petitions",
    "petitions_on_time",
    "petitions_failing",
)
#: The score columns :func:`score_tally` adds.
SCORE_COLUMNS = (
    "rate_5_2",
    "points_5_2",
    "rate_5_3",
    "points_5_3",
    "rate_5_4",
    "points_5_4",
    "points",
)
DOSSIER_COLUMNS = ("due_at", "returned_at", "overdue_reported", "rating", "has_petition")
PETITION_COLUMNS = ("due_at", "handled_at", "repeated", "satisfied_votes", "not_satisfied_votes")


@dataclass(frozen=True)
class Group5Settings:
    """The constants of the reconstruction, each a setting of the app (``D766_*``).

    Attributes
    ----------
    full_rate : float
        The rate (in %) from which a criterion earns all its points (90).
    points : float
        The points of each of 5.2, 5.3, 5.4 (6; the group is worth 3 × 6 = 18).
    empty_earns_full : bool
        A unit with no petition (5.2, 5.3) or no dossier (5.4) in the period earns the full
        points (True) or none (False): nothing went wrong, but nothing was measured either.
    """

    full_rate: float = 90.0
    points: float = 6.0
    empty_earns_full: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.full_rate <= 100:
            raise ValueError(f"full_rate must be in (0, 100], got {self.full_rate!r}")
        if not self.points > 0:
            raise ValueError(f"points must be positive, got {self.points!r}")


@dataclass(frozen=True)
class Group5Result:
    """Counts, rates (%) and points per group: ``to_frame()`` has the grouping columns, then
    :data:`COUNT_COLUMNS`, then :data:`SCORE_COLUMNS` (and ``rank`` after :func:`rank`)."""

    table: pd.DataFrame = field(repr=False)
    settings: Group5Settings
    label: str = LABEL

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _check(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name} needs the column(s) {', '.join(missing)}", source=name)


def tally(
    dossiers: pd.DataFrame,
    petitions: pd.DataFrame,
    *,
    by: Sequence[str],
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Count, per group, what group 5 is computed from.

    Parameters
    ----------
    dossiers : DataFrame
        One row per dossier of the period: the ``by`` columns, ``due_at``, ``returned_at``
        (UTC timestamps, NaT if none), ``overdue_reported`` (bool: the one-stop system said
        so), ``rating`` ("satisfied", "not_satisfied" or missing), ``has_petition`` (bool).
    petitions : DataFrame
        One row per petition (PAKN) of the period: the ``by`` columns, ``due_at``,
        ``handled_at``, ``repeated`` (bool), ``satisfied_votes``, ``not_satisfied_votes``.
    by : sequence of str
        Grouping columns (e.g. ``["unit_code"]``).
    as_of : Timestamp
        When the period is judged (its end, or now if earlier): unfinished and past due by
        then counts as late.

    Returns
    -------
    DataFrame
        The ``by`` columns and :data:`COUNT_COLUMNS`, one row per group found in either frame.

    Notes
    -----
    A dossier is *overdue* when ``overdue_reported``, or ``returned_at > due_at``, or it is not
    returned and ``due_at < as_of``. It is *flagged* (5.4) when rated "not_satisfied" or it has
    a petition. A petition is *on time* (5.2) when handled and ``handled_at ≤ due_at`` (or no
    due date); *failing* (5.3) when it has more "not satisfied" than "satisfied" votes, is
    repeated, or is late (handled after its due date, or not handled and past due).

    Examples
    --------
    >>> d = pd.DataFrame({"u": ["A"], "due_at": [pd.Timestamp("2026-05-10", tz="UTC")],
    ...     "returned_at": [pd.Timestamp("2026-05-12", tz="UTC")], "overdue_reported": [False],
    ...     "rating": [None], "has_petition": [False]})
    >>> p = pd.DataFrame(columns=["u", *PETITION_COLUMNS])
    >>> counts = tally(d, p, by=["u"], as_of=pd.Timestamp("2026-06-01", tz="UTC"))
    >>> counts["dossiers_overdue"].tolist()
    [1]
    """
    by = list(by)
    if not by:
        raise ValueError("by must name at least one grouping column")
    _check(dossiers, [*by, *DOSSIER_COLUMNS], "dossiers")
    _check(petitions, [*by, *PETITION_COLUMNS], "petitions")
    as_of = pd.Timestamp(as_of)

    due = pd.to_datetime(dossiers["due_at"], utc=True)
    returned = pd.to_datetime(dossiers["returned_at"], utc=True)
    overdue = (
        dossiers["overdue_reported"].fillna(False).astype(bool).to_numpy()
        | (returned > due).to_numpy()
        | (returned.isna() & (due < as_of)).to_numpy()
    )
    flagged = (dossiers["rating"] == "not_satisfied").to_numpy() | dossiers["has_petition"].fillna(
        False
    ).astype(bool).to_numpy()
    d = dossiers[by].copy()
    d["dossiers"] = 1
    d["dossiers_overdue"] = overdue.astype(np.int64)
    d["dossiers_flagged"] = flagged.astype(np.int64)
    d_counts = d.groupby(by, sort=True, dropna=False)[list(COUNT_COLUMNS[:3])].sum()

    p_due = pd.to_datetime(petitions["due_at"], utc=True)
    handled = pd.to_datetime(petitions["handled_at"], utc=True)
    on_time = (handled.notna() & (p_due.isna() | (handled <= p_due))).to_numpy()
    late = ((handled > p_due) | (handled.isna() & (p_due < as_of))).to_numpy()
    votes_against = petitions["not_satisfied_votes"].to_numpy(dtype=np.int64) > petitions[
        "satisfied_votes"
    ].to_numpy(dtype=np.int64)
    failing = votes_against | petitions["repeated"].fillna(False).astype(bool).to_numpy() | late
    p = petitions[by].copy()
    p["petitions"] = 1
    p["petitions_on_time"] = on_time.astype(np.int64)
    p["petitions_failing"] = failing.astype(np.int64)
    p_counts = p.groupby(by, sort=True, dropna=False)[list(COUNT_COLUMNS[3:])].sum()

    out = d_counts.join(p_counts, how="outer").fillna(0).astype(np.int64).reset_index()
    return out[[*by, *COUNT_COLUMNS]]


def _points(rate: pd.Series, counted: pd.Series, settings: Group5Settings) -> pd.Series:
    earned = rate.clip(upper=settings.full_rate) * settings.points / settings.full_rate
    empty = settings.points if settings.empty_earns_full else 0.0
    out: pd.Series = earned.where(counted > 0, empty).astype(float)
    return out


def score_tally(counts: pd.DataFrame, settings: Group5Settings | None = None) -> Group5Result:
    """Rates and points of group 5 from a tally (:func:`tally`, or the same counts from SQL).

    Parameters
    ----------
    counts : DataFrame
        Grouping columns and :data:`COUNT_COLUMNS` (non-negative integers).
    settings : Group5Settings, optional
        The constants (defaults: 90 %, 6 points, empty earns full).

    Returns
    -------
    Group5Result
        Rates in % (NaN when nothing was counted) and points per criterion and in total.

    Notes
    -----
    With :math:`P` petitions, :math:`T` of them on time and :math:`F` failing, :math:`D`
    dossiers, :math:`O` overdue and :math:`G` flagged (a petition or "not satisfied"):

    .. math::

        r_{5.2} = 100\\,T/P, \\qquad
        r_{5.3} = 100\\,(P - F)/P, \\qquad
        r_{5.4} = \\max\\bigl(0,\\ 100 - (100\\,O/D + 100\\,G/D)\\bigr)

    and each criterion earns :math:`6` points when :math:`r \\ge 90`, else :math:`6r/90`
    (``points × min(r, full_rate) / full_rate``). The group's points are the sum (≤ 18).
    A dossier both overdue and flagged counts in both shares, as the reconstruction says.

    Examples
    --------
    >>> c = pd.DataFrame({"u": ["A"], "dossiers": [100], "dossiers_overdue": [5],
    ...     "dossiers_flagged": [10], "petitions": [4], "petitions_on_time": [3],
    ...     "petitions_failing": [1]})
    >>> scores = score_tally(c).to_frame()
    >>> scores[["rate_5_4", "points_5_4", "points_5_2", "points"]].round(4).values.tolist()
    [[85.0, 5.6667, 5.0, 15.6667]]
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts must be a DataFrame, got {type(counts).__name__}")
    _check(counts, COUNT_COLUMNS, "counts")
    settings = settings or Group5Settings()
    values = counts[list(COUNT_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any() or (values < 0).any().any():
        bad = values.isna().any(axis=1) | (values < 0).any(axis=1)
        raise DataError("counts must be non-negative numbers", source="counts", row=bad.idxmax())
    table = counts.copy()
    dossiers = values["dossiers"].astype(float)
    petitions = values["petitions"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_52 = 100 * values["petitions_on_time"] / petitions.where(petitions > 0)
        rate_53 = 100 * (petitions - values["petitions_failing"]) / petitions.where(petitions > 0)
        shares = (values["dossiers_overdue"] + values["dossiers_flagged"]) / dossiers.where(
            dossiers > 0
        )
        rate_54 = (100 - 100 * shares).clip(lower=0)
    table["rate_5_2"] = rate_52.astype(float)
    table["points_5_2"] = _points(rate_52.fillna(0), petitions, settings)
    table["rate_5_3"] = rate_53.astype(float)
    table["points_5_3"] = _points(rate_53.fillna(0), petitions, settings)
    table["rate_5_4"] = rate_54.astype(float)
    table["points_5_4"] = _points(rate_54.fillna(0), dossiers, settings)
    table["points"] = table["points_5_2"] + table["points_5_3"] + table["points_5_4"]
    return Group5Result(table.reset_index(drop=True), settings)


def group5(
    dossiers: pd.DataFrame,
    petitions: pd.DataFrame,
    *,
    by: Sequence[str],
    as_of: pd.Timestamp,
    settings: Group5Settings | None = None,
) -> Group5Result:
    """Group 5 per group from per-dossier and per-petition frames: :func:`score_tally` of
    :func:`tally` (see both for the columns and the formulas).

    Examples
    --------
    One dossier returned on time and satisfied, no petition: every criterion earns its points.

    >>> d = pd.DataFrame({"u": ["A"], "due_at": [pd.Timestamp("2026-05-10", tz="UTC")],
    ...     "returned_at": [pd.Timestamp("2026-05-08", tz="UTC")], "overdue_reported": [False],
    ...     "rating": ["satisfied"], "has_petition": [False]})
    >>> p = pd.DataFrame(columns=["u", *PETITION_COLUMNS])
    >>> group5(d, p, by=["u"], as_of=pd.Timestamp("2026-06-01", tz="UTC")).to_frame()["points"]
    0    18.0
    Name: points, dtype: float64
    """
    return score_tally(tally(dossiers, petitions, by=by, as_of=as_of), settings)


def rank(result: Group5Result, *, within: Sequence[str] = ()) -> Group5Result:
    """Rank by points (1 = most), ties sharing the best rank (``min``), within each group of
    ``within`` (e.g. the month) or over the whole table.

    Examples
    --------
    >>> c = pd.DataFrame({"u": ["A", "B", "C"], "dossiers": [10, 10, 10],
    ...     "dossiers_overdue": [5, 0, 0], "dossiers_flagged": [0, 0, 0], "petitions": [0, 0, 0],
    ...     "petitions_on_time": [0, 0, 0], "petitions_failing": [0, 0, 0]})
    >>> rank(score_tally(c)).to_frame()["rank"].tolist()
    [3, 1, 1]
    """
    table = result.to_frame()
    if within:
        table["rank"] = (
            table.groupby(list(within))["points"].rank(method="min", ascending=False).astype(int)
        )
    else:
        table["rank"] = table["points"].rank(method="min", ascending=False).astype(int)
    return Group5Result(table, result.settings, result.label)
