"""Breakdowns: which group(s) each response counts in — columns, periods, unit roll-up.

A breakdown is a list of (row, group id) pairs. A plain column gives each response one group;
a unit roll-up gives a response to its unit and every unit above it in the tree it is given
(e.g. a commune's branch, the commune, the province);
overlapping custom periods give a response to every range it falls in. Scoring never needs
to know which: it tallies the pairs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import DataError, shown

#: The name of the derived period column in ``by`` and in results.
PERIOD = "period"
PERIOD_KINDS = ("month", "quarter", "year")
#: Offices are in Vietnam: a response submitted at 2025-03-31T20:00Z belongs to April.
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class PeriodRange:
    """A custom reporting period: local dates from ``start`` to ``end``, both included.

    Examples
    --------
    >>> PeriodRange("6 tháng đầu năm 2025", "2025-01-01", "2025-06-30").end
    datetime.date(2025, 6, 30)
    """

    label: str
    start: dt.date
    end: dt.date

    def __init__(self, label: str, start: dt.date | str, end: dt.date | str) -> None:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"a period label must be a non-empty text, got {label!r}")
        first, last = _as_date(start, "start"), _as_date(end, "end")
        if last < first:
            raise ValueError(f"period {label!r} ends ({last}) before it starts ({first})")
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "start", first)
        object.__setattr__(self, "end", last)


def _as_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"period {name} must be a date like 2025-01-31, got {value!r}") from None


PeriodSpec = str | Sequence[PeriodRange | tuple[str, Any, Any]]


@dataclass(frozen=True)
class Grouping:
    """Responses → groups as pairs. ``rows`` is None when pair ``k`` is row ``k``."""

    rows: IntArray | None
    gid: IntArray
    #: One row per group id, one column per ``by`` name, values as labels.
    groups: pd.DataFrame
    #: Period labels in time (or definition) order, when ``period`` is a breakdown.
    period_order: tuple[str, ...] = ()

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def row_of_pairs(self) -> IntArray:
        return self.rows if self.rows is not None else np.arange(len(self.gid), dtype=np.int64)


@dataclass
class _Dimension:
    name: str
    labels: list[Any]
    #: Single-valued: the label position of each row (−1 = the row is in no group).
    codes: IntArray | None = None
    #: Multi-valued: (row, label position) pairs sorted by row.
    pair_rows: IntArray | None = None
    pair_codes: IntArray | None = None


def build_grouping(
    frame: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    period: PeriodSpec | None = None,
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
) -> Grouping:
    """Assign every response of ``frame`` to its groups (see the module docstring)."""
    names = _check_by(by, frame, units, unit_column)
    n = len(frame)
    dims: list[_Dimension] = []
    period_order: tuple[str, ...] = ()
    for name in names:
        if name == PERIOD and (period is not None or PERIOD not in frame.columns):
            dim = _period_dimension(frame, period or "month", time_column, timezone)
            period_order = tuple(dim.labels)
        elif name == unit_column and units is not None:
            dim = _rollup_dimension(frame, unit_column, units)
        else:
            dim = _column_dimension(frame, name)
            if name == PERIOD:
                period_order = tuple(str(v) for v in dim.labels)
        dims.append(dim)

    rows: IntArray | None = None
    codes: list[IntArray] = []
    for dim in dims:
        if dim.codes is not None:
            current = dim.codes if rows is None else dim.codes[rows]
            keep = current >= 0
            if not keep.all():  # a row outside every group of this dimension
                rows = (np.arange(n, dtype=np.int64) if rows is None else rows)[keep]
                codes = [c[keep] for c in codes]
                current = current[keep]
            codes.append(current)
        else:
            assert dim.pair_rows is not None and dim.pair_codes is not None
            rows, codes = _expand(n, rows, codes, dim.pair_rows, dim.pair_codes)

    pairs = n if rows is None else len(rows)
    if not dims:
        # No breakdown: one group holding every response.
        return Grouping(rows, np.zeros(pairs, dtype=np.int64), pd.DataFrame(index=[0]))
    gid, combos = _combine(codes, [len(d.labels) for d in dims])
    groups = pd.DataFrame(
        {d.name: pd.array([d.labels[p] for p in combos[:, k]]) for k, d in enumerate(dims)}
    )
    return Grouping(rows, gid, groups, period_order)


def _expand(
    n: int,
    rows: IntArray | None,
    codes: list[IntArray],
    pair_rows: IntArray,
    pair_codes: IntArray,
) -> tuple[IntArray, list[IntArray]]:
    """Cross the current pairs with a many-groups-per-row dimension (pairs sorted by row)."""
    per_row = np.bincount(pair_rows, minlength=n)
    starts = np.cumsum(per_row) - per_row
    current = np.arange(n, dtype=np.int64) if rows is None else rows
    repeats = per_row[current]
    parent = np.repeat(np.arange(len(current), dtype=np.int64), repeats)
    within = np.arange(len(parent), dtype=np.int64) - np.repeat(
        np.cumsum(repeats) - repeats, repeats
    )
    added = pair_codes[np.repeat(starts[current], repeats) + within]
    return current[parent], [*(c[parent] for c in codes), added]


def _combine(codes: list[IntArray], sizes: list[int]) -> tuple[IntArray, IntArray]:
    """Group ids for label-position tuples, numbered in sorted (label) order."""
    if not len(codes[0]):
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(codes)), dtype=np.int64)
    if np.prod([float(max(s, 1)) for s in sizes]) < 2.0**62:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for c, size in zip(codes, sizes, strict=True):
            key = key * max(size, 1) + c
        # Hash-factorise (fast on a million rows), then renumber the few uniques in order.
        positions, uniques = pd.factorize(key)
        order = np.argsort(uniques, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        gid = rank[positions].astype(np.int64)
        combos = np.empty((len(uniques), len(codes)), dtype=np.int64)
        rest = uniques[order].astype(np.int64)
        for k in range(len(codes) - 1, -1, -1):
            combos[:, k] = rest % max(sizes[k], 1)
            rest = rest // max(sizes[k], 1)
        return gid, combos
    stacked = np.stack(codes, axis=1)
    combos, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), combos.astype(np.int64)


def _check_by(
    by: Sequence[str], frame: pd.DataFrame, units: pd.DataFrame | None, unit_column: str
) -> list[str]:
    if isinstance(by, str):
        by = [by]
    names = list(by)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"by must be column names, got {name!r}")
        if name != PERIOD and name not in frame.columns:
            raise DataError("the breakdown column is missing", column=name)
    if len(set(names)) != len(names):
        raise ValueError(f"by names a column twice: {names!r}")
    if units is not None and unit_column not in names:
        raise ValueError(f"units (a roll-up tree) needs {unit_column!r} in by, got by={names!r}")
    return names


def _column_dimension(frame: pd.DataFrame, name: str) -> _Dimension:
    positions, uniques = pd.factorize(frame[name], sort=True, use_na_sentinel=False)
    labels = [None if _is_missing(v) else v for v in uniques]
    return _Dimension(name, labels, codes=positions.astype(np.int64))


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _local_times(frame: pd.DataFrame, column: str, timezone: str) -> NDArray[np.datetime64]:
    if column not in frame.columns:
        raise DataError("a period breakdown needs the submission time column", column=column)
    raw = frame[column]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        stamps = raw
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        stamps = raw.dt.tz_localize("UTC")  # stored times are UTC (SIPAS.md §7)
    else:
        stamps = pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce")
        bad = stamps.isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():
            row = frame.index[int(np.flatnonzero(bad)[0])]
            value = raw.loc[row]
            raise DataError(
                f"{shown(value)} is not an ISO 8601 time like 2025-03-31T08:15:00Z",
                row=row,
                column=column,
                value=value,
            )
    empty = stamps.isna().to_numpy()
    if empty.any():
        row = frame.index[int(np.flatnonzero(empty)[0])]
        raise DataError(
            "the submission time is empty (needed for the period)", row=row, column=column
        )
    try:
        local = stamps.dt.tz_convert(timezone)
    except Exception as exc:  # zoneinfo raises several types for an unknown zone
        raise ValueError(f"timezone must be an IANA zone name, got {timezone!r}") from exc
    seconds: NDArray[np.datetime64] = local.dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    return seconds


def _period_dimension(
    frame: pd.DataFrame, period: PeriodSpec, column: str, timezone: str
) -> _Dimension:
    local = _local_times(frame, column, timezone)
    if isinstance(period, str):
        if period not in PERIOD_KINDS:
            raise ValueError(
                f"period must be one of {', '.join(PERIOD_KINDS)} or a list of ranges, "
                f"got {period!r}"
            )
        months = local.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        if period == "month":
            key = months
        elif period == "quarter":
            key = months // 3
        else:
            key = months // 12
        positions, uniques = pd.factorize(key, sort=True)
        return _Dimension(
            PERIOD,
            [_period_label(period, int(u)) for u in uniques],
            codes=positions.astype(np.int64),
        )
    ranges = [r if isinstance(r, PeriodRange) else PeriodRange(*r) for r in period]
    if not ranges:
        raise ValueError("period ranges must list at least one range, got []")
    labels = [r.label for r in ranges]
    if len(set(labels)) != len(labels):
        raise ValueError(f"period range labels must differ, got {labels!r}")
    days = local.astype("datetime64[D]")
    rows_list, codes_list = [], []
    for k, r in enumerate(ranges):
        inside = np.flatnonzero(
            (days >= np.datetime64(r.start, "D")) & (days <= np.datetime64(r.end, "D"))
        )
        rows_list.append(inside)
        codes_list.append(np.full(len(inside), k, dtype=np.int64))
    pair_rows = np.concatenate(rows_list).astype(np.int64)
    pair_codes = np.concatenate(codes_list)
    order = np.argsort(pair_rows, kind="stable")
    return _Dimension(PERIOD, labels, pair_rows=pair_rows[order], pair_codes=pair_codes[order])


def _period_label(kind: str, key: int) -> str:
    if kind == "month":
        return f"{1970 + key // 12:04d}-{key % 12 + 1:02d}"
    if kind == "quarter":
        return f"{1970 + key // 4:04d}-Q{key % 4 + 1}"
    return f"{1970 + key:04d}"


def unit_ancestors(units: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Each unit's chain from itself up to its root, from (unit_code, parent_code) edges.

    Examples
    --------
    >>> tree = pd.DataFrame({"unit_code": ["P", "D", "C"], "parent_code": [None, "P", "D"]})
    >>> unit_ancestors(tree)["C"]
    ('C', 'D', 'P')
    """
    if not isinstance(units, pd.DataFrame):
        raise TypeError(f"units must be a DataFrame of unit_code, parent_code; got {units!r}")
    for column in ("unit_code", "parent_code"):
        if column not in units.columns:
            raise DataError(
                "the units table needs unit_code and parent_code", column=column, source="units"
            )
    parent: dict[str, str | None] = {}
    for row, code, up in zip(units.index, units["unit_code"], units["parent_code"], strict=True):
        if _is_missing(code) or str(code).strip() == "":
            raise DataError("unit_code is empty", source="units", row=row, column="unit_code")
        key = str(code)
        if key in parent:
            raise DataError(
                f"unit {key!r} is listed twice", source="units", row=row, column="unit_code"
            )
        parent[key] = None if _is_missing(up) or str(up).strip() == "" else str(up)
    chains: dict[str, tuple[str, ...]] = {}
    for code in parent:
        chain = [code]
        up = parent[code]
        while up is not None:
            if up not in parent:
                raise DataError(
                    f"parent {up!r} of unit {chain[-1]!r} is not a unit",
                    source="units",
                    column="parent_code",
                )
            if up in chain:
                raise DataError(
                    f"the unit tree has a cycle through {up!r}",
                    source="units",
                    column="parent_code",
                )
            chain.append(up)
            up = parent[up]
        chains[code] = tuple(chain)
    return chains


def _rollup_dimension(frame: pd.DataFrame, column: str, units: pd.DataFrame) -> _Dimension:
    chains = unit_ancestors(units)
    positions, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    if (positions < 0).any():
        row = frame.index[int(np.flatnonzero(positions < 0)[0])]
        raise DataError(
            "the unit is empty (a roll-up needs every response's unit)", row=row, column=column
        )
    labels = sorted({code for value in uniques for code in chains.get(str(value), ())})
    where = {code: k for k, code in enumerate(labels)}
    chain_codes: list[list[int]] = []
    for k, value in enumerate(uniques):
        chain = chains.get(str(value))
        if chain is None:
            row = frame.index[int(np.flatnonzero(positions == k)[0])]
            raise DataError(
                f"unit {shown(value)} is not in the unit tree", row=row, column=column, value=value
            )
        chain_codes.append([where[c] for c in chain])
    lengths = np.array([len(c) for c in chain_codes], dtype=np.int64)
    flat = np.array([c for chain in chain_codes for c in chain], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    per_row = lengths[positions]
    pair_rows = np.repeat(np.arange(len(frame), dtype=np.int64), per_row)
    within = np.arange(len(pair_rows), dtype=np.int64) - np.repeat(
        np.cumsum(per_row) - per_row, per_row
    )
    pair_codes = flat[np.repeat(starts[positions], per_row) + within]
    return _Dimension(column, labels, pair_rows=pair_rows, pair_codes=pair_codes)
