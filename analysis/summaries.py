"""Additive summaries: the read model every score, interval and driver is computed from.

A summary table has one row per cell of a grain the caller names (e.g. desk × day ×
channel) and per response status (``rule_valid``, ``column_valid``, ``flags``), and one plain
number column per sum over the responses in that cell. Every column is a sum, so cells roll
up to any coarser grouping (unit, period, channel) by adding rows — in pandas with
:func:`roll_up`, or in SQL with ``GROUP BY … SUM(…)`` — and :func:`score_summaries` then
gives exactly what :func:`analysis.score` gives on the raw rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from questionnaires import Questionnaire

from .breakdown import (
    DEFAULT_TIMEZONE,
    PERIOD,
    Grouping,
    PeriodSpec,
    _local_times,
    build_grouping,
)
from .drivers import DriversResult, drivers_table, overall_question, spearman_from_table
from .errors import AnalysisError, DataError
from .intervals import snap_zero_se
from .plan import ScoringPlan, build_plan
from .responses import ResponseMatrix, response_matrix
from .scoring import ScoreResult, resolve_questionnaire, resolve_settings, tidy_table
from .settings import ANY_FLAG, ScoringSettings
from .tally import ItemEstimates, ScoredPairs, Tally, item_estimates, tally_rows
from .tree import NodeIndices, node_indices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The grain column holding the local calendar date (``YYYY-MM-DD`` in ``timezone``).
DAY = "day"
#: Status columns added to every grain: periods, units and settings are applied on top.
STATUS_COLUMNS = ("rule_valid", "column_valid", "flags")
#: Responses in the cell (every status), the first number column.
RESPONSES = "responses"
#: Separator inside number column names (item codes themselves contain ``_``).
SEP = "__"
#: Relative size, against the sum of the magnitudes of its terms, below which a node's
#: variance is recomputed in exact rational arithmetic (see :func:`node_variance`).
EXACT_BELOW = 1e-9


@dataclass(frozen=True)
class SummaryBasis:
    """What a summary table was built under; reading it under other settings is refused.

    The item indicators (which codes count and score: ``method``, ``satisfied_codes``,
    ``cannot_judge``) and the validity threshold are fixed when the sums are taken; every
    other setting (``drop_invalid``, ``honour_valid_column``, ``exclude_flags``, ``min_n``,
    ``confidence``, ``empty_child``) is applied when reading.
    """

    questionnaire: str
    method: str
    satisfied_codes: tuple[int, ...]
    cannot_judge: str
    validity_threshold: int
    weighted: bool
    overall_item: str | None
    timezone: str
    grain: tuple[str, ...]


@dataclass(frozen=True)
class Summaries:
    """An additive summary table and its basis.

    Attributes
    ----------
    table : DataFrame
        The grain columns, the status columns ``rule_valid, column_valid, flags`` and the
        number columns (see :func:`number_columns`), one row per occupied cell.
    basis : SummaryBasis
    """

    table: pd.DataFrame = field(repr=False)
    basis: SummaryBasis

    def to_frame(self) -> pd.DataFrame:
        """The summary table (a copy)."""
        return self.table.copy()

    @property
    def key_columns(self) -> list[str]:
        return [*self.basis.grain, *STATUS_COLUMNS]


def _criteria(plan: ScoringPlan) -> list[int]:
    """Measures of the items under the index tree: the ones whose cross-products are kept."""
    return [m for m, measure in enumerate(plan.measures) if measure.level == "item"]


def _tree_columns(plan: ScoringPlan) -> list[int]:
    return [plan.measures[m].column for m in _criteria(plan)]


def number_columns(
    plan: ScoringPlan, weighted: bool, overall_item: str | None
) -> dict[str, list[str]]:
    """The number columns of a summary table, by kind, in table order.

    Returns
    -------
    dict
        ``responses``: ``[responses]`` (and ``weight, weight_sq`` with weights);
        ``counts``: ``n__<column>__<code>`` answers with that code, for every stored
        column and allowed code; with weights also ``w__…`` (Σw) and ``w2__…`` (Σw²);
        ``nodes``: ``node_n__<node>`` respondents who answered ≥ 1 item under the node;
        ``moments``: for each pair j < k of items under the index tree,
        ``yy__j__k = Σ w²·y_j·y_k``, ``ya__j__k = Σ w²·y_j·a_k``, ``ay__j__k = Σ w²·a_j·y_k``,
        ``aa__j__k = Σ w²·a_j·a_k`` (w = 1 without weights: counts);
        ``joint``: ``hl__<item>__<x>__<y>`` respondents with code x to the item and y to the
        overall question (both scale codes), for the drivers.
    """
    out: dict[str, list[str]] = {
        "responses": [RESPONSES] + (["weight", "weight_sq"] if weighted else [])
    }
    counts = [
        f"n{SEP}{name}{SEP}{code}"
        for name, codes in zip(plan.columns, plan.allowed, strict=True)
        for code in codes
    ]
    if weighted:
        counts += [f"w{SEP}{c[3:]}" for c in counts] + [f"w2{SEP}{c[3:]}" for c in counts]
    out["counts"] = counts
    out["nodes"] = [f"node_n{SEP}{node.code}" for node in plan.nodes]
    tree = [plan.columns[j] for j in _tree_columns(plan)]
    out["moments"] = [
        f"{kind}{SEP}{tree[j]}{SEP}{tree[k]}"
        for j in range(len(tree))
        for k in range(j + 1, len(tree))
        for kind in ("yy", "ya", "ay", "aa")
    ]
    joint: list[str] = []
    if overall_item is not None:
        q = plan.questionnaire
        ys = _scale(q, overall_item)
        for m in _criteria(plan):
            code = plan.measures[m].code
            joint += [f"hl{SEP}{code}{SEP}{x}{SEP}{y}" for x in _scale(q, code) for y in ys]
    out["joint"] = joint
    return out


def _scale(q: Questionnaire, code: str) -> list[int]:
    scale = q.items[code].scale
    if scale is None:
        raise AnalysisError(f"item {code} of {q.key} has no answer scale")
    return sorted(scale.codes)


def _build_settings(settings: ScoringSettings) -> ScoringSettings:
    # The validity rule's verdict is stored as a status column, so the sums are taken with
    # the rule on; drop_invalid=False is applied when reading by keeping the invalid cells.
    return dataclasses.replace(settings, drop_invalid=True)


def _normal_flags(frame: pd.DataFrame) -> pd.Series:
    if "flags" not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    positions, uniques = pd.factorize(frame["flags"], use_na_sentinel=True)
    names = [";".join(sorted({part.strip() for part in str(v).split(";")} - {""})) for v in uniques]
    mapped = np.array([*names, ""], dtype=object)
    return pd.Series(mapped[positions], index=frame.index, dtype=object)


def local_days(frame: pd.DataFrame, time_column: str, timezone: str) -> pd.Series:
    """The local calendar date (``YYYY-MM-DD``) of each response, as periods use it."""
    local = _local_times(frame, time_column, timezone).astype("datetime64[D]")
    return pd.Series(np.datetime_as_string(local, unit="D"), index=frame.index, dtype=object)


def build_summaries(
    responses: pd.DataFrame,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    weights: str | None = None,
    overall_item: str | None = None,
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    settings: ScoringSettings | None = None,
) -> Summaries:
    """Sum wide responses into an additive summary table at the grain ``by``.

    Parameters
    ----------
    responses : DataFrame
        Wide responses, as for :func:`analysis.score`. Not modified.
    questionnaire : Questionnaire or str
    by : sequence of str
        The grain: any columns, plus ``"day"`` (the local date of ``time_column``) and
        ``"period"`` (formed by ``period`` as in :func:`analysis.score`). Scores can later be
        read at this grain or any coarser one; a period read from the table needs ``day``.
    period : {"month", "quarter", "year"} or sequence of PeriodRange, optional
        For ``"period"`` in ``by``.
    weights : str, optional
        A column of positive respondent weights; the sums are then weighted.
    overall_item : str, optional
        The overall question the drivers correlate with (default: the questionnaire's
        item with role ``overall``; none: no joint columns).
    settings : ScoringSettings, optional
        Fixes the item indicators (method, satisfied codes, cannot-judge rule) and the
        validity threshold; see :class:`SummaryBasis`.

    Returns
    -------
    Summaries

    Notes
    -----
    Per cell, over its responses i with weight w_i (1 without weights), a_ij = 1 when the
    answer to item j counts and y_ij its score (the plan's lookup tables):

    * ``n/w/w2__j__c`` = Σ 1, Σ w, Σ w² over answers with code c: every item index, its
      Wilson interval (Kish n) and the linearised SE of a ``mean_score`` item;
    * ``node_n__v`` = respondents with ≥ 1 counted answer under node v;
    * ``yy/ya/ay/aa__j__k`` = Σ w² y_j y_k, Σ w² y_j a_k, Σ w² a_j y_k, Σ w² a_j a_k for
      j < k (the diagonal follows from the per-code sums): every node variance, because
      Σ_i (w_i z_i)² with z_i = Σ_j λ_j (y_ij − R_j a_ij)/A_j is a quadratic form in them;
    * ``hl__j__x__y``: the item × overall-question table, from which Spearman's rho with
      mid-ranks follows exactly (:func:`analysis.spearman_from_table`).

    Without weights every column is a count (top2box) or a multiple of 1/16 (mean_score),
    so sums in any order are exact.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"desk_code": ["D1", "D1", "D2"],
    ...     "HL_TC": [5, 4, 2], "HL_TT": [5, 5, 4], "HL_CC": [4, 2, 4],
    ...     "HL_KQ": [5, 4, 3], "HL_PA": [2, 2, 1], "HL": [5, 4, 2]})
    >>> s = build_summaries(rows, "sipas-kiosk", by=["desk_code"])
    >>> s.table[["desk_code", "responses", "n__HL_TC__5", "yy__HL_TC__HL_TT"]]
      desk_code  responses  n__HL_TC__5  yy__HL_TC__HL_TT
    0        D1          2            1                 2
    1        D2          1            0                 0
    """
    q = resolve_questionnaire(questionnaire)
    settings = resolve_settings(settings)
    plan = build_plan(q, _build_settings(settings))
    overall = overall_question(q, overall_item, required=False)
    matrix = response_matrix(responses, plan, settings, weights)
    grain = _check_grain(by)
    keys = pd.DataFrame(index=responses.index)
    for name in grain:
        if name == DAY:
            keys[DAY] = local_days(responses, time_column, timezone)
        elif name == PERIOD and (period is not None or PERIOD not in responses.columns):
            if time_column in responses.columns:
                keys[time_column] = responses[time_column]
        elif name not in responses.columns:
            raise DataError("the breakdown column is missing", column=name)
        else:
            keys[name] = responses[name]
    keys["rule_valid"] = matrix.rule_valid
    keys["column_valid"] = matrix.column_valid
    keys["flags"] = _normal_flags(responses)
    grouping = build_grouping(
        keys,
        [*grain, *STATUS_COLUMNS],
        period=period,
        time_column=time_column,
        timezone=timezone,
    )
    table = _sum_cells(matrix, grouping, plan, overall)
    basis = SummaryBasis(
        questionnaire=q.key,
        method=plan.method,
        satisfied_codes=tuple(settings.satisfied_codes),
        cannot_judge=settings.cannot_judge,
        validity_threshold=plan.validity_threshold,
        weighted=weights is not None,
        overall_item=overall,
        timezone=timezone,
        grain=grain,
    )
    return Summaries(table, basis)


def _check_grain(by: Sequence[str]) -> tuple[str, ...]:
    names = [by] if isinstance(by, str) else list(by)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"by must be column names, got {name!r}")
        if name in STATUS_COLUMNS:
            raise ValueError(f"by must not name a status column {STATUS_COLUMNS}, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"by names a column twice: {names!r}")
    return tuple(names)


def _classes(measure_a: FloatArray, measure_y: FloatArray) -> tuple[IntArray, FloatArray]:
    """Slots grouped by their (a, y) pair: a slot → class map and each class's (a, y)."""
    pairs = sorted({(float(a), float(y)) for a, y in zip(measure_a, measure_y, strict=True)})
    index = {p: k for k, p in enumerate(pairs)}
    of_slot = np.array(
        [index[(float(a), float(y))] for a, y in zip(measure_a, measure_y, strict=True)],
        dtype=np.int64,
    )
    return of_slot, np.array(pairs, dtype=float)


class _Columns:
    """The number columns of a summary table, written into one int64 and one float64
    matrix (so a million cells × a thousand columns is never stacked column by column)."""

    def __init__(self, g: int, ints: list[str], floats: list[str]) -> None:
        # Column-major: each column is written contiguously, and pandas keeps it as is.
        self.ints = np.zeros((g, len(ints)), dtype=np.int64, order="F")
        self.floats = np.zeros((g, len(floats)), dtype=np.float64, order="F")
        self.int_names, self.float_names = ints, floats
        self.where: dict[str, tuple[np.ndarray, int]] = {
            **{name: (self.ints, k) for k, name in enumerate(ints)},
            **{name: (self.floats, k) for k, name in enumerate(floats)},
        }

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        block, k = self.where[name]
        block[:, k] = values

    def frame(self) -> pd.DataFrame:
        return pd.concat(
            [
                pd.DataFrame(self.ints, columns=self.int_names, copy=False),
                pd.DataFrame(self.floats, columns=self.float_names, copy=False),
            ],
            axis=1,
        )


def _sum_cells(
    matrix: ResponseMatrix, grouping: Grouping, plan: ScoringPlan, overall: str | None
) -> pd.DataFrame:
    g = grouping.n_groups
    rows = grouping.rows
    weights = None if matrix.weights is None else matrix.weights
    if rows is not None and weights is not None:
        weights = weights[rows]
    pairs = ScoredPairs(rows, grouping.gid, weights, g)
    gid = pairs.gid
    weighted = weights is not None
    tally = tally_rows(matrix, pairs, plan)
    names = number_columns(plan, weighted, overall)

    # Cross-products: per item, slots fall into a few (a, y) classes (top2box: none,
    # answered, satisfied), so one bincount per pair of items counts the joint classes.
    criteria = _criteria(plan)
    w2 = None if weights is None else weights * weights
    classes = [_classes(plan.measures[m].answered, plan.measures[m].score) for m in criteria]
    integral = w2 is None and all(
        np.all(values == np.round(values)) for _, values in classes
    )  # top2box without weights: counts, kept as integers
    floats = names["responses"][1:] + [c for c in names["counts"] if not c.startswith("n" + SEP)]
    if not integral:
        floats += names["moments"]
    taken = set(floats)
    ints = [c for kind in names.values() for c in kind if c not in taken]
    data = _Columns(g, ints, floats)

    data[RESPONSES] = np.bincount(gid, minlength=g)
    if weights is not None:
        data["weight"] = np.bincount(gid, weights, minlength=g)
        data["weight_sq"] = np.bincount(gid, weights * weights, minlength=g)
    for j, codes in enumerate(plan.allowed):
        for code in codes:
            key = f"{plan.columns[j]}{SEP}{code}"
            data[f"n{SEP}{key}"] = tally.counts[:, j, code + 1]
            if tally.weight is not None and tally.weight_sq is not None:
                data[f"w{SEP}{key}"] = tally.weight[:, j, code + 1]
                data[f"w2{SEP}{key}"] = tally.weight_sq[:, j, code + 1]
    for v, node in enumerate(plan.nodes):
        data[f"node_n{SEP}{node.code}"] = tally.node_n[:, v]

    cls = [
        of_slot[pairs.column(matrix, plan.measures[m].column).astype(np.int64) + 1]
        for m, (of_slot, _) in zip(criteria, classes, strict=True)
    ]
    kinds = ("yy", "ya", "ay", "aa")
    for j in range(len(criteria)):
        for k in range(j + 1, len(criteria)):
            kj, kk = len(classes[j][1]), len(classes[k][1])
            cell = (gid * kj + cls[j]) * kk + cls[k]
            joint = np.bincount(cell, w2, minlength=g * kj * kk).reshape(g, kj * kk)
            aj, yj = classes[j][1][:, 0], classes[j][1][:, 1]
            ak, yk = classes[k][1][:, 0], classes[k][1][:, 1]
            # One product gives the four sums: Σ over joint classes of left(x)·right(y).
            coef = np.stack(
                [
                    np.outer(left, right).ravel()
                    for left, right in ((yj, yk), (yj, ak), (aj, yk), (aj, ak))
                ],
                axis=1,
            )
            values = joint.astype(np.float64) @ coef
            stem = f"{plan.columns[plan.measures[criteria[j]].column]}{SEP}"
            stem += plan.columns[plan.measures[criteria[k]].column]
            for position, kind in enumerate(kinds):
                value = values[:, position]
                data[f"{kind}{SEP}{stem}"] = np.round(value) if integral else value

    if overall is not None:
        q = plan.questionnaire
        y_scale = _scale(q, overall)
        y = pairs.column(matrix, plan.column_position(overall)).astype(np.int64)
        y_ok = np.isin(y, y_scale)
        y_slot = np.searchsorted(y_scale, y)
        ky = len(y_scale)
        for m in criteria:
            measure = plan.measures[m]
            x_scale = _scale(q, measure.code)
            x = pairs.column(matrix, measure.column).astype(np.int64)
            both = y_ok & np.isin(x, x_scale)
            kx = len(x_scale)
            cell = (gid[both] * kx + np.searchsorted(x_scale, x[both])) * ky + y_slot[both]
            joint_hl = np.bincount(cell, minlength=g * kx * ky).reshape(g, kx, ky)
            for a, xc in enumerate(x_scale):
                for b, yc in enumerate(y_scale):
                    data[f"hl{SEP}{measure.code}{SEP}{xc}{SEP}{yc}"] = joint_hl[:, a, b]
    groups = grouping.groups.reset_index(drop=True)
    groups["rule_valid"] = groups["rule_valid"].astype(bool)
    groups["column_valid"] = groups["column_valid"].astype(bool)
    return pd.concat([groups, data.frame()], axis=1)


def _check_summaries(summaries: Summaries) -> None:
    if not isinstance(summaries, Summaries):
        raise TypeError(f"summaries must be a Summaries, got {type(summaries).__name__}")


def roll_up(summaries: Summaries, by: Sequence[str]) -> Summaries:
    """Add the cells of ``summaries`` up to the coarser grain ``by`` (plain sums).

    The status columns are kept, so settings can still be applied when reading. The SQL
    equivalent is ``SELECT <by>, rule_valid, column_valid, flags, SUM(<each number>) …
    GROUP BY <by>, rule_valid, column_valid, flags``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"desk_code": ["D1", "D1", "D2"], "channel": ["qr", "kiosk", "qr"],
    ...     "HL_TC": [5, 4, 2], "HL_TT": [5, 5, 4], "HL_CC": [4, 2, 4],
    ...     "HL_KQ": [5, 4, 3], "HL_PA": [2, 2, 1], "HL": [5, 4, 2]})
    >>> s = build_summaries(rows, "sipas-kiosk", by=["desk_code", "channel"])
    >>> roll_up(s, ["desk_code"]).table[["desk_code", "responses"]]
      desk_code  responses
    0        D1          2
    1        D2          1
    """
    _check_summaries(summaries)
    grain = _check_grain(by)
    missing = [c for c in grain if c not in summaries.basis.grain]
    if missing:
        raise ValueError(
            f"by must be columns of the summaries' grain {list(summaries.basis.grain)}, "
            f"got {missing!r}"
        )
    table = summaries.table
    grouping = build_grouping(table, [*grain, *STATUS_COLUMNS])
    blocks = _sum_blocks(table, _numbers(summaries), grouping, np.ones(len(table), dtype=bool))
    groups = grouping.groups.reset_index(drop=True)
    for column in ("rule_valid", "column_valid"):
        groups[column] = groups[column].astype(bool)
    numbers = [pd.DataFrame(values, columns=names, copy=False) for names, values in blocks]
    basis = dataclasses.replace(summaries.basis, grain=grain)
    return Summaries(pd.concat([groups, *numbers], axis=1), basis)


def add(*parts: Summaries) -> Summaries:
    """The summaries of the responses of all ``parts`` together, at their common grain.

    Parts built from different responses of the same questionnaire under the same basis
    (e.g. the partitions of a large file, or two provinces) add to the summaries of the
    union; the result is the same table :func:`build_summaries` gives on the union.
    """
    if not parts:
        raise ValueError("add needs at least one Summaries")
    for part in parts:
        _check_summaries(part)
    first = parts[0].basis
    for part in parts[1:]:
        if part.basis != first:
            raise ValueError(
                f"summaries built differently cannot be added: {part.basis!r} vs {first!r}"
            )
    if len(parts) == 1:
        return parts[0]
    table = pd.concat([p.table for p in parts], ignore_index=True)
    return roll_up(Summaries(table, first), first.grain)


def remove(summaries: Summaries, part: Summaries) -> Summaries:
    """The summaries without the responses summed in ``part`` (which must be among them).

    Keeping the read model current as officers act: excluding a response is
    ``add(remove(s, one), build_summaries(the response marked valid=0))``. Cells left
    with no response are dropped, so the result equals a rebuild without those
    responses — exactly without weights; with weights up to the rounding of the
    subtraction, which a periodic rebuild clears.

    Raises
    ------
    ValueError
        ``part`` was built differently, or holds responses ``summaries`` does not.
    """
    _check_summaries(summaries)
    _check_summaries(part)
    if part.basis != summaries.basis:
        raise ValueError(
            f"summaries built differently cannot be removed: {part.basis!r} vs {summaries.basis!r}"
        )
    negated = part.table.copy()
    numbers = _numbers(part)
    negated[numbers] = -negated[numbers]
    table = add(summaries, Summaries(negated, part.basis)).table
    counts = table[[RESPONSES, *(c for c in numbers if c.startswith("n" + SEP))]]
    if (counts.to_numpy() < 0).any():
        raise ValueError("part holds responses these summaries do not (a count went below 0)")
    kept = table[table[RESPONSES].to_numpy() != 0].reset_index(drop=True)
    return Summaries(kept, summaries.basis)


def _numbers(summaries: Summaries) -> list[str]:
    keys = set(summaries.key_columns)
    return [c for c in summaries.table.columns if c not in keys]


def _group_sums(
    table: pd.DataFrame, columns: list[str], grouping: Grouping, include: NDArray[np.bool_]
) -> dict[str, np.ndarray]:
    """Each number column summed over the included rows of every group (pairs included).

    One sparse (groups × rows) incidence matrix times the table: no copy of the rows per
    group, and integer columns are summed in int64 (exact).
    """
    return {
        column: values[:, k]
        for names, values in _sum_blocks(table, columns, grouping, include)
        for k, column in enumerate(names)
    }


def _sum_blocks(
    table: pd.DataFrame, columns: list[str], grouping: Grouping, include: NDArray[np.bool_]
) -> list[tuple[list[str], np.ndarray]]:
    """The sums of :func:`_group_sums` as (column names, groups × columns matrix) per dtype."""
    rows = grouping.row_of_pairs()
    g = grouping.n_groups
    keep = include[rows]
    incidence = sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.int64), (grouping.gid[keep], rows[keep])),
        shape=(g, len(table)),
    )
    out: list[tuple[list[str], np.ndarray]] = []
    blocks: dict[str, list[str]] = {}
    dtypes = table.dtypes  # once: a thousand column lookups would cost more than the sums
    for column in columns:
        kind = dtypes[column].kind
        if kind not in "iuf":
            raise DataError("a summary column must hold numbers", column=column)
        blocks.setdefault("int64" if kind in "iu" else "float64", []).append(column)
    for dtype, names in blocks.items():
        values = table[names].to_numpy(dtype=dtype)
        # Column-major, as built, so the table keeps each column contiguous.
        out.append((names, np.asfortranarray(incidence.astype(dtype) @ values)))
    return out


def _apply_settings(
    summaries: Summaries, settings: ScoringSettings, plan: ScoringPlan
) -> tuple[NDArray[np.bool_], dict[str, NDArray[np.bool_]]]:
    """Which cells are scored under ``settings``, and the status masks for the counts."""
    basis = summaries.basis
    problems = []
    if plan.method != basis.method:
        problems.append(f"method {plan.method!r} (built with {basis.method!r})")
    if tuple(settings.satisfied_codes) != basis.satisfied_codes:
        problems.append(
            f"satisfied_codes {settings.satisfied_codes!r} (built with {basis.satisfied_codes!r})"
        )
    if settings.cannot_judge != basis.cannot_judge:
        problems.append(
            f"cannot_judge {settings.cannot_judge!r} (built with {basis.cannot_judge!r})"
        )
    if settings.drop_invalid and plan.validity_threshold != basis.validity_threshold:
        problems.append(
            f"a validity threshold of {plan.validity_threshold} items "
            f"(built with {basis.validity_threshold})"
        )
    if problems:
        raise ValueError(
            "these summaries were built under other settings; rebuild them for "
            + "; ".join(problems)
        )
    table = summaries.table
    rule_valid = table["rule_valid"].to_numpy(dtype=bool)
    column_valid = table["column_valid"].to_numpy(dtype=bool)
    flags = table["flags"].fillna("").astype(str).to_numpy(dtype=object)
    exclude = settings.exclude_flags
    flagged = np.array([bool(f) for f in flags], dtype=bool)
    excluded = np.array(
        [bool(f) and (ANY_FLAG in exclude or bool(set(f.split(";")) & exclude)) for f in flags],
        dtype=bool,
    )
    invalid = ~rule_valid if settings.drop_invalid else np.zeros(len(table), dtype=bool)
    scored = ~invalid & ~excluded
    if settings.honour_valid_column:
        scored &= column_valid
    masks = {
        "invalid": invalid,
        "marked_not_valid": ~column_valid,
        "flagged": flagged,
        "flag_excluded": excluded,
    }
    return scored, masks


def _read_grouping(
    summaries: Summaries,
    by: Sequence[str],
    period: PeriodSpec | None,
    units: pd.DataFrame | None,
    unit_column: str,
) -> Grouping:
    table = summaries.table
    names = [by] if isinstance(by, str) else list(by)
    derive_period = PERIOD in names and (period is not None or PERIOD not in table.columns)
    for name in names:
        if name == PERIOD and derive_period:
            if DAY not in table.columns:
                raise ValueError(
                    "a period needs 'day' in the summaries' grain "
                    f"{list(summaries.basis.grain)}, or 'period' itself"
                )
        elif name not in summaries.basis.grain:
            raise ValueError(
                f"by must be columns of the summaries' grain {list(summaries.basis.grain)}, "
                f"got {name!r}"
            )
    frame = table
    time_column = "submitted_at"
    if derive_period:
        # Noon of the local day: the period code converts it back to the same local date.
        noon = pd.to_datetime(table[DAY]) + pd.Timedelta(hours=12)
        frame = pd.DataFrame({c: table[c] for c in names if c != PERIOD}, index=table.index)
        frame[time_column] = noon.dt.tz_localize(summaries.basis.timezone)
    return build_grouping(
        frame,
        names,
        period=(period or "month") if derive_period else None,
        time_column=time_column,
        timezone=summaries.basis.timezone,
        units=units,
        unit_column=unit_column,
    )


@dataclass(frozen=True)
class _Summed:
    plan: ScoringPlan
    settings: ScoringSettings
    grouping: Grouping
    tally: Tally
    items: ItemEstimates
    sums: dict[str, np.ndarray]
    responses: pd.DataFrame


def _sum_for_reading(
    summaries: Summaries,
    questionnaire: Questionnaire | str | None,
    *,
    by: Sequence[str],
    period: PeriodSpec | None,
    units: pd.DataFrame | None,
    unit_column: str,
    settings: ScoringSettings | None,
) -> _Summed:
    _check_summaries(summaries)
    q = resolve_questionnaire(questionnaire or summaries.basis.questionnaire.split(" v")[0])
    if q.key != summaries.basis.questionnaire:
        raise ValueError(
            f"questionnaire {q.key} does not match the summaries ({summaries.basis.questionnaire})"
        )
    settings = resolve_settings(settings)
    plan = build_plan(q, settings)
    scored, masks = _apply_settings(summaries, settings, plan)
    grouping = _read_grouping(summaries, by, period, units, unit_column)
    sums = _group_sums(summaries.table, _numbers(summaries), grouping, scored)
    g, c, k = grouping.n_groups, len(plan.columns), plan.slots
    weighted = summaries.basis.weighted
    counts = np.zeros((g, c, k), dtype=np.int64)
    weight = np.zeros((g, c, k)) if weighted else None
    weight_sq = np.zeros((g, c, k)) if weighted else None
    for j, codes in enumerate(plan.allowed):
        for code in codes:
            key = f"{plan.columns[j]}{SEP}{code}"
            counts[:, j, code + 1] = sums[f"n{SEP}{key}"]
            if weight is not None and weight_sq is not None:
                weight[:, j, code + 1] = sums[f"w{SEP}{key}"]
                weight_sq[:, j, code + 1] = sums[f"w2{SEP}{key}"]
    node_n = np.stack([sums[f"node_n{SEP}{node.code}"] for node in plan.nodes], axis=1)
    tally = Tally(counts, weight, weight_sq, node_n.astype(np.int64))
    items = item_estimates(tally, plan, settings.confidence)

    received = summaries.table[RESPONSES].to_numpy(dtype=np.int64)
    status = pd.DataFrame({RESPONSES: received})
    for name, mask in masks.items():
        status[f"_{name}"] = np.where(mask, received, 0)
    everything = _group_sums(
        status, list(status.columns), grouping, np.ones(len(status), dtype=bool)
    )
    responses = grouping.groups.copy()
    responses["received"] = everything[RESPONSES]
    responses["scored"] = sums[RESPONSES]
    for name in masks:
        responses[name] = everything[f"_{name}"]
    return _Summed(plan, settings, grouping, tally, items, sums, responses)


def score_summaries(
    summaries: Summaries,
    questionnaire: Questionnaire | str | None = None,
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
    settings: ScoringSettings | None = None,
    intervals: bool = True,
) -> ScoreResult:
    """Score a summary table: the same :class:`ScoreResult` as :func:`analysis.score`.

    Parameters
    ----------
    summaries : Summaries
        From :func:`build_summaries`, :func:`roll_up` or :func:`add` (or the same table
        summed by a database).
    questionnaire : Questionnaire or str, optional
        Default: the one the summaries were built for.
    by : sequence of str
        Columns of the summaries' grain, and ``"period"`` (from ``day``) — the breakdown
        of :func:`analysis.score`.
    period, units, unit_column, settings, intervals
        As for :func:`analysis.score`.

    Returns
    -------
    ScoreResult
        Every index, ``n``, interval and ``min_n_flag``, and ``.responses`` with received,
        scored and left-out counts; :func:`analysis.compare`, :func:`analysis.rank_units`
        and the rest take it as they take a result from the rows.

    Notes
    -----
    Item rows come from the per-code sums through the very code :func:`analysis.score`
    uses. A node's variance is the quadratic form of :func:`node_variance` in the
    cross-product sums.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"HL_TC": [5, 4, 3, 2], "HL_TT": [5, 5, 4, 0],
    ...                      "HL_CC": [4, 4, 4, 4], "HL_KQ": [5, 3, 3, 3],
    ...                      "HL_PA": [0, 0, 5, 1], "HL": [5, 4, 4, 3]})
    >>> table = score_summaries(build_summaries(rows, "sipas-kiosk")).to_frame()
    >>> table[["code", "n", "index"]].head(3)
        code  n  index
    0  SIPAS  4   65.0
    1     TC  4   50.0
    2  HL_TC  4   50.0
    """
    summed = _sum_for_reading(
        summaries,
        questionnaire,
        by=by,
        period=period,
        units=units,
        unit_column=unit_column,
        settings=settings,
    )
    plan, items = summed.plan, summed.items
    nodes = node_indices(items.share, plan, summed.settings.empty_child)
    if intervals:
        se = node_standard_errors(
            summed.sums, plan, items, nodes, summed.tally.node_n, summaries.basis.weighted
        )
    else:
        se = np.full(nodes.value.shape, np.nan)
    grouping = summed.grouping
    table = tidy_table(grouping.groups, plan, items, nodes, se, summed.tally, summed.settings)
    return ScoreResult(
        table=table,
        responses=summed.responses,
        group_columns=tuple(grouping.groups.columns),
        questionnaire=plan.questionnaire.key,
        method=plan.method,
        settings=summed.settings,
        period_order=grouping.period_order,
    )


@dataclass(frozen=True)
class _Moments:
    """Per group, for the items under the tree: A = Σ w·a, Y = Σ w·y and the w²-weighted
    cross-product matrices (groups × items × items)."""

    a: FloatArray
    y: FloatArray
    yy: FloatArray
    ya: FloatArray
    aa: FloatArray


def _moments(sums: dict[str, np.ndarray], plan: ScoringPlan, items: ItemEstimates) -> _Moments:
    criteria = _criteria(plan)
    names = [plan.columns[plan.measures[m].column] for m in criteria]
    c = len(criteria)
    g = len(items.share)
    yy, ya, aa = (np.zeros((g, c, c)) for _ in range(3))
    a_sum = np.zeros((g, c))
    y_sum = np.zeros((g, c))
    weighted = f"w2{SEP}{names[0]}{SEP}{plan.allowed[plan.measures[criteria[0]].column][0]}" in sums
    for j, m in enumerate(criteria):
        measure = plan.measures[m]
        name = names[j]
        for code in plan.allowed[measure.column]:
            slot = code + 1
            n = sums[f"n{SEP}{name}{SEP}{code}"].astype(float)
            w = sums[f"w{SEP}{name}{SEP}{code}"] if weighted else n
            w2 = sums[f"w2{SEP}{name}{SEP}{code}"] if weighted else n
            a, y = measure.answered[slot], measure.score[slot]
            a_sum[:, j] += w * a
            y_sum[:, j] += w * y
            yy[:, j, j] += w2 * y * y
            ya[:, j, j] += w2 * y * a
            aa[:, j, j] += w2 * a * a
        for k in range(j + 1, c):
            stem = f"{name}{SEP}{names[k]}"
            yy[:, j, k] = yy[:, k, j] = sums[f"yy{SEP}{stem}"]
            ya[:, j, k] = sums[f"ya{SEP}{stem}"]
            ya[:, k, j] = sums[f"ay{SEP}{stem}"]
            aa[:, j, k] = aa[:, k, j] = sums[f"aa{SEP}{stem}"]
    return _Moments(a_sum, y_sum, yy, ya, aa)


def _item_weights(plan: ScoringPlan, nodes: NodeIndices) -> list[FloatArray]:
    """λ[v][g, j]: the weight of tree item j in node v of group g (the nested means)."""
    criteria = _criteria(plan)
    position = {m: j for j, m in enumerate(criteria)}
    g = nodes.value.shape[0]
    out: list[FloatArray] = [np.zeros((g, len(criteria)))] * len(plan.nodes)
    for v in range(len(plan.nodes) - 1, -1, -1):  # children after parents
        node = plan.nodes[v]
        weight = nodes.child_weights[v]
        lam = np.zeros((g, len(criteria)))
        if node.items:
            for p, m in enumerate(node.items):
                lam[:, position[m]] += weight[:, p]
        else:
            for p, child in enumerate(node.children):
                lam += weight[:, p, None] * out[child]
        out[v] = lam
    return out


def node_variance(
    lam: FloatArray, moments: _Moments, weighted: bool, needed: NDArray[np.bool_]
) -> FloatArray:
    """Σ_i (w_i z_i)² of one node in every group, from the cross-product sums.

    Notes
    -----
    With e_ij = A_j y_ij − Y_j a_ij, respondent i's influence is z_i = Σ_j u_j e_ij with
    u_j = λ_j / A_j², so Σ_i w_i² z_i² = Σ_jk u_j u_k D_jk where

    .. math:: D_{jk} = A_j A_k S^{yy}_{jk} - A_j Y_k S^{ya}_{jk} - Y_j A_k S^{ay}_{jk}
              + Y_j Y_k S^{aa}_{jk}

    is evaluated in floating point. Its rounding error is at most a few ulps of
    Σ |u_j u_k| (|A_j A_k S^{yy}| + …); where the result is below ``EXACT_BELOW`` times
    that sum (variance zero or nearly: e.g. every answer the same, or two items whose
    influences cancel) the group is evaluated again in exact rational arithmetic from the
    stored sums, which are exact without weights. With weights the stored sums carry
    rounding, so a result within 1e-12 of that sum is taken as 0 (as the rows route
    snaps an SE below 1e-11).
    """
    a, y = moments.a, moments.y
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(lam > 0, lam / (a * a), 0.0)
    terms = (
        a[:, :, None] * a[:, None, :] * moments.yy,
        a[:, :, None] * y[:, None, :] * moments.ya,
        y[:, :, None] * a[:, None, :] * np.swapaxes(moments.ya, 1, 2),
        y[:, :, None] * y[:, None, :] * moments.aa,
    )
    uu = u[:, :, None] * u[:, None, :]
    d = terms[0] - terms[1] - terms[2] + terms[3]
    q = np.einsum("gjk,gjk->g", uu, d)
    magnitude = np.einsum("gjk,gjk->g", np.abs(uu), sum(np.abs(t) for t in terms))
    doubtful = np.flatnonzero(needed & (q <= EXACT_BELOW * magnitude))
    for group in doubtful:
        exact = _exact_form(lam[group], moments, int(group))
        if weighted and abs(exact) <= 1e-12 * magnitude[group]:
            exact = Fraction(0)
        q[group] = float(exact)
    return np.asarray(np.maximum(q, 0.0), dtype=np.float64)


def _exact_form(lam: FloatArray, moments: _Moments, group: int) -> Fraction:
    """Σ_jk u_j u_k D_jk of one group in rationals (floats are exact rationals)."""
    used = [j for j in range(len(lam)) if lam[j] > 0]
    if not used:
        return Fraction(0)
    # λ comes from 1/count products; as a fraction it is recovered exactly with a small
    # denominator limit (the nested means of a questionnaire's tree).
    lam_q = {j: Fraction(float(lam[j])).limit_denominator(10**6) for j in used}
    a = {j: Fraction(float(moments.a[group, j])) for j in used}
    y = {j: Fraction(float(moments.y[group, j])) for j in used}
    u = {j: lam_q[j] / (a[j] * a[j]) for j in used}
    total = Fraction(0)
    for j in used:
        for k in used:
            d = (
                a[j] * a[k] * Fraction(float(moments.yy[group, j, k]))
                - a[j] * y[k] * Fraction(float(moments.ya[group, j, k]))
                - y[j] * a[k] * Fraction(float(moments.ya[group, k, j]))
                + y[j] * y[k] * Fraction(float(moments.aa[group, j, k]))
            )
            total += u[j] * u[k] * d
    return total


def node_standard_errors(
    sums: dict[str, np.ndarray],
    plan: ScoringPlan,
    items: ItemEstimates,
    nodes: NodeIndices,
    node_n: IntArray,
    weighted: bool,
) -> FloatArray:
    """Linearised SE (0–1 scale) of every node in every group, from summed cross-products.

    The same estimator as ``analysis.linearisation.node_standard_errors`` on the rows:
    var = n/(n − 1) · Σ_i (w_i z_i)², NaN where n < 2, SEs below ``ZERO_SE`` set to 0.
    """
    moments = _moments(sums, plan, items)
    lam = _item_weights(plan, nodes)
    variance = np.full((nodes.value.shape[0], len(plan.nodes)), np.nan)
    for v in range(len(plan.nodes)):
        n = node_n[:, v]
        squares = node_variance(lam[v], moments, weighted, n > 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            variance[:, v] = np.where(n > 1, squares * n / (n - 1), np.nan)
    return snap_zero_se(np.sqrt(variance))


def summary_drivers(
    summaries: Summaries,
    questionnaire: Questionnaire | str | None = None,
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
    performance_split: float | None = None,
    importance_split: float | None = None,
    settings: ScoringSettings | None = None,
) -> DriversResult:
    """Importance–performance from summaries: the same table as :func:`analysis.drivers`.

    Performance is the item index from the per-code sums; importance is Spearman's rho of
    the summed item × overall-question table (mid-ranks from its margins). The overall
    question is the one the summaries were built with.
    """
    summed = _sum_for_reading(
        summaries,
        questionnaire,
        by=by,
        period=period,
        units=units,
        unit_column=unit_column,
        settings=settings,
    )
    overall = summaries.basis.overall_item
    if overall is None:
        raise AnalysisError(
            f"{summaries.basis.questionnaire} summaries were built without an overall question"
        )
    plan = summed.plan
    q = plan.questionnaire
    criteria = _criteria(plan)
    y_scale = _scale(q, overall)
    g = summed.grouping.n_groups
    rho = np.full((g, len(criteria)), np.nan)
    n_pairs = np.zeros((g, len(criteria)), dtype=np.int64)
    for k, m in enumerate(criteria):
        code = plan.measures[m].code
        x_scale = _scale(q, code)
        joint = np.stack(
            [
                np.stack([summed.sums[f"hl{SEP}{code}{SEP}{x}{SEP}{yc}"] for yc in y_scale], -1)
                for x in x_scale
            ],
            axis=1,
        ).astype(np.int64)
        rho[:, k] = spearman_from_table(joint)
        n_pairs[:, k] = joint.sum(axis=(1, 2))
    return drivers_table(
        summed.grouping.groups,
        plan,
        summed.items,
        rho,
        n_pairs,
        performance_split,
        importance_split,
    )


class ResponseSums:
    """The summary sums of one response at a time: a fast path of :func:`build_summaries`
    for keeping stored summaries current as each response arrives (no DataFrame).

    ``vector(codes)`` gives the response's number columns in the order of :attr:`columns`
    (that of :func:`number_columns`, unweighted) and whether it passes the validity rule;
    adding it to the cell its grain and status name equals rebuilding that cell.

    Parameters
    ----------
    questionnaire : Questionnaire or str
    overall_item : str, optional
        As for :func:`build_summaries`.
    settings : ScoringSettings, optional
        As for :func:`build_summaries`.

    Notes
    -----
    With slot s = code + 1 (0: no answer), a_j = ``answered[s_j]`` and y_j = ``score[s_j]``
    of item j's measure: ``n__j__c`` = 1 for the code given, ``node_n__v`` = 1 when some
    a_j = 1 under node v, ``yy/ya/ay/aa__j__k`` = y_j y_k, y_j a_k, a_j y_k, a_j a_k and
    ``hl__j__x__y`` = 1 for the codes given to item j and the overall question.

    Examples
    --------
    >>> one = ResponseSums("sipas-kiosk")
    >>> valid, values = one.vector({"HL_TC": 5, "HL_TT": 4, "HL_CC": 2, "HL_KQ": 5,
    ...                             "HL_PA": 0, "HL": 4})
    >>> int(values[one.columns.index("yy__HL_TC__HL_TT")])
    1
    """

    def __init__(
        self,
        questionnaire: Questionnaire | str,
        *,
        overall_item: str | None = None,
        settings: ScoringSettings | None = None,
    ) -> None:
        q = resolve_questionnaire(questionnaire)
        settings = resolve_settings(settings)
        plan = build_plan(q, _build_settings(settings))
        self.plan = plan
        self.overall = overall_question(q, overall_item, required=False)
        names = number_columns(plan, False, self.overall)
        self.columns: list[str] = [c for kind in names.values() for c in kind]
        index = {c: k for k, c in enumerate(self.columns)}
        self._index = index
        self._count_at = [
            {code: index[f"n{SEP}{name}{SEP}{code}"] for code in codes}
            for name, codes in zip(plan.columns, plan.allowed, strict=True)
        ]
        self._allowed = [set(codes) for codes in plan.allowed]
        criteria = _criteria(plan)
        self._criteria = [
            (plan.measures[m].column, plan.measures[m].answered, plan.measures[m].score)
            for m in criteria
        ]
        self._pairs = [
            (
                j,
                k,
                [
                    index[f"{kind}{SEP}{plan.columns[cj]}{SEP}{plan.columns[ck]}"]
                    for kind in ("yy", "ya", "ay", "aa")
                ],
            )
            for j, (cj, _, _) in enumerate(self._criteria)
            for k, (ck, _, _) in enumerate(self._criteria)
            if j < k
        ]
        self._node_at = [index[f"node_n{SEP}{node.code}"] for node in plan.nodes]
        self._hl: list[tuple[int, str, list[int]]] = []
        if self.overall is not None:
            self._y_scale = _scale(q, self.overall)
            self._y_column = plan.column_position(self.overall)
            for m in criteria:
                measure = plan.measures[m]
                self._hl.append((measure.column, measure.code, _scale(q, measure.code)))

    def vector(self, codes: Mapping[str, int | None]) -> tuple[bool, FloatArray]:
        """(passes the validity rule, the number columns) of one response's ``codes``
        (item code to answer code; a missing item or None is no answer)."""
        plan = self.plan
        given: list[int] = []
        for j, name in enumerate(plan.columns):
            code = codes.get(name)
            if code is None:
                given.append(-1)
                continue
            if code not in self._allowed[j]:
                raise DataError(f"code {code} is out of range", column=name, value=code)
            given.append(int(code))
        out = np.zeros(len(self.columns))
        out[0] = 1
        for j, code in enumerate(given):
            if code >= 0:
                out[self._count_at[j][code]] += 1
        a = [float(ans[given[c] + 1]) for c, ans, _ in self._criteria]
        y = [float(score[given[c] + 1]) for c, _, score in self._criteria]
        for j, k, (yy, ya, ay, aa) in self._pairs:
            out[yy] += y[j] * y[k]
            out[ya] += y[j] * a[k]
            out[ay] += a[j] * y[k]
            out[aa] += a[j] * a[k]
        answered = {c: bool(a[p]) for p, (c, _, _) in enumerate(self._criteria)}
        under: list[bool] = [False] * len(plan.nodes)
        for v in range(len(plan.nodes) - 1, -1, -1):  # children come after parents
            node = plan.nodes[v]
            if node.items:
                under[v] = any(answered[plan.measures[m].column] for m in node.items)
            else:
                under[v] = any(under[c] for c in node.children)
            if under[v]:
                out[self._node_at[v]] += 1
        if self.overall is not None:
            yc = given[self._y_column]
            if yc in self._y_scale:
                for column, code, x_scale in self._hl:
                    xc = given[column]
                    if xc in x_scale:
                        out[self._index[f"hl{SEP}{code}{SEP}{xc}{SEP}{yc}"]] += 1
        if plan.satisfaction_columns and plan.validity_threshold > 0:
            count = sum(1 for c in plan.satisfaction_columns if given[c] >= 1)
            valid = count >= plan.validity_threshold
        else:
            valid = True
        return valid, out
