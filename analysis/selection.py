"""The seeded random draw of a survey sample from a frame, with its design weights and fpc."""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .design import SurveyDesign
from .errors import DataError, shown

#: Columns the draw adds to the frame's rows.
WEIGHT_COLUMN = "design_weight"
FPC_COLUMN = "design_fpc"


@dataclass(frozen=True)
class DrawnSample:
    """The drawn units (the frame's rows plus ``design_weight`` and ``design_fpc``).

    Attributes
    ----------
    table : DataFrame
        The frame's rows that were drawn, in stratum, cluster, unit order, with
        ``design_weight`` (inverse inclusion probability) and ``design_fpc`` (PSUs in the
        stratum's frame: villages, or units in a one-stage draw).
    strata : DataFrame
        Per stratum: ``units`` and ``clusters`` in the frame, ``n_planned``, ``clusters_drawn``,
        ``n_drawn`` (less than planned only when the drawn villages hold too few units).
    design : SurveyDesign
        The design to score the survey's answers with (:func:`analysis.score`).
    seed : int
    """

    table: pd.DataFrame = field(repr=False)
    strata: pd.DataFrame = field(repr=False)
    design: SurveyDesign
    seed: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def draw_sample(
    frame: pd.DataFrame,
    sizes: Mapping[Hashable, int] | pd.DataFrame,
    *,
    seed: int,
    stratum: str,
    unit: str,
    cluster: str | None = None,
    per_cluster: int = 10,
) -> DrawnSample:
    """Draw a stratified sample from a frame, in one stage or two (villages, then households).

    Parameters
    ----------
    frame : DataFrame
        One row per unit (household, or served dossier): its id, its stratum (commune,
        department) and, for a two-stage draw, its cluster (village). Not modified.
    sizes : mapping or DataFrame
        n_h per stratum: ``{stratum: n}``, or a table with ``stratum`` and ``n`` columns
        (e.g. :func:`analysis.allocation.allocate`'s). Strata not listed are not drawn.
    seed : int
        The same seed, frame and sizes give the same sample, whatever the row order of the
        frame. Each stratum draws from its own stream (seeded by ``seed`` and the stratum's
        name), so changing one stratum's n leaves the other strata's draws as they were.
    stratum, unit, cluster : str
        Column names; ``cluster`` given = two-stage draw.
    per_cluster : int
        Households aimed for per village in a two-stage draw.

    Returns
    -------
    DrawnSample

    Raises
    ------
    DataError
        A unit id is listed twice, a stratum or cluster cell is empty, a stratum has fewer
        units than its sample, an n is not a whole number ≥ 0 or names a stratum not in the
        frame (the message names the row and the rule).

    Notes
    -----
    One stage: in stratum h, n_h of its N_h units by simple random sampling without
    replacement; weight N_h/n_h, fpc N_h. Two stages: a_h = ⌈n_h / per_cluster⌉ of the
    stratum's A_h villages (at least 2 where A_h ≥ 2 and n_h ≥ 2, so that the stratum's
    variance can be estimated), drawn by simple random sampling (equal probability, so
    the first-stage fpc a_h/A_h of :class:`SurveyDesign` holds exactly); then n_h shared
    as equally as the villages allow and m_hc of the M_hc households of village c drawn
    by simple random sampling. Weight = (A_h/a_h)·(M_hc/m_hc), the inverse of the
    inclusion probability (a_h/A_h)·(m_hc/M_hc); fpc = A_h.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"household": range(12), "commune": ["A"] * 8 + ["B"] * 4,
    ...                       "village": ["A1", "A1", "A1", "A2", "A2", "A3", "A3", "A3",
    ...                                   "B1", "B1", "B2", "B2"]})
    >>> drawn = draw_sample(frame, {"A": 4, "B": 2}, seed=7, stratum="commune",
    ...                     unit="household", cluster="village", per_cluster=2)
    >>> drawn.to_frame()[["household", "village", "design_weight", "design_fpc"]]
       household village  design_weight  design_fpc
    0          3      A2           1.50           3
    1          4      A2           1.50           3
    2          6      A3           2.25           3
    3          7      A3           2.25           3
    4          8      B1           2.00           2
    5         11      B2           2.00           2
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a DataFrame, got {type(frame).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be a whole number, got {seed!r}")
    if isinstance(per_cluster, bool) or not isinstance(per_cluster, int) or per_cluster < 1:
        raise ValueError(f"per_cluster must be a whole number ≥ 1, got {per_cluster!r}")
    for column in (unit, stratum, *([cluster] if cluster else [])):
        if column not in frame.columns:
            raise DataError("the frame needs this column", source="frame", column=column)
        empty = frame[column].isna().to_numpy()
        if empty.any():
            row = frame.index[int(np.flatnonzero(empty)[0])]
            raise DataError("this cell is empty", source="frame", row=row, column=column)
    for column in (WEIGHT_COLUMN, FPC_COLUMN):
        if column in frame.columns:
            raise DataError(
                "the draw adds this column: rename it in the frame", source="frame", column=column
            )
    twice = frame[unit].duplicated().to_numpy()
    if twice.any():
        row = frame.index[int(np.flatnonzero(twice)[0])]
        value = frame[unit].loc[row]
        first = frame.index[int(np.flatnonzero((frame[unit] == value).to_numpy())[0])]
        raise DataError(
            f"unit {shown(value)} is listed twice (first at row {first}): "
            "a frame lists each household or dossier once",
            source="frame",
            row=row,
            column=unit,
        )
    wanted = _sizes(sizes, frame, stratum)
    parts: list[pd.DataFrame] = []
    summary: list[dict[str, object]] = []
    for name in sorted(wanted, key=str):
        n_h = wanted[name]
        units = frame[frame[stratum] == name]
        units = units.iloc[np.argsort(units[unit].astype(str).to_numpy(), kind="stable")]
        if n_h > len(units):
            raise DataError(
                f"stratum {shown(name)} has {len(units)} units in the frame but its sample "
                f"is {n_h}: a stratum cannot give more units than it has",
                source="frame",
                row=frame.index[int(np.flatnonzero((frame[stratum] == name).to_numpy())[0])],
                column=stratum,
            )
        rng = np.random.default_rng([int(seed), zlib.crc32(str(name).encode("utf-8"))])
        if cluster is None or n_h == 0:
            chosen = np.sort(rng.choice(len(units), size=n_h, replace=False))
            drawn = units.iloc[chosen].copy()
            drawn[WEIGHT_COLUMN] = len(units) / n_h if n_h else np.nan
            drawn[FPC_COLUMN] = len(units)
            clusters_drawn = n_h
        else:
            drawn, clusters_drawn = _two_stage(units, cluster, n_h, per_cluster, rng)
        parts.append(drawn)
        summary.append(
            {
                "stratum": name,
                "units": len(units),
                "clusters": units[cluster].nunique() if cluster else len(units),
                "n_planned": n_h,
                "clusters_drawn": clusters_drawn,
                "n_drawn": len(drawn),
            }
        )
    table = (
        pd.concat(parts) if parts else frame.iloc[:0].assign(**{WEIGHT_COLUMN: [], FPC_COLUMN: []})
    )
    design = SurveyDesign(strata=stratum, cluster=cluster, weight=WEIGHT_COLUMN, fpc=FPC_COLUMN)
    return DrawnSample(table.reset_index(drop=True), pd.DataFrame(summary), design, int(seed))


def _two_stage(
    units: pd.DataFrame, cluster: str, n_h: int, per_cluster: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, int]:
    villages = np.array(sorted(units[cluster].unique(), key=str), dtype=object)
    sizes = units[cluster].value_counts().reindex(villages).to_numpy()
    count = len(villages)
    a_h = min(count, math.ceil(n_h / per_cluster)) if n_h else 0
    a_h = max(a_h, min(2, count, n_h))
    picked = np.sort(rng.choice(count, size=a_h, replace=False))
    room = sizes[picked].astype(np.int64)
    take = np.zeros(a_h, dtype=np.int64)
    left = n_h
    while left > 0 and (take < room).any():  # share n_h as equally as the villages allow
        open_ = np.flatnonzero(take < room)
        share = max(left // len(open_), 1)
        for j in open_:
            step = min(share, int(room[j] - take[j]), left)
            take[j] += step
            left -= step
            if left == 0:
                break
    parts = []
    for k, v in enumerate(picked):
        homes = units[units[cluster] == villages[v]]
        chosen = np.sort(rng.choice(len(homes), size=int(take[k]), replace=False))
        drawn = homes.iloc[chosen].copy()
        drawn[WEIGHT_COLUMN] = (count / a_h) * (len(homes) / take[k]) if take[k] else np.nan
        drawn[FPC_COLUMN] = count
        parts.append(drawn)
    return pd.concat(parts), a_h


def _sizes(
    sizes: Mapping[Hashable, int] | pd.DataFrame, frame: pd.DataFrame, stratum: str
) -> dict[Hashable, int]:
    if isinstance(sizes, pd.DataFrame):
        for column in ("stratum", "n"):
            if column not in sizes.columns:
                raise DataError(
                    "the sizes table needs stratum and n", source="sizes", column=column
                )
        pairs = list(zip(sizes.index, sizes["stratum"], sizes["n"], strict=True))
    elif isinstance(sizes, Mapping):
        pairs = [(name, name, n) for name, n in sizes.items()]
    else:
        raise TypeError(f"sizes must be a mapping or a DataFrame, got {type(sizes).__name__}")
    known = set(frame[stratum].tolist())
    out: dict[Hashable, int] = {}
    for row, name, n in pairs:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise DataError(
                f"n {shown(n)} is not a whole number ≥ 0", source="sizes", row=row, column="n"
            )
        if name not in known:
            raise DataError(
                f"stratum {shown(name)} is not in the frame",
                source="sizes",
                row=row,
                column="stratum",
            )
        out[name] = int(n)
    return out
